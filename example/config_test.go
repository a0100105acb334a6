package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/ratelimit"
)

// cheapHasher keeps restauth.New fast where no password is checked.
var cheapHasher = password.Argon2id{Memory: 8, Time: 1, Threads: 1}

func load(vars map[string]string) (settings, error) {
	return loadSettings(getenv(vars), io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// writeKey writes a new Ed25519 key as PEM: the private key (PKCS #8) or
// only its public half.
func writeKey(t *testing.T, path string, private bool) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := &pem.Block{Type: "PRIVATE KEY"}
	if private {
		block.Bytes, err = x509.MarshalPKCS8PrivateKey(priv)
	} else {
		block.Type = "PUBLIC KEY"
		block.Bytes, err = x509.MarshalPKIXPublicKey(priv.Public())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

// deref shows a *bool Config field: nil (the default) or its value.
func deref(p *bool) any {
	if p == nil {
		return nil
	}
	return *p
}

// dsn shows which driver and DSN DATABASE_URL chose.
func dsn(s settings) string {
	switch d := s.database.(type) {
	case *sqlite.Dialector:
		return "sqlite " + d.DSN
	case *postgres.Dialector:
		return "postgres " + d.DSN
	}
	return fmt.Sprintf("%T", s.database)
}

// with returns a copy of vars plus the pairs k1, v1, k2, v2...
func with(vars map[string]string, kv ...string) map[string]string {
	m := maps.Clone(vars)
	if m == nil {
		m = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestEnvVariables sets each variable in turn and checks the field it
// fills, that the field differs without it (so the variable, not a
// default, put it there), and that restauth accepts the result.
func TestEnvVariables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "k.pem")
	writeKey(t, keyFile, true)
	db := testdb.SQLite(t) // restauth.New checks the Config; it needs a DB

	jwt := map[string]string{"REST_USE_JWT": "true"}
	cookie := with(jwt, "JWT_AUTH_COOKIE", "acc")
	csrf := with(cookie, "JWT_AUTH_COOKIE_USE_CSRF", "true")
	key := func(s settings) any {
		if len(s.auth.JWT.Keys) != 1 {
			return len(s.auth.JWT.Keys)
		}
		k := s.auth.JWT.Keys[0]
		return fmt.Sprintf("%s kid=%q private=%v", k.Algorithm, k.ID, k.PrivateKey != nil)
	}
	tested := map[string]bool{}
	for _, tc := range []struct {
		name, value string
		also        map[string]string // what the variable needs
		get         func(settings) any
		want        any
	}{
		{"ADDR", "127.0.0.1:9999", nil, func(s settings) any { return s.addr }, "127.0.0.1:9999"},
		{"ADDR", "0.0.0.0:80", nil, func(s settings) any { return s.auth.SiteURL }, "http://0.0.0.0:80"},
		{"DATABASE_URL", "sqlite://data/x.db", nil, func(s settings) any { return dsn(s) }, "sqlite data/x.db?_busy_timeout=5000&_journal_mode=WAL"},
		{"DATABASE_URL", "postgres://u@db/app", nil, func(s settings) any { return dsn(s) }, "postgres postgres://u@db/app"},
		{"DATABASE_URL", "postgresql://u@db/app", nil, func(s settings) any { return dsn(s) }, "postgres postgresql://u@db/app"},
		{"SMTP_ADDR", "127.0.0.1:2525", nil, func(s settings) any { return fmt.Sprintf("%T", s.auth.Mailer) }, "*emails.SMTPMailer"},
		{"EXAMPLE_DEV_OUTBOX", "true", nil, func(s settings) any { return s.devOutbox }, true},
		{"SECRET_KEY", strings.Repeat("k", 32), nil, func(s settings) any { return s.auth.SecretKey }, strings.Repeat("k", 32)},
		{"SITE_URL", "https://front.example", nil, func(s settings) any { return s.auth.SiteURL }, "https://front.example"},
		{"SITE_NAME", "Demo Shop", nil, func(s settings) any { return s.auth.SiteName }, "Demo Shop"},
		{"ACCOUNT_LOGIN_METHODS", "email", nil, func(s settings) any { return s.auth.LoginMethods }, []restauth.LoginMethod{restauth.LoginByEmail}},
		{"ACCOUNT_LOGIN_METHODS", " Username , EMAIL", nil, func(s settings) any { return s.auth.LoginMethods },
			[]restauth.LoginMethod{restauth.LoginByUsername, restauth.LoginByEmail}},
		{"MAX_BODY_BYTES", "2048", nil, func(s settings) any { return s.auth.MaxBodyBytes }, int64(2048)},
		{"OLD_PASSWORD_FIELD_ENABLED", "yes", nil, func(s settings) any { return s.auth.PasswordChange.OldPasswordFieldEnabled }, true},
		{"LOGOUT_ON_PASSWORD_CHANGE", "On", nil, func(s settings) any { return s.auth.PasswordChange.LogoutOnPasswordChange }, true},
		{"ACCOUNT_LOGOUT_ON_GET", "1", nil, func(s settings) any { return s.auth.Logout.OnGet }, true},
		{"PASSWORD_RESET_CONFIRM_URL", "https://front.example/reset/{uid}/{token}", nil,
			func(s settings) any { return s.auth.PasswordReset.URL }, "https://front.example/reset/{uid}/{token}"},
		{"PASSWORD_RESET_TIMEOUT", "3600", nil, func(s settings) any { return s.auth.PasswordReset.Timeout }, time.Hour},
		{"REST_AUTH_DISABLE_REGISTRATION", "true", nil, func(s settings) any { return s.auth.Registration.Disabled }, true},
		{"ACCOUNT_EMAIL_VERIFICATION", "Mandatory", nil, func(s settings) any { return s.auth.Registration.EmailVerification }, restauth.VerificationMandatory},
		{"ACCOUNT_EMAIL_VERIFICATION", "none", nil, func(s settings) any { return s.auth.Registration.EmailVerification }, restauth.VerificationNone},
		{"ACCOUNT_EMAIL_REQUIRED", "false", nil, func(s settings) any { return deref(s.auth.Registration.EmailRequired) }, false},
		{"ACCOUNT_USERNAME_REQUIRED", "no", nil, func(s settings) any { return deref(s.auth.Registration.UsernameRequired) }, false},
		{"ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS", "7", nil, func(s settings) any { return s.auth.Registration.ConfirmationExpire }, 7 * 24 * time.Hour},
		{"ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN", "60", nil, func(s settings) any { return s.auth.Registration.ConfirmationCooldown }, time.Minute},
		{"ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN", "0", nil, func(s settings) any { return s.auth.Registration.ConfirmationCooldown }, time.Duration(-1)},
		{"RATE_LIMITS", "off", nil, func(s settings) any { return s.auth.RateLimits.Disabled }, true},
		{"RATE_LIMITS", "login_failed=3/5m, signup=0/m", nil, func(s settings) any { return fmt.Sprint(s.auth.RateLimits.Limits) },
			fmt.Sprint(map[restauth.RateLimitAction]ratelimit.Limit{restauth.RateLoginFailed: {Count: 3, Window: 5 * time.Minute}, restauth.RateSignup: {Count: 0, Window: time.Minute}})},
		{"REDIS_URL", "redis://127.0.0.1:6379/0", nil, func(s settings) any { return fmt.Sprintf("%T", s.auth.RateLimits.Store) }, "*ratelimit.Redis"},
		{"ACCOUNT_PREVENT_ENUMERATION", "true", map[string]string{"ACCOUNT_EMAIL_VERIFICATION": "mandatory"}, func(s settings) any { return s.auth.Registration.PreventEnumeration }, true},
		{"REST_AUTH_DISABLE_TOKEN", "true", jwt, func(s settings) any { return s.auth.Token.Disabled }, true},
		{"REST_AUTH_TOKEN_TTL", "86400", nil, func(s settings) any { return s.auth.Token.TTL }, 24 * time.Hour},
		{"REST_USE_JWT", "Yes", nil, func(s settings) any { return s.auth.JWT.Enabled }, true},
		{"ACCESS_TOKEN_LIFETIME", "60", jwt, func(s settings) any { return s.auth.JWT.AccessLifetime }, time.Minute},
		{"REFRESH_TOKEN_LIFETIME", "604800", jwt, func(s settings) any { return s.auth.JWT.RefreshLifetime }, 7 * 24 * time.Hour},
		{"ROTATE_REFRESH_TOKENS", "true", jwt, func(s settings) any { return s.auth.JWT.RotateRefreshTokens }, true},
		{"JWT_CHECK_REVOKED", "true", jwt, func(s settings) any { return s.auth.JWT.CheckRevoked }, true},
		{"JWT_AUTH_RETURN_EXPIRATION", "true", jwt, func(s settings) any { return s.auth.JWT.ReturnExpiration }, true},
		{"JWT_AUTH_COOKIE", "my-app-auth", jwt, func(s settings) any { return s.auth.JWT.Cookie }, "my-app-auth"},
		{"JWT_AUTH_REFRESH_COOKIE", "my-refresh", jwt, func(s settings) any { return s.auth.JWT.RefreshCookie }, "my-refresh"},
		{"JWT_AUTH_REFRESH_COOKIE_PATH", "/rest-auth/token/", with(jwt, "JWT_AUTH_REFRESH_COOKIE", "ref"),
			func(s settings) any { return s.auth.JWT.RefreshCookiePath }, "/rest-auth/token/"},
		{"JWT_AUTH_SECURE", "true", jwt, func(s settings) any { return s.auth.JWT.Secure }, true},
		{"JWT_AUTH_HTTPONLY", "false", jwt, func(s settings) any { return deref(s.auth.JWT.HTTPOnly) }, false},
		{"JWT_AUTH_SAMESITE", "lax", jwt, func(s settings) any { return s.auth.JWT.SameSite }, http.SameSiteLaxMode},
		{"JWT_AUTH_SAMESITE", "Strict", jwt, func(s settings) any { return s.auth.JWT.SameSite }, http.SameSiteStrictMode},
		{"JWT_AUTH_SAMESITE", "None", with(jwt, "JWT_AUTH_SECURE", "true"), func(s settings) any { return s.auth.JWT.SameSite }, http.SameSiteNoneMode},
		{"JWT_AUTH_COOKIE_DOMAIN", ".example.com", cookie, func(s settings) any { return s.auth.JWT.CookieDomain }, ".example.com"},
		{"JWT_AUTH_COOKIE_USE_CSRF", "true", cookie, func(s settings) any { return s.auth.JWT.CookieUseCSRF }, true},
		{"JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED", "true", cookie,
			func(s settings) any { return s.auth.JWT.EnforceCSRFOnUnauthenticated }, true},
		{"CSRF_COOKIE_NAME", "XSRF-TOKEN", csrf, func(s settings) any { return s.auth.JWT.CSRFCookieName }, "XSRF-TOKEN"},
		{"CSRF_HEADER_NAME", "X-XSRF-TOKEN", csrf, func(s settings) any { return s.auth.JWT.CSRFHeaderName }, "X-XSRF-TOKEN"},
		{"CSRF_HEADER_NAME", "HTTP_X_XSRF_TOKEN", csrf, func(s settings) any { return s.auth.JWT.CSRFHeaderName }, "X-XSRF-TOKEN"},
		{"JWT_PRIVATE_KEY_FILE", keyFile, jwt, key, `EdDSA kid="" private=true`},
		{"JWT_KEY_ID", "2026-01", with(jwt, "JWT_PRIVATE_KEY_FILE", keyFile), key, `EdDSA kid="2026-01" private=true`},
	} {
		tested[tc.name] = true
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			s, err := load(with(tc.also, tc.name, tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(s); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			base, err := load(tc.also)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(base); reflect.DeepEqual(got, tc.want) {
				t.Errorf("without %s the field is %#v already", tc.name, got)
			}
			cfg := s.auth
			cfg.Password.Hasher = cheapHasher // New hashes a dummy password
			if _, err := restauth.New[Member](db, cfg); err != nil {
				t.Errorf("restauth.New refuses the result: %v", err)
			}
		})
	}
	for _, v := range envVars {
		if !tested[v.name] {
			t.Errorf("no case for %s", v.name)
		}
	}
}

// TestVariableList: envConfig reads the documented variables, in the
// README's order.
func TestVariableList(t *testing.T) {
	t.Parallel()
	var names []string
	for _, v := range envVars {
		names = append(names, v.name)
	}
	want := []string{
		"ADDR", "DATABASE_URL", "SMTP_ADDR", "EXAMPLE_DEV_OUTBOX", "SECRET_KEY", "SITE_URL", "SITE_NAME", "ACCOUNT_LOGIN_METHODS", "MAX_BODY_BYTES",
		"OLD_PASSWORD_FIELD_ENABLED", "LOGOUT_ON_PASSWORD_CHANGE", "ACCOUNT_LOGOUT_ON_GET",
		"PASSWORD_RESET_CONFIRM_URL", "PASSWORD_RESET_TIMEOUT",
		"REST_AUTH_DISABLE_REGISTRATION", "ACCOUNT_EMAIL_VERIFICATION", "ACCOUNT_EMAIL_REQUIRED", "ACCOUNT_USERNAME_REQUIRED",
		"ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS", "ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN", "ACCOUNT_PREVENT_ENUMERATION",
		"REST_AUTH_DISABLE_TOKEN", "REST_AUTH_TOKEN_TTL", "RATE_LIMITS", "REDIS_URL", "REST_USE_JWT",
		"ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "ROTATE_REFRESH_TOKENS", "JWT_CHECK_REVOKED",
		"JWT_AUTH_RETURN_EXPIRATION", "JWT_AUTH_COOKIE", "JWT_AUTH_REFRESH_COOKIE", "JWT_AUTH_REFRESH_COOKIE_PATH",
		"JWT_AUTH_SECURE", "JWT_AUTH_HTTPONLY", "JWT_AUTH_SAMESITE", "JWT_AUTH_COOKIE_DOMAIN",
		"JWT_AUTH_COOKIE_USE_CSRF", "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED", "CSRF_COOKIE_NAME", "CSRF_HEADER_NAME",
		"JWT_PRIVATE_KEY_FILE", "JWT_KEY_ID",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("variables:\n got %q\nwant %q", names, want)
	}
}

// fieldType is the Go type of the field variable v fills.
func fieldType(t *testing.T, v envVar) reflect.Type {
	for _, st := range []reflect.Type{reflect.TypeFor[envConfig](), reflect.TypeFor[jwtEnv]()} {
		if f, ok := st.FieldByName(v.field); ok {
			return f.Type
		}
	}
	t.Fatalf("no field %s", v.field)
	return nil
}

// checkEnvError runs newApp on vars and checks it fails before creating
// the database, with an error holding every want and naming no Go field.
func checkEnvError(t *testing.T, vars map[string]string, want ...string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "bad.db")
	if vars["DATABASE_URL"] == "" {
		vars = with(vars, "DATABASE_URL", "sqlite://"+db)
	}
	_, err := newApp(getenv(vars), io.Discard)
	if err == nil {
		t.Fatalf("newApp(%v) succeeded", vars)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("newApp(%v) = %q, want it to hold %q", vars, err, w)
		}
	}
	if strings.Contains(err.Error(), "Config.") || strings.Contains(err.Error(), "field") {
		t.Errorf("newApp(%v) = %q names a Go field", vars, err)
	}
	if _, err := os.Stat(db); err == nil {
		t.Errorf("newApp(%v) created the database before failing", vars)
	}
}

// TestEnvBadValues gives every variable of a checked format values it
// must refuse; the error names the variable, the value and the format.
func TestEnvBadValues(t *testing.T) {
	t.Parallel()
	const (
		boolean = "want true or false"
		secs    = "want a whole number of seconds, at least 1"
		secsOff = "want a whole number of seconds (0: off)"
		day     = "want a whole number of days, at least 1"
		size    = "want a whole number of bytes, at least 1"
		cookie  = "not a valid cookie name"
	)
	bad := map[reflect.Type][][2]string{ // value, reason
		reflect.TypeFor[bool]():          {{"maybe", boolean}, {"2", boolean}},
		reflect.TypeFor[*bool]():         {{"sometimes", boolean}},
		reflect.TypeFor[seconds]():       {{"0", secs}, {"-5", secs}, {"1.5", secs}, {"5m", secs}, {"9223372036854775807", secs}},
		reflect.TypeFor[secondsOrOff]():  {{"-1", secsOff}, {"soon", secsOff}},
		reflect.TypeFor[*secondsOrOff](): {{"-1", secsOff}, {"3m", secsOff}},
		reflect.TypeFor[days]():          {{"0", day}, {"1.5", day}, {"99999999999", day}},
		reflect.TypeFor[byteCount]():     {{"0", size}, {"1MiB", size}},
		reflect.TypeFor[[]loginMethod](): {
			{"phone", `"phone" is not a login method: want username, email or both, comma-separated`},
			{"username,", `"" is not a login method: want username, email or both, comma-separated`},
		},
		reflect.TypeFor[verification](): {{"required", "want none, optional or mandatory"}},
		reflect.TypeFor[rateLimits](): {
			{"login", `"login": want action=count/period`},
			{"bogus=1/m", `"bogus" is not a rate-limited action`},
			{"login=x/m", `"login=x/m": count must be a whole number`},
			{"login=5/week", `"login=5/week": period must be s, m, h or d, optionally after a number`},
		},
		reflect.TypeFor[sameSite]():     {{"Sideways", "want Lax, Strict or None"}},
		reflect.TypeFor[cookieName]():   {{"my auth", cookie}, {"a;b", cookie}, {"é", cookie}},
		reflect.TypeFor[headerName]():   {{"X CSRF", "not a valid header name (X-CSRFToken or Django's HTTP_X_CSRFTOKEN)"}},
		reflect.TypeFor[cookiePath]():   {{"api/", "want a path starting with /, without spaces or ';'"}, {"/a;b", "want a path starting with /, without spaces or ';'"}},
		reflect.TypeFor[cookieDomain](): {{"exa mple.com", "want a domain such as example.com or .example.com"}, {"-x.com", "want a domain such as example.com or .example.com"}},
	}
	for _, v := range envVars {
		typ := fieldType(t, v)
		if typ == reflect.TypeFor[string]() {
			continue // free text, checked in TestEnvRules
		}
		cases, ok := bad[typ]
		if !ok {
			t.Errorf("%s (%v): no bad values to try", v.name, typ)
		}
		for _, c := range cases {
			t.Run(v.name+"="+c[0], func(t *testing.T) {
				t.Parallel()
				_, err := load(map[string]string{v.name: c[0]})
				if want := fmt.Sprintf("%s=%q: %s", v.name, c[0], c[1]); err == nil || err.Error() != want {
					t.Errorf("got %v, want %s", err, want)
				}
				checkEnvError(t, map[string]string{v.name: c[0]}, v.name)
			})
		}
	}
	t.Run("two at once", func(t *testing.T) {
		t.Parallel()
		checkEnvError(t, map[string]string{"LOGOUT_ON_PASSWORD_CHANGE": "maybe", "MAX_BODY_BYTES": "lots"},
			`LOGOUT_ON_PASSWORD_CHANGE="maybe": `+boolean, `MAX_BODY_BYTES="lots": `+size)
	})
}

// TestEnvRules: free-text variables and the rules between variables.
func TestEnvRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pubFile, junkFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "junk.pem")
	writeKey(t, pubFile, false)
	if err := os.WriteFile(junkFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	jwt := map[string]string{"REST_USE_JWT": "true"}
	cookie := with(jwt, "JWT_AUTH_COOKIE", "acc")
	for _, tc := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"DATABASE_URL": "mysql://app:hunter2@db/app"}, []string{`DATABASE_URL="mysql://app:xxxxx@db/app": want sqlite://PATH or postgres://...`}},
		{map[string]string{"SECRET_KEY": "too-short"}, []string{"SECRET_KEY is 9 bytes long: want at least 32"}},
		{map[string]string{"SITE_URL": "not a url"}, []string{`SITE_URL="not a url": want an absolute http(s) URL`}},
		{map[string]string{"SITE_URL": "ftp://example.com"}, []string{`SITE_URL="ftp://example.com"`}},
		{map[string]string{"PASSWORD_RESET_CONFIRM_URL": "https://f/reset/{uid}/"}, []string{`PASSWORD_RESET_CONFIRM_URL="https://f/reset/{uid}/": must contain {uid} and {token}`}},
		{map[string]string{"SMTP_ADDR": "mail:99999"}, []string{`SMTP_ADDR="mail:99999": `, "invalid port"}},
		{map[string]string{"ACCOUNT_EMAIL_VERIFICATION": "mandatory", "ACCOUNT_EMAIL_REQUIRED": "false"},
			[]string{"ACCOUNT_EMAIL_VERIFICATION=mandatory needs ACCOUNT_EMAIL_REQUIRED=true"}},
		{map[string]string{"ACCOUNT_EMAIL_REQUIRED": "false", "ACCOUNT_LOGIN_METHODS": "email"},
			[]string{"ACCOUNT_EMAIL_REQUIRED=false needs ACCOUNT_LOGIN_METHODS to include username"}},
		{map[string]string{"REST_AUTH_DISABLE_TOKEN": "true"}, []string{"REST_AUTH_DISABLE_TOKEN=true needs REST_USE_JWT=true"}},
		{with(jwt, "JWT_AUTH_COOKIE", "csrftoken"), []string{`JWT_AUTH_COOKIE="csrftoken": that is the CSRF cookie's name`}},
		{with(jwt, "JWT_AUTH_REFRESH_COOKIE", "xsrf", "JWT_AUTH_COOKIE_USE_CSRF", "true", "CSRF_COOKIE_NAME", "xsrf"),
			[]string{`JWT_AUTH_REFRESH_COOKIE="xsrf": that is the CSRF cookie's name`}},
		{with(jwt, "JWT_AUTH_COOKIE", "t", "JWT_AUTH_REFRESH_COOKIE", "t"), []string{"JWT_AUTH_COOKIE and JWT_AUTH_REFRESH_COOKIE must name different cookies"}},
		{with(jwt, "JWT_AUTH_COOKIE_USE_CSRF", "true"), []string{"JWT_AUTH_COOKIE_USE_CSRF and JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED need JWT_AUTH_COOKIE"}},
		{with(jwt, "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED", "true"), []string{"need JWT_AUTH_COOKIE or JWT_AUTH_REFRESH_COOKIE"}},
		{with(jwt, "JWT_AUTH_COOKIE_DOMAIN", "example.com"), []string{"JWT_AUTH_COOKIE_DOMAIN needs JWT_AUTH_COOKIE or JWT_AUTH_REFRESH_COOKIE"}},
		{with(cookie, "JWT_AUTH_REFRESH_COOKIE_PATH", "/x/"), []string{"JWT_AUTH_REFRESH_COOKIE_PATH needs JWT_AUTH_REFRESH_COOKIE"}},
		{with(cookie, "CSRF_COOKIE_NAME", "xsrf"), []string{"CSRF_COOKIE_NAME and CSRF_HEADER_NAME need JWT_AUTH_COOKIE_USE_CSRF"}},
		{with(cookie, "CSRF_HEADER_NAME", "X-XSRF"), []string{"CSRF_COOKIE_NAME and CSRF_HEADER_NAME need JWT_AUTH_COOKIE_USE_CSRF"}},
		{with(jwt, "JWT_AUTH_SAMESITE", "None"), []string{"JWT_AUTH_SAMESITE=None needs JWT_AUTH_SECURE=true (browsers drop such cookies otherwise)"}},
		{with(jwt, "JWT_KEY_ID", "k1"), []string{"JWT_KEY_ID needs JWT_PRIVATE_KEY_FILE"}},
		{with(jwt, "JWT_PRIVATE_KEY_FILE", filepath.Join(dir, "missing.pem")), []string{"JWT_PRIVATE_KEY_FILE", "no such file"}},
		{with(jwt, "JWT_PRIVATE_KEY_FILE", junkFile), []string{"JWT_PRIVATE_KEY_FILE " + junkFile, "not a PEM"}},
		{with(jwt, "JWT_PRIVATE_KEY_FILE", pubFile), []string{"JWT_PRIVATE_KEY_FILE " + pubFile + " holds a public key"}},
	} {
		t.Run(strings.Join(pairs(tc.vars), ","), func(t *testing.T) {
			t.Parallel()
			checkEnvError(t, tc.vars, tc.want...)
		})
	}
	if _, err := load(map[string]string{"DATABASE_URL": "mysql://app:hunter2@db/app"}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("DATABASE_URL's password in the error: %v", err)
	}
	if _, err := load(map[string]string{"SECRET_KEY": "too-short"}); err == nil || strings.Contains(err.Error(), "too-short") {
		t.Errorf("SECRET_KEY's value in the error: %v", err)
	}
}

// TestJWTVariablesNeedJWT: a JWT variable set without REST_USE_JWT=true is
// a mistake, even with a valid value.
func TestJWTVariablesNeedJWT(t *testing.T) {
	t.Parallel()
	good := map[reflect.Type]string{
		reflect.TypeFor[bool](): "true", reflect.TypeFor[*bool](): "false", reflect.TypeFor[seconds](): "60",
		reflect.TypeFor[string](): "x", reflect.TypeFor[cookieName](): "c", reflect.TypeFor[cookiePath](): "/",
		reflect.TypeFor[cookieDomain](): "example.com", reflect.TypeFor[headerName](): "X-T", reflect.TypeFor[sameSite](): "Strict",
	}
	n := 0
	for _, v := range envVars {
		if !v.jwt {
			continue
		}
		n++
		value, ok := good[fieldType(t, v)]
		if !ok {
			t.Fatalf("%s: no good value for %v", v.name, fieldType(t, v))
		}
		for _, useJWT := range []string{"", "false"} {
			t.Run(v.name+"/REST_USE_JWT="+useJWT, func(t *testing.T) {
				t.Parallel()
				checkEnvError(t, map[string]string{"REST_USE_JWT": useJWT, v.name: value}, v.name+" is set but REST_USE_JWT is not true")
			})
		}
	}
	if n != 18 {
		t.Errorf("%d JWT variables, want 18", n)
	}
}

// pairs lists vars as sorted NAME=value pairs.
func pairs(vars map[string]string) []string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		kv = append(kv, k+"="+vars[k])
	}
	return kv
}
