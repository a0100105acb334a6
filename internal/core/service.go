// Package core is restauth's service layer: users, passwords, tokens and
// emails. It never touches gin; handlers call it and render what it returns.
package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// Hooks are the typed callbacks an app registers; nil ones are skipped.
// They run after the change they report has been committed.
type Hooks[U any] struct {
	OnLogin           []func(ctx context.Context, u *U)
	OnLogout          []func(ctx context.Context, u *U)
	OnPasswordChanged []func(ctx context.Context, u *U)
	OnPasswordReset   []func(ctx context.Context, u *U)
	OnUserSignedUp    []func(ctx context.Context, u *U)
	OnEmailConfirmed  []func(ctx context.Context, u *U)
}

func run[U any](ctx context.Context, fns []func(context.Context, *U), u *U) {
	for _, fn := range fns {
		fn(ctx, u)
	}
}

// Options configure a Service; the root package fills every field.
type Options struct {
	DB         *gorm.DB
	Hasher     password.Hasher
	Validators []password.Validator
	Tokens     TokenStore
	TokenTTL   time.Duration
	// JWT signs and verifies JWTs; nil when JWT mode is off.
	JWT                       *jwtauth.Issuer
	Mailer                    emails.Mailer
	Templates                 *emails.Templates
	SecretKey                 string
	SiteURL                   string
	SiteName                  string
	PasswordResetURL          string
	PasswordResetTimeout      time.Duration
	LoginByUsername           bool
	LoginByEmail              bool
	LogoutOnPasswordChange    bool
	EmailVerification         Verification
	EmailConfirmURL           string
	EmailConfirmationExpire   time.Duration
	EmailConfirmationCooldown time.Duration
	// OnMailError, when set, hears of every email that could not be sent.
	OnMailError func(ctx context.Context, m emails.Message, err error)
	Now         func() time.Time
	Logger      *slog.Logger
}

// Service is the core of one Plugin[U].
type Service[U any] struct {
	opt   Options
	Hooks Hooks[U]
	// JWTClaims adds the app's claims to access tokens.
	JWTClaims func(ctx context.Context, u *U) map[string]any
	reset     ResetTokens
	dummy     string
	mail      sync.WaitGroup
}

// New returns a Service for opt.
func New[U any](opt Options) (*Service[U], error) {
	dummy, err := opt.Hasher.Hash("restauth timing equaliser")
	if err != nil {
		return nil, fmt.Errorf("restauth: password hasher: %w", err)
	}
	return &Service[U]{
		opt:   opt,
		dummy: dummy,
		reset: ResetTokens{Key: DeriveKey(opt.SecretKey, "password_reset"), Timeout: opt.PasswordResetTimeout, Now: opt.Now},
	}, nil
}

// Base returns the embedded models.User of u.
func Base[U any](u *U) *models.User {
	return any(u).(models.UserModel).UserBase()
}

// Now returns the service clock's current time in UTC.
func (s *Service[U]) Now() time.Time { return s.opt.Now().UTC() }

// DB returns the database handle bound to ctx (or ctx's transaction).
func (s *Service[U]) DB(ctx context.Context) *gorm.DB { return DB(ctx, s.opt.DB) }

// Options returns the options the service was built with.
func (s *Service[U]) Options() Options { return s.opt }

// UserByID loads a user; (nil, nil) when there is none.
func (s *Service[U]) UserByID(ctx context.Context, id uint) (*U, error) {
	u := new(U)
	err := s.DB(ctx).Where("id = ?", id).Take(u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("restauth: load user: %w", err)
	}
	return u, nil
}

// userBy loads the one user whose column equals value case-insensitively.
func (s *Service[U]) userBy(ctx context.Context, column, value string) (*U, error) {
	u := new(U)
	err := s.DB(ctx).Where("lower("+column+") = lower(?)", value).Take(u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("restauth: find user: %w", err)
	}
	return u, nil
}

// UserByUsername finds a user by username, any letter case.
func (s *Service[U]) UserByUsername(ctx context.Context, username string) (*U, error) {
	return s.userBy(ctx, "username", username)
}

// UserByEmail finds a user by email, any letter case.
func (s *Service[U]) UserByEmail(ctx context.Context, email string) (*U, error) {
	if email == "" {
		return nil, nil
	}
	return s.userBy(ctx, "email", email)
}

// Authenticate checks login credentials the way dj-rest-auth's
// LoginSerializer does and returns the user, or a 400 error with one of the
// documented non-field messages. Unknown users cost the same password
// verification as known ones.
func (s *Service[U]) Authenticate(ctx context.Context, username, email, pw string) (*U, error) {
	byUser, byEmail := s.opt.LoginByUsername, s.opt.LoginByEmail
	var (
		u   *U
		err error
	)
	switch {
	case byEmail && email != "":
		u, err = s.UserByEmail(ctx, email)
	case byEmail && !byUser && username != "" && strings.Contains(username, "@"):
		u, err = s.UserByEmail(ctx, username)
	case byUser && username != "":
		u, err = s.UserByUsername(ctx, username)
		if err == nil && u == nil && byEmail && strings.Contains(username, "@") {
			u, err = s.UserByEmail(ctx, username)
		}
	default:
		key := "login.need_either"
		switch {
		case byUser && !byEmail:
			key = "login.need_username"
		case byEmail && !byUser:
			key = "login.need_email"
		}
		return nil, apierr.Field(apierr.NonField, locales.M(key))
	}
	if err != nil {
		return nil, apierr.Unavailable(err)
	}
	if u == nil {
		_, _ = s.opt.Hasher.Verify(pw, s.dummy)
		return nil, apierr.Field(apierr.NonField, locales.M("login.invalid_credentials"))
	}
	b := Base(u)
	ok, verr := s.opt.Hasher.Verify(pw, b.Password)
	if verr != nil || !password.IsUsable(b.Password) {
		// Unusable or unreadable hashes answer at once; spend the usual
		// time so they do not stand out from real accounts.
		_, _ = s.opt.Hasher.Verify(pw, s.dummy)
	}
	if !ok {
		return nil, apierr.Field(apierr.NonField, locales.M("login.invalid_credentials"))
	}
	if !b.IsActive {
		return nil, apierr.Field(apierr.NonField, locales.M("login.disabled"))
	}
	if s.opt.EmailVerification == VerificationMandatory {
		ok, err := s.HasVerifiedEmail(ctx, b.ID)
		if err != nil {
			return nil, apierr.Unavailable(err)
		}
		if !ok {
			return nil, apierr.Field(apierr.NonField, locales.M("login.email_not_verified"))
		}
	}
	if s.opt.Hasher.NeedsRehash(b.Password) {
		if h, herr := s.opt.Hasher.Hash(pw); herr == nil {
			if err := s.DB(ctx).Model(new(U)).Where("id = ? AND password = ?", b.ID, b.Password).Update("password", h).Error; err != nil {
				s.opt.Logger.WarnContext(ctx, "restauth: re-hash password", "user_id", b.ID, "err", err)
			} else {
				b.Password = h
			}
		}
	}
	return u, nil
}

// Login records a login of u: it updates last_login, issues credentials
// (an access/refresh pair in JWT mode, else a token key when withToken)
// and runs the OnLogin hooks.
func (s *Service[U]) Login(ctx context.Context, u *U, withToken bool) (Credentials, error) {
	b := Base(u)
	now := s.Now().Truncate(time.Microsecond)
	var cred Credentials
	// last_login and the credentials change together or not at all.
	err := s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(new(U)).Where("id = ?", b.ID).Update("last_login", now).Error; err != nil {
			return fmt.Errorf("restauth: update last_login: %w", err)
		}
		c, err := s.issue(WithTx(ctx, tx), u, withToken, now)
		cred = c
		return err
	})
	if err != nil {
		return Credentials{}, apierr.Unavailable(err)
	}
	b.LastLogin = &now
	run(ctx, s.Hooks.OnLogin, u)
	return cred, nil
}

// issue makes the credentials of a login (ctx carries the transaction).
func (s *Service[U]) issue(ctx context.Context, u *U, withToken bool, now time.Time) (Credentials, error) {
	if s.opt.JWT != nil {
		return s.issuePair(ctx, u)
	}
	if !withToken {
		return Credentials{}, nil
	}
	k, err := s.opt.Tokens.Create(ctx, Base(u).ID, s.tokenExpiry(now))
	return Credentials{Key: k}, err
}

// UserByToken resolves a token key to its active user for request
// authentication, with DRF's 401 messages.
func (s *Service[U]) UserByToken(ctx context.Context, key string) (*U, error) {
	id, err := s.opt.Tokens.User(ctx, key)
	if errors.Is(err, ErrTokenNotFound) {
		return nil, apierr.Detail(http.StatusUnauthorized, locales.M("auth.invalid_token"))
	}
	if err != nil {
		return nil, apierr.Unavailable(err)
	}
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return nil, apierr.Unavailable(err)
	}
	if u == nil || !Base(u).IsActive {
		return nil, apierr.Detail(http.StatusUnauthorized, locales.M("auth.user_inactive"))
	}
	return u, nil
}

// Logout revokes key (if any) and runs the OnLogout hooks when it belonged
// to a user. Unknown keys are fine: logout is idempotent.
func (s *Service[U]) Logout(ctx context.Context, u *U, key string) error {
	if key != "" {
		if err := s.opt.Tokens.Delete(ctx, key); err != nil {
			return apierr.Unavailable(err)
		}
	}
	if u != nil {
		run(ctx, s.Hooks.OnLogout, u)
	}
	return nil
}

// userInfo is what the similarity validator compares against.
func userInfo(b *models.User) password.UserInfo {
	return password.UserInfo{Username: b.Username, FirstName: b.FirstName, LastName: b.LastName, Email: b.Email}
}

// ValidatePassword runs the configured validators for u (which may be a
// user not yet saved).
func (s *Service[U]) ValidatePassword(pw string, b *models.User) []locales.Message {
	return password.Validate(pw, userInfo(b), s.opt.Validators)
}

// setPassword hashes pw into u, saves it and revokes u's tokens and
// refresh tokens except keep's, all in one transaction.
func (s *Service[U]) setPassword(ctx context.Context, u *U, pw string, keep Session) error {
	b := Base(u)
	h, err := s.opt.Hasher.Hash(pw)
	if err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: hash password: %w", err))
	}
	err = s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		tctx := WithTx(ctx, tx)
		// Only if the hash is still the one checked against: of two
		// concurrent uses of one reset link, one wins.
		res := tx.Model(new(U)).Where("id = ? AND password = ?", b.ID, b.Password).Update("password", h)
		if res.Error != nil {
			return fmt.Errorf("restauth: save password: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return errStale
		}
		var keepKeys []string
		if keep.Key != "" {
			keepKeys = []string{keep.Key}
		}
		if err := s.opt.Tokens.DeleteUser(tctx, b.ID, keepKeys...); err != nil {
			return err
		}
		if s.opt.JWT != nil {
			return s.revokeUserRefresh(tx, b.ID, keep.Family)
		}
		return nil
	})
	if errors.Is(err, errStale) {
		return err
	}
	if err != nil {
		return apierr.Unavailable(err)
	}
	b.Password = h
	return nil
}

// errStale means the password changed between check and save.
var errStale = errors.New("restauth: password changed concurrently")

// ChangePassword is password/change/: old password check (when enabled),
// match, validators, then save and revoke the user's other tokens (all of
// them with LogoutOnPasswordChange); in JWT mode the same holds for
// refresh-token families, cur.Family being the current one.
func (s *Service[U]) ChangePassword(ctx context.Context, u *U, cur Session, oldPassword string, checkOld bool, p1, p2 string) error {
	b := Base(u)
	if checkOld {
		if ok, _ := s.opt.Hasher.Verify(oldPassword, b.Password); !ok {
			return apierr.Field("old_password", locales.M("password.old_incorrect"))
		}
	}
	if p1 != p2 {
		return apierr.Field("new_password2", locales.M("password.mismatch"))
	}
	if msgs := s.ValidatePassword(p2, b); len(msgs) > 0 {
		return apierr.Field("new_password2", msgs...)
	}
	var keep Session
	if !s.opt.LogoutOnPasswordChange {
		keep = cur
	}
	if err := s.setPassword(ctx, u, p1, keep); errors.Is(err, errStale) {
		return apierr.Field("old_password", locales.M("password.old_incorrect"))
	} else if err != nil {
		return err
	}
	run(ctx, s.Hooks.OnPasswordChanged, u)
	return nil
}

// SendPasswordReset emails a reset link to every active user with email.
// Sending happens in the background, so the answer takes the same time
// whether or not the address is known; Wait waits for it.
func (s *Service[U]) SendPasswordReset(ctx context.Context, email string) error {
	var users []U
	err := s.DB(ctx).Where("lower(email) = lower(?) AND is_active = ?", email, true).Find(&users).Error
	if err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: find users: %w", err))
	}
	for i := range users {
		b := Base(&users[i])
		uid, token := EncodeUID(b.ID), s.reset.Make(b)
		link := strings.NewReplacer("{uid}", uid, "{token}", token).Replace(s.opt.PasswordResetURL)
		msg, err := s.opt.Templates.Render(emails.TemplatePasswordReset, emails.PasswordResetData{
			Username: b.Username, Email: b.Email, ResetURL: link,
			UID: uid, Token: token, SiteName: s.opt.SiteName, SiteURL: s.opt.SiteURL,
		})
		if err != nil {
			return apierr.Unavailable(fmt.Errorf("restauth: render reset email: %w", err))
		}
		msg.To = []string{b.Email}
		s.SendMail(msg)
	}
	return nil
}

// SendMail sends m in the background; failures are logged.
func (s *Service[U]) SendMail(m emails.Message) {
	s.mail.Add(1)
	go func() {
		defer s.mail.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.opt.Mailer.Send(ctx, m); err != nil {
			s.opt.Logger.Error("restauth: send email", "subject", m.Subject, "err", err)
			if s.opt.OnMailError != nil {
				s.opt.OnMailError(ctx, m, err)
			}
		}
	}()
}

// Wait blocks until every email started so far has been handed to the
// mailer (or failed).
func (s *Service[U]) Wait() { s.mail.Wait() }

// ConfirmPasswordReset is password/reset/confirm/. extra, when set, runs
// the app's own validation after the built-in field checks.
func (s *Service[U]) ConfirmPasswordReset(ctx context.Context, uid, token, p1, p2 string, extra func(u *U) error) (*U, error) {
	id, ok := DecodeUID(uid)
	if !ok {
		return nil, apierr.Field("uid", locales.M("field.invalid"))
	}
	u, err := s.UserByID(ctx, id)
	if err != nil {
		return nil, apierr.Unavailable(err)
	}
	if u == nil || !Base(u).IsActive {
		return nil, apierr.Field("uid", locales.M("field.invalid"))
	}
	b := Base(u)
	if !s.reset.Check(b, token) {
		return nil, apierr.Field("token", locales.M("field.invalid"))
	}
	if p1 != p2 {
		return nil, apierr.Field("new_password2", locales.M("password.mismatch"))
	}
	if msgs := s.ValidatePassword(p2, b); len(msgs) > 0 {
		return nil, apierr.Field("new_password2", msgs...)
	}
	if extra != nil {
		if err := extra(u); err != nil {
			return nil, err
		}
	}
	if err := s.setPassword(ctx, u, p1, Session{}); errors.Is(err, errStale) {
		return nil, apierr.Field("token", locales.M("field.invalid"))
	} else if err != nil {
		return nil, err
	}
	run(ctx, s.Hooks.OnPasswordReset, u)
	return u, nil
}

// ResetToken returns a fresh password-reset uid and token for u (for apps
// that send their own emails, and for tests).
func (s *Service[U]) ResetToken(u *U) (uid, token string) {
	b := Base(u)
	return EncodeUID(b.ID), s.reset.Make(b)
}

// protectedFields are never written through user/, whatever a serializer
// does (Go field names, so a custom naming strategy is honoured).
var protectedFields = []string{"ID", "Password", "Email", "IsActive", "IsStaff", "IsSuperuser", "DateJoined", "LastLogin"}

// SaveUserDetails saves the columns a user serializer changed on u
// (compared with before, the row as loaded), never credentials, flags,
// dates or email, after checking the username is free. Only changed
// columns are written, so a concurrent change to another column survives;
// a concurrent taker of the same name is caught by the unique index.
func (s *Service[U]) SaveUserDetails(ctx context.Context, before, u *U) error {
	id := Base(before).ID
	b := Base(u)
	if b.Username != Base(before).Username {
		other, err := s.UserByUsername(ctx, b.Username)
		if err != nil {
			return apierr.Unavailable(err)
		}
		if other != nil && Base(other).ID != id {
			return apierr.Field("username", locales.M("user.username_taken"))
		}
	}
	stmt := &gorm.Statement{DB: s.opt.DB}
	if err := stmt.Parse(new(U)); err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: user schema: %w", err))
	}
	skip := map[string]bool{}
	for _, name := range protectedFields {
		if f := stmt.Schema.LookUpField(name); f != nil {
			skip[f.DBName] = true
		}
	}
	bv, av := reflect.ValueOf(before).Elem(), reflect.ValueOf(u).Elem()
	var changed []string
	for _, f := range stmt.Schema.Fields {
		if f.DBName == "" || skip[f.DBName] || f.PrimaryKey {
			continue
		}
		x, _ := f.ValueOf(ctx, bv)
		y, _ := f.ValueOf(ctx, av)
		if !reflect.DeepEqual(x, y) {
			changed = append(changed, f.DBName)
		}
	}
	b.ID = id
	if len(changed) == 0 {
		return nil
	}
	err := s.DB(ctx).Model(new(U)).Where("id = ?", id).Select(changed).Updates(u).Error
	if IsUniqueViolation(err) {
		return apierr.Field("username", locales.M("user.username_taken"))
	}
	if err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: save user: %w", err))
	}
	return nil
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// SQLite or PostgreSQL (or GORM's translated ErrDuplicatedKey).
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "UNIQUE constraint failed") || strings.Contains(s, "SQLSTATE 23505") ||
		strings.Contains(s, "duplicate key value")
}
