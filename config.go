package restauth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/internal/password"
	"github.com/restauth/restauth/locales"
)

// LoginMethod names a way users identify themselves at login (allauth's
// ACCOUNT_AUTHENTICATION_METHOD / ACCOUNT_LOGIN_METHODS).
type LoginMethod string

// Login methods.
const (
	LoginByUsername LoginMethod = "username"
	LoginByEmail    LoginMethod = "email"
)

// Config configures a Plugin. The zero value of every field but SecretKey
// means "the default" (listed on each field); defaults are filled in by
// New, in one place (withDefaults). Setting names in brackets are the
// django-rest-auth / allauth / Django settings each field stands for.
type Config struct {
	// SecretKey keys password-reset tokens and other MACs [SECRET_KEY].
	// Required, at least 32 bytes; keep it secret and stable.
	SecretKey string

	// SiteURL is the public base URL of the front end that emails link
	// to, e.g. "https://example.com" [django.contrib.sites domain].
	// Default "http://localhost:8000". Links never come from the request's
	// Host header.
	SiteURL string
	// SiteName appears in emails. Default: SiteURL's host.
	SiteName string

	// DisableTokenAuth turns token authentication (Authorization: Token
	// <key>) off; then UseJWT must be on.
	DisableTokenAuth bool
	// UseJWT switches logins to JWTs [REST_USE_JWT]. Not available yet:
	// New refuses it until JWT mode is implemented.
	UseJWT bool
	// TokenTTL limits the life of a token key; 0 means tokens last until
	// logout or a password change.
	TokenTTL time.Duration
	// TokenStore keeps token keys [REST_AUTH_TOKEN_MODEL,
	// REST_AUTH_TOKEN_CREATOR]. Default: a GORM table of SHA-256 digests.
	TokenStore TokenStore

	// LoginMethods lists how users may log in [ACCOUNT_LOGIN_METHODS].
	// Default: username and email.
	LoginMethods []LoginMethod
	// OldPasswordFieldEnabled requires old_password on password change
	// [OLD_PASSWORD_FIELD_ENABLED]. Default false.
	OldPasswordFieldEnabled bool
	// LogoutOnPasswordChange revokes the current token too when the
	// password changes [LOGOUT_ON_PASSWORD_CHANGE]. Default false (the
	// user's other tokens are always revoked).
	LogoutOnPasswordChange bool
	// LogoutOnGet allows GET on logout/ [ACCOUNT_LOGOUT_ON_GET]. Default
	// false; not recommended (links and prefetchers log users out).
	LogoutOnGet bool

	// DisableRegistration removes the registration endpoints.
	DisableRegistration bool
	// EmailVerification is none, optional or mandatory
	// [ACCOUNT_EMAIL_VERIFICATION]. Default optional. Under mandatory,
	// registration returns no token and unverified users cannot log in.
	EmailVerification EmailVerification
	// EmailRequired makes email a required registration field
	// [ACCOUNT_EMAIL_REQUIRED]. nil means true.
	EmailRequired *bool
	// UsernameRequired makes username a required registration field
	// [ACCOUNT_USERNAME_REQUIRED]. nil means true; when false and none is
	// given, one is made from the email's local part.
	UsernameRequired *bool
	// EmailConfirmURL is the link in confirmation emails, with a {key}
	// placeholder. Default
	// SiteURL + "/rest-auth/registration/account-confirm-email/{key}/",
	// the page Register mounts (mount at /rest-auth or set this).
	EmailConfirmURL string
	// EmailConfirmationExpire is how long a confirmation key works
	// [ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS]. Default 72 hours.
	EmailConfirmationExpire time.Duration
	// EmailConfirmationCooldown is the least time between two
	// confirmation emails to one address
	// [ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN]. Default 180 seconds.
	EmailConfirmationCooldown time.Duration
	// OnMailError, when set, is told of every email that could not be
	// sent (they are also logged). Sending happens after the request's
	// transaction committed, so a failure never undoes a sign-up.
	OnMailError func(ctx context.Context, m emails.Message, err error)

	// PasswordResetURL is the front-end link sent in reset emails, with
	// {uid} and {token} placeholders [PASSWORD_RESET_CONFIRM_URL].
	// Default SiteURL + "/password/reset/confirm/{uid}/{token}/".
	PasswordResetURL string
	// PasswordResetTimeout is how long a reset link works
	// [PASSWORD_RESET_TIMEOUT]. Default 72 hours.
	PasswordResetTimeout time.Duration

	// PasswordHasher hashes and verifies passwords [PASSWORD_HASHERS].
	// Default: Argon2id (19 MiB, t=2, p=1) that also verifies Django's
	// pbkdf2_sha256, argon2 and bcrypt_sha256 hashes and upgrades them at
	// login.
	PasswordHasher PasswordHasher
	// PasswordValidators check new passwords [AUTH_PASSWORD_VALIDATORS].
	// nil: Django's four defaults (DefaultPasswordValidators); an empty,
	// non-nil slice turns validation off.
	PasswordValidators []PasswordValidator

	// Mailer sends emails [EMAIL_BACKEND]. Default: print them to standard
	// error (development only: a warning is logged).
	Mailer emails.Mailer
	// EmailTemplates overrides email templates by file name (see the
	// emails package); nil uses the embedded ones.
	EmailTemplates fs.FS

	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// Catalog holds the message translations. Default: English only;
	// add languages with Catalog.AddFile.
	Catalog *locales.Catalog
	// Logger receives restauth's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (for tests). Default time.Now.
	Now func() time.Time
}

// EmailVerification is an email verification mode.
type EmailVerification = core.Verification

// Email verification modes (ACCOUNT_EMAIL_VERIFICATION).
const (
	VerificationNone      = core.VerificationNone
	VerificationOptional  = core.VerificationOptional
	VerificationMandatory = core.VerificationMandatory
)

// Bool returns a pointer to b, for the *bool fields of Config.
func Bool(b bool) *bool { return &b }

// PasswordHasher hashes and verifies passwords; see the Hasher contract in
// the password package.
type PasswordHasher = password.Hasher

// PasswordValidator checks a new password against a user's attributes.
type PasswordValidator = password.Validator

// PasswordValidatorFunc adapts a function to PasswordValidator.
type PasswordValidatorFunc = password.ValidatorFunc

// PasswordUserInfo is what password validators compare a password against.
type PasswordUserInfo = password.UserInfo

// TokenStore keeps token-authentication keys; see its contract in the
// method docs.
type TokenStore = core.TokenStore

// ErrTokenNotFound is returned by a TokenStore for an unknown, revoked or
// expired key.
var ErrTokenNotFound = core.ErrTokenNotFound

// DefaultPasswordValidators returns Django's four default validators, in
// Django's order: user attribute similarity, minimum length 8, common
// passwords, entirely numeric. Append to it to extend the list.
func DefaultPasswordValidators() []PasswordValidator { return password.DefaultValidators() }

// DefaultPasswordHasher returns the default hasher (see Config.PasswordHasher).
func DefaultPasswordHasher() PasswordHasher { return password.Default() }

// withDefaults returns c with every zero field set to its default, or an
// error naming the first bad field.
func (c Config) withDefaults() (Config, error) {
	if len(c.SecretKey) < 32 {
		return c, errors.New("restauth: Config.SecretKey must be set to at least 32 bytes")
	}
	if c.UseJWT {
		return c, errors.New("restauth: Config.UseJWT: JWT mode is not available in this version")
	}
	if c.DisableTokenAuth && !c.UseJWT {
		return c, errors.New("restauth: Config.DisableTokenAuth with UseJWT off leaves no way to authenticate")
	}
	if c.SiteURL == "" {
		c.SiteURL = "http://localhost:8000"
	}
	su, err := url.Parse(c.SiteURL)
	if err != nil || (su.Scheme != "http" && su.Scheme != "https") || su.Host == "" {
		return c, fmt.Errorf("restauth: Config.SiteURL %q must be an absolute http(s) URL", c.SiteURL)
	}
	c.SiteURL = strings.TrimSuffix(c.SiteURL, "/")
	if c.SiteName == "" {
		c.SiteName = su.Host
	}
	if c.PasswordResetURL == "" {
		c.PasswordResetURL = c.SiteURL + "/password/reset/confirm/{uid}/{token}/"
	}
	if !strings.Contains(c.PasswordResetURL, "{uid}") || !strings.Contains(c.PasswordResetURL, "{token}") {
		return c, errors.New("restauth: Config.PasswordResetURL must contain {uid} and {token}")
	}
	if c.PasswordResetTimeout < 0 || c.TokenTTL < 0 || c.MaxBodyBytes < 0 {
		return c, errors.New("restauth: Config durations and sizes must not be negative")
	}
	if c.PasswordResetTimeout == 0 {
		c.PasswordResetTimeout = 72 * time.Hour
	}
	if len(c.LoginMethods) == 0 {
		c.LoginMethods = []LoginMethod{LoginByUsername, LoginByEmail}
	}
	for _, m := range c.LoginMethods {
		if m != LoginByUsername && m != LoginByEmail {
			return c, fmt.Errorf("restauth: Config.LoginMethods: unknown method %q", m)
		}
	}
	switch c.EmailVerification {
	case "":
		c.EmailVerification = VerificationOptional
	case VerificationNone, VerificationOptional, VerificationMandatory:
	default:
		return c, fmt.Errorf("restauth: Config.EmailVerification %q: want none, optional or mandatory", c.EmailVerification)
	}
	if c.EmailRequired == nil {
		c.EmailRequired = Bool(true)
	}
	if c.UsernameRequired == nil {
		c.UsernameRequired = Bool(true)
	}
	if c.EmailVerification == VerificationMandatory && !*c.EmailRequired {
		return c, errors.New("restauth: Config.EmailVerification mandatory needs EmailRequired")
	}
	if !*c.EmailRequired && !c.loginBy(LoginByUsername) {
		return c, errors.New("restauth: Config.EmailRequired false needs LoginMethods to include username")
	}
	if c.EmailConfirmURL == "" {
		c.EmailConfirmURL = c.SiteURL + "/rest-auth/registration/account-confirm-email/{key}/"
	}
	if !strings.Contains(c.EmailConfirmURL, "{key}") {
		return c, errors.New("restauth: Config.EmailConfirmURL must contain {key}")
	}
	if c.EmailConfirmationExpire < 0 || c.EmailConfirmationCooldown < 0 {
		return c, errors.New("restauth: Config durations and sizes must not be negative")
	}
	if c.EmailConfirmationExpire == 0 {
		c.EmailConfirmationExpire = 72 * time.Hour
	}
	if c.EmailConfirmationCooldown == 0 {
		c.EmailConfirmationCooldown = 180 * time.Second
	}
	if c.PasswordHasher == nil {
		c.PasswordHasher = password.Default()
	}
	if c.PasswordValidators == nil {
		c.PasswordValidators = password.DefaultValidators()
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.Catalog == nil {
		c.Catalog = locales.New()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Mailer == nil {
		c.Logger.Warn("restauth: no Config.Mailer set; emails are printed to standard error")
		c.Mailer = emails.Console(os.Stderr)
	}
	return c, nil
}

func (c Config) loginBy(m LoginMethod) bool {
	for _, x := range c.LoginMethods {
		if x == m {
			return true
		}
	}
	return false
}
