// Command example is a small app that mounts restauth at /rest-auth.
//
//	go run ./example                                  # serve on 127.0.0.1:8000
//	go run ./example createuser NAME EMAIL PASSWORD   # add a user
//	REST_USE_JWT=true go run ./example                # JWT mode
//
// It is configured by environment variables; see README.md ("The example
// server").
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/models"
)

// Member is the example's user type: the base user plus a profile field.
type Member struct {
	models.User
	Nickname string `gorm:"size:50;not null;default:''" json:"nickname"`
}

// memberSerializer shows and accepts nickname on user/.
type memberSerializer struct {
	handlers.DefaultUserSerializer[Member]
}

type memberDetails struct {
	PK        uint   `json:"pk"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Nickname  string `json:"nickname"`
}

func (s memberSerializer) Represent(u *Member) any {
	d := s.Details(u)
	return memberDetails{d.PK, d.Username, d.Email, d.FirstName, d.LastName, u.Nickname}
}

func (s memberSerializer) Update(ctx context.Context, u *Member, in *handlers.Input, partial bool) error {
	var extra struct {
		Nickname *string `json:"nickname" binding:"max=50"`
	}
	if err := handlers.JoinFieldErrors(s.DefaultUserSerializer.Update(ctx, u, in, partial), in.Bind(&extra, partial)); err != nil {
		return err
	}
	if extra.Nickname != nil {
		u.Nickname = *extra.Nickname
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// app is the example wired up.
type app struct {
	addr   string
	db     *gorm.DB
	auth   *restauth.Plugin[Member]
	cfg    restauth.Config // as read from the environment (defaults not filled)
	router *gin.Engine
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	a, err := newApp(getenv, stdout)
	if err != nil {
		return err
	}
	defer a.close()
	if len(args) > 0 {
		if args[0] != "createuser" || len(args) != 4 {
			return errors.New("usage: example [createuser USERNAME EMAIL PASSWORD]")
		}
		u := &Member{User: models.User{Username: args[1], Email: args[2], IsActive: true}}
		if err := a.auth.CreateUser(ctx, u, args[3]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %q (pk %d)\n", u.Username, u.ID)
		return nil
	}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restauth example listening on http://%s (API under /rest-auth/)\n", ln.Addr())
	srv := &http.Server{Handler: a.router, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.auth.Shutdown(context.Background())
	return nil
}

// flag reads a boolean variable: true/false, 1/0, yes/no or on/off, in
// any letter case; unset is def.
func flag(getenv func(string) string, name string, def bool) (bool, error) {
	v := getenv(name)
	switch strings.ToLower(v) {
	case "":
		return def, nil
	case "1", "t", "true", "y", "yes", "on":
		return true, nil
	case "0", "f", "false", "n", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want true or false", name, v)
}

// jwtVars are the JWT variables other than REST_USE_JWT: setting any of
// them without JWT mode is a mistake, not something to ignore.
var jwtVars = []string{
	"JWT_AUTH_COOKIE", "JWT_AUTH_REFRESH_COOKIE", "JWT_AUTH_SECURE", "JWT_AUTH_HTTPONLY", "JWT_AUTH_SAMESITE",
	"JWT_AUTH_RETURN_EXPIRATION", "JWT_AUTH_COOKIE_USE_CSRF", "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED",
	"ROTATE_REFRESH_TOKENS", "JWT_PRIVATE_KEY_FILE", "JWT_KEY_ID",
}

// jwtConfig applies REST_USE_JWT and the JWT_* variables to cfg.
func jwtConfig(getenv func(string) string, cfg *restauth.Config) error {
	on, err := flag(getenv, "REST_USE_JWT", false)
	if err != nil {
		return err
	}
	if !on {
		for _, name := range jwtVars {
			if getenv(name) != "" {
				return fmt.Errorf("%s is set but REST_USE_JWT is not true", name)
			}
		}
		return nil
	}
	cfg.JWT.Enabled = true
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"JWT_AUTH_SECURE", &cfg.JWT.Secure},
		{"JWT_AUTH_RETURN_EXPIRATION", &cfg.JWT.ReturnExpiration},
		{"JWT_AUTH_COOKIE_USE_CSRF", &cfg.JWT.CookieUseCSRF},
		{"JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED", &cfg.JWT.EnforceCSRFOnUnauthenticated},
		{"ROTATE_REFRESH_TOKENS", &cfg.JWT.RotateRefreshTokens},
	} {
		if *f.dst, err = flag(getenv, f.name, false); err != nil {
			return err
		}
	}
	httpOnly, err := flag(getenv, "JWT_AUTH_HTTPONLY", true)
	if err != nil {
		return err
	}
	cfg.JWT.HTTPOnly = restauth.Bool(httpOnly)
	switch v := getenv("JWT_AUTH_SAMESITE"); strings.ToLower(v) {
	case "", "lax":
		cfg.JWT.SameSite = http.SameSiteLaxMode
	case "strict":
		cfg.JWT.SameSite = http.SameSiteStrictMode
	case "none":
		if !cfg.JWT.Secure {
			return errors.New("JWT_AUTH_SAMESITE=None needs JWT_AUTH_SECURE=true (browsers drop such cookies otherwise)")
		}
		cfg.JWT.SameSite = http.SameSiteNoneMode
	default:
		return fmt.Errorf("JWT_AUTH_SAMESITE=%q: want Lax, Strict or None", v)
	}
	for _, c := range []struct {
		name string
		dst  *string
	}{
		{"JWT_AUTH_COOKIE", &cfg.JWT.Cookie},
		{"JWT_AUTH_REFRESH_COOKIE", &cfg.JWT.RefreshCookie},
	} {
		v := getenv(c.name)
		if strings.IndexFunc(v, notTokenChar) >= 0 {
			return fmt.Errorf("%s=%q: not a valid cookie name", c.name, v)
		}
		if v == "csrftoken" {
			return fmt.Errorf("%s=%q: that is the CSRF cookie's name", c.name, v)
		}
		*c.dst = v
	}
	if cfg.JWT.Cookie != "" && cfg.JWT.Cookie == cfg.JWT.RefreshCookie {
		return errors.New("JWT_AUTH_COOKIE and JWT_AUTH_REFRESH_COOKIE must name different cookies")
	}
	if (cfg.JWT.CookieUseCSRF || cfg.JWT.EnforceCSRFOnUnauthenticated) && cfg.JWT.Cookie == "" && cfg.JWT.RefreshCookie == "" {
		return errors.New("JWT_AUTH_COOKIE_USE_CSRF and JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED need JWT_AUTH_COOKIE or JWT_AUTH_REFRESH_COOKIE")
	}
	file, kid := getenv("JWT_PRIVATE_KEY_FILE"), getenv("JWT_KEY_ID")
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

// notTokenChar reports a rune that may not appear in a cookie name.
func notTokenChar(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
}

func openDB(url string) (*gorm.DB, error) {
	cfg := &gorm.Config{Logger: logger.Default.LogMode(logger.Warn)}
	switch {
	case url == "":
		return gorm.Open(sqlite.Open("example.db?_busy_timeout=5000&_journal_mode=WAL"), cfg)
	case strings.HasPrefix(url, "sqlite://"):
		return gorm.Open(sqlite.Open(strings.TrimPrefix(url, "sqlite://")+"?_busy_timeout=5000&_journal_mode=WAL"), cfg)
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return gorm.Open(postgres.Open(url), cfg)
	}
	return nil, fmt.Errorf("DATABASE_URL %q: want sqlite://PATH or postgres://...", url)
}

// config builds the restauth configuration from the environment.
func config(getenv func(string) string, stdout io.Writer, log *slog.Logger, addr string) (restauth.Config, error) {
	cfg := restauth.Config{SecretKey: getenv("SECRET_KEY"), SiteURL: getenv("SITE_URL"), Logger: log}
	if cfg.SecretKey == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		cfg.SecretKey = hex.EncodeToString(b[:])
		log.Warn("SECRET_KEY not set: using a random key, so reset links and JWTs die when the server restarts")
	}
	if cfg.SiteURL == "" {
		cfg.SiteURL = "http://" + addr
	}
	// The API is mounted at /rest-auth, where the default confirmation
	// link (SiteURL + /rest-auth/registration/account-confirm-email/...) points.
	var err error
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"OLD_PASSWORD_FIELD_ENABLED", &cfg.PasswordChange.OldPasswordFieldEnabled},
		{"LOGOUT_ON_PASSWORD_CHANGE", &cfg.PasswordChange.LogoutOnPasswordChange},
		{"ACCOUNT_LOGOUT_ON_GET", &cfg.Logout.OnGet},
	} {
		if *f.dst, err = flag(getenv, f.name, false); err != nil {
			return cfg, err
		}
	}
	if v := getenv("ACCOUNT_EMAIL_VERIFICATION"); v != "" {
		cfg.Registration.EmailVerification = restauth.EmailVerification(strings.ToLower(v))
	}
	if err := jwtConfig(getenv, &cfg); err != nil {
		return cfg, err
	}
	if smtp := getenv("SMTP_ADDR"); smtp != "" {
		m, err := emails.NewSMTP(emails.SMTPConfig{Addr: smtp, From: "restauth example <noreply@example.com>", TLS: emails.TLSNone})
		if err != nil {
			return cfg, fmt.Errorf("SMTP_ADDR: %w", err)
		}
		cfg.Mailer = m
	} else {
		cfg.Mailer = emails.Console(stdout)
	}
	return cfg, nil
}

func newApp(getenv func(string) string, stdout io.Writer) (_ *app, err error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8000"
	}
	cfg, err := config(getenv, stdout, log, addr)
	if err != nil {
		return nil, err
	}
	db, err := openDB(getenv("DATABASE_URL"))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a := &app{addr: addr, db: db, cfg: cfg}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	auth, err := restauth.New[Member](db, cfg, restauth.WithUserSerializer[Member](memberSerializer{}))
	if err != nil {
		return nil, err
	}
	if err := auth.AutoMigrate(); err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	auth.Register(r.Group("/rest-auth"))
	api := r.Group("/api", auth.RequireAuth())
	api.GET("/profile", func(c *gin.Context) {
		// In JWT mode the user loads here; it may have been deactivated
		// or deleted since the access token was issued.
		u, ok := restauth.CurrentUser[Member](c)
		if !ok {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": "User inactive or deleted."})
			return
		}
		c.JSON(http.StatusOK, gin.H{"username": u.Username, "nickname": u.Nickname, "date_joined": u.DateJoined})
	})
	a.auth, a.router = auth, r
	return a, nil
}

func (a *app) close() {
	if sqlDB, err := a.db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
