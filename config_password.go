package restauth

import (
	"runtime"
	"strings"
	"time"

	"github.com/restauth/restauth/internal/hashlimit"
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

	// MaxConcurrentHashes is how many password hashes and verifications
	// (login, registration, password change and reset, Plugin.Authenticate,
	// Plugin.SetPassword) run at once; the others wait in a queue. Each
	// Argon2id hash holds its 19 MiB for its whole run and more hashes
	// than cores only share the same CPUs, so the bound keeps the
	// process's memory to about MaxConcurrentHashes × the hash's memory
	// above its baseline without costing throughput. Default 0:
	// runtime.GOMAXPROCS(0) when New runs; negative: no limit.
	MaxConcurrentHashes int
	// HashQueue is how many callers may wait for a hashing slot; one
	// more is refused at once with ErrHashingBusy, which the endpoints
	// answer with 503 {"detail": "Service temporarily unavailable."} and
	// Retry-After. Default 0: 64 × MaxConcurrentHashes. The default
	// Argon2id takes 25 to 35 ms of a core, so the queue drains in about
	// 64 × that, 1.6 to 2.2 s, well within HashWait even on a loaded
	// machine: a queued caller is served, and a caller that could not be
	// served within HashWait is told so at once rather than after waiting
	// for it. Negative: no queue (refused as soon as every slot is
	// taken).
	HashQueue int
	// HashWait is the longest a caller waits in the queue for a slot
	// before it is refused with ErrHashingBusy (and 503). Default 3 s;
	// negative: no limit.
	HashWait time.Duration
}

// ErrHashingBusy is wrapped by the errors of Plugin.Authenticate,
// Plugin.SetPassword and Plugin.CreateUser when the password could not be
// hashed or verified because every hashing slot was taken and the queue
// was full, or the wait ran out (PasswordConfig.MaxConcurrentHashes). The
// endpoints answer it with 503 and Retry-After; it says nothing about the
// password.
var ErrHashingBusy = hashlimit.ErrBusy

func (c *PasswordConfig) withDefaults() error {
	if c.Hasher == nil {
		c.Hasher = password.Default()
	}
	if c.Validators == nil {
		c.Validators = password.DefaultValidators()
	}
	if c.MaxConcurrentHashes == 0 {
		c.MaxConcurrentHashes = runtime.GOMAXPROCS(0)
	}
	if c.HashQueue == 0 && c.MaxConcurrentHashes > 0 {
		c.HashQueue = 64 * c.MaxConcurrentHashes
	}
	if c.HashWait == 0 {
		c.HashWait = 3 * time.Second
	}
	return nil
}

// limitedHasher is Hasher behind the hashing limiter, or Hasher itself
// when MaxConcurrentHashes is negative.
func (c *PasswordConfig) limitedHasher() password.Hasher {
	if c.MaxConcurrentHashes < 0 {
		return c.Hasher
	}
	return hashlimit.New(c.Hasher, hashlimit.Limits{Slots: c.MaxConcurrentHashes, Queue: c.HashQueue, Wait: c.HashWait})
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
