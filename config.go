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

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/emails"
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

// Config configures a Plugin. It holds the settings every feature shares
// and one nested struct per feature (Password, Token, JWT, Registration,
// PasswordReset, PasswordChange, Logout, Social, RateLimits), each in its own file. The zero
// value of every field but SecretKey means "the default" (given on each
// field); New fills the defaults, each feature's in its own withDefaults,
// and names the full path of a bad field in its error
// ("restauth: Config.JWT.AccessLifetime: ..."). Setting names in brackets
// are the django-rest-auth / simplejwt / allauth / Django settings a field
// stands for.
type Config struct {
	// SecretKey keys password-reset tokens, the default JWT key and other
	// MACs [SECRET_KEY]. Required, at least 32 bytes; keep it secret and
	// stable.
	SecretKey string
	// SiteURL is the public base URL that emails link to, e.g.
	// "https://example.com" [django.contrib.sites domain]. Default
	// "http://localhost:8000", with a warning: set it. Links never come
	// from the request's Host header.
	SiteURL string
	// SiteName appears in emails. Default: SiteURL's host.
	SiteName string

	// Mailer sends emails [EMAIL_BACKEND]. Default: print them to standard
	// error (development only: a warning is logged).
	Mailer emails.Mailer
	// EmailTemplates overrides email templates by file name (see the
	// emails package); nil uses the embedded ones.
	EmailTemplates fs.FS
	// OnMailError, when set, is told of every email that could not be
	// sent (they are also logged). Sending happens after the request's
	// transaction committed, so a failure never undoes a sign-up.
	OnMailError func(ctx context.Context, m emails.Message, err error)

	// Catalog holds the message translations [LANGUAGES, locale/*.po].
	// Default: locales.New(), English and the 24 languages of
	// locales.Languages; add or override with Catalog.AddFile or
	// Catalog.AddMessages.
	Catalog *locales.Catalog
	// Language, when set, picks the language of a request's messages and
	// e-mails [LocaleMiddleware] instead of its Accept-Language header: it
	// returns a BCP 47 tag or an Accept-Language value (a user's saved
	// preference, a ?lang= parameter the app honours), or "" to fall back
	// to the header. The catalog's best match is used either way (English
	// when nothing matches) and named in the answer's Content-Language. A
	// panic in it is logged and the header decides.
	Language func(c *gin.Context) string
	// Logger receives restauth's logs. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock (for tests). Default time.Now.
	Now func() time.Time
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// RequestTimeout is the longest an endpoint waits on the database and
	// other services before answering 503 {"detail": ...}: every
	// restauth endpoint runs with its request context bounded by it, and
	// RequireAuth bounds its own lookups by it (never the app handler
	// that follows). Default 10 s; negative means no limit.
	RequestTimeout time.Duration
	// LoginMethods lists how users may log in [ACCOUNT_LOGIN_METHODS].
	// Default: username and email.
	LoginMethods []LoginMethod

	// Password chooses the hasher and the validators of new passwords.
	Password PasswordConfig
	// Token configures token-key authentication (DRF's authtoken).
	Token TokenConfig
	// JWT configures JSON Web Token mode (dj-rest-auth + simplejwt).
	JWT JWTConfig
	// Registration configures sign-up and email verification
	// (dj-rest-auth's registration app + allauth).
	Registration RegistrationConfig
	// PasswordReset configures password/reset/ and its confirmation.
	PasswordReset PasswordResetConfig
	// PasswordChange configures password/change/.
	PasswordChange PasswordChangeConfig
	// Logout configures logout/.
	Logout LogoutConfig
	// Social configures social login (package socialauth).
	Social SocialConfig
	// RateLimits configures rate limits and the login lockout.
	RateLimits RateLimitConfig
	// OpenAPI configures the OpenAPI document served at openapi.json.
	OpenAPI OpenAPIConfig
}

// OpenAPIConfig configures the OpenAPI 3.0 document that Register serves
// at <group>/openapi.json: every endpoint this configuration mounts, its
// security schemes, request bodies and every answer with its JSON schema,
// generated from the route table and DTO types the handlers use.
type OpenAPIConfig struct {
	// Disabled turns the openapi.json route off (Plugin.OpenAPI still
	// builds the document).
	Disabled bool
	// Title is the document's title; default SiteName + " API".
	Title string
	// Version is the API's version; default "1".
	Version string
	// Description is the document's description (Markdown).
	Description string
}

// Bool returns a pointer to b, for the *bool fields of Config whose nil
// value means true.
func Bool(b bool) *bool { return &b }

// fieldError is a configuration error naming the field's full path.
func fieldError(path, format string, args ...any) error {
	return fmt.Errorf("restauth: Config.%s: %s", path, fmt.Sprintf(format, args...))
}

// withDefaults returns c with every zero field set to its default, or an
// error naming the first bad field. Each feature fills its own part.
func (c Config) withDefaults() (Config, error) {
	if len(c.SecretKey) < 32 {
		return c, fieldError("SecretKey", "must be set to at least 32 bytes")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.SiteURL == "" {
		c.Logger.Warn("restauth: Config.SiteURL is not set; emails link to http://localhost:8000")
		c.SiteURL = "http://localhost:8000"
	}
	su, err := url.Parse(c.SiteURL)
	if err != nil || (su.Scheme != "http" && su.Scheme != "https") || su.Host == "" {
		return c, fieldError("SiteURL", "%q must be an absolute http(s) URL", c.SiteURL)
	}
	c.SiteURL = strings.TrimSuffix(c.SiteURL, "/")
	if c.SiteName == "" {
		c.SiteName = su.Host
	}
	if c.MaxBodyBytes < 0 {
		return c, fieldError("MaxBodyBytes", "must not be negative")
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.OpenAPI.Title == "" {
		c.OpenAPI.Title = c.SiteName + " API"
	}
	if c.OpenAPI.Version == "" {
		c.OpenAPI.Version = "1"
	}
	if len(c.LoginMethods) == 0 {
		c.LoginMethods = []LoginMethod{LoginByUsername, LoginByEmail}
	}
	for _, m := range c.LoginMethods {
		if m != LoginByUsername && m != LoginByEmail {
			return c, fieldError("LoginMethods", "unknown method %q", m)
		}
	}
	if c.Catalog == nil {
		c.Catalog = locales.New()
	}
	if c.Mailer == nil {
		c.Logger.Warn("restauth: no Config.Mailer set; emails are printed to standard error")
		c.Mailer = emails.Console(os.Stderr)
	}
	if err := c.Password.withDefaults(); err != nil {
		return c, err
	}
	if err := c.Token.withDefaults(c.JWT.Enabled); err != nil {
		return c, err
	}
	if err := c.JWT.withDefaults(c.SecretKey); err != nil {
		return c, err
	}
	if err := c.Registration.withDefaults(c.loginBy(LoginByUsername)); err != nil {
		return c, err
	}
	if err := c.PasswordReset.withDefaults(c.SiteURL); err != nil {
		return c, err
	}
	if err := c.Social.withDefaults(c.SiteURL); err != nil {
		return c, err
	}
	if err := c.RateLimits.withDefaults(c.Now); err != nil {
		return c, err
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

// errNegative is the error of a duration or size below zero.
var errNegative = errors.New("must not be negative")
