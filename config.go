package restauth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/password"
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
	// UseJWT switches logins, registration and token/refresh/ to JSON Web
	// Tokens [REST_USE_JWT]: login answers {"access","refresh","user"}
	// and RequireAuth accepts "Authorization: Bearer <access>". Token keys
	// still authenticate unless DisableTokenAuth is set. See the JWT*
	// fields and the README's JWT section.
	UseJWT bool
	// JWTKeys is the signing key set [SIGNING_KEY, VERIFYING_KEY,
	// ALGORITHM]. The first key that can sign signs and names itself in
	// the kid header; every key verifies the tokens whose kid names it,
	// so adding a new key first and keeping the old one (public part
	// only is enough) rotates keys without logging anyone out. Default:
	// one HS256 key derived from SecretKey, without kid.
	JWTKeys []JWTKey
	// JWTAccessLifetime is an access token's life [ACCESS_TOKEN_LIFETIME].
	// Default 5 minutes.
	JWTAccessLifetime time.Duration
	// JWTRefreshLifetime is a refresh token's life
	// [REFRESH_TOKEN_LIFETIME]. Default 1 day.
	JWTRefreshLifetime time.Duration
	// RotateRefreshTokens makes token/refresh/ return a new refresh token
	// and blacklist the one presented [ROTATE_REFRESH_TOKENS,
	// BLACKLIST_AFTER_ROTATION]. Presenting a blacklisted refresh token
	// revokes its whole family (theft detection). Default false.
	RotateRefreshTokens bool
	// JWTCheckRevoked makes every access token cost two queries: its user
	// must be active and its login (refresh family) not revoked, so
	// logout and password changes take effect at once instead of within
	// JWTAccessLifetime. Default false: a valid access token costs no
	// query until the user is loaded.
	JWTCheckRevoked bool
	// JWTResponseStyle "v0.9" answers logins with django-rest-auth 0.9's
	// {"token","user"} for old clients. Default "" (dj-rest-auth's shape).
	JWTResponseStyle string
	// JWTAuthReturnExpiration adds access_expiration and
	// refresh_expiration to login bodies [JWT_AUTH_RETURN_EXPIRATION].
	JWTAuthReturnExpiration bool
	// JWTAuthCookie names the access-token cookie [JWT_AUTH_COOKIE];
	// "" sets none. RequireAuth reads it when no Authorization header is
	// sent.
	JWTAuthCookie string
	// JWTAuthRefreshCookie names the refresh-token cookie
	// [JWT_AUTH_REFRESH_COOKIE]; "" sets none. token/refresh/ and logout/
	// read it when the body has no refresh.
	JWTAuthRefreshCookie string
	// JWTAuthRefreshCookiePath is the refresh cookie's Path
	// [JWT_AUTH_REFRESH_COOKIE_PATH]. Default "/".
	JWTAuthRefreshCookiePath string
	// JWTAuthSecure marks the cookies Secure [JWT_AUTH_SECURE]. Set it in
	// production (HTTPS).
	JWTAuthSecure bool
	// JWTAuthHTTPOnly marks the JWT cookies HttpOnly [JWT_AUTH_HTTPONLY];
	// with a refresh cookie, bodies then carry "refresh": "". nil means
	// true.
	JWTAuthHTTPOnly *bool
	// JWTAuthSameSite is the cookies' SameSite [JWT_AUTH_SAMESITE].
	// Default http.SameSiteLaxMode; None needs JWTAuthSecure.
	JWTAuthSameSite http.SameSite
	// JWTAuthCookieDomain is the cookies' Domain [JWT_AUTH_COOKIE_DOMAIN].
	JWTAuthCookieDomain string
	// JWTAuthCookieUseCSRF requires the CSRF token on unsafe requests
	// authenticated by the access cookie [JWT_AUTH_COOKIE_USE_CSRF]:
	// header X-CSRFToken must equal cookie csrftoken (double submit).
	JWTAuthCookieUseCSRF bool
	// JWTAuthCookieEnforceCSRFOnUnauthenticated requires it on every
	// unsafe request without an Authorization header, login included
	// [JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED]. restauth's
	// endpoints hand out the csrftoken cookie on any answer.
	JWTAuthCookieEnforceCSRFOnUnauthenticated bool
	// CSRFCookieName and CSRFHeaderName name the CSRF cookie and header
	// [CSRF_COOKIE_NAME, CSRF_HEADER_NAME]. Defaults "csrftoken" and
	// "X-CSRFToken".
	CSRFCookieName string
	CSRFHeaderName string
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

// JWTKey is one key of Config.JWTKeys: ID is its kid, Algorithm one of
// HS256/384/512 (Secret, at least 32 bytes), RS256/384/512 (RSA, at least
// 2048 bits), ES256/384/512 (ECDSA) or EdDSA (Ed25519). Give PrivateKey
// to sign, or only PublicKey to keep verifying tokens of a retired key.
// ParseJWTKey reads one from PEM.
type JWTKey = jwtauth.Key

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
	if c.DisableTokenAuth && !c.UseJWT {
		return c, errors.New("restauth: Config.DisableTokenAuth with UseJWT off leaves no way to authenticate")
	}
	if err := c.jwtDefaults(); err != nil {
		return c, err
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

// jwtDefaults fills and checks the JWT fields.
func (c *Config) jwtDefaults() error {
	if c.JWTAccessLifetime < 0 || c.JWTRefreshLifetime < 0 {
		return errors.New("restauth: Config JWT lifetimes must not be negative")
	}
	if c.JWTAccessLifetime == 0 {
		c.JWTAccessLifetime = 5 * time.Minute
	}
	if c.JWTRefreshLifetime == 0 {
		c.JWTRefreshLifetime = 24 * time.Hour
	}
	if len(c.JWTKeys) == 0 {
		c.JWTKeys = []JWTKey{DefaultJWTKey(c.SecretKey)}
	}
	switch c.JWTResponseStyle {
	case "", "v0.9":
	default:
		return fmt.Errorf("restauth: Config.JWTResponseStyle %q: want \"\" or \"v0.9\"", c.JWTResponseStyle)
	}
	if c.JWTAuthRefreshCookiePath == "" {
		c.JWTAuthRefreshCookiePath = "/"
	}
	if c.JWTAuthHTTPOnly == nil {
		c.JWTAuthHTTPOnly = Bool(true)
	}
	if c.JWTAuthSameSite == 0 {
		c.JWTAuthSameSite = http.SameSiteLaxMode
	}
	if c.JWTAuthSameSite == http.SameSiteNoneMode && !c.JWTAuthSecure {
		return errors.New("restauth: Config.JWTAuthSameSite None needs JWTAuthSecure (browsers drop such cookies otherwise)")
	}
	if c.CSRFCookieName == "" {
		c.CSRFCookieName = "csrftoken"
	}
	if c.CSRFHeaderName == "" {
		c.CSRFHeaderName = "X-CSRFToken"
	}
	names := map[string]string{}
	for _, n := range []struct{ field, name string }{
		{"JWTAuthCookie", c.JWTAuthCookie}, {"JWTAuthRefreshCookie", c.JWTAuthRefreshCookie}, {"CSRFCookieName", c.CSRFCookieName},
	} {
		if n.name == "" {
			continue
		}
		if !cookieNameRe.MatchString(n.name) {
			return fmt.Errorf("restauth: Config.%s %q is not a valid cookie name", n.field, n.name)
		}
		if other, dup := names[n.name]; dup {
			return fmt.Errorf("restauth: Config.%s and %s name the same cookie %q", other, n.field, n.name)
		}
		names[n.name] = n.field
	}
	return nil
}

// cookieNameRe matches RFC 6265 cookie names (HTTP tokens).
var cookieNameRe = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")

// DefaultJWTKey returns the HS256 key JWT mode uses when Config.JWTKeys is
// empty (derived from secretKey, no kid). Keep it in JWTKeys, after a new
// key, to rotate away from it without logging anyone out.
func DefaultJWTKey(secretKey string) JWTKey {
	return JWTKey{Algorithm: "HS256", Secret: core.DeriveKey(secretKey, "jwt")}
}

func (c Config) loginBy(m LoginMethod) bool {
	for _, x := range c.LoginMethods {
		if x == m {
			return true
		}
	}
	return false
}
