// Package dto holds the request and response bodies of restauth's
// endpoints. Field names are django-rest-auth's. Request structs are filled
// by exact key (see the bind rules in the README) and checked with the
// go-playground/validator rules in their `binding` tags; they carry no
// logic.
package dto

import "time"

// LoginRequest is the body of POST login/.
type LoginRequest struct {
	Username string `json:"username" binding:"max=4096"`
	Email    string `json:"email" binding:"max=254,email"`
	Password string `json:"password" binding:"required,max=4096"`
}

// TokenResponse answers a token-mode login.
type TokenResponse struct {
	Key string `json:"key"`
}

// DetailResponse is {"detail": "..."}.
type DetailResponse struct {
	Detail string `json:"detail"`
}

// PasswordResetRequest is the body of POST password/reset/.
type PasswordResetRequest struct {
	Email string `json:"email" binding:"required,max=254,email"`
}

// PasswordResetConfirmRequest is the body of POST password/reset/confirm/.
type PasswordResetConfirmRequest struct {
	UID          string `json:"uid" binding:"required,max=64"`
	Token        string `json:"token" binding:"required,max=128"`
	NewPassword1 string `json:"new_password1" binding:"required,max=4096"`
	NewPassword2 string `json:"new_password2" binding:"required,max=4096"`
}

// PasswordChangeRequest is the body of POST password/change/. OldPassword
// is read only when the old-password check is enabled.
type PasswordChangeRequest struct {
	OldPassword  *string `json:"old_password" binding:"max=4096"`
	NewPassword1 string  `json:"new_password1" binding:"required,max=4096"`
	NewPassword2 string  `json:"new_password2" binding:"required,max=4096"`
}

// UserDetails is the default representation of a user (GET user/).
type UserDetails struct {
	PK        uint   `json:"pk"`
	Username  string `json:"username"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// UserDetailsUpdate holds the writable fields of user/. Nil means the key
// was absent (PATCH leaves the column as it is).
type UserDetailsUpdate struct {
	Username  *string `json:"username" binding:"required,max=150,username"`
	FirstName *string `json:"first_name" binding:"max=150"`
	LastName  *string `json:"last_name" binding:"max=150"`
}

// RegisterRequest is the body of POST registration/. Whether username and
// email are required depends on the configuration.
type RegisterRequest struct {
	Username  string `json:"username" binding:"max=150,username"`
	Email     string `json:"email" binding:"max=254,email"`
	Password1 string `json:"password1" binding:"required,max=4096"`
	Password2 string `json:"password2" binding:"required,max=4096"`
}

// VerifyEmailRequest is the body of POST registration/verify-email/.
type VerifyEmailRequest struct {
	Key string `json:"key" binding:"required,max=200"`
}

// ResendEmailRequest is the body of POST registration/resend-email/.
type ResendEmailRequest struct {
	Email string `json:"email" binding:"required,max=254,email"`
}

// JWTResponse answers a JWT-mode login or registration. Refresh is ""
// when the refresh token went into an HttpOnly cookie instead. The
// expirations are set only with JWTAuthReturnExpiration.
type JWTResponse struct {
	Access            string     `json:"access"`
	Refresh           string     `json:"refresh"`
	User              any        `json:"user"`
	AccessExpiration  *time.Time `json:"access_expiration,omitempty"`
	RefreshExpiration *time.Time `json:"refresh_expiration,omitempty"`
}

// LegacyJWTResponse is the django-rest-auth 0.9 shape {"token","user"}.
type LegacyJWTResponse struct {
	Token string `json:"token"`
	User  any    `json:"user"`
}

// RefreshRequest is the body of POST token/refresh/ and of a JWT-mode
// logout; the refresh token may come from a cookie instead.
type RefreshRequest struct {
	Refresh string `json:"refresh" binding:"max=8192"`
}

// RefreshResponse answers token/refresh/; Refresh and RefreshExpiration
// appear when refresh tokens rotate.
type RefreshResponse struct {
	Access            string     `json:"access"`
	AccessExpiration  time.Time  `json:"access_expiration"`
	Refresh           *string    `json:"refresh,omitempty"`
	RefreshExpiration *time.Time `json:"refresh_expiration,omitempty"`
}

// VerifyRequest is the body of POST token/verify/.
type VerifyRequest struct {
	Token string `json:"token" binding:"required,max=8192"`
}

// SocialLoginRequest is the body of POST <provider>/ and
// <provider>/connect/ for OAuth2 and OpenID Connect providers. Every
// field is optional; a blank one counts as absent. access_token wins
// over code, code over id_token.
type SocialLoginRequest struct {
	AccessToken string `json:"access_token" binding:"max=8192"`
	// AccessTokenCamel is accepted for access_token (dj-rest-auth's
	// Microsoft serializer).
	AccessTokenCamel string `json:"accessToken" binding:"max=8192"`
	Code             string `json:"code" binding:"max=4096"`
	IDToken          string `json:"id_token" binding:"max=16384"`
	// CodeVerifier is the PKCE verifier of a code the client obtained.
	CodeVerifier string `json:"code_verifier" binding:"max=128"`
	// RedirectURI must be one of the provider's RedirectURIs.
	RedirectURI string `json:"redirect_uri" binding:"max=2048"`
	// Nonce is the nonce the client put in its authorization request.
	Nonce string `json:"nonce" binding:"max=512"`
	// State finishes a flow started by <provider>/authorize/: its
	// verifier, nonce and redirect_uri are used.
	State string `json:"state" binding:"max=512"`
	// FirstName and LastName are used at sign-up by providers that send
	// the name only to the client (Apple).
	FirstName string `json:"first_name" binding:"max=150"`
	LastName  string `json:"last_name" binding:"max=150"`
}

// SocialOAuth1Request is the body of POST <provider>/ and
// <provider>/connect/ for OAuth1 providers (Twitter).
type SocialOAuth1Request struct {
	AccessToken string `json:"access_token" binding:"required,max=4096"`
	TokenSecret string `json:"token_secret" binding:"required,max=4096"`
}

// SocialAccount is one entry of GET socialaccounts/.
type SocialAccount struct {
	ID         uint      `json:"id"`
	Provider   string    `json:"provider"`
	UID        string    `json:"uid"`
	LastLogin  time.Time `json:"last_login"`
	DateJoined time.Time `json:"date_joined"`
}

// AuthorizationResponse answers GET <provider>/authorize/ asked for JSON.
type AuthorizationResponse struct {
	AuthorizationURL string `json:"authorization_url"`
	State            string `json:"state"`
}

// Session is one entry of GET sessions/: a login the user can end.
type Session struct {
	// ID is random: never a key or a database id.
	ID string `json:"id"`
	// Kind is "token" or "jwt".
	Kind      string    `json:"kind"`
	Created   time.Time `json:"created"`
	LastUsed  time.Time `json:"last_used"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	// Current marks the session of the request's own credential.
	Current bool `json:"current"`
}
