// Command example is a small app that mounts restauth at /rest-auth.
//
//	go run ./example                                  # serve on 127.0.0.1:8000
//	go run ./example createuser NAME EMAIL PASSWORD   # add a user, e-mail verified
//	go run ./example createuser --unverified NAME EMAIL PASSWORD
//	go run ./example openapi                          # print the API's OpenAPI document
//	REST_USE_JWT=true go run ./example                # JWT mode
//	go run ./example/mockprovider                     # a local OpenID Connect provider
//
// It also serves a demo page at / (demo.go, web/): a small client of the
// whole API, in token and in JWT mode. EXAMPLE_DEV_OUTBOX=true adds
// /outbox, the last e-mails sent (outbox.go).
//
// It is configured by environment variables named after the Django
// settings they stand for (envConfig and socialEnv in config.go list
// them); see README.md ("The example server", "Social login"). Social
// login providers come from SOCIAL_* variables; there are none by
// default.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/markbates/goth"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/dto"
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

// UpdateBody declares the fields Update reads, for the OpenAPI document.
func (memberSerializer) UpdateBody() any {
	return struct {
		dto.UserDetailsUpdate
		Nickname *string `json:"nickname" binding:"max=50"`
	}{}
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
	router *gin.Engine
	// outbox keeps the e-mails sent, with EXAMPLE_DEV_OUTBOX=true (else nil).
	outbox *devOutbox
}

const usage = "usage: example [createuser [--unverified] USERNAME EMAIL PASSWORD | openapi]"

// apiPath is where the example mounts restauth.
const apiPath = "/rest-auth"

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	var cmd *createUserCmd
	if len(args) > 0 && args[0] == "openapi" {
		if len(args) > 1 {
			return errors.New(usage)
		}
		return printOpenAPI(getenv, stdout)
	}
	if len(args) > 0 {
		if args[0] != "createuser" {
			return errors.New(usage)
		}
		c, err := parseCreateUser(args[1:])
		if err != nil {
			return err
		}
		cmd = &c
	}
	a, err := newApp(getenv, stdout)
	if err != nil {
		return err
	}
	defer a.close()
	if cmd != nil {
		return a.createUser(ctx, *cmd, stdout)
	}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return err
	}
	stopPprof, err := startPprof(getenv("EXAMPLE_PPROF"), stdout)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer stopPprof()
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

// printOpenAPI writes the OpenAPI document of the API this environment
// configures (what /rest-auth/openapi.json serves) to stdout, for client
// generators. Nothing else is written there.
func printOpenAPI(getenv func(string) string, stdout io.Writer) error {
	a, err := newApp(getenv, io.Discard)
	if err != nil {
		return err
	}
	defer a.close()
	doc, err := a.auth.OpenAPI(apiPath)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", doc)
	return err
}

// createUserCmd is the createuser command's arguments.
type createUserCmd struct {
	username, email, password string
	unverified                bool
}

func parseCreateUser(args []string) (createUserCmd, error) {
	fs := flag.NewFlagSet("createuser", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c createUserCmd
	fs.BoolVar(&c.unverified, "unverified", false, "leave the e-mail address unverified")
	if err := fs.Parse(args); err != nil || fs.NArg() != 3 {
		return c, errors.New(usage)
	}
	c.username, c.email, c.password = fs.Arg(0), fs.Arg(1), fs.Arg(2)
	return c, nil
}

// createUser adds an active user. Its e-mail address is marked verified,
// so it can log in under ACCOUNT_EMAIL_VERIFICATION=mandatory, unless
// --unverified asks for a user who must confirm the address first (as
// one who registered through the API).
func (a *app) createUser(ctx context.Context, c createUserCmd, stdout io.Writer) error {
	u := &Member{User: models.User{Username: c.username, Email: c.email, IsActive: true}}
	if err := a.auth.CreateUser(ctx, u, c.password); err != nil {
		return err
	}
	state := "unverified"
	if c.email == "" {
		state = "none"
	} else if !c.unverified {
		if err := a.auth.MarkEmailVerified(ctx, u); err != nil {
			return err
		}
		state = "verified"
	}
	fmt.Fprintf(stdout, "created user %q (pk %d), e-mail %s\n", u.Username, u.ID, state)
	return nil
}

func openDB(d gorm.Dialector) (*gorm.DB, error) {
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Default.LogMode(logger.Warn)})
	if err != nil {
		return nil, err
	}
	// A pool of at most 16 connections, all kept open: database/sql
	// keeps 2 idle by default, and under more requests at once the others
	// are closed after each use and opened again (on PostgreSQL a new
	// server process, its statements prepared again), and without a
	// limit a burst of requests opens one each (beyond PostgreSQL's
	// max_connections, 100 by default, they fail). Requests beyond 16
	// wait for a connection; each holds one for a few queries, never
	// while a password hashes.
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.SetMaxOpenConns(16)
		sqlDB.SetMaxIdleConns(16)
	}
	return db, nil
}

func newApp(getenv func(string) string, stdout io.Writer) (_ *app, err error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	s, err := loadSettings(getenv, stdout, log)
	if err != nil {
		return nil, err
	}
	db, err := openDB(s.database)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	a := &app{addr: s.addr, db: db}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	demo := newDemoConfig(s.auth, s.devOutbox)
	if s.devOutbox {
		a.outbox = newDevOutbox(s.auth.Mailer)
		s.auth.Mailer = a.outbox
	}
	auth, err := restauth.New[Member](db, s.auth,
		restauth.WithUserSerializer[Member](memberSerializer{}),
		// A social sign-up takes the provider's nickname as the profile's.
		restauth.WithSocialUserFields(func(_ context.Context, u *Member, gu goth.User) error {
			u.Nickname = truncate(gu.NickName, 50)
			return nil
		}),
		restauth.OnSocialSignUp(func(_ context.Context, u *Member, acct *models.SocialAccount, _ goth.User) {
			log.Info("social sign-up", "user", u.Username, "provider", acct.Provider)
		}),
	)
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
	auth.Register(r.Group(apiPath))
	// The demo page: e-mailed links and the page's social callback land
	// there (config.go's defaults).
	if err := mountDemo(r, demo, a.outbox); err != nil {
		return nil, err
	}
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

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func (a *app) close() {
	if sqlDB, err := a.db.DB(); err == nil {
		_ = sqlDB.Close()
	}
}
