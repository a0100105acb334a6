package restauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/dblog"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/devices"
	"github.com/restauth/restauth/internal/endpoints"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/resets"
	"github.com/restauth/restauth/internal/revoked"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/signup"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/ratelimit"
)

// Plugin is restauth mounted on one user type U. U must be a struct that
// embeds models.User by value (so *U implements models.UserModel); New
// checks it.
type Plugin[U any] struct {
	cfg        Config
	db         *gorm.DB
	api        *endpoints.API[U]
	mail       *mail.Sender
	confirmURL atomic.Pointer[string]
}

// New returns a Plugin for user type U on db. It validates cfg and
// returns an error naming the first bad field. restauth's own queries go
// through a logger that never renders their parameters (no password
// hash, token digest, email or username reaches the app's GORM log).
func New[U any](db *gorm.DB, cfg Config, opts ...Option[U]) (*Plugin[U], error) {
	if db == nil {
		return nil, errors.New("restauth: New: db is nil")
	}
	if err := checkUserType[U](); err != nil {
		return nil, err
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
	if o.ext.Serializer == nil {
		o.ext.Serializer = handlers.DefaultUserSerializer[U]{}
	}
	db = db.Session(&gorm.Session{Logger: dblog.Wrap(db.Logger)})
	sender, err := mail.New(cfg.Mailer, cfg.EmailTemplates, cfg.Catalog, cfg.Logger, cfg.OnMailError)
	if err != nil {
		return nil, fmt.Errorf("restauth: Config.EmailTemplates: %w", err)
	}
	p := &Plugin[U]{cfg: cfg, db: db, mail: sender}

	us, err := users.New[U](db, cfg.Now, dberr.UniqueViolation)
	if err != nil {
		return nil, err
	}
	store := tokens.Store(cfg.Token.Store)
	if cfg.Token.Store == nil {
		store = tokens.NewGORMStore(db, cfg.Now)
	}
	keys := &tokens.Keys{Store: store, TTL: cfg.Token.TTL, Now: cfg.Now}
	conf := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation,
		Expire: cfg.Registration.ConfirmationExpire, Cooldown: cfg.Registration.ConfirmationCooldown, Now: cfg.Now}

	var sess *sessions.Sessions[U]
	var revokedSet *revoked.Set
	// Sessions of sessions/: token keys only in the default store (a
	// custom one cannot be checked or ended by digest).
	dev := &devices.Devices{DB: db, Now: cfg.Now, Tokens: cfg.Token.Store == nil && !cfg.Token.Disabled,
		JWT: cfg.JWT.Enabled, Grace: cfg.JWT.AccessLifetime}
	var issuer login.Issuer[U] = login.TokenIssuer[U]{Keys: keys, Devices: dev}
	if cfg.JWT.Enabled {
		ks := make([]jwtauth.Key, len(cfg.JWT.Keys))
		for i, k := range cfg.JWT.Keys {
			ks[i] = jwtauth.Key{ID: k.ID, Algorithm: k.Algorithm, Secret: k.Secret, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey}
		}
		iss, err := jwtauth.New(ks, cfg.JWT.AccessLifetime, cfg.JWT.RefreshLifetime, cfg.Now)
		if err != nil {
			return nil, fmt.Errorf("restauth: Config.JWT.Keys: %w", err)
		}
		sess = &sessions.Sessions[U]{DB: db, Users: us, JWT: iss, Rotate: cfg.JWT.RotateRefreshTokens,
			CheckRevoked: cfg.JWT.CheckRevoked, Claims: o.claims, Now: cfg.Now, Log: cfg.Logger}
		if cfg.JWT.RevocationInterval > 0 {
			revokedSet = revoked.New(db, cfg.JWT.AccessLifetime, cfg.JWT.RevocationInterval, cfg.Now)
			sess.Revoked = revokedSet
		}
		issuer = login.JWTIssuer[U]{Sessions: sess, Devices: dev}
	}

	// Active first; the app's checks; verified email last, so that a
	// registration (which stops there under mandatory verification) has
	// run every other check.
	checks := []login.Check[U]{login.Active[U]{}}
	for _, c := range o.checks {
		checks = append(checks, c)
	}
	if cfg.Registration.EmailVerification == VerificationMandatory {
		checks = append(checks, login.Verified[U]{Confirmations: conf})
	}
	pipeline := &login.Pipeline[U]{DB: db, Users: us, Checks: checks, Issuer: issuer, Hooks: &o.hooks}
	// One limiter for every hash and verification (the login's timing
	// equaliser included), so that their memory stays bounded.
	hasher := cfg.Password.limitedHasher()
	pw, err := login.NewPassword(us, hasher,
		login.Methods{Username: cfg.loginBy(LoginByUsername), Email: cfg.loginBy(LoginByEmail)}, cfg.Logger)
	if err != nil {
		return nil, err
	}
	pws := &passwords.Passwords[U]{
		DB: db, Users: us, Hasher: hasher, Validators: cfg.Password.Validators,
		Keys: keys, Sessions: sess, LogoutOnChange: cfg.PasswordChange.LogoutOnPasswordChange,
		Resets:   resets.Tokens{Key: secret.Derive(cfg.SecretKey, "password_reset"), Timeout: cfg.PasswordReset.Timeout, Now: cfg.Now},
		Mail:     p.mail,
		ResetURL: cfg.PasswordReset.URL, SiteName: cfg.SiteName, SiteURL: cfg.SiteURL, Hooks: &o.hooks,
	}
	defaultConfirm := cfg.SiteURL + "/rest-auth/registration/account-confirm-email/{key}/"
	if cfg.Registration.EmailConfirmURL != "" {
		defaultConfirm = cfg.Registration.EmailConfirmURL
	}
	p.confirmURL.Store(&defaultConfirm)
	su := &signup.Signup[U]{
		DB: db, Users: us, Confirmations: conf, Passwords: pws, Login: pipeline,
		SendConfirmation: cfg.Registration.EmailVerification != VerificationNone,
		ConfirmURL:       func() string { return *p.confirmURL.Load() },
		SiteName:         cfg.SiteName, SiteURL: cfg.SiteURL, Mail: p.mail, Hooks: &o.hooks,
		PreventEnumeration: cfg.Registration.PreventEnumeration,
	}
	set := endpoints.Settings{
		MaxBodyBytes:     cfg.MaxBodyBytes,
		RequestTimeout:   cfg.RequestTimeout,
		TokenAuth:        !cfg.Token.Disabled,
		OldPasswordField: cfg.PasswordChange.OldPasswordFieldEnabled,
		LogoutOnGet:      cfg.Logout.OnGet,
		Registration:     !cfg.Registration.Disabled,
		UsernameRequired: *cfg.Registration.UsernameRequired,
		EmailRequired:    *cfg.Registration.EmailRequired,
		Language:         cfg.Language,

		MandatoryVerification: cfg.Registration.EmailVerification == VerificationMandatory,
		OpenAPI: endpoints.OpenAPI{Title: cfg.OpenAPI.Title, Version: cfg.OpenAPI.Version, Description: cfg.OpenAPI.Description,
			Serve: !cfg.OpenAPI.Disabled},
	}
	if rl := cfg.RateLimits; !rl.Disabled {
		by := make(map[string]ratelimit.Limit, len(rl.Limits))
		for a, l := range rl.Limits {
			by[string(a)] = l
		}
		set.Limits = &endpoints.Limits{Store: rl.Store, ByAction: by, ClientIP: rl.ClientIP, FailOpen: rl.FailOpen}
		if len(o.lockout) > 0 {
			set.Limits.OnLockout = func(ctx context.Context, name string) {
				u, err := us.ByEmail(ctx, name)
				if err == nil && u == nil {
					u, err = us.ByUsername(ctx, name)
				}
				if err != nil {
					cfg.Logger.WarnContext(ctx, "restauth: lockout hook: load user", "err", err)
				}
				for _, fn := range o.lockout {
					fn(ctx, name, u)
				}
			}
		}
	}
	if j := cfg.JWT; j.Enabled {
		set.JWT = &endpoints.JWT{
			Legacy: j.ResponseStyle == JWTResponseV09, ReturnExpiration: j.ReturnExpiration, CheckRevoked: j.CheckRevoked,
			Cookie: j.Cookie, RefreshCookie: j.RefreshCookie, RefreshCookiePath: j.RefreshCookiePath,
			CookieDomain: j.CookieDomain, Secure: j.Secure, HTTPOnly: *j.HTTPOnly, SameSite: j.SameSite,
			UseCSRF: j.CookieUseCSRF, EnforceCSRF: j.EnforceCSRFOnUnauthenticated,
			CSRFCookie: j.CSRFCookieName, CSRFHeader: j.CSRFHeaderName,
		}
		if (j.Cookie != "" || j.RefreshCookie != "") && j.SameSite == http.SameSiteNoneMode && !j.csrfOn() {
			cfg.Logger.Warn("restauth: JWT cookies with SameSite=None and no CSRF check: other sites can send authenticated requests; set Config.JWT.CookieUseCSRF")
		}
	}
	var soc *endpoints.Social[U]
	if len(cfg.Social.Providers) > 0 {
		if soc, err = p.newSocial(cfg, &o, us, conf, pipeline, keys, sess, su); err != nil {
			return nil, err
		}
	}
	p.api = &endpoints.API[U]{
		Settings:   set,
		Extensions: o.ext,
		Services: endpoints.Services[U]{
			Users: us, Keys: keys, Sessions: sess, Login: pipeline, Password: pw, Passwords: pws,
			Signup: su, Social: soc, Revoked: revokedSet, Hooks: &o.hooks, Catalog: cfg.Catalog, Log: cfg.Logger, Now: cfg.Now,
			Devices: dev,
		},
	}
	return p, nil
}

// checkUserType refuses a U that does not embed models.User by value (a
// *models.User embedding would be nil in every new U).
func checkUserType[U any]() error {
	var zero U
	t := reflect.TypeOf(zero)
	if t == nil || t.Kind() != reflect.Struct {
		return fmt.Errorf("restauth: New: user type %v must be a struct embedding models.User", t)
	}
	f, ok := t.FieldByName("User")
	if !ok || !f.Anonymous || f.Type != reflect.TypeOf(models.User{}) {
		if ok && f.Anonymous && f.Type == reflect.TypeOf(&models.User{}) {
			return fmt.Errorf("restauth: New: user type %v embeds *models.User; embed models.User (not a pointer)", t)
		}
		return fmt.Errorf("restauth: New: user type %v must embed models.User", t)
	}
	if _, ok := any(new(U)).(models.UserModel); !ok {
		return fmt.Errorf("restauth: New: user type %v must embed models.User", t)
	}
	return nil
}

// AutoMigrate creates or updates every table restauth uses (the app's user
// table included) and the case-insensitive unique indexes on username and
// (non-empty) email, on SQLite and PostgreSQL.
func (p *Plugin[U]) AutoMigrate() error {
	ctx := context.Background()
	if err := p.api.Users.Migrate(ctx); err != nil {
		return err
	}
	if err := p.api.Signup.Confirmations.Migrate(ctx); err != nil {
		return err
	}
	if err := p.api.Devices.Migrate(ctx); err != nil {
		return err
	}
	if p.api.Social != nil {
		if err := social.Migrate(ctx, p.db, p.cfg.Social.StoreTokens); err != nil {
			return err
		}
	}
	tables := []any{&models.Token{}}
	if p.cfg.JWT.Enabled {
		tables = append(tables, &models.OutstandingToken{}, &models.BlacklistedToken{})
	}
	if err := p.db.AutoMigrate(tables...); err != nil {
		return fmt.Errorf("restauth: migrate: %w", err)
	}
	return nil
}

// Register mounts every endpoint on r at its dj-rest-auth path
// (conventionally router.Group("/rest-auth")). Each route answers with
// and without the trailing slash. Unless
// Config.Registration.EmailConfirmURL is set, confirmation emails link to
// the confirmation page under r's path.
func (p *Plugin[U]) Register(r gin.IRouter) {
	if p.cfg.Registration.EmailConfirmURL == "" {
		base := ""
		if g, ok := r.(interface{ BasePath() string }); ok {
			base = strings.TrimSuffix(g.BasePath(), "/")
		}
		u := p.cfg.SiteURL + base + "/registration/account-confirm-email/{key}/"
		p.confirmURL.Store(&u)
	}
	p.api.Register(r)
}

// OpenAPI returns the OpenAPI 3.0 document (JSON) of the endpoints
// Register mounts in this configuration, with server as the URL their
// paths are relative to (Register's group path, e.g. "/rest-auth", or an
// absolute URL), as openapi.json serves it. Use it to write the document
// to a file for a client generator, or to serve it elsewhere when
// Config.OpenAPI.Disabled turns the route off.
func (p *Plugin[U]) OpenAPI(server string) ([]byte, error) { return p.api.Document(server) }

// Handlers returns each endpoint as a gin.HandlerFunc, for apps that
// mount chosen endpoints at their own paths (as Django projects include
// single views). Each one authenticates and checks CSRF by itself where
// its endpoint needs it. Mounting the confirmation page elsewhere needs
// Config.Registration.EmailConfirmURL.
func (p *Plugin[U]) Handlers() handlers.Endpoints { return p.api.Endpoints() }

// RequireAuth returns middleware for the app's own routes: it
// authenticates the request (Authorization: Token <key>; in JWT mode also
// Authorization: Bearer <access> or the access cookie, the header
// winning) and answers 401 in DRF's shape when it cannot. Read the user
// with CurrentUser, or the JWT's claims without a query with
// CurrentClaims. Cookie-authenticated unsafe requests are checked for
// CSRF as Config.JWT says.
func (p *Plugin[U]) RequireAuth() gin.HandlerFunc { return p.api.RequireAuth() }

// CurrentUser returns the user authenticated by RequireAuth. In JWT mode
// the first call loads the user (one query); it reports false if the user
// is gone or inactive.
func CurrentUser[U any](c *gin.Context) (*U, bool) { return endpoints.CurrentUser[U](c) }

// CurrentToken returns the credential (token key or access token) the
// request was authenticated with, or "".
func CurrentToken(c *gin.Context) string { return endpoints.CurrentToken(c) }

// CurrentClaims returns the claims of the access token RequireAuth
// accepted (JWT mode), without a database query; ok is false for
// token-key requests.
func CurrentClaims(c *gin.Context) (claims map[string]any, ok bool) {
	return endpoints.CurrentClaims(c)
}

// Authenticate checks credentials the way login/'s password
// authenticator does, then the login checks, and returns the user or an
// error that login/ would answer with 400 (or one wrapping
// ErrHashingBusy when every hashing slot is taken: login/'s 503).
func (p *Plugin[U]) Authenticate(ctx context.Context, username, email, password string) (*U, error) {
	u, err := p.api.Password.Authenticate(ctx, username, email, password)
	if err != nil {
		return nil, err
	}
	if err := p.api.Login.Check(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// LoginResult is what Plugin.Login issued.
type LoginResult struct {
	// Body is the body login/ answers with: dto.TokenResponse (or the
	// WithTokenResponse value) in token mode, dto.JWTResponse or
	// dto.LegacyJWTResponse in JWT mode.
	Body any
	// Key is the token key (token mode).
	Key string
	// Access and Refresh are the JWTs (JWT mode).
	Access, Refresh string
}

// Login logs u in from the app's own flow through the login pipeline:
// the checks (active, verified email, the app's own), last_login, a token
// key or, in JWT mode, an access/refresh pair, then the OnLogin hooks. It
// sets no cookies.
func (p *Plugin[U]) Login(ctx context.Context, u *U) (LoginResult, error) {
	cred, err := p.api.Login.Login(ctx, u)
	if err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Body: p.api.LoginBody(u, cred), Key: cred.Key, Access: cred.Access, Refresh: cred.Refresh}, nil
}

// SetPassword hashes password into u's Password field (it does not save).
func (p *Plugin[U]) SetPassword(u *U, password string) error {
	h, err := p.api.Passwords.Hash(password)
	if err != nil {
		return err
	}
	users.Base(u).Password = h
	return nil
}

// CreateUser hashes password into u and inserts it as given (set
// IsActive yourself), with DateJoined set when zero, plus its email as
// the user's primary address, unverified (MarkEmailVerified verifies it,
// so the user can log in under mandatory verification). It is for apps'
// own flows, fixtures and tests; it does not run the password validators.
func (p *Plugin[U]) CreateUser(ctx context.Context, u *U, password string) error {
	if err := p.SetPassword(u, password); err != nil {
		return err
	}
	return p.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		tctx := dbx.WithTx(ctx, tx)
		if err := p.api.Users.Create(tctx, u); err != nil {
			return fmt.Errorf("restauth: create user: %w", err)
		}
		b := users.Base(u)
		if b.Email == "" {
			return nil
		}
		if _, err := p.api.Signup.Confirmations.AddAddress(tctx, models.EmailAddress{UserID: b.ID, Email: b.Email, Primary: true, Verified: false}); err != nil {
			return fmt.Errorf("restauth: create user: %w", err)
		}
		return nil
	})
}

// MarkEmailVerified marks u's email address verified and primary (adding
// the address when it has none), as a confirmation link would.
func (p *Plugin[U]) MarkEmailVerified(ctx context.Context, u *U) error {
	b := users.Base(u)
	if b.Email == "" {
		return errors.New("restauth: MarkEmailVerified: user has no email")
	}
	return p.api.Signup.Confirmations.MarkVerified(ctx, b.ID, b.Email)
}

// PasswordResetToken returns the uid and token of a password-reset link
// for u, as sent by password/reset/.
func (p *Plugin[U]) PasswordResetToken(u *U) (uid, token string) { return p.api.Passwords.Token(u) }

// Shutdown waits until every email restauth has started sending has been
// handed to the Mailer, or ctx ends. Call it before the process exits
// (after the HTTP server's own Shutdown), and in tests.
func (p *Plugin[U]) Shutdown(ctx context.Context) error { return p.mail.Shutdown(ctx) }

// PruneExpired deletes rows that can no longer authenticate anyone:
// expired refresh-token records and their blacklist rows (JWT mode),
// expired token keys of a store that is a TokenPruner (the default one
// is), expired email confirmations, sessions (sessions/) whose token key
// or refresh family is gone, and used id_tokens and authorization
// flows of social login that expired. Run it from a scheduler (daily is
// plenty); it returns how many rows it deleted.
func (p *Plugin[U]) PruneExpired(ctx context.Context) (int64, error) {
	var total int64
	if s := p.api.Sessions; s != nil {
		n, err := s.Prune(ctx)
		if err != nil {
			return 0, err
		}
		total += n
	}
	if d := p.api.Devices; d != nil {
		n, err := d.Prune(ctx)
		if err != nil {
			return total, err
		}
		total += n
	}
	n, err := p.api.Keys.Prune(ctx)
	total += n
	if err != nil {
		return total, err
	}
	n, err = p.api.Signup.Confirmations.Prune(ctx)
	total += n
	if err != nil || p.api.Social == nil {
		return total, err
	}
	n, err = social.Prune(ctx, p.db, p.cfg.Now())
	return total + n, err
}

// RevokeSessions ends every login of u: its token keys and, in JWT mode,
// its refresh-token families, whose access tokens every instance then
// refuses within Config.JWT.RevocationInterval (at once with
// Config.JWT.CheckRevoked). Use it when an app deactivates or deletes an
// account.
func (p *Plugin[U]) RevokeSessions(ctx context.Context, u *U) error {
	id := users.Base(u).ID
	if s := p.api.Sessions; s != nil {
		if err := s.RevokeUser(ctx, id, ""); err != nil {
			return err
		}
	}
	if err := p.api.Keys.RevokeUser(ctx, id, ""); err != nil {
		return err
	}
	return p.api.Devices.DeleteUser(ctx, id, "", "")
}
