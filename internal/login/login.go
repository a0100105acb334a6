// Package login is the login pipeline: an authenticated user passes the
// Checks (active, verified email, the app's own), then an Issuer makes
// the credentials (a token key or a JWT pair) in the same transaction as
// last_login, then the OnLogin hooks run. Password login, registration
// and Plugin.Login all go through one Pipeline. It knows nothing of HTTP.
package login

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/devices"
	"github.com/restauth/restauth/internal/hashlimit"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/password"
)

// Check decides whether an authenticated user may log in; a non-nil
// error refuses the login and is answered as it is.
type Check[U any] interface {
	Check(ctx context.Context, u *U) error
}

// Credentials are what a login issues: a token key in token mode, an
// access/refresh pair in JWT mode.
type Credentials struct {
	Key string
	sessions.Pair
}

// Issuer makes a login's credentials (ctx carries the login's
// transaction).
type Issuer[U any] interface {
	Issue(ctx context.Context, u *U) (Credentials, error)
}

// TokenIssuer issues token keys.
type TokenIssuer[U any] struct {
	Keys *tokens.Keys
	// Devices records each key as a session, with the client ctx
	// carries (nil records nothing).
	Devices *devices.Devices
}

// Issue stores a new key for u (and its session, in the same
// transaction).
func (t TokenIssuer[U]) Issue(ctx context.Context, u *U) (Credentials, error) {
	id := users.Base(u).ID
	k, err := t.Keys.Issue(ctx, id)
	if err != nil {
		return Credentials{}, err
	}
	if t.Devices != nil {
		if err := t.Devices.Record(ctx, id, devices.Token, secret.Digest(k), devices.ClientFrom(ctx)); err != nil {
			return Credentials{}, err
		}
	}
	return Credentials{Key: k}, nil
}

// JWTIssuer starts a JWT login (a new refresh family).
type JWTIssuer[U any] struct {
	Sessions *sessions.Sessions[U]
	// Devices records each family as a session, with the client ctx
	// carries (nil records nothing).
	Devices *devices.Devices
}

// Issue signs an access/refresh pair for u (and records its session, in
// the same transaction).
func (j JWTIssuer[U]) Issue(ctx context.Context, u *U) (Credentials, error) {
	p, err := j.Sessions.Issue(ctx, u)
	if err != nil {
		return Credentials{}, err
	}
	if j.Devices != nil {
		if err := j.Devices.Record(ctx, users.Base(u).ID, devices.JWT, p.Family, devices.ClientFrom(ctx)); err != nil {
			return Credentials{}, err
		}
	}
	return Credentials{Pair: p}, nil
}

// Refusals of the built-in checks.
var (
	// ErrInactive refuses a deactivated user.
	ErrInactive = verr.NonFieldError(locales.M("login.disabled"))
	// ErrUnverified refuses a user without a verified address under
	// mandatory verification; registration answers "verification sent".
	ErrUnverified = verr.NonFieldError(locales.M("login.email_not_verified"))
)

// Active refuses inactive users.
type Active[U any] struct{}

// Check implements Check.
func (Active[U]) Check(_ context.Context, u *U) error {
	if !users.Base(u).IsActive {
		return ErrInactive
	}
	return nil
}

// Verified refuses users without a verified email address (mandatory
// verification).
type Verified[U any] struct{ Confirmations *confirm.Confirmations }

// Check implements Check.
func (v Verified[U]) Check(ctx context.Context, u *U) error {
	ok, err := v.Confirmations.HasVerified(ctx, users.Base(u).ID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnverified
	}
	return nil
}

// Pipeline runs logins of users U.
type Pipeline[U any] struct {
	DB     *gorm.DB
	Users  *users.Users[U]
	Checks []Check[U]
	Issuer Issuer[U]
	Hooks  *hooks.Hooks[U]
}

// Check runs the checks in order; the first refusal wins.
func (p *Pipeline[U]) Check(ctx context.Context, u *U) error {
	for _, c := range p.Checks {
		if err := c.Check(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// Login checks u, records the login and issues its credentials in one
// transaction, then runs the OnLogin hooks.
func (p *Pipeline[U]) Login(ctx context.Context, u *U) (Credentials, error) {
	if err := p.Check(ctx, u); err != nil {
		return Credentials{}, err
	}
	var cred Credentials
	err := dbx.Transaction(ctx, p.DB, func(ctx context.Context, _ *gorm.DB) error {
		var err error
		cred, err = p.Record(ctx, u)
		return err
	})
	if err != nil {
		return Credentials{}, err
	}
	p.Finish(ctx, u)
	return cred, nil
}

// Record updates last_login and issues the credentials, inside the
// caller's transaction (ctx); the caller runs Finish after the commit.
func (p *Pipeline[U]) Record(ctx context.Context, u *U) (Credentials, error) {
	b := users.Base(u)
	now := p.Users.Now()
	if err := p.Users.SetLastLogin(ctx, b.ID, now); err != nil {
		return Credentials{}, err
	}
	cred, err := p.Issuer.Issue(ctx, u)
	if err != nil {
		return Credentials{}, err
	}
	b.LastLogin = &now
	return cred, nil
}

// Finish runs the OnLogin hooks of a committed login.
func (p *Pipeline[U]) Finish(ctx context.Context, u *U) { hooks.Run(ctx, p.Hooks.OnLogin, u) }

// Methods says how password logins find the user.
type Methods struct{ Username, Email bool }

// Password authenticates by username or email and password, with
// dj-rest-auth's LoginSerializer rules. Unknown users cost the same
// password verification as known ones.
type Password[U any] struct {
	Users   *users.Users[U]
	Hasher  password.Hasher
	Methods Methods
	Log     *slog.Logger
	dummy   string
}

// NewPassword returns the password authenticator (it hashes once, for the
// timing of unknown users).
func NewPassword[U any](us *users.Users[U], h password.Hasher, m Methods, log *slog.Logger) (*Password[U], error) {
	dummy, err := h.Hash("restauth timing equaliser")
	if err != nil {
		return nil, fmt.Errorf("restauth: password hasher: %w", err)
	}
	return &Password[U]{Users: us, Hasher: h, Methods: m, Log: log, dummy: dummy}, nil
}

// ErrInvalidCredentials is the one answer for a wrong password or an
// unknown user.
var ErrInvalidCredentials = verr.NonFieldError(locales.M("login.invalid_credentials"))

// Authenticate returns the user whose credentials these are.
func (a *Password[U]) Authenticate(ctx context.Context, username, email, pw string) (*U, error) {
	byUser, byEmail := a.Methods.Username, a.Methods.Email
	var (
		u   *U
		err error
	)
	switch {
	case byEmail && email != "":
		u, err = a.Users.ByEmail(ctx, email)
	case byEmail && !byUser && username != "" && strings.Contains(username, "@"):
		u, err = a.Users.ByEmail(ctx, username)
	case byUser && username != "":
		u, err = a.Users.ByUsername(ctx, username)
		if err == nil && u == nil && byEmail && strings.Contains(username, "@") {
			u, err = a.Users.ByEmail(ctx, username)
		}
	default:
		key := "login.need_either"
		switch {
		case byUser && !byEmail:
			key = "login.need_username"
		case byEmail && !byUser:
			key = "login.need_email"
		}
		return nil, verr.NonFieldError(locales.M(key))
	}
	if err != nil {
		return nil, err
	}
	// A hashing limiter's refusal (hashlimit.ErrBusy) says nothing of
	// the password: it is returned as it is (503), for unknown users too,
	// never as invalid credentials.
	if u == nil {
		if _, err := a.Hasher.Verify(pw, a.dummy); errors.Is(err, hashlimit.ErrBusy) {
			return nil, err
		}
		return nil, ErrInvalidCredentials
	}
	b := users.Base(u)
	ok, verifyErr := a.Hasher.Verify(pw, b.Password)
	if errors.Is(verifyErr, hashlimit.ErrBusy) {
		return nil, verifyErr
	}
	if verifyErr != nil || !password.IsUsable(b.Password) {
		// Unusable or unreadable hashes answer at once; spend the usual
		// time so they do not stand out from real accounts.
		if _, err := a.Hasher.Verify(pw, a.dummy); errors.Is(err, hashlimit.ErrBusy) {
			return nil, err
		}
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	if a.Hasher.NeedsRehash(b.Password) {
		if h, err := a.Hasher.Hash(pw); err == nil {
			if ok, err := a.Users.ReplacePassword(ctx, b.ID, b.Password, h); err != nil {
				a.Log.WarnContext(ctx, "restauth: re-hash password", "user_id", b.ID, "err", err)
			} else if ok {
				b.Password = h
			}
		}
	}
	return u, nil
}

// IsRefusal reports whether err is a client-facing refusal (not a
// failure of the server).
func IsRefusal(err error) bool {
	var v *verr.Error
	return errors.As(err, &v)
}
