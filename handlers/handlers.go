// Package handlers holds what an app needs to use restauth's endpoints
// piece by piece: Endpoints (each endpoint as a gin.HandlerFunc, from
// Plugin.Handlers, to mount at paths of the app's choosing), the request
// body type Input that serializers and authenticators read, the
// UserSerializer of user/, the Authenticator step of the login pipeline,
// and the errors they return. Plugin.Register mounts every endpoint at
// its dj-rest-auth path instead.
package handlers

import (
	"context"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/bind"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// Endpoints are restauth's endpoints, each a gin.HandlerFunc that does
// its whole job: it authenticates the request when the endpoint needs a
// user, checks CSRF when the JWT cookie settings ask for it, and answers
// like dj-rest-auth. Mount the ones you want at your own paths; a nil
// field is an endpoint this configuration turns off.
type Endpoints struct {
	Login                gin.HandlerFunc // POST login/
	Logout               gin.HandlerFunc // POST (and GET with Logout.OnGet) logout/
	User                 gin.HandlerFunc // GET, PUT, PATCH user/ (by the request's method)
	PasswordChange       gin.HandlerFunc // POST password/change/
	PasswordReset        gin.HandlerFunc // POST password/reset/
	PasswordResetConfirm gin.HandlerFunc // POST password/reset/confirm/
	Register             gin.HandlerFunc // POST registration/
	VerifyEmail          gin.HandlerFunc // POST registration/verify-email/
	ResendEmail          gin.HandlerFunc // POST registration/resend-email/
	// ConfirmEmailPage is GET registration/account-confirm-email/:key/, the
	// page the confirmation email links to; it reads the :key parameter
	// and posts it to ../../verify-email/.
	ConfirmEmailPage gin.HandlerFunc
	TokenRefresh     gin.HandlerFunc // POST token/refresh/ (JWT mode)
	TokenVerify      gin.HandlerFunc // POST token/verify/ (JWT mode)
	// SocialAccounts is GET socialaccounts/ (with social providers).
	SocialAccounts gin.HandlerFunc
	// SocialAccountDisconnect is POST socialaccounts/:id/disconnect/; it
	// reads the :id parameter.
	SocialAccountDisconnect gin.HandlerFunc
	// Sessions is GET sessions/: the caller's sessions (one per token
	// key or JWT login), the current one marked.
	Sessions gin.HandlerFunc
	// SessionRevoke is POST sessions/:id/revoke/; it reads the :id
	// parameter.
	SessionRevoke gin.HandlerFunc
	// SessionRevokeOthers is POST sessions/revoke-others/: it ends every
	// session of the caller but the current one.
	SessionRevokeOthers gin.HandlerFunc
	// Social holds each social provider's endpoints by its Name.
	Social map[string]SocialEndpoints
}

// SocialEndpoints are the endpoints of one social provider.
type SocialEndpoints struct {
	Login   gin.HandlerFunc // POST <name>/
	Connect gin.HandlerFunc // POST <name>/connect/
	// Authorize (GET <name>/authorize/) and Callback (GET
	// <name>/callback/) are set for providers with an OAuth2 config and
	// redirect URIs. Mount Callback for POST too when the provider has
	// FormPost (Apple).
	Authorize gin.HandlerFunc
	Callback  gin.HandlerFunc
}

// Input is the decoded body of one request, handed to serializers,
// authenticators and checks so they read their own fields with
// restauth's rules: keys match exactly, strings are trimmed, NUL bytes
// and wrong types are field errors.
type Input struct {
	values map[string]any
}

// NewInput wraps decoded body values (strings, json.Number, bool, nil,
// []any, map[string]any), e.g. to unit-test an app's serializer or
// authenticator without HTTP.
func NewInput(values map[string]any) *Input {
	if values == nil {
		values = map[string]any{}
	}
	return &Input{values: values}
}

// Bind fills dst, a pointer to a struct with `json` and `binding` tags,
// from the body. partial skips "required" (PATCH). The error, if any,
// answers 400 {"field": ["message"]}.
func (in *Input) Bind(dst any, partial bool) error {
	return bind.Struct(in.values, dst, partial)
}

// Has reports whether the body has key.
func (in *Input) Has(key string) bool {
	_, ok := in.values[key]
	return ok
}

// FieldError returns an error answered as 400 {field: [message]}; field
// "non_field_errors" gives an object-level error. message is shown as
// given (it is looked up in the Catalog first, as a message ID).
func FieldError(field, message string) error {
	return verr.Field(field, locales.Message{ID: message, Default: message})
}

// DetailError returns an error answered as {"detail": message} with
// status.
func DetailError(status int, message string) error {
	return apierr.Detail(status, locales.Message{ID: message, Default: message})
}

// JoinFieldErrors merges field errors (as returned by Input.Bind or
// FieldError) into one answer; a non-field error among them is returned
// as it is.
func JoinFieldErrors(errs ...error) error {
	var f verr.Fields
	for _, err := range errs {
		if !f.Merge(err) {
			return err
		}
	}
	return f.Err()
}

// Authenticator is the first step of the login pipeline: it reads a
// login request and returns its user. It returns (nil, nil) to pass the
// request to the next authenticator (the password one comes last), a
// user to accept it, or an error (FieldError, DetailError) to refuse it.
// The user then goes through the pipeline's checks (active, verified
// email, the app's own) before credentials are issued. Implementations
// must spend the same time on unknown and known users where a timing
// difference would tell which accounts exist.
type Authenticator[U any] interface {
	Authenticate(ctx context.Context, in *Input) (*U, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc[U any] func(ctx context.Context, in *Input) (*U, error)

// Authenticate calls f.
func (f AuthenticatorFunc[U]) Authenticate(ctx context.Context, in *Input) (*U, error) {
	return f(ctx, in)
}

// UserSerializer renders a user and applies the writable fields of user/
// to it: the Go form of USER_DETAILS_SERIALIZER. Update must only change
// fields the client may change; restauth never saves the password, email,
// flags or dates through user/ whatever Update does.
type UserSerializer[U any] interface {
	// Represent returns the JSON value shown for u. Building the OpenAPI
	// document (Register, Plugin.OpenAPI) also calls it once with a zero
	// user, to learn the value's Go type; a panic there only makes the
	// document show a free-form object.
	Represent(u *U) any
	// Update validates the request's fields and writes them onto u.
	// partial is true for PATCH (absent keys stay as they are).
	Update(ctx context.Context, u *U, in *Input, partial bool) error
}

// UpdateBodyDescriber is implemented by a UserSerializer that declares
// the fields its Update reads, for the OpenAPI document: UpdateBody
// returns a value of a struct type whose `json` and `binding` tags name
// the fields PUT user/ accepts (PATCH accepts the same, none required).
// Without it the document shows a free-form object. DefaultUserSerializer
// implements it; a serializer that embeds it and reads more fields should
// declare its own.
type UpdateBodyDescriber interface {
	UpdateBody() any
}

// DefaultUserSerializer is dj-rest-auth's UserDetailsSerializer: pk,
// username, email, first_name, last_name; username, first_name and
// last_name writable. Embed it in your own serializer to extend it.
type DefaultUserSerializer[U any] struct{}

func base[U any](u *U) *models.User { return any(u).(models.UserModel).UserBase() }

// Details returns the default representation of u.
func (DefaultUserSerializer[U]) Details(u *U) dto.UserDetails {
	b := base(u)
	return dto.UserDetails{PK: b.ID, Username: b.Username, Email: b.Email, FirstName: b.FirstName, LastName: b.LastName}
}

// Represent returns Details(u).
func (s DefaultUserSerializer[U]) Represent(u *U) any { return s.Details(u) }

// UpdateBody returns dto.UserDetailsUpdate{}: the fields Update reads.
func (DefaultUserSerializer[U]) UpdateBody() any { return dto.UserDetailsUpdate{} }

// Update applies username, first_name and last_name.
func (DefaultUserSerializer[U]) Update(_ context.Context, u *U, in *Input, partial bool) error {
	var req dto.UserDetailsUpdate
	if err := in.Bind(&req, partial); err != nil {
		return err
	}
	b := base(u)
	if req.Username != nil {
		b.Username = *req.Username
	}
	if req.FirstName != nil {
		b.FirstName = *req.FirstName
	}
	if req.LastName != nil {
		b.LastName = *req.LastName
	}
	return nil
}
