// Package restauth gives a Gin application the REST authentication API of
// django-rest-auth / dj-rest-auth: login, logout, password change and
// reset by email, and user details, on the app's own GORM user model.
//
//	type Customer struct {
//		models.User
//		CompanyName string `json:"company_name"`
//	}
//
//	auth, err := restauth.New[Customer](db, restauth.Config{SecretKey: secret})
//	if err != nil { ... }
//	if err := auth.AutoMigrate(); err != nil { ... }
//	auth.Register(router.Group("/rest-auth"))
//	api := router.Group("/api", auth.RequireAuth())
//
// Inside a handler behind RequireAuth, CurrentUser[Customer](c) returns the
// authenticated user.
package restauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/models"
)

// Plugin is restauth mounted on one user type U. U must be a struct that
// embeds models.User (so *U implements models.UserModel); New checks it.
type Plugin[U any] struct {
	cfg Config
	db  *gorm.DB
	svc *core.Service[U]
	h   *handlers.Handlers[U]
}

// Option sets a typed extension of a Plugin[U]: serializers and hooks.
type Option[U any] func(*options[U])

type options[U any] struct {
	ext    handlers.Extensions[U]
	hooks  core.Hooks[U]
	claims func(ctx context.Context, u *U) map[string]any
}

// UserSerializer renders and updates user/ (USER_DETAILS_SERIALIZER).
type UserSerializer[U any] = handlers.UserSerializer[U]

// DefaultUserSerializer is dj-rest-auth's UserDetailsSerializer; embed it
// to add fields.
type DefaultUserSerializer[U any] = handlers.DefaultUserSerializer[U]

// Input is a decoded request body, read by serializers and hooks.
type Input = handlers.Input

// FieldError returns an error that answers 400 {field: [message]}.
func FieldError(field, message string) error { return handlers.FieldError(field, message) }

// DetailError returns an error that answers {"detail": message} with status.
func DetailError(status int, message string) error { return handlers.DetailError(status, message) }

// JoinFieldErrors merges several field errors into one response.
func JoinFieldErrors(errs ...error) error { return handlers.JoinFieldErrors(errs...) }

// WithUserSerializer replaces the serializer of user/.
func WithUserSerializer[U any](s UserSerializer[U]) Option[U] {
	return func(o *options[U]) { o.ext.UserSerializer = s }
}

// WithLogin replaces how a login request is authenticated
// (LOGIN_SERIALIZER). fn reads its fields from in and returns the user or
// an error (FieldError, DetailError, or the error of Plugin.Authenticate).
func WithLogin[U any](fn func(ctx context.Context, in *Input) (*U, error)) Option[U] {
	return func(o *options[U]) { o.ext.Login = fn }
}

// WithTokenResponse replaces the body of a token-mode login
// (TOKEN_SERIALIZER); the default is {"key": key}.
func WithTokenResponse[U any](fn func(key string, u *U) any) Option[U] {
	return func(o *options[U]) { o.ext.TokenResponse = fn }
}

// WithPasswordChangeCheck adds validation to password/change/; it runs
// after the fields are bound and before the password is checked.
func WithPasswordChangeCheck[U any](fn func(ctx context.Context, u *U, in *Input) error) Option[U] {
	return func(o *options[U]) { o.ext.PasswordChangeCheck = fn }
}

// WithPasswordResetConfirmCheck adds validation to
// password/reset/confirm/; it runs after uid, token and the new passwords
// have been checked.
func WithPasswordResetConfirmCheck[U any](fn func(ctx context.Context, u *U, in *Input) error) Option[U] {
	return func(o *options[U]) { o.ext.PasswordResetConfirmCheck = fn }
}

// WithRegistrationFields binds the app's own registration fields onto the
// new user before it is inserted, in the same transaction
// (REGISTER_SERIALIZER). Use in.Bind with `binding` tags; field errors are
// reported together with the built-in ones.
func WithRegistrationFields[U any](fn func(ctx context.Context, u *U, in *Input) error) Option[U] {
	return func(o *options[U]) { o.ext.RegisterFields = fn }
}

// WithRegisterPermission gates registration/ (REGISTER_PERMISSION_CLASSES):
// a non-nil error refuses the request with 403 {"detail": err.Error()}.
func WithRegisterPermission[U any](fn func(c *gin.Context) error) Option[U] {
	return func(o *options[U]) { o.ext.RegisterPermission = fn }
}

// OnUserSignedUp registers fn to run after a registration committed.
func OnUserSignedUp[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnUserSignedUp = append(o.hooks.OnUserSignedUp, fn) }
}

// OnEmailConfirmed registers fn to run after an address was verified.
func OnEmailConfirmed[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnEmailConfirmed = append(o.hooks.OnEmailConfirmed, fn) }
}

// OnLogin registers fn to run after each successful login.
func OnLogin[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnLogin = append(o.hooks.OnLogin, fn) }
}

// OnLogout registers fn to run after a logout that revoked a live token.
func OnLogout[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnLogout = append(o.hooks.OnLogout, fn) }
}

// OnPasswordChanged registers fn to run after password/change/ succeeds.
func OnPasswordChanged[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnPasswordChanged = append(o.hooks.OnPasswordChanged, fn) }
}

// OnPasswordReset registers fn to run after password/reset/confirm/
// succeeds.
func OnPasswordReset[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnPasswordReset = append(o.hooks.OnPasswordReset, fn) }
}

// New returns a Plugin for user type U on db. It validates cfg and returns
// an error naming the first bad field.
func New[U any](db *gorm.DB, cfg Config, opts ...Option[U]) (*Plugin[U], error) {
	if db == nil {
		return nil, errors.New("restauth: New: db is nil")
	}
	if _, ok := any(new(U)).(models.UserModel); !ok {
		var zero U
		return nil, fmt.Errorf("restauth: New: user type %T must embed models.User", zero)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var o options[U]
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	tpl, err := emails.NewTemplates(cfg.EmailTemplates)
	if err != nil {
		return nil, fmt.Errorf("restauth: Config.EmailTemplates: %w", err)
	}
	var issuer *jwtauth.Issuer
	if cfg.UseJWT {
		issuer, err = jwtauth.New(cfg.JWTKeys, cfg.JWTAccessLifetime, cfg.JWTRefreshLifetime, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("restauth: Config.JWTKeys: %w", err)
		}
	}
	tokens := cfg.TokenStore
	if tokens == nil {
		tokens = core.NewGORMTokenStore(db, cfg.Now)
	}
	svc, err := core.New[U](core.Options{
		DB:                        db,
		Hasher:                    cfg.PasswordHasher,
		Validators:                cfg.PasswordValidators,
		Tokens:                    tokens,
		TokenTTL:                  cfg.TokenTTL,
		JWT:                       issuer,
		Mailer:                    cfg.Mailer,
		Templates:                 tpl,
		SecretKey:                 cfg.SecretKey,
		SiteURL:                   cfg.SiteURL,
		SiteName:                  cfg.SiteName,
		PasswordResetURL:          cfg.PasswordResetURL,
		PasswordResetTimeout:      cfg.PasswordResetTimeout,
		LoginByUsername:           cfg.loginBy(LoginByUsername),
		LoginByEmail:              cfg.loginBy(LoginByEmail),
		LogoutOnPasswordChange:    cfg.LogoutOnPasswordChange,
		EmailVerification:         cfg.EmailVerification,
		EmailConfirmURL:           cfg.EmailConfirmURL,
		EmailConfirmationExpire:   cfg.EmailConfirmationExpire,
		EmailConfirmationCooldown: cfg.EmailConfirmationCooldown,
		OnMailError:               cfg.OnMailError,
		Now:                       cfg.Now,
		Logger:                    cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	svc.Hooks = o.hooks
	svc.JWTClaims = o.claims
	h := handlers.New(svc, cfg.Catalog, handlers.Settings{
		MaxBodyBytes:            cfg.MaxBodyBytes,
		TokenAuth:               !cfg.DisableTokenAuth,
		OldPasswordFieldEnabled: cfg.OldPasswordFieldEnabled,
		LogoutOnGet:             cfg.LogoutOnGet,
		Registration:            !cfg.DisableRegistration,
		UsernameRequired:        *cfg.UsernameRequired,
		EmailRequired:           *cfg.EmailRequired,
		Verification:            cfg.EmailVerification,
		JWT: handlers.JWTSettings{
			Enabled:           cfg.UseJWT,
			LegacyResponse:    cfg.JWTResponseStyle == "v0.9",
			ReturnExpiration:  cfg.JWTAuthReturnExpiration,
			Rotate:            cfg.RotateRefreshTokens,
			CheckRevoked:      cfg.JWTCheckRevoked,
			Cookie:            cfg.JWTAuthCookie,
			RefreshCookie:     cfg.JWTAuthRefreshCookie,
			RefreshCookiePath: cfg.JWTAuthRefreshCookiePath,
			CookieDomain:      cfg.JWTAuthCookieDomain,
			Secure:            cfg.JWTAuthSecure,
			HTTPOnly:          *cfg.JWTAuthHTTPOnly,
			SameSite:          cfg.JWTAuthSameSite,
			UseCSRF:           cfg.JWTAuthCookieUseCSRF,
			EnforceCSRF:       cfg.JWTAuthCookieEnforceCSRFOnUnauthenticated,
			CSRFCookie:        cfg.CSRFCookieName,
			CSRFHeader:        cfg.CSRFHeaderName,
		},
	}, o.ext, cfg.Logger)
	if cfg.UseJWT && (cfg.JWTAuthCookie != "" || cfg.JWTAuthRefreshCookie != "") &&
		cfg.JWTAuthSameSite == http.SameSiteNoneMode && !cfg.JWTAuthCookieUseCSRF && !cfg.JWTAuthCookieEnforceCSRFOnUnauthenticated {
		cfg.Logger.Warn("restauth: JWT cookies with SameSite=None and no CSRF check: other sites can send authenticated requests; set JWTAuthCookieUseCSRF")
	}
	return &Plugin[U]{cfg: cfg, db: db, svc: svc, h: h}, nil
}

// Config returns the plugin's configuration with defaults filled in.
func (p *Plugin[U]) Config() Config { return p.cfg }

var identRe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// AutoMigrate creates or updates every table restauth uses (the app's user
// table included) and the case-insensitive unique indexes on username and
// (non-empty) email, on SQLite and PostgreSQL.
func (p *Plugin[U]) AutoMigrate() error {
	tables := []any{new(U), &models.Token{}, &models.EmailAddress{}, &models.EmailConfirmation{}}
	if p.cfg.UseJWT {
		tables = append(tables, &models.OutstandingToken{}, &models.BlacklistedToken{})
	}
	if err := p.db.AutoMigrate(tables...); err != nil {
		return fmt.Errorf("restauth: migrate: %w", err)
	}
	stmt := &gorm.Statement{DB: p.db}
	if err := stmt.Parse(new(U)); err != nil {
		return fmt.Errorf("restauth: migrate: %w", err)
	}
	table := stmt.Schema.Table
	name := strings.ToLower(identRe.ReplaceAllString(table, "_"))
	for _, ix := range []struct{ name, table, expr string }{
		{name + "_username_ci", table, "(lower(username))"},
		{name + "_email_ci", table, "(lower(email)) WHERE email <> ''"},
		{"restauth_email_addresses_email_ci", models.EmailAddress{}.TableName(), "(lower(email))"},
	} {
		sql := "CREATE UNIQUE INDEX IF NOT EXISTS " + ix.name + " ON ? " + ix.expr
		if err := p.db.Exec(sql, clause.Table{Name: ix.table}).Error; err != nil {
			return fmt.Errorf("restauth: migrate: index %s: %w", ix.name, err)
		}
	}
	return nil
}

// Register mounts every endpoint on r (conventionally
// router.Group("/rest-auth")). Each route answers with and without the
// trailing slash.
func (p *Plugin[U]) Register(r gin.IRouter) { p.h.Register(r) }

// RequireAuth returns middleware for the app's own routes: it
// authenticates the request (Authorization: Token <key>; in JWT mode also
// Authorization: Bearer <access> or the JWTAuthCookie cookie, the header
// winning) and answers 401 in DRF's shape when it cannot. Read the user
// with CurrentUser, or the JWT's claims without a query with
// CurrentClaims. Cookie-authenticated unsafe requests are checked for CSRF
// as the JWTAuthCookie*CSRF* settings say.
func (p *Plugin[U]) RequireAuth() gin.HandlerFunc { return p.h.RequireAuth() }

// CurrentUser returns the user authenticated by RequireAuth. In JWT mode
// the first call loads the user (one query); it reports false if the user
// is gone or inactive.
func CurrentUser[U any](c *gin.Context) (*U, bool) { return handlers.CurrentUser[U](c) }

// CurrentToken returns the token key the request was authenticated with.
func CurrentToken(c *gin.Context) string { return handlers.CurrentToken(c) }

// Authenticate checks credentials the way login/ does and returns the
// user or an error that renders as login/'s 400 answer.
func (p *Plugin[U]) Authenticate(ctx context.Context, username, email, password string) (*U, error) {
	return p.svc.Authenticate(ctx, username, email, password)
}

// Login logs u in from the app's own flow: it updates last_login, issues
// a token key (or, in JWT mode, an access/refresh pair), runs OnLogin
// hooks, and returns the body login/ would answer. It sets no cookies.
func (p *Plugin[U]) Login(ctx context.Context, u *U) (any, error) {
	return p.h.LoginResponse(ctx, u)
}

// SetPassword hashes password into u's Password field (it does not save).
func (p *Plugin[U]) SetPassword(u *U, password string) error {
	h, err := p.cfg.PasswordHasher.Hash(password)
	if err != nil {
		return fmt.Errorf("restauth: hash password: %w", err)
	}
	core.Base(u).Password = h
	return nil
}

// CreateUser hashes password into u and inserts it as given (set
// IsActive yourself), with DateJoined set when zero. It is for apps' own flows, fixtures and tests; it does
// not run the password validators.
func (p *Plugin[U]) CreateUser(ctx context.Context, u *U, password string) error {
	if err := p.SetPassword(u, password); err != nil {
		return err
	}
	b := core.Base(u)
	if b.DateJoined.IsZero() {
		b.DateJoined = p.svc.Now()
	}
	if err := p.db.WithContext(ctx).Create(u).Error; err != nil {
		return fmt.Errorf("restauth: create user: %w", err)
	}
	return nil
}

// PasswordResetToken returns the uid and token of a password-reset link
// for u, as sent by password/reset/.
func (p *Plugin[U]) PasswordResetToken(u *U) (uid, token string) { return p.svc.ResetToken(u) }

// Wait blocks until every email restauth has started sending has been
// handed to the Mailer. Call it before shutting down (and in tests).
func (p *Plugin[U]) Wait() { p.svc.Wait() }
