// Package signup registers users and verifies their email addresses
// (dj-rest-auth's registration app on allauth's rules). A registration
// goes through the login pipeline: when its checks let the new user in,
// the answer carries credentials; under mandatory verification the
// verified-email check refuses and the user confirms the address first.
package signup

import (
	"context"
	"errors"
	"strings"

	"gorm.io/gorm"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// Form is the validated input of a registration.
type Form struct {
	Username, Email, Password1, Password2 string
}

// Signup registers users U.
type Signup[U any] struct {
	DB            *gorm.DB
	Users         *users.Users[U]
	Confirmations *confirm.Confirmations
	Passwords     *passwords.Passwords[U]
	Login         *login.Pipeline[U]
	// SendConfirmation mails a confirmation key (verification optional
	// or mandatory).
	SendConfirmation bool
	// ConfirmURL returns the link with a {key} placeholder.
	ConfirmURL func() string
	SiteName   string
	SiteURL    string
	// PreventEnumeration answers a taken email as a fresh sign-up under
	// mandatory verification (no credentials) and mails the owner.
	PreventEnumeration bool
	Mail               interface {
		Send(ctx context.Context, name string, data any, to string) error
	}
	Hooks *hooks.Hooks[U]
}

// Register creates u (already carrying the app's extra fields), its
// primary address, a confirmation key and, when the login checks let it
// in, its credentials, in one transaction; it mails the key after the
// commit. fields holds errors the caller found in its own fields; they
// are reported together with the built-in checks. cred is nil when the
// user must verify the address first.
func (s *Signup[U]) Register(ctx context.Context, u *U, f Form, fields verr.Fields) (*login.Credentials, error) {
	b := users.Base(u)
	emailTaken := false
	// Field checks first (DRF validates fields before the object).
	if f.Username != "" {
		other, err := s.Users.ByUsername(ctx, f.Username)
		if err != nil {
			return nil, err
		}
		if other != nil {
			fields.Add("username", locales.M("user.username_taken"))
		}
	}
	if f.Email != "" {
		taken, err := s.emailTaken(ctx, f.Email)
		if err != nil {
			return nil, err
		}
		if taken && !s.PreventEnumeration {
			fields.Add("email", locales.M("registration.email_taken"))
		}
		emailTaken = taken
	}
	b.Username, b.Email = f.Username, f.Email
	if !fields.Has("password1") && f.Password1 != "" {
		if msgs := s.Passwords.Validate(f.Password1, b); len(msgs) > 0 {
			fields.Add("password1", msgs...)
		}
	}
	if err := fields.Err(); err != nil {
		return nil, err
	}
	if f.Password1 != f.Password2 {
		return nil, verr.NonFieldError(locales.M("registration.password_mismatch"))
	}
	if b.Username == "" {
		name, err := s.Users.FreeUsername(ctx, f.Email)
		if err != nil {
			return nil, err
		}
		b.Username = name
	}
	hash, err := s.Passwords.Hash(f.Password1)
	if err != nil {
		return nil, err
	}
	if emailTaken {
		// Hashed anyway: the answer takes as long as a real sign-up's.
		s.sendExists(ctx, f.Email)
		return nil, nil
	}
	b.ID, b.Password, b.IsActive, b.DateJoined = 0, hash, true, s.Users.Now()
	b.IsStaff, b.IsSuperuser, b.LastLogin = false, false, nil

	var cred *login.Credentials
	var key string
	err = dbx.Transaction(ctx, s.DB, func(ctx context.Context, _ *gorm.DB) error {
		// The first statement writes, so SQLite takes its write lock at
		// once (no read-then-upgrade deadlock between concurrent sign-ups).
		if err := s.Users.Create(ctx, u); err != nil {
			return err
		}
		if f.Email != "" {
			addr, err := s.Confirmations.AddAddress(ctx, models.EmailAddress{UserID: b.ID, Email: f.Email, Primary: true, Verified: false})
			if err != nil {
				return err
			}
			if s.SendConfirmation {
				if key, err = s.Confirmations.NewKey(ctx, addr); err != nil {
					return err
				}
			}
		}
		err := s.Login.Check(ctx, u)
		if errors.Is(err, login.ErrUnverified) {
			return nil
		}
		if err != nil {
			return err
		}
		c, err := s.Login.Record(ctx, u)
		cred = &c
		return err
	})
	if err != nil {
		b.ID = 0
		switch {
		case s.PreventEnumeration && (errors.Is(err, users.ErrEmailTaken) || errors.Is(err, confirm.ErrAddressTaken)):
			// A concurrent sign-up took the address.
			s.sendExists(ctx, f.Email)
			return nil, nil
		case errors.Is(err, users.ErrEmailTaken):
			return nil, verr.Field("email", locales.M("registration.email_taken"))
		case errors.Is(err, users.ErrUsernameTaken):
			return nil, verr.Field("username", locales.M("user.username_taken"))
		}
		// A unique violation on the address table is a taken email too.
		if errors.Is(err, confirm.ErrAddressTaken) {
			return nil, verr.Field("email", locales.M("registration.email_taken"))
		}
		return nil, err
	}
	if key != "" {
		s.send(ctx, b, f.Email, key)
	}
	if cred != nil {
		s.Login.Finish(ctx, u)
	}
	hooks.Run(ctx, s.Hooks.OnUserSignedUp, u)
	return cred, nil
}

// emailTaken reports whether any user or address row holds email.
func (s *Signup[U]) emailTaken(ctx context.Context, email string) (bool, error) {
	u, err := s.Users.ByEmail(ctx, email)
	if err != nil || u != nil {
		return u != nil, err
	}
	return s.Confirmations.EmailTaken(ctx, email)
}

// sendExists tells the owner of email that someone tried to register
// with it (PreventEnumeration).
func (s *Signup[U]) sendExists(ctx context.Context, email string) {
	_ = s.Mail.Send(ctx, emails.TemplateAccountAlreadyExists, emails.AccountAlreadyExistsData{
		Email: email, SiteName: s.SiteName, SiteURL: s.SiteURL,
	}, email)
}

func (s *Signup[U]) send(ctx context.Context, b *models.User, email, key string) {
	link := strings.ReplaceAll(s.ConfirmURL(), "{key}", key)
	_ = s.Mail.Send(ctx, emails.TemplateEmailConfirmation, emails.EmailConfirmationData{
		User: b.Username, ActivateURL: link, SiteName: s.SiteName, Key: key,
	}, email)
}

// ConfirmEmail is verify-email/: confirm.ErrNotFound for a bad key.
func (s *Signup[U]) ConfirmEmail(ctx context.Context, key string) (*U, error) {
	id, err := s.Confirmations.Confirm(ctx, key)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.ByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if u != nil {
		hooks.Run(ctx, s.Hooks.OnEmailConfirmed, u)
	}
	return u, nil
}

// Resend is resend-email/: a new key goes to an existing, unverified
// address of an active user at most once per cooldown; otherwise nothing
// happens (the caller answers the same either way).
func (s *Signup[U]) Resend(ctx context.Context, email string) error {
	if !s.SendConfirmation {
		return nil
	}
	addr, err := s.Confirmations.ForResend(ctx, email)
	if err != nil || addr == nil {
		return err
	}
	u, err := s.Users.ByID(ctx, addr.UserID)
	if err != nil {
		return err
	}
	if u == nil || !users.Base(u).IsActive {
		return nil
	}
	key, err := s.Confirmations.NewKey(ctx, addr.ID)
	if err != nil {
		return err
	}
	s.send(ctx, users.Base(u), addr.Email, key)
	return nil
}

// MailKey mails confirmation key for u's address email (after the commit
// that stored the key).
func (s *Signup[U]) MailKey(ctx context.Context, u *U, email, key string) {
	s.send(ctx, users.Base(u), email, key)
}
