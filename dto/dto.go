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
