// Package passwords changes and resets users' passwords: validation,
// the conditional save that lets one of two concurrent changes win, and
// the revocation of the user's other logins in the same transaction.
package passwords

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/hashlimit"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/internal/resets"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

// Current names the credential a request was authenticated with, so a
// password change can keep it: a token key or a JWT login (family).
type Current struct {
	Key    string
	Family string
}

// Passwords changes and resets passwords of users U.
type Passwords[U any] struct {
	DB         *gorm.DB
	Users      *users.Users[U]
	Hasher     password.Hasher
	Validators []password.Validator
	Keys       *tokens.Keys
	// Sessions is nil when JWT mode is off.
	Sessions *sessions.Sessions[U]
	// LogoutOnChange revokes the current login too on a change.
	LogoutOnChange bool
	Resets         resets.Tokens
	Mail           *mail.Sender
	// ResetURL has {uid} and {token} placeholders.
	ResetURL string
	SiteName string
	SiteURL  string
	Hooks    *hooks.Hooks[U]
}

// Validate runs the validators on pw for b (which may be a user not yet
// saved).
func (p *Passwords[U]) Validate(pw string, b *models.User) []locales.Message {
	info := password.UserInfo{Username: b.Username, FirstName: b.FirstName, LastName: b.LastName, Email: b.Email}
	return password.Validate(pw, info, p.Validators)
}

// Hash hashes pw.
func (p *Passwords[U]) Hash(pw string) (string, error) {
	h, err := p.Hasher.Hash(pw)
	if err != nil {
		return "", fmt.Errorf("restauth: hash password: %w", err)
	}
	return h, nil
}

// errStale means the password changed between check and save.
var errStale = errors.New("restauth: password changed concurrently")

// set hashes pw into u, saves it and revokes u's token keys and JWT
// logins except keep's, all in one transaction.
func (p *Passwords[U]) set(ctx context.Context, u *U, pw string, keep Current) error {
	b := users.Base(u)
	h, err := p.Hash(pw)
	if err != nil {
		return err
	}
	err = dbx.Transaction(ctx, p.DB, func(ctx context.Context, _ *gorm.DB) error {
		// Only if the hash is still the one checked against: of two
		// concurrent uses of one reset link, one wins.
		ok, err := p.Users.ReplacePassword(ctx, b.ID, b.Password, h)
		if err != nil {
			return err
		}
		if !ok {
			return errStale
		}
		if err := p.Keys.RevokeUser(ctx, b.ID, keep.Key); err != nil {
			return err
		}
		if p.Sessions != nil {
			return p.Sessions.RevokeUser(ctx, b.ID, keep.Family)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.Password = h
	return nil
}

// Change is password/change/: the old password when old is not nil,
// matching new passwords, validators, then the save, which revokes the
// user's other logins (all of them with LogoutOnChange).
func (p *Passwords[U]) Change(ctx context.Context, u *U, cur Current, old *string, p1, p2 string) error {
	b := users.Base(u)
	if old != nil {
		ok, err := p.Hasher.Verify(*old, b.Password)
		if errors.Is(err, hashlimit.ErrBusy) {
			// Nothing was checked: 503, not a wrong old password.
			return err
		}
		if !ok {
			return verr.Field("old_password", locales.M("password.old_incorrect"))
		}
	}
	if p1 != p2 {
		return verr.Field("new_password2", locales.M("password.mismatch"))
	}
	if msgs := p.Validate(p2, b); len(msgs) > 0 {
		return verr.Field("new_password2", msgs...)
	}
	keep := cur
	if p.LogoutOnChange {
		keep = Current{}
	}
	if err := p.set(ctx, u, p1, keep); errors.Is(err, errStale) {
		return verr.Field("old_password", locales.M("password.old_incorrect"))
	} else if err != nil {
		return err
	}
	hooks.Run(ctx, p.Hooks.OnPasswordChanged, u)
	return nil
}

// Token returns a fresh reset uid and token for u.
func (p *Passwords[U]) Token(u *U) (uid, token string) {
	b := users.Base(u)
	return resets.EncodeUID(b.ID), p.Resets.Make(b)
}

// SendReset emails a reset link to every active user with email, in the
// background, so the answer takes the same time whether or not the
// address is known.
func (p *Passwords[U]) SendReset(ctx context.Context, email string) error {
	list, err := p.Users.ActiveByEmail(ctx, email)
	if err != nil {
		return err
	}
	for i := range list {
		b := users.Base(&list[i])
		uid, token := p.Token(&list[i])
		link := strings.NewReplacer("{uid}", uid, "{token}", token).Replace(p.ResetURL)
		err := p.Mail.Send(ctx, emails.TemplatePasswordReset, emails.PasswordResetData{
			Username: b.Username, Email: b.Email, ResetURL: link,
			UID: uid, Token: token, SiteName: p.SiteName, SiteURL: p.SiteURL,
		}, b.Email)
		if err != nil {
			return fmt.Errorf("restauth: render reset email: %w", err)
		}
	}
	return nil
}

// ConfirmReset is password/reset/confirm/. extra, when set, runs the
// app's own validation after the built-in checks.
func (p *Passwords[U]) ConfirmReset(ctx context.Context, uid, token, p1, p2 string, extra func(u *U) error) (*U, error) {
	id, ok := resets.DecodeUID(uid)
	if !ok {
		return nil, verr.Field("uid", locales.M("field.invalid"))
	}
	u, err := p.Users.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if u == nil || !users.Base(u).IsActive {
		return nil, verr.Field("uid", locales.M("field.invalid"))
	}
	b := users.Base(u)
	if !p.Resets.Check(b, token) {
		return nil, verr.Field("token", locales.M("field.invalid"))
	}
	if p1 != p2 {
		return nil, verr.Field("new_password2", locales.M("password.mismatch"))
	}
	if msgs := p.Validate(p2, b); len(msgs) > 0 {
		return nil, verr.Field("new_password2", msgs...)
	}
	if extra != nil {
		if err := extra(u); err != nil {
			return nil, err
		}
	}
	if err := p.set(ctx, u, p1, Current{}); errors.Is(err, errStale) {
		return nil, verr.Field("token", locales.M("field.invalid"))
	} else if err != nil {
		return nil, err
	}
	hooks.Run(ctx, p.Hooks.OnPasswordReset, u)
	return u, nil
}
