package restauth

import (
	"strings"
	"time"

	"github.com/restauth/restauth/password"
)

// PasswordConfig chooses how passwords are hashed and which rules a new
// password must pass.
type PasswordConfig struct {
	// Hasher hashes and verifies passwords [PASSWORD_HASHERS]. Default:
	// password.Default(), Argon2id (19 MiB, t=2, p=1) that also verifies
	// Django's pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt_sha256 and bcrypt
	// hashes and upgrades them at login.
	Hasher password.Hasher
	// Validators check new passwords [AUTH_PASSWORD_VALIDATORS]. nil:
	// Django's four defaults (password.DefaultValidators); an empty,
	// non-nil slice turns validation off.
	Validators []password.Validator
}

func (c *PasswordConfig) withDefaults() error {
	if c.Hasher == nil {
		c.Hasher = password.Default()
	}
	if c.Validators == nil {
		c.Validators = password.DefaultValidators()
	}
	return nil
}

// PasswordResetConfig configures password/reset/ and
// password/reset/confirm/.
type PasswordResetConfig struct {
	// URL is the front-end link sent in reset emails, with {uid} and
	// {token} placeholders [PASSWORD_RESET_CONFIRM_URL]. Default
	// SiteURL + "/password/reset/confirm/{uid}/{token}/": a page of the
	// app's front end that posts both to password/reset/confirm/.
	URL string
	// Timeout is how long a reset link works [PASSWORD_RESET_TIMEOUT].
	// Default 72 hours.
	Timeout time.Duration
}

func (c *PasswordResetConfig) withDefaults(siteURL string) error {
	if c.URL == "" {
		c.URL = siteURL + "/password/reset/confirm/{uid}/{token}/"
	}
	if !strings.Contains(c.URL, "{uid}") || !strings.Contains(c.URL, "{token}") {
		return fieldError("PasswordReset.URL", "must contain {uid} and {token}")
	}
	if c.Timeout < 0 {
		return fieldError("PasswordReset.Timeout", "%v", errNegative)
	}
	if c.Timeout == 0 {
		c.Timeout = 72 * time.Hour
	}
	return nil
}

// PasswordChangeConfig configures password/change/.
type PasswordChangeConfig struct {
	// OldPasswordFieldEnabled requires old_password
	// [OLD_PASSWORD_FIELD_ENABLED]. Default false.
	OldPasswordFieldEnabled bool
	// LogoutOnPasswordChange revokes the current token (or JWT login)
	// too [LOGOUT_ON_PASSWORD_CHANGE]. Default false: the user's other
	// logins are always revoked, the current one stays.
	LogoutOnPasswordChange bool
}

// LogoutConfig configures logout/.
type LogoutConfig struct {
	// OnGet allows GET on logout/ [ACCOUNT_LOGOUT_ON_GET]. Default false;
	// not recommended (links and prefetchers log users out).
	OnGet bool
}
