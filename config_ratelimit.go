package restauth

import (
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/ratelimit"
)

// RateLimitAction names a rate-limited action (allauth's
// ACCOUNT_RATE_LIMITS keys). Each action has one limit per scope: per
// client IP, per key (the account name or address the request is about)
// or per user.
type RateLimitAction string

// Rate-limited actions and their default limits.
const (
	// RateLogin: login attempts per IP (30/min).
	RateLogin RateLimitAction = "login"
	// RateLoginFailedIP: failed logins per IP (10/min).
	RateLoginFailedIP RateLimitAction = "login_failed_ip"
	// RateLoginFailed: login attempts per account name or address that
	// were not successful (5 per 5 min; counted before the password is
	// checked, given back by a successful login). When they run out the
	// name is locked out: its logins answer 429, the right password too,
	// until an attempt is free again (limits are a rate: Count at once,
	// then one per Window/Count) or a password reset succeeds. An unknown
	// name is counted the same way. The username and the address of one
	// account are two names.
	RateLoginFailed RateLimitAction = "login_failed"
	// RatePasswordResetIP: password/reset/ per IP (20/min).
	RatePasswordResetIP RateLimitAction = "reset_password_ip"
	// RatePasswordReset: password/reset/ per address (5/min).
	RatePasswordReset RateLimitAction = "reset_password"
	// RatePasswordResetConfirm: password/reset/confirm/ per IP (20/min).
	RatePasswordResetConfirm RateLimitAction = "reset_password_from_key"
	// RateSignup: registration/ per IP (20/min).
	RateSignup RateLimitAction = "signup"
	// RateResendIP: registration/resend-email/ per IP (20/min); the
	// per-address limit is Registration.ConfirmationCooldown.
	RateResendIP RateLimitAction = "confirm_email_ip"
	// RateTokenRefresh: token/refresh/ per IP (60/min).
	RateTokenRefresh RateLimitAction = "token_refresh"
	// RateSocial: social login, connect and callback per IP (30/min).
	RateSocial RateLimitAction = "social"
	// RatePasswordChange: password/change/ per user (5/min).
	RatePasswordChange RateLimitAction = "change_password"
)

// DefaultRateLimits returns the default limit of every action.
func DefaultRateLimits() map[RateLimitAction]ratelimit.Limit {
	return map[RateLimitAction]ratelimit.Limit{
		RateLogin:                {Count: 30, Window: time.Minute},
		RateLoginFailedIP:        {Count: 10, Window: time.Minute},
		RateLoginFailed:          {Count: 5, Window: 5 * time.Minute},
		RatePasswordResetIP:      {Count: 20, Window: time.Minute},
		RatePasswordReset:        {Count: 5, Window: time.Minute},
		RatePasswordResetConfirm: {Count: 20, Window: time.Minute},
		RateSignup:               {Count: 20, Window: time.Minute},
		RateResendIP:             {Count: 20, Window: time.Minute},
		RateTokenRefresh:         {Count: 60, Window: time.Minute},
		RateSocial:               {Count: 30, Window: time.Minute},
		RatePasswordChange:       {Count: 5, Window: time.Minute},
	}
}

// RateLimitConfig configures rate limits and the login lockout
// [ACCOUNT_RATE_LIMITS]. They are on by default. A limited request
// answers DRF's 429 {"detail": "Request was throttled. Expected available
// in N seconds."} ("1 second." for one, as DRF) with Retry-After.
type RateLimitConfig struct {
	// Disabled turns every limit off.
	Disabled bool
	// Store keeps the counts. Default: ratelimit.NewMemory, which counts
	// in this process only; several instances must share a
	// ratelimit.NewRedis.
	Store ratelimit.Store
	// Limits replaces the default limit of the actions it names (see
	// DefaultRateLimits); a Limit with Count 0 turns that action's limit
	// off.
	Limits map[RateLimitAction]ratelimit.Limit
	// ClientIP returns the client address per-IP limits count by.
	// Default: gin's Context.ClientIP, which believes X-Forwarded-For
	// from any peer unless the app calls Engine.SetTrustedProxies: set it
	// (to your proxies, or nil when there are none), or an attacker picks
	// his own address for every request.
	ClientIP func(c *gin.Context) string
	// FailOpen lets requests through, logged, when the store fails (Redis
	// unreachable). Default false: they answer 503.
	FailOpen bool
}

func (c *RateLimitConfig) withDefaults(now func() time.Time) error {
	limits := DefaultRateLimits()
	for a, l := range c.Limits {
		if _, ok := limits[a]; !ok {
			return fieldError("RateLimits.Limits", "unknown action %q", a)
		}
		if l.Count == 0 {
			delete(limits, a)
			continue
		}
		if err := l.Validate(); err != nil {
			return fieldError("RateLimits.Limits["+string(a)+"]", "%v", err)
		}
		limits[a] = l
	}
	c.Limits = limits
	if c.Store == nil {
		c.Store = ratelimit.NewMemory(now)
	}
	if c.ClientIP == nil {
		c.ClientIP = (*gin.Context).ClientIP
	}
	return nil
}
