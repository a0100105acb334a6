package restauth

import (
	"context"

	"github.com/markbates/goth"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/endpoints"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/models"
)

// Option sets a typed extension of a Plugin[U]: serializers, login
// pipeline steps, checks and hooks.
type Option[U any] func(*options[U])

type options[U any] struct {
	ext     endpoints.Extensions[U]
	checks  []Check[U]
	hooks   hooks.Hooks[U]
	social  social.Hooks[U]
	lockout []func(ctx context.Context, name string, u *U)
	claims  func(ctx context.Context, u *U) map[string]any
}

// Check is a step of the login pipeline that runs after a user was
// authenticated and before credentials are issued, for login/, for
// registration/ (a refusal there refuses the sign-up) and for
// Plugin.Login. A non-nil error refuses the login and is answered as it
// is: handlers.FieldError("non_field_errors", msg) gives DRF's 400
// {"non_field_errors": [msg]}, handlers.DetailError another status. The active-user check runs first, then the app's in the order given,
// then (under mandatory verification) the verified-email check.
type Check[U any] interface {
	Check(ctx context.Context, u *U) error
}

// CheckFunc adapts a function to Check.
type CheckFunc[U any] func(ctx context.Context, u *U) error

// Check calls f.
func (f CheckFunc[U]) Check(ctx context.Context, u *U) error { return f(ctx, u) }

// WithUserSerializer replaces the serializer of user/
// [USER_DETAILS_SERIALIZER].
func WithUserSerializer[U any](s handlers.UserSerializer[U]) Option[U] {
	return func(o *options[U]) { o.ext.Serializer = s }
}

// WithAuthenticator adds a way to log in [LOGIN_SERIALIZER,
// AUTHENTICATION_BACKENDS]: login/ tries the authenticators in the order
// given, then the password one; the user then goes through the checks.
// An authenticator that always answers replaces password login.
func WithAuthenticator[U any](a handlers.Authenticator[U]) Option[U] {
	return func(o *options[U]) { o.ext.Authenticators = append(o.ext.Authenticators, a) }
}

// WithCheck adds a check to the login pipeline (see Check).
func WithCheck[U any](c Check[U]) Option[U] {
	return func(o *options[U]) { o.checks = append(o.checks, c) }
}

// WithTokenResponse replaces the body of a token-mode login
// [TOKEN_SERIALIZER]; the default is {"key": key}. The OpenAPI document
// shows the Go type fn returns, learnt by one call with an empty key and a
// zero user when the document is built.
func WithTokenResponse[U any](fn func(key string, u *U) any) Option[U] {
	return func(o *options[U]) { o.ext.TokenResponse = fn }
}

// WithPasswordChangeCheck adds validation to password/change/; it runs
// after the fields are bound and before the password is checked.
func WithPasswordChangeCheck[U any](fn func(ctx context.Context, u *U, in *handlers.Input) error) Option[U] {
	return func(o *options[U]) { o.ext.PasswordChangeCheck = fn }
}

// WithPasswordResetConfirmCheck adds validation to
// password/reset/confirm/; it runs after uid, token and the new passwords
// have been checked.
func WithPasswordResetConfirmCheck[U any](fn func(ctx context.Context, u *U, in *handlers.Input) error) Option[U] {
	return func(o *options[U]) { o.ext.PasswordResetConfirmCheck = fn }
}

// WithRegistrationFields binds the app's own registration fields onto the
// new user before it is inserted, in the same transaction
// [REGISTER_SERIALIZER]. Use in.Bind with `binding` tags; field errors
// are reported together with the built-in ones.
func WithRegistrationFields[U any](fn func(ctx context.Context, u *U, in *handlers.Input) error) Option[U] {
	return func(o *options[U]) { o.ext.RegisterFields = fn }
}

// WithRegisterPermission gates registration/
// [REGISTER_PERMISSION_CLASSES]: a non-nil error refuses the request with
// 403 {"detail": err.Error()}.
func WithRegisterPermission[U any](fn func(c *gin.Context) error) Option[U] {
	return func(o *options[U]) { o.ext.RegisterPermission = fn }
}

// WithJWTClaims adds the app's own claims to every access token
// [JWT_TOKEN_CLAIMS_SERIALIZER, JWT_PAYLOAD_HANDLER]. fn runs at login and
// at each refresh, so the claims follow the user's current row. It cannot
// replace token_type, exp, iat, nbf, jti, user_id or sid.
func WithJWTClaims[U any](fn func(ctx context.Context, u *U) map[string]any) Option[U] {
	return func(o *options[U]) { o.claims = fn }
}

// OnUserSignedUp registers fn to run after a registration committed.
func OnUserSignedUp[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnUserSignedUp = append(o.hooks.OnUserSignedUp, fn) }
}

// OnEmailConfirmed registers fn to run after an address was verified.
func OnEmailConfirmed[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnEmailConfirmed = append(o.hooks.OnEmailConfirmed, fn) }
}

// OnLogin registers fn to run after each successful login (login/,
// a registration that logs the new user in, Plugin.Login).
func OnLogin[U any](fn func(ctx context.Context, u *U)) Option[U] {
	return func(o *options[U]) { o.hooks.OnLogin = append(o.hooks.OnLogin, fn) }
}

// OnLogout registers fn to run after a logout that revoked a live
// credential.
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

// OnSocialSignUp runs fn after a social login created user u with its
// social account acct; gu is the provider's profile. It tells a sign-up
// from a login, which OnLogin cannot (allauth's post_signup). OnUserSignedUp
// runs too.
func OnSocialSignUp[U any](fn func(ctx context.Context, u *U, acct *models.SocialAccount, gu goth.User)) Option[U] {
	return func(o *options[U]) { o.social.OnSignUp = append(o.social.OnSignUp, fn) }
}

// WithSocialUserFields sets the app's own columns of a user a social
// login is about to create, from the provider's profile (allauth's
// populate_user). An error refuses the sign-up and is answered as it is.
// restauth sets username, email, names and an unusable password first,
// and keeps the password, id and staff flags as it set them; a username
// or email the hook changes is not validated again. A later
// WithSocialUserFields replaces an earlier one.
func WithSocialUserFields[U any](fn func(ctx context.Context, u *U, gu goth.User) error) Option[U] {
	return func(o *options[U]) { o.social.Populate = fn }
}

// OnSocialAccountAdded runs fn after a social account was linked to an
// existing user (connect/, or email authentication with auto-connect).
func OnSocialAccountAdded[U any](fn func(ctx context.Context, u *U, acct *models.SocialAccount)) Option[U] {
	return func(o *options[U]) { o.social.OnAdded = append(o.social.OnAdded, fn) }
}

// OnSocialAccountRemoved runs fn after u disconnected acct.
func OnSocialAccountRemoved[U any](fn func(ctx context.Context, u *U, acct *models.SocialAccount)) Option[U] {
	return func(o *options[U]) { o.social.OnRemoved = append(o.social.OnRemoved, fn) }
}

// OnLoginLockout runs fn when failed logins lock out an account name
// (Config.RateLimits, action RateLoginFailed): name is the username or
// address that was tried, u its user or nil when there is none. Use it to
// warn the owner.
func OnLoginLockout[U any](fn func(ctx context.Context, name string, u *U)) Option[U] {
	return func(o *options[U]) { o.lockout = append(o.lockout, fn) }
}
