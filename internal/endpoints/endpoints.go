// Package endpoints is the HTTP layer: one file per endpoint group, each
// endpoint a gin.HandlerFunc that binds its body, calls the services and
// decides the status, headers and body of the answer. Every error goes
// through one writer that renders DRF's JSON shape in the request's
// language. It never talks SQL.
package endpoints

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/bind"
	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/devices"
	"github.com/restauth/restauth/internal/hashlimit"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/revoked"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/signup"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// Settings are the HTTP-level choices of the endpoints (the root package
// fills them from Config, in one place).
type Settings struct {
	MaxBodyBytes int64
	// RequestTimeout bounds each endpoint's request context (and
	// RequireAuth's lookups); zero or negative means no limit.
	RequestTimeout   time.Duration
	TokenAuth        bool
	OldPasswordField bool
	LogoutOnGet      bool
	Registration     bool
	UsernameRequired bool
	EmailRequired    bool
	// JWT is nil when JWT mode is off.
	JWT *JWT
	// Limits is nil when rate limits are off.
	Limits *Limits
	// MandatoryVerification: registration answers a detail, not
	// credentials (for the OpenAPI document).
	MandatoryVerification bool
	// OpenAPI describes the document (and whether openapi.json is served).
	OpenAPI OpenAPI
	// Language, when set, picks a request's language (a tag or an
	// Accept-Language value; "" falls back to the header).
	Language func(*gin.Context) string
}

// JWT are the JWT-mode choices (dj-rest-auth's JWT_AUTH_*).
type JWT struct {
	Legacy            bool // {"token","user"} bodies
	ReturnExpiration  bool
	CheckRevoked      bool
	Cookie            string
	RefreshCookie     string
	RefreshCookiePath string
	CookieDomain      string
	Secure            bool
	HTTPOnly          bool
	SameSite          http.SameSite
	UseCSRF           bool
	EnforceCSRF       bool
	CSRFCookie        string
	CSRFHeader        string
}

// csrfOn reports whether CSRF checks can apply at all: they protect
// cookie-borne credentials.
func (j *JWT) csrfOn() bool {
	return j != nil && (j.Cookie != "" || j.RefreshCookie != "") && (j.UseCSRF || j.EnforceCSRF)
}

// Extensions are the app's replacements and additions.
type Extensions[U any] struct {
	Serializer                handlers.UserSerializer[U]
	Authenticators            []handlers.Authenticator[U]
	TokenResponse             func(key string, u *U) any
	PasswordChangeCheck       func(ctx context.Context, u *U, in *handlers.Input) error
	PasswordResetConfirmCheck func(ctx context.Context, u *U, in *handlers.Input) error
	RegisterFields            func(ctx context.Context, u *U, in *handlers.Input) error
	RegisterPermission        func(c *gin.Context) error
}

// Services are what the endpoints call.
type Services[U any] struct {
	Users     *users.Users[U]
	Keys      *tokens.Keys
	Sessions  *sessions.Sessions[U] // nil when JWT mode is off
	Login     *login.Pipeline[U]
	Password  *login.Password[U]
	Passwords *passwords.Passwords[U]
	Signup    *signup.Signup[U]
	Social    *Social[U] // nil without social providers
	// Revoked is the in-memory set of revoked JWT logins (nil when off).
	Revoked *revoked.Set
	Hooks   *hooks.Hooks[U]
	Catalog *locales.Catalog
	Log     *slog.Logger
	Now     func() time.Time
	// Devices keeps the sessions of sessions/ (nil: no such routes).
	Devices *devices.Devices
}

// API serves the endpoints of one Plugin[U].
type API[U any] struct {
	Settings
	Extensions[U]
	Services[U]
}

// read decodes the request body.
func (h *API[U]) read(c *gin.Context) (*handlers.Input, error) {
	v, e := bind.Read(c.Request, h.MaxBodyBytes)
	if e != nil {
		return nil, e
	}
	return handlers.NewInput(v), nil
}

// bindBody reads the body into dst; on failure it has already answered
// and reports false.
func (h *API[U]) bindBody(c *gin.Context, dst any) (*handlers.Input, bool) {
	in, err := h.read(c)
	if err == nil {
		err = in.Bind(dst, false)
	}
	if err != nil {
		h.fail(c, err)
		return nil, false
	}
	return in, true
}

// httpError turns any error into the answer it gets: the services'
// refusals into their statuses, anything unexpected into a 503.
func httpError(err error) *apierr.Error {
	var ae *apierr.Error
	var ve *verr.Error
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		return &apierr.Error{Status: http.StatusBadRequest, Fields: ve.Fields}
	case errors.Is(err, sessions.ErrInvalid):
		return jwtError("jwt.invalid", "token_not_valid")
	case errors.Is(err, sessions.ErrNoActiveAccount):
		return jwtError("jwt.no_active_account", "no_active_account")
	case errors.Is(err, tokens.ErrNotFound):
		return unauthenticated("auth.invalid_token", "Token")
	case errors.Is(err, confirm.ErrNotFound), errors.Is(err, social.ErrNotFound):
		return apierr.Detail(http.StatusNotFound, locales.M("request.not_found"))
	case errors.Is(err, hashlimit.ErrBusy):
		return busy(err)
	}
	return apierr.Unavailable(err)
}

// busy is the answer to a call the hashing limiter refused: 503 with
// Retry-After, in whole seconds (at least 1).
func busy(err error) *apierr.Error {
	after := time.Second
	var be *hashlimit.BusyError
	if errors.As(err, &be) && be.RetryAfter > after {
		after = be.RetryAfter
	}
	e := apierr.Unavailable(err)
	e.Header = map[string]string{"Retry-After": strconv.Itoa(int((after + time.Second - 1) / time.Second))}
	return e
}

// fail writes err: client errors in DRF's shape, anything else as a
// logged 503.
func (h *API[U]) fail(c *gin.Context, err error) {
	ae := httpError(err)
	// A full hashing queue is load, not a failure: it is not logged (a
	// flood of refusals would add a log line each).
	if ae.Status >= 500 && !errors.Is(err, hashlimit.ErrBusy) {
		h.Log.ErrorContext(c.Request.Context(), "restauth: request failed", "path", c.FullPath(), "err", ae)
	}
	for k, v := range ae.Header {
		c.Header(k, v)
	}
	c.AbortWithStatusJSON(ae.Status, ae.Body(h.text(c)))
}

// detail writes {"detail": <message>} with status.
func (h *API[U]) detail(c *gin.Context, status int, id string) {
	c.JSON(status, gin.H{"detail": h.text(c)(locales.M(id))})
}

// recoverPanic answers a panic in a handler with the documented 503 JSON
// instead of an empty 500, and logs it. Deferred.
func (h *API[U]) recoverPanic(c *gin.Context) {
	r := recover()
	if r == nil {
		return
	}
	if r == http.ErrAbortHandler {
		panic(r)
	}
	h.Log.ErrorContext(c.Request.Context(), "restauth: handler panicked", "path", c.FullPath(), "panic", r)
	if !c.Writer.Written() {
		h.fail(c, errors.New("restauth: handler panicked"))
	}
	c.Abort()
}

// recovery is recoverPanic as gin middleware, with the request context
// bounded by RequestTimeout for the handlers after it.
func (h *API[U]) recovery(c *gin.Context) {
	defer h.recoverPanic(c)
	defer h.bound(c)()
	c.Next()
}

// withTimeout derives ctx bounded by RequestTimeout (unbounded when it
// is not positive).
func (h *API[U]) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.RequestTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, h.RequestTimeout)
}

// bound replaces c's request by one whose context is bounded by
// RequestTimeout, so that a database or service that does not answer
// makes the endpoint answer 503 in time instead of hanging. The returned
// function cancels that context and puts the original request back (for
// the app's middleware around the endpoint); call it when the handler
// has returned.
func (h *API[U]) bound(c *gin.Context) func() {
	orig := c.Request
	ctx, cancel := h.withTimeout(orig.Context())
	c.Request = orig.WithContext(ctx)
	return func() {
		cancel()
		c.Request = orig
	}
}

var allMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// route mounts handler on path with and without the trailing slash, for
// each method in methods, and answers the other methods with 405.
func (h *API[U]) route(r gin.IRouter, path string, methods map[string]gin.HandlerFunc) {
	path = strings.TrimSuffix(path, "/")
	allowed := make([]string, 0, len(methods))
	for _, m := range allMethods {
		if _, ok := methods[m]; ok {
			allowed = append(allowed, m)
		}
	}
	if _, ok := methods[http.MethodGet]; ok {
		allowed = append(allowed, http.MethodHead)
	}
	allowed = append(allowed, http.MethodOptions)
	allow := strings.Join(allowed, ", ")
	for _, p := range []string{path + "/", path} {
		for _, m := range allMethods {
			if hf, ok := methods[m]; ok {
				r.Handle(m, p, hf)
				continue
			}
			r.Handle(m, p, h.notAllowed(allow))
		}
		if hf, ok := methods[http.MethodGet]; ok {
			r.Handle(http.MethodHead, p, hf)
		} else {
			r.Handle(http.MethodHead, p, h.notAllowed(allow))
		}
		r.Handle(http.MethodOptions, p, func(c *gin.Context) {
			c.Header("Allow", allow)
			c.Status(http.StatusOK)
		})
	}
}

func (h *API[U]) notAllowed(allow string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Allow", allow)
		h.fail(c, apierr.Detail(http.StatusMethodNotAllowed, locales.M("request.method_not_allowed", "Method", c.Request.Method)))
	}
}

// authed runs fn for an authenticated request, answering 401 otherwise.
func (h *API[U]) authed(fn gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h.authenticate(c); err != nil {
			h.fail(c, err)
			return
		}
		fn(c)
	}
}

// table is every endpoint of this configuration, unwrapped.
func (h *API[U]) table() handlers.Endpoints {
	e := handlers.Endpoints{
		Login:                h.login,
		Logout:               h.logout,
		User:                 h.authed(h.user),
		PasswordChange:       h.authed(h.passwordChange),
		PasswordReset:        h.passwordReset,
		PasswordResetConfirm: h.passwordResetConfirm,
	}
	if h.Registration {
		e.Register = h.register
		e.VerifyEmail = h.verifyEmail
		e.ResendEmail = h.resendEmail
		e.ConfirmEmailPage = h.confirmPage
	}
	if h.JWT != nil {
		e.TokenRefresh = h.tokenRefresh
		e.TokenVerify = h.tokenVerify
	}
	if h.Devices != nil {
		e.Sessions = h.authed(h.sessionsList)
		e.SessionRevoke = h.authed(h.sessionRevoke)
		e.SessionRevokeOthers = h.authed(h.sessionRevokeOthers)
	}
	h.socialTable(&e)
	return e
}

// Endpoints returns every endpoint as a self-contained HandlerFunc: it
// recovers panics and checks CSRF itself, for apps that mount endpoints
// one by one.
func (h *API[U]) Endpoints() handlers.Endpoints {
	wrapWith := func(fn gin.HandlerFunc, csrf bool) gin.HandlerFunc {
		if fn == nil {
			return nil
		}
		return func(c *gin.Context) {
			defer h.recoverPanic(c)
			defer h.bound(c)()
			if csrf && h.JWT.csrfOn() && !h.csrfPass(c) {
				return
			}
			fn(c)
		}
	}
	wrap := func(fn gin.HandlerFunc) gin.HandlerFunc { return wrapWith(fn, true) }
	e := h.table()
	for _, f := range []*gin.HandlerFunc{&e.Login, &e.Logout, &e.User, &e.PasswordChange, &e.PasswordReset,
		&e.PasswordResetConfirm, &e.Register, &e.VerifyEmail, &e.ResendEmail, &e.ConfirmEmailPage, &e.TokenRefresh, &e.TokenVerify,
		&e.SocialAccounts, &e.SocialAccountDisconnect, &e.Sessions, &e.SessionRevoke, &e.SessionRevokeOthers} {
		*f = wrap(*f)
	}
	for name, se := range e.Social {
		// A callback is protected by its state and flow cookie (see
		// registerSocial).
		se.Login, se.Connect, se.Authorize, se.Callback = wrap(se.Login), wrap(se.Connect), wrap(se.Authorize), wrapWith(se.Callback, false)
		e.Social[name] = se
	}
	return e
}

// Register mounts every endpoint on r at its dj-rest-auth path, from the
// route table the OpenAPI document describes, and the document itself at
// openapi.json unless it is turned off.
func (h *API[U]) Register(r gin.IRouter) {
	plain := r.Group("", h.recovery)
	mw := []gin.HandlerFunc{h.recovery}
	if h.JWT.csrfOn() {
		mw = append(mw, h.csrfGuard)
	}
	guarded := r.Group("", mw...)
	for _, rd := range h.routes(h.table(), nil) {
		methods := make(map[string]gin.HandlerFunc, len(rd.ops))
		for _, o := range rd.ops {
			methods[o.doc.Method] = o.handler
		}
		on := guarded
		if rd.plain {
			on = plain
		}
		h.route(on, rd.path, methods)
	}
	if h.OpenAPI.Serve {
		base := ""
		if g, ok := r.(interface{ BasePath() string }); ok {
			base = strings.TrimSuffix(g.BasePath(), "/")
		}
		if base == "" {
			base = "/"
		}
		doc := h.openAPIHandler(base)
		plain.GET("openapi.json", doc)
		plain.HEAD("openapi.json", doc)
	}
}

// asVerr reports whether err is a field error, setting *ve.
func asVerr(err error, ve **verr.Error) bool { return errors.As(err, ve) }
