// Package handlers holds restauth's gin handlers, one file per endpoint
// group. Handlers bind a DTO, call the core service and render the result;
// every error goes through one writer that produces DRF's JSON shape in the
// request's language.
package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/bind"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/locales"
)

// Settings are the switches the handlers read; the root package fills them.
type Settings struct {
	MaxBodyBytes            int64
	TokenAuth               bool
	OldPasswordFieldEnabled bool
	LogoutOnGet             bool
	Registration            bool
	UsernameRequired        bool
	EmailRequired           bool
	Verification            core.Verification
	JWT                     JWTSettings
}

// Extensions are the parts of the HTTP layer an app may replace.
type Extensions[U any] struct {
	// UserSerializer renders and updates user/ (USER_DETAILS_SERIALIZER).
	UserSerializer UserSerializer[U]
	// Login authenticates a login request (LOGIN_SERIALIZER); nil uses
	// the username/email/password rules.
	Login func(ctx context.Context, in *Input) (*U, error)
	// TokenResponse builds the body of a token-mode login
	// (TOKEN_SERIALIZER); nil gives {"key": key}.
	TokenResponse func(key string, u *U) any
	// PasswordChangeCheck and PasswordResetConfirmCheck add validation to
	// those endpoints; they run after the built-in checks.
	PasswordChangeCheck       func(ctx context.Context, u *U, in *Input) error
	PasswordResetConfirmCheck func(ctx context.Context, u *U, in *Input) error
	// RegisterFields binds the app's own registration fields onto the new
	// user (REGISTER_SERIALIZER); it runs before the user is inserted, in
	// the same request, and its field errors join the built-in ones.
	RegisterFields func(ctx context.Context, u *U, in *Input) error
	// RegisterPermission gates sign-up (REGISTER_PERMISSION_CLASSES): a
	// non-nil error refuses with 403 {"detail": err.Error()}.
	RegisterPermission func(c *gin.Context) error
}

// Handlers serves the endpoints of one Plugin.
type Handlers[U any] struct {
	svc     *core.Service[U]
	cat     *locales.Catalog
	set     Settings
	ext     Extensions[U]
	log     *slog.Logger
	userKey *int
}

// New returns the handlers; userKey is the context key RequireAuth stores
// the user under.
func New[U any](svc *core.Service[U], cat *locales.Catalog, set Settings, ext Extensions[U], log *slog.Logger) *Handlers[U] {
	if ext.UserSerializer == nil {
		ext.UserSerializer = DefaultUserSerializer[U]{}
	}
	return &Handlers[U]{svc: svc, cat: cat, set: set, ext: ext, log: log}
}

// Input is the decoded body of one request, handed to serializers and
// hooks so they can read their own fields with the same rules as restauth.
type Input struct {
	values bind.Values
}

// NewInput wraps decoded values (for tests of serializers).
func NewInput(v map[string]any) *Input { return &Input{values: v} }

// Bind fills dst, a pointer to a struct with `json` and `binding` tags,
// from the body. partial skips "required" (PATCH). The error, if any, is a
// field error that renders as DRF's {"field": ["msg"]}.
func (in *Input) Bind(dst any, partial bool) error {
	if e := bind.Struct(in.values, dst, partial); e != nil {
		return e
	}
	return nil
}

// Has reports whether the body has key.
func (in *Input) Has(key string) bool {
	_, ok := in.values[key]
	return ok
}

// FieldError returns an error rendered as 400 {field: [message]}; field
// "non_field_errors" gives an object-level error.
func FieldError(field, message string) error {
	return apierr.Field(field, locales.Message{ID: message, Default: message})
}

// DetailError returns an error rendered as {"detail": message} with status.
func DetailError(status int, message string) error {
	return apierr.Detail(status, locales.Message{ID: message, Default: message})
}

// JoinFieldErrors merges field errors (as returned by Input.Bind or
// FieldError) into one; a non-field error among them is returned as is.
func JoinFieldErrors(errs ...error) error {
	var f apierr.Fields
	for _, err := range errs {
		if err == nil {
			continue
		}
		var ae *apierr.Error
		if !errors.As(err, &ae) || !f.Merge(ae) {
			return err
		}
	}
	if e := f.Err(); e != nil {
		return e
	}
	return nil
}

// read decodes the request body.
func (h *Handlers[U]) read(c *gin.Context) (*Input, error) {
	v, e := bind.Read(c.Request, h.set.MaxBodyBytes)
	if e != nil {
		return nil, e
	}
	return &Input{values: v}, nil
}

// bindBody reads the body into dst (see Input.Bind); on failure it has
// already answered and reports false.
func (h *Handlers[U]) bindBody(c *gin.Context, dst any) (*Input, bool) {
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

// fail writes err: client errors in DRF's shape, anything else as a
// logged 503.
func (h *Handlers[U]) fail(c *gin.Context, err error) {
	var ae *apierr.Error
	if !errors.As(err, &ae) {
		ae = apierr.Unavailable(err)
	}
	if ae.Status >= 500 {
		h.log.ErrorContext(c.Request.Context(), "restauth: request failed", "path", c.FullPath(), "err", ae)
	}
	for k, v := range ae.Header {
		c.Header(k, v)
	}
	lang := c.GetHeader("Accept-Language")
	c.AbortWithStatusJSON(ae.Status, ae.Body(func(m locales.Message) string { return h.cat.Text(lang, m) }))
}

// detail writes {"detail": <message>} with status.
func (h *Handlers[U]) detail(c *gin.Context, status int, id string) {
	c.JSON(status, gin.H{"detail": h.cat.Text(c.GetHeader("Accept-Language"), locales.M(id))})
}

var allMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// route mounts handler on path with and without the trailing slash, for
// each method in methods, and answers the other methods with 405.
func (h *Handlers[U]) route(r gin.IRouter, path string, methods map[string][]gin.HandlerFunc) {
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
			if hs, ok := methods[m]; ok {
				r.Handle(m, p, hs...)
				continue
			}
			r.Handle(m, p, h.notAllowed(allow))
		}
		if hs, ok := methods[http.MethodGet]; ok {
			r.Handle(http.MethodHead, p, hs...)
		}
		r.Handle(http.MethodOptions, p, func(c *gin.Context) {
			c.Header("Allow", allow)
			c.Status(http.StatusOK)
		})
	}
}

func (h *Handlers[U]) notAllowed(allow string) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Allow", allow)
		h.fail(c, apierr.Detail(http.StatusMethodNotAllowed, locales.M("request.method_not_allowed", "Method", c.Request.Method)))
	}
}

// Register mounts every endpoint on r.
func (h *Handlers[U]) Register(r gin.IRouter) {
	if h.set.JWT.csrfOn() {
		r = r.Group("", h.csrfGuard)
	}
	auth := h.RequireAuth()
	h.route(r, "login", map[string][]gin.HandlerFunc{http.MethodPost: {h.login}})
	logout := map[string][]gin.HandlerFunc{http.MethodPost: {h.logout}}
	if h.set.LogoutOnGet {
		logout[http.MethodGet] = []gin.HandlerFunc{h.logout}
	}
	h.route(r, "logout", logout)
	h.route(r, "password/reset", map[string][]gin.HandlerFunc{http.MethodPost: {h.passwordReset}})
	h.route(r, "password/reset/confirm", map[string][]gin.HandlerFunc{http.MethodPost: {h.passwordResetConfirm}})
	h.route(r, "password/change", map[string][]gin.HandlerFunc{http.MethodPost: {auth, h.passwordChange}})
	h.route(r, "user", map[string][]gin.HandlerFunc{
		http.MethodGet:   {auth, h.userGet},
		http.MethodPut:   {auth, h.userUpdate},
		http.MethodPatch: {auth, h.userUpdate},
	})
	if h.set.Registration {
		h.registerRoutes(r)
	}
	if h.set.JWT.Enabled {
		h.jwtRoutes(r)
	}
}
