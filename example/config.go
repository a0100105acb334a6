package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/ratelimit"
	"github.com/restauth/restauth/socialauth"
)

// envConfig is the example's environment: one field per variable, named
// after the Django, allauth, dj-rest-auth or simplejwt setting it stands
// for. An empty variable counts as unset: the default. Numbers are whole
// numbers (times in seconds, as Django counts them); booleans take
// true/false, 1/0, yes/no or on/off in any letter case.
type envConfig struct {
	Addr        string `env:"ADDR" envDefault:"127.0.0.1:8000"`
	DatabaseURL string `env:"DATABASE_URL"`
	SMTPAddr    string `env:"SMTP_ADDR"`
	// DevOutbox keeps the last e-mails in memory and shows them at
	// /outbox (development only: they carry reset links).
	DevOutbox bool `env:"EXAMPLE_DEV_OUTBOX"`

	SecretKey    string        `env:"SECRET_KEY"`
	SiteURL      string        `env:"SITE_URL"`
	SiteName     string        `env:"SITE_NAME"`
	LoginMethods []loginMethod `env:"ACCOUNT_LOGIN_METHODS"`
	MaxBodyBytes byteCount     `env:"MAX_BODY_BYTES"`

	OldPasswordFieldEnabled bool    `env:"OLD_PASSWORD_FIELD_ENABLED"`
	LogoutOnPasswordChange  bool    `env:"LOGOUT_ON_PASSWORD_CHANGE"`
	LogoutOnGet             bool    `env:"ACCOUNT_LOGOUT_ON_GET"`
	PasswordResetURL        string  `env:"PASSWORD_RESET_CONFIRM_URL"`
	PasswordResetTimeout    seconds `env:"PASSWORD_RESET_TIMEOUT"`

	DisableRegistration  bool          `env:"REST_AUTH_DISABLE_REGISTRATION"`
	EmailVerification    verification  `env:"ACCOUNT_EMAIL_VERIFICATION"`
	EmailRequired        *bool         `env:"ACCOUNT_EMAIL_REQUIRED"`
	UsernameRequired     *bool         `env:"ACCOUNT_USERNAME_REQUIRED"`
	ConfirmationExpire   days          `env:"ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS"`
	ConfirmationCooldown *secondsOrOff `env:"ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN"`
	PreventEnumeration   bool          `env:"ACCOUNT_PREVENT_ENUMERATION"`

	DisableToken bool         `env:"REST_AUTH_DISABLE_TOKEN"`
	TokenTTL     secondsOrOff `env:"REST_AUTH_TOKEN_TTL"`

	// RateLimits is "off", or limits replacing the defaults, as
	// "action=count/period" items, comma-separated (period: s, m, h, d,
	// optionally with a number: "login_failed=5/5m,signup=10/h").
	RateLimits rateLimits `env:"RATE_LIMITS"`
	// RedisURL shares the rate-limit counts of several instances
	// ("redis://host:6379/0").
	RedisURL string `env:"REDIS_URL"`

	UseJWT bool `env:"REST_USE_JWT"`
	// JWT holds the variables that only mean something in JWT mode;
	// setting one without REST_USE_JWT=true is an error.
	JWT jwtEnv
}

// jwtEnv holds the variables of JWT mode (dj-rest-auth's JWT_AUTH_*,
// simplejwt's token settings, Django's CSRF names, the signing key).
type jwtEnv struct {
	AccessLifetime               seconds      `env:"ACCESS_TOKEN_LIFETIME"`
	RefreshLifetime              seconds      `env:"REFRESH_TOKEN_LIFETIME"`
	RotateRefreshTokens          bool         `env:"ROTATE_REFRESH_TOKENS"`
	CheckRevoked                 bool         `env:"JWT_CHECK_REVOKED"`
	ReturnExpiration             bool         `env:"JWT_AUTH_RETURN_EXPIRATION"`
	Cookie                       cookieName   `env:"JWT_AUTH_COOKIE"`
	RefreshCookie                cookieName   `env:"JWT_AUTH_REFRESH_COOKIE"`
	RefreshCookiePath            cookiePath   `env:"JWT_AUTH_REFRESH_COOKIE_PATH"`
	Secure                       bool         `env:"JWT_AUTH_SECURE"`
	HTTPOnly                     *bool        `env:"JWT_AUTH_HTTPONLY"`
	SameSite                     sameSite     `env:"JWT_AUTH_SAMESITE"`
	CookieDomain                 cookieDomain `env:"JWT_AUTH_COOKIE_DOMAIN"`
	CookieUseCSRF                bool         `env:"JWT_AUTH_COOKIE_USE_CSRF"`
	EnforceCSRFOnUnauthenticated bool         `env:"JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED"`
	CSRFCookieName               cookieName   `env:"CSRF_COOKIE_NAME"`
	CSRFHeaderName               headerName   `env:"CSRF_HEADER_NAME"`
	PrivateKeyFile               string       `env:"JWT_PRIVATE_KEY_FILE"`
	KeyID                        string       `env:"JWT_KEY_ID"`
}

// socialEnv holds the social login variables (package socialauth). They
// are read apart from envConfig (socialVars lists them). No provider is
// set by default, and then no social route is mounted; the variables after
// the providers' own need at least one provider.
type socialEnv struct {
	GitHubClientID     string    `env:"SOCIAL_GITHUB_CLIENT_ID"`
	GitHubClientSecret string    `env:"SOCIAL_GITHUB_CLIENT_SECRET"`
	GoogleClientID     string    `env:"SOCIAL_GOOGLE_CLIENT_ID"`
	GoogleClientSecret string    `env:"SOCIAL_GOOGLE_CLIENT_SECRET"`
	OIDCIssuer         string    `env:"SOCIAL_OIDC_ISSUER"`
	OIDCName           routeName `env:"SOCIAL_OIDC_NAME"`
	OIDCClientID       string    `env:"SOCIAL_OIDC_CLIENT_ID"`
	OIDCClientSecret   string    `env:"SOCIAL_OIDC_CLIENT_SECRET"`

	RedirectURIs                   []redirectURI `env:"SOCIAL_REDIRECT_URIS"`
	LoginRedirectURL               string        `env:"SOCIAL_LOGIN_REDIRECT_URL"`
	EmailAuthentication            bool          `env:"SOCIALACCOUNT_EMAIL_AUTHENTICATION"`
	EmailAuthenticationAutoConnect bool          `env:"SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT"`
	StoreTokens                    bool          `env:"SOCIALACCOUNT_STORE_TOKENS"`
	AutoSignup                     *bool         `env:"SOCIALACCOUNT_AUTO_SIGNUP"`
}

// settings is everything the example reads from its environment.
type settings struct {
	addr     string
	database gorm.Dialector
	auth     restauth.Config
	// devOutbox is EXAMPLE_DEV_OUTBOX: keep the e-mails for /outbox.
	devOutbox bool
}

// loadSettings reads the environment through getenv (never the process's
// own, so tests run in parallel). Every error names the variable at fault;
// nothing is opened or created. The one outside call is the OpenID Connect
// discovery of SOCIAL_OIDC_ISSUER, made last.
func loadSettings(getenv func(string) string, stdout io.Writer, log *slog.Logger) (settings, error) {
	e, err := parseEnv(getenv)
	social, socialSet, serr := parseSocial(getenv)
	if err := errors.Join(err, serr); err != nil {
		return settings{}, err
	}
	s := settings{addr: e.Addr, devOutbox: e.DevOutbox}
	if s.database, err = dialector(e.DatabaseURL); err != nil {
		return s, err
	}
	if s.auth, err = e.config(stdout, log); err != nil {
		return s, err
	}
	if err := social.config(&s.auth, socialSet); err != nil {
		return s, err
	}
	return s, nil
}

// parseEnv fills an envConfig from the variables its tags name.
func parseEnv(getenv func(string) string) (envConfig, error) {
	var e envConfig
	vars, err := parseVars(&e, envVars, getenv)
	if err != nil {
		return e, err
	}
	if !e.UseJWT {
		for _, v := range envVars {
			if v.jwt && vars[v.name] != "" {
				return e, fmt.Errorf("%s is set but REST_USE_JWT is not true", v.name)
			}
		}
	}
	return e, nil
}

// parseSocial fills a socialEnv; set holds the variables that are set
// (non-empty), by name.
func parseSocial(getenv func(string) string) (e socialEnv, set map[string]string, err error) {
	set, err = parseVars(&e, socialVars, getenv)
	return e, set, err
}

// parseVars fills *dst, a struct of variables list describes, from the
// non-empty ones among them; it returns those, by name.
func parseVars(dst any, list []envVar, getenv func(string) string) (map[string]string, error) {
	vars := map[string]string{}
	for _, v := range list {
		if val := getenv(v.name); val != "" {
			vars[v.name] = val
		}
	}
	err := env.ParseWithOptions(dst, env.Options{
		Environment: vars,
		FuncMap:     map[reflect.Type]env.ParserFunc{reflect.TypeFor[bool](): parseBool},
	})
	if err != nil {
		return vars, nameVariables(err, vars)
	}
	return vars, nil
}

// nameVariables rewrites caarlos0/env's errors, which name the Go field,
// to name the variable and its value instead.
func nameVariables(err error, vars map[string]string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	errs := make([]error, len(agg.Errors))
	for i, err := range agg.Errors {
		errs[i] = err
		var pe env.ParseError
		if errors.As(err, &pe) && fieldVar[pe.Name] != "" {
			name := fieldVar[pe.Name]
			errs[i] = fmt.Errorf("%s=%q: %w", name, vars[name], pe.Err)
		}
	}
	return errors.Join(errs...)
}

// envVar is one variable of envConfig: its name and the Go field it fills.
type envVar struct {
	name, field string
	jwt         bool // in jwtEnv
}

var envVars = listVars(reflect.TypeFor[envConfig](), false)

// socialVars are the variables of socialEnv.
var socialVars = listVars(reflect.TypeFor[socialEnv](), false)

// fieldVar maps an envConfig, jwtEnv or socialEnv field name to its
// variable.
var fieldVar = func() map[string]string {
	m := map[string]string{}
	for _, v := range append(slices.Clip(envVars), socialVars...) {
		if _, dup := m[v.field]; dup {
			panic("example: envConfig, jwtEnv and socialEnv must not share a field name: " + v.field)
		}
		m[v.field] = v.name
	}
	return m
}()

// listVars lists the variables of struct type t, in field order; those of
// a nested struct (jwtEnv) are marked jwt.
func listVars(t reflect.Type, jwt bool) []envVar {
	var vs []envVar
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			vs = append(vs, envVar{name: name, field: f.Name, jwt: jwt})
		} else if f.Type.Kind() == reflect.Struct {
			vs = append(vs, listVars(f.Type, true)...)
		}
	}
	return vs
}

// config turns the variables into a restauth.Config, checking the rules
// between variables here so that errors name variables, not Config fields.
func (e envConfig) config(stdout io.Writer, log *slog.Logger) (restauth.Config, error) {
	cfg := restauth.Config{
		SecretKey: e.SecretKey, SiteURL: e.SiteURL, SiteName: e.SiteName, Logger: log,
		MaxBodyBytes: int64(e.MaxBodyBytes),
		PasswordChange: restauth.PasswordChangeConfig{
			OldPasswordFieldEnabled: e.OldPasswordFieldEnabled, LogoutOnPasswordChange: e.LogoutOnPasswordChange,
		},
		Logout:        restauth.LogoutConfig{OnGet: e.LogoutOnGet},
		PasswordReset: restauth.PasswordResetConfig{URL: e.PasswordResetURL, Timeout: time.Duration(e.PasswordResetTimeout)},
		Registration: restauth.RegistrationConfig{
			Disabled:          e.DisableRegistration,
			EmailVerification: restauth.EmailVerification(e.EmailVerification),
			EmailRequired:     e.EmailRequired, UsernameRequired: e.UsernameRequired,
			ConfirmationExpire: time.Duration(e.ConfirmationExpire),
			PreventEnumeration: e.PreventEnumeration,
		},
		Token: restauth.TokenConfig{Disabled: e.DisableToken, TTL: time.Duration(e.TokenTTL)},
	}
	for _, m := range e.LoginMethods {
		cfg.LoginMethods = append(cfg.LoginMethods, restauth.LoginMethod(m))
	}
	cfg.RateLimits.Disabled, cfg.RateLimits.Limits = e.RateLimits.off, e.RateLimits.limits
	if e.RedisURL != "" {
		opt, err := redis.ParseURL(e.RedisURL)
		if err != nil {
			return cfg, fmt.Errorf("REDIS_URL: %w", err)
		}
		cfg.RateLimits.Store = ratelimit.NewRedis(redis.NewClient(opt), "restauth:", nil)
	}
	if c := e.ConfirmationCooldown; c != nil {
		// allauth's 0 is "no cooldown"; Config's zero is the default and
		// a negative value turns it off.
		cfg.Registration.ConfirmationCooldown = time.Duration(*c)
		if *c == 0 {
			cfg.Registration.ConfirmationCooldown = -1
		}
	}
	if n := len(cfg.SecretKey); n > 0 && n < 32 {
		return cfg, fmt.Errorf("SECRET_KEY is %d bytes long: want at least 32", n) // never print it
	}
	if cfg.SiteURL == "" {
		cfg.SiteURL = "http://" + e.Addr
	} else if u, err := url.Parse(cfg.SiteURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, fmt.Errorf("SITE_URL=%q: want an absolute http(s) URL such as https://example.com", cfg.SiteURL)
	}
	if u := e.PasswordResetURL; u != "" && (!strings.Contains(u, "{uid}") || !strings.Contains(u, "{token}")) {
		return cfg, fmt.Errorf("PASSWORD_RESET_CONFIRM_URL=%q: must contain {uid} and {token}", u)
	}
	// Both e-mailed links open the demo page (demo.go), which finishes
	// the reset and the confirmation with a button.
	site := strings.TrimRight(cfg.SiteURL, "/")
	if cfg.PasswordReset.URL == "" {
		cfg.PasswordReset.URL = site + "/reset/{uid}/{token}/"
	}
	cfg.Registration.EmailConfirmURL = site + "/confirm-email/{key}/"
	emailRequired := e.EmailRequired == nil || *e.EmailRequired
	if e.EmailVerification == verification(restauth.VerificationMandatory) && !emailRequired {
		return cfg, errors.New("ACCOUNT_EMAIL_VERIFICATION=mandatory needs ACCOUNT_EMAIL_REQUIRED=true")
	}
	if !emailRequired && len(e.LoginMethods) > 0 && !containsMethod(e.LoginMethods, restauth.LoginByUsername) {
		return cfg, errors.New("ACCOUNT_EMAIL_REQUIRED=false needs ACCOUNT_LOGIN_METHODS to include username")
	}
	if e.DisableToken && !e.UseJWT {
		return cfg, errors.New("REST_AUTH_DISABLE_TOKEN=true needs REST_USE_JWT=true (otherwise no way to log in is left)")
	}
	if err := e.jwtConfig(&cfg); err != nil {
		return cfg, err
	}
	if e.SMTPAddr != "" {
		m, err := emails.NewSMTP(emails.SMTPConfig{Addr: e.SMTPAddr, From: "restauth example <noreply@example.com>", TLS: emails.TLSNone})
		if err != nil {
			return cfg, fmt.Errorf("SMTP_ADDR=%q: %w", e.SMTPAddr, err)
		}
		cfg.Mailer = m
	} else {
		cfg.Mailer = emails.Console(stdout)
	}
	if cfg.SecretKey == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		cfg.SecretKey = hex.EncodeToString(b[:])
		log.Warn("SECRET_KEY not set: using a random key, so reset links and JWTs die when the server restarts")
	}
	return cfg, nil
}

func containsMethod(ms []loginMethod, m restauth.LoginMethod) bool {
	for _, x := range ms {
		if restauth.LoginMethod(x) == m {
			return true
		}
	}
	return false
}

// jwtConfig applies REST_USE_JWT and the JWT variables to cfg.
func (e envConfig) jwtConfig(cfg *restauth.Config) error {
	j := e.JWT
	if !e.UseJWT {
		return nil // parseEnv refused JWT variables
	}
	csrfCookie := cmp.Or(string(j.CSRFCookieName), "csrftoken")
	for _, c := range []struct {
		name  string
		value cookieName
	}{{"JWT_AUTH_COOKIE", j.Cookie}, {"JWT_AUTH_REFRESH_COOKIE", j.RefreshCookie}} {
		if string(c.value) == csrfCookie {
			return fmt.Errorf("%s=%q: that is the CSRF cookie's name (CSRF_COOKIE_NAME)", c.name, c.value)
		}
	}
	if j.Cookie != "" && j.Cookie == j.RefreshCookie {
		return errors.New("JWT_AUTH_COOKIE and JWT_AUTH_REFRESH_COOKIE must name different cookies")
	}
	csrf := j.CookieUseCSRF || j.EnforceCSRFOnUnauthenticated
	noCookie := j.Cookie == "" && j.RefreshCookie == ""
	switch {
	case csrf && noCookie:
		return errors.New("JWT_AUTH_COOKIE_USE_CSRF and JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED need JWT_AUTH_COOKIE or JWT_AUTH_REFRESH_COOKIE")
	case j.CookieDomain != "" && noCookie:
		return errors.New("JWT_AUTH_COOKIE_DOMAIN needs JWT_AUTH_COOKIE or JWT_AUTH_REFRESH_COOKIE")
	case j.RefreshCookiePath != "" && j.RefreshCookie == "":
		return errors.New("JWT_AUTH_REFRESH_COOKIE_PATH needs JWT_AUTH_REFRESH_COOKIE")
	case (j.CSRFCookieName != "" || j.CSRFHeaderName != "") && !csrf:
		return errors.New("CSRF_COOKIE_NAME and CSRF_HEADER_NAME need JWT_AUTH_COOKIE_USE_CSRF or JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED")
	case j.SameSite == sameSite(http.SameSiteNoneMode) && !j.Secure:
		return errors.New("JWT_AUTH_SAMESITE=None needs JWT_AUTH_SECURE=true (browsers drop such cookies otherwise)")
	}
	cfg.JWT = restauth.JWTConfig{
		Enabled:        true,
		AccessLifetime: time.Duration(j.AccessLifetime), RefreshLifetime: time.Duration(j.RefreshLifetime),
		RotateRefreshTokens: j.RotateRefreshTokens, CheckRevoked: j.CheckRevoked, ReturnExpiration: j.ReturnExpiration,
		Cookie: string(j.Cookie), RefreshCookie: string(j.RefreshCookie), RefreshCookiePath: string(j.RefreshCookiePath),
		Secure: j.Secure, HTTPOnly: j.HTTPOnly, SameSite: http.SameSite(j.SameSite), CookieDomain: string(j.CookieDomain),
		CookieUseCSRF: j.CookieUseCSRF, EnforceCSRFOnUnauthenticated: j.EnforceCSRFOnUnauthenticated,
		CSRFCookieName: string(j.CSRFCookieName), CSRFHeaderName: string(j.CSRFHeaderName),
	}
	file, kid := j.PrivateKeyFile, j.KeyID
	if file == "" {
		if kid != "" {
			return errors.New("JWT_KEY_ID needs JWT_PRIVATE_KEY_FILE")
		}
		return nil // HS256 derived from SECRET_KEY
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("JWT_PRIVATE_KEY_FILE: %w", err)
	}
	k, err := restauth.ParseJWTKey(kid, pem)
	if err != nil {
		return fmt.Errorf("JWT_PRIVATE_KEY_FILE %s: %w", file, err)
	}
	if k.PrivateKey == nil {
		return fmt.Errorf("JWT_PRIVATE_KEY_FILE %s holds a public key; signing needs the private key", file)
	}
	cfg.JWT.Keys = []restauth.JWTKey{k}
	return nil
}

// socialProviderVars are the variables that choose a provider, as the
// error for a social variable without one lists them.
const socialProviderVars = "SOCIAL_GITHUB_CLIENT_ID, SOCIAL_GOOGLE_CLIENT_ID or SOCIAL_OIDC_ISSUER"

// socialRoutes are the first path segments of restauth's own routes,
// which a provider's route name must not take.
var socialRoutes = []string{"login", "logout", "password", "user", "registration", "token", "socialaccounts", "openapi.json"}

// discoveryTimeout bounds the OpenID Connect discovery at startup.
const discoveryTimeout = 10 * time.Second

// config applies the social variables to cfg, whose SiteURL is final:
// the providers in the order GitHub, Google, OIDC, each given the
// redirect URIs and the email authentication flags. set holds the
// variables that are set. The OIDC provider is found by discovery here,
// last, so an unreachable issuer stops the server at startup.
func (s socialEnv) config(cfg *restauth.Config, set map[string]string) error {
	for _, p := range [][2]string{
		{"SOCIAL_GITHUB_CLIENT_ID", "SOCIAL_GITHUB_CLIENT_SECRET"},
		{"SOCIAL_GOOGLE_CLIENT_ID", "SOCIAL_GOOGLE_CLIENT_SECRET"},
	} {
		if err := needBoth(set, p[0], p[1]); err != nil {
			return err
		}
	}
	if s.OIDCIssuer == "" {
		for _, v := range []string{"SOCIAL_OIDC_CLIENT_ID", "SOCIAL_OIDC_CLIENT_SECRET", "SOCIAL_OIDC_NAME"} {
			if set[v] != "" {
				return fmt.Errorf("%s is set but SOCIAL_OIDC_ISSUER is not", v)
			}
		}
	} else {
		if u, err := url.Parse(s.OIDCIssuer); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("SOCIAL_OIDC_ISSUER=%q: want an absolute http(s) URL such as https://accounts.example.com", s.OIDCIssuer)
		}
		if s.OIDCClientID == "" {
			return errors.New("SOCIAL_OIDC_ISSUER is set but SOCIAL_OIDC_CLIENT_ID is not")
		}
		if err := needBoth(set, "SOCIAL_OIDC_CLIENT_ID", "SOCIAL_OIDC_CLIENT_SECRET"); err != nil {
			return err
		}
	}
	github, google, oidc := s.GitHubClientID != "", s.GoogleClientID != "", s.OIDCIssuer != ""
	if !github && !google && !oidc {
		for _, v := range socialVars {
			if set[v.name] != "" {
				return fmt.Errorf("%s is set but no social provider is (set %s)", v.name, socialProviderVars)
			}
		}
		return nil
	}
	oidcName := cmp.Or(string(s.OIDCName), "oidc")
	if oidc {
		taken := slices.Contains(socialRoutes, oidcName) ||
			(github && oidcName == "github") || (google && oidcName == "google")
		if taken {
			return fmt.Errorf("SOCIAL_OIDC_NAME=%q: that route is taken (by restauth or another provider)", oidcName)
		}
	}
	if s.EmailAuthenticationAutoConnect && !s.EmailAuthentication {
		return errors.New("SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT=true needs SOCIALACCOUNT_EMAIL_AUTHENTICATION=true")
	}
	if r := s.LoginRedirectURL; r != "" {
		u, err := url.Parse(r)
		abs := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
		path := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(r, "/") && !strings.HasPrefix(r, "//")
		if !abs && !path {
			return fmt.Errorf("SOCIAL_LOGIN_REDIRECT_URL=%q: want an absolute http(s) URL or a path starting with /", r)
		}
	}
	redirects := func(name string) []string {
		if len(s.RedirectURIs) == 0 {
			// The first is authorize/'s default; the second is the demo
			// page's callback, which it asks for by ?redirect_uri=.
			site := strings.TrimRight(cfg.SiteURL, "/")
			return []string{site + apiPath + "/" + name + "/callback/", site + demoCallbackPath(name)}
		}
		uris := make([]string, len(s.RedirectURIs))
		for i, u := range s.RedirectURIs {
			uris[i] = string(u)
		}
		return uris
	}
	var providers []socialauth.Provider
	if github {
		providers = append(providers, socialauth.GitHub(s.GitHubClientID, s.GitHubClientSecret, redirects("github")...))
	}
	if google {
		providers = append(providers, socialauth.Google(s.GoogleClientID, s.GoogleClientSecret, redirects("google")...))
	}
	if oidc {
		ctx, cancel := context.WithTimeout(context.Background(), discoveryTimeout)
		defer cancel()
		p, err := socialauth.OIDC(ctx, oidcName, s.OIDCIssuer, s.OIDCClientID, s.OIDCClientSecret, redirects(oidcName)...)
		if err != nil {
			return fmt.Errorf("SOCIAL_OIDC_ISSUER=%q: %w", s.OIDCIssuer, err)
		}
		providers = append(providers, p)
	}
	for i := range providers {
		providers[i].EmailAuthentication = s.EmailAuthentication
		providers[i].EmailAuthenticationAutoConnect = s.EmailAuthenticationAutoConnect
	}
	cfg.Social = restauth.SocialConfig{
		Providers:        providers,
		AutoSignup:       s.AutoSignup,
		StoreTokens:      s.StoreTokens,
		LoginRedirectURL: s.LoginRedirectURL,
	}
	return nil
}

// needBoth refuses one of a client id and its secret without the other.
func needBoth(set map[string]string, id, secret string) error {
	switch {
	case set[id] != "" && set[secret] == "":
		return fmt.Errorf("%s is set but %s is not", id, secret)
	case set[id] == "" && set[secret] != "":
		return fmt.Errorf("%s is set but %s is not", secret, id)
	}
	return nil
}

// dialector picks the database driver for DATABASE_URL.
func dialector(dbURL string) (gorm.Dialector, error) {
	const opts = "?_busy_timeout=5000&_journal_mode=WAL"
	switch {
	case dbURL == "":
		return sqlite.Open("example.db" + opts), nil
	case strings.HasPrefix(dbURL, "sqlite://"):
		return sqlite.Open(strings.TrimPrefix(dbURL, "sqlite://") + opts), nil
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		return postgres.Open(dbURL), nil
	}
	shown := "..." // never print a password
	if u, err := url.Parse(dbURL); err == nil {
		shown = u.Redacted()
	}
	return nil, fmt.Errorf("DATABASE_URL=%q: want sqlite://PATH or postgres://...", shown)
}

// The value types below check their variable's format as caarlos0/env
// reads it; parseEnv puts the variable's name and value before their
// errors.

// parseBool reads a boolean: true/false, 1/0, yes/no or on/off, in any
// letter case.
func parseBool(v string) (any, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off":
		return false, nil
	}
	return nil, errors.New("want true or false")
}

// wholeNumber reads an integer in [lowest, highest]; want describes the
// format in the error.
func wholeNumber(text []byte, lowest, highest int64, want string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(text)), 10, 64)
	if err != nil || n < lowest || n > highest {
		return 0, errors.New(want)
	}
	return n, nil
}

// seconds is a time in whole seconds, at least 1.
type seconds time.Duration

func (s *seconds) UnmarshalText(b []byte) error {
	n, err := wholeNumber(b, 1, math.MaxInt64/int64(time.Second), "want a whole number of seconds, at least 1")
	*s = seconds(time.Duration(n) * time.Second)
	return err
}

// secondsOrOff is a time in whole seconds where 0 turns the feature off.
type secondsOrOff time.Duration

func (s *secondsOrOff) UnmarshalText(b []byte) error {
	n, err := wholeNumber(b, 0, math.MaxInt64/int64(time.Second), "want a whole number of seconds (0: off)")
	*s = secondsOrOff(time.Duration(n) * time.Second)
	return err
}

// days is a time in whole days, at least 1.
type days time.Duration

func (d *days) UnmarshalText(b []byte) error {
	n, err := wholeNumber(b, 1, math.MaxInt64/int64(24*time.Hour), "want a whole number of days, at least 1")
	*d = days(time.Duration(n) * 24 * time.Hour)
	return err
}

// byteCount is a size in bytes, at least 1.
type byteCount int64

func (c *byteCount) UnmarshalText(b []byte) error {
	n, err := wholeNumber(b, 1, math.MaxInt64, "want a whole number of bytes, at least 1")
	*c = byteCount(n)
	return err
}

// loginMethod is one entry of ACCOUNT_LOGIN_METHODS.
type loginMethod restauth.LoginMethod

func (m *loginMethod) UnmarshalText(b []byte) error {
	switch v := restauth.LoginMethod(strings.ToLower(strings.TrimSpace(string(b)))); v {
	case restauth.LoginByUsername, restauth.LoginByEmail:
		*m = loginMethod(v)
		return nil
	}
	return fmt.Errorf("%q is not a login method: want username, email or both, comma-separated", b)
}

// rateLimits is RATE_LIMITS: "off", or limits replacing the defaults.
type rateLimits struct {
	off    bool
	limits map[restauth.RateLimitAction]ratelimit.Limit
}

var periodRe = regexp.MustCompile(`^(\d*)([smhd])$`)

func (r *rateLimits) UnmarshalText(b []byte) error {
	v := strings.TrimSpace(string(b))
	if strings.EqualFold(v, "off") {
		r.off = true
		return nil
	}
	known := restauth.DefaultRateLimits()
	r.limits = map[restauth.RateLimitAction]ratelimit.Limit{}
	for _, item := range strings.Split(v, ",") {
		action, spec, ok := strings.Cut(strings.TrimSpace(item), "=")
		count, period, ok2 := strings.Cut(spec, "/")
		if !ok || !ok2 {
			return fmt.Errorf("%q: want action=count/period", item)
		}
		a := restauth.RateLimitAction(strings.TrimSpace(action))
		if _, ok := known[a]; !ok {
			return fmt.Errorf("%q is not a rate-limited action", action)
		}
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if err != nil || n < 0 {
			return fmt.Errorf("%q: count must be a whole number", item)
		}
		m := periodRe.FindStringSubmatch(strings.TrimSpace(period))
		if m == nil {
			return fmt.Errorf("%q: period must be s, m, h or d, optionally after a number", item)
		}
		mult := 1
		if m[1] != "" {
			if mult, err = strconv.Atoi(m[1]); err != nil || mult < 1 {
				return fmt.Errorf("%q: bad period", item)
			}
		}
		unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[m[2]]
		r.limits[a] = ratelimit.Limit{Count: n, Window: time.Duration(mult) * unit}
	}
	return nil
}

// verification is ACCOUNT_EMAIL_VERIFICATION's mode.
type verification restauth.EmailVerification

func (v *verification) UnmarshalText(b []byte) error {
	switch m := restauth.EmailVerification(strings.ToLower(strings.TrimSpace(string(b)))); m {
	case restauth.VerificationNone, restauth.VerificationOptional, restauth.VerificationMandatory:
		*v = verification(m)
		return nil
	}
	return errors.New("want none, optional or mandatory")
}

// sameSite is a cookie's SameSite attribute.
type sameSite http.SameSite

func (s *sameSite) UnmarshalText(b []byte) error {
	switch strings.ToLower(strings.TrimSpace(string(b))) {
	case "lax":
		*s = sameSite(http.SameSiteLaxMode)
	case "strict":
		*s = sameSite(http.SameSiteStrictMode)
	case "none":
		*s = sameSite(http.SameSiteNoneMode)
	default:
		return errors.New("want Lax, Strict or None")
	}
	return nil
}

// httpToken matches RFC 9110 tokens: cookie and header names.
var httpToken = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")

// cookieName is a cookie's name.
type cookieName string

func (c *cookieName) UnmarshalText(b []byte) error {
	if !httpToken.Match(b) {
		return errors.New("not a valid cookie name")
	}
	*c = cookieName(b)
	return nil
}

// headerName is CSRF_HEADER_NAME: a header name (X-CSRFToken) or Django's
// request.META key for it (HTTP_X_CSRFTOKEN).
type headerName string

func (h *headerName) UnmarshalText(b []byte) error {
	v := string(b)
	if rest, ok := strings.CutPrefix(v, "HTTP_"); ok {
		v = strings.ReplaceAll(rest, "_", "-")
	}
	if !httpToken.MatchString(v) {
		return errors.New("not a valid header name (X-CSRFToken or Django's HTTP_X_CSRFTOKEN)")
	}
	*h = headerName(v)
	return nil
}

// cookiePath is a cookie's Path attribute.
type cookiePath string

var cookiePathRe = regexp.MustCompile(`^/[\x21-\x3a\x3c-\x7e]*$`) // printable, no ';' or space

func (p *cookiePath) UnmarshalText(b []byte) error {
	if !cookiePathRe.Match(b) {
		return errors.New("want a path starting with /, without spaces or ';'")
	}
	*p = cookiePath(b)
	return nil
}

// routeName is a social provider's route name.
type routeName string

var routeNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

func (n *routeName) UnmarshalText(b []byte) error {
	if !routeNameRe.Match(b) {
		return errors.New("want lower-case letters, digits, '-' and '_', starting with a letter or digit")
	}
	*n = routeName(b)
	return nil
}

// redirectURI is one entry of SOCIAL_REDIRECT_URIS: an absolute URI (a
// native app's custom scheme, com.example.app:/cb, needs no host).
type redirectURI string

func (r *redirectURI) UnmarshalText(b []byte) error {
	v := strings.TrimSpace(string(b))
	u, err := url.Parse(v)
	web := err == nil && (u.Scheme == "http" || u.Scheme == "https")
	if err != nil || u.Scheme == "" || u.Opaque != "" || web && u.Host == "" {
		return fmt.Errorf("%q is not an absolute URI: want a comma-separated list such as https://app.example/social/callback", v)
	}
	*r = redirectURI(v)
	return nil
}

// cookieDomain is a cookie's Domain attribute.
type cookieDomain string

var cookieDomainRe = regexp.MustCompile(`^\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

func (d *cookieDomain) UnmarshalText(b []byte) error {
	if !cookieDomainRe.Match(b) {
		return errors.New("want a domain such as example.com or .example.com")
	}
	*d = cookieDomain(b)
	return nil
}
