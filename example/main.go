// Command example is a small app that mounts restauth at /rest-auth.
//
//	go run ./example                                  # serve on 127.0.0.1:8000
//	go run ./example createuser NAME EMAIL PASSWORD   # add a user
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
	"strconv"
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
	"github.com/restauth/restauth/models"
)

// Member is the example's user type: the base user plus a profile field.
type Member struct {
	models.User
	Nickname string `gorm:"size:50;not null;default:''" json:"nickname"`
}

// memberSerializer shows and accepts nickname on user/.
type memberSerializer struct {
	restauth.DefaultUserSerializer[Member]
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

func (s memberSerializer) Update(ctx context.Context, u *Member, in *restauth.Input, partial bool) error {
	var extra struct {
		Nickname *string `json:"nickname" binding:"max=50"`
	}
	if err := restauth.JoinFieldErrors(s.DefaultUserSerializer.Update(ctx, u, in, partial), in.Bind(&extra, partial)); err != nil {
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
	a.auth.Wait()
	return nil
}

func flag(getenv func(string) string, name string) (bool, error) {
	v := getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want true or false", name, v)
	}
	return b, nil
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

func newApp(getenv func(string) string, stdout io.Writer) (*app, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := getenv("ADDR")
	if addr == "" {
		addr = "127.0.0.1:8000"
	}
	db, err := openDB(getenv("DATABASE_URL"))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	cfg := restauth.Config{SecretKey: getenv("SECRET_KEY"), SiteURL: getenv("SITE_URL"), Logger: log}
	if cfg.SecretKey == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		cfg.SecretKey = hex.EncodeToString(b[:])
		log.Warn("SECRET_KEY not set: using a random key, so reset links die when the server restarts")
	}
	if cfg.SiteURL == "" {
		cfg.SiteURL = "http://" + addr
	}
	// The API is mounted at /rest-auth, where the default confirmation
	// link (SiteURL + /rest-auth/registration/account-confirm-email/...) points.
	for name, dst := range map[string]*bool{
		"OLD_PASSWORD_FIELD_ENABLED": &cfg.OldPasswordFieldEnabled,
		"LOGOUT_ON_PASSWORD_CHANGE":  &cfg.LogoutOnPasswordChange,
		"ACCOUNT_LOGOUT_ON_GET":      &cfg.LogoutOnGet,
	} {
		if *dst, err = flag(getenv, name); err != nil {
			return nil, err
		}
	}
	if v := getenv("ACCOUNT_EMAIL_VERIFICATION"); v != "" {
		cfg.EmailVerification = restauth.EmailVerification(strings.ToLower(v))
	}
	// Accepted for later features, ignored for now.
	for _, name := range []string{"REST_USE_JWT", "JWT_AUTH_COOKIE", "JWT_AUTH_REFRESH_COOKIE"} {
		if getenv(name) != "" {
			log.Warn("variable accepted but not used by this version", "name", name)
		}
	}
	if smtp := getenv("SMTP_ADDR"); smtp != "" {
		m, err := emails.NewSMTP(emails.SMTPConfig{Addr: smtp, From: "restauth example <noreply@example.com>", TLS: emails.TLSNone})
		if err != nil {
			return nil, fmt.Errorf("SMTP_ADDR: %w", err)
		}
		cfg.Mailer = m
	} else {
		cfg.Mailer = emails.Console(stdout)
	}
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
		u, _ := restauth.CurrentUser[Member](c)
		c.JSON(http.StatusOK, gin.H{"username": u.Username, "nickname": u.Nickname, "date_joined": u.DateJoined})
	})
	return &app{addr: addr, db: db, auth: auth, router: r}, nil
}

func (a *app) close() {
	if sqlDB, err := a.db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
