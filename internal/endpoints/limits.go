package endpoints

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/ratelimit"
)

// Limits are the rate limits of the endpoints (nil when they are off).
type Limits struct {
	Store ratelimit.Store
	// ByAction holds the limit of each action that has one (the root
	// package's RateLimitAction names).
	ByAction map[string]ratelimit.Limit
	ClientIP func(c *gin.Context) string
	FailOpen bool
	// OnLockout runs when failed logins lock an account name out.
	OnLockout func(ctx context.Context, identifier string)

	mu       sync.Mutex
	reported map[string]time.Time // lockouts reported, by name key
}

// Actions, as the root package names them.
const (
	actLogin                = "login"
	actLoginFailedIP        = "login_failed_ip"
	actLoginFailed          = "login_failed"
	actPasswordResetIP      = "reset_password_ip"
	actPasswordReset        = "reset_password"
	actPasswordResetConfirm = "reset_password_from_key"
	actSignup               = "signup"
	actResendIP             = "confirm_email_ip"
	actTokenRefresh         = "token_refresh"
	actSocial               = "social"
	actPasswordChange       = "change_password"
)

// ipKey is the per-IP key of a request.
func (h *API[U]) ipKey(c *gin.Context) string {
	if h.Limits == nil {
		return ""
	}
	return "ip:" + h.Limits.ClientIP(c)
}

// nameKey is the per-key key of an account name or address: folded the
// way lookups fold it, then hashed (stores see no addresses).
func nameKey(name string) string {
	// The username key folds as lookups do; an address's key is the
	// same fold of its normalised form, so both name one account.
	name = ident.UsernameKey(strings.TrimSpace(name))
	if name == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(name))
	return "name:" + hex.EncodeToString(sum[:16])
}

// limit counts one request of action under key; when the limit is
// reached it answers 429 and reports false. An empty key or an action
// without a limit always passes.
func (h *API[U]) limit(c *gin.Context, action, key string) bool {
	return h.checkLimit(c, action, key, true)
}

// peekLimit is limit without counting.
func (h *API[U]) peekLimit(c *gin.Context, action, key string) bool {
	return h.checkLimit(c, action, key, false)
}

func (h *API[U]) checkLimit(c *gin.Context, action, key string, count bool) bool {
	l := h.Limits
	if l == nil || key == "" {
		return true
	}
	lim, ok := l.ByAction[action]
	if !ok {
		return true
	}
	ctx := c.Request.Context()
	var (
		d   ratelimit.Decision
		err error
	)
	if count {
		d, err = l.Store.Hit(ctx, action+"|"+key, lim)
	} else {
		d, err = l.Store.Peek(ctx, action+"|"+key, lim)
	}
	if err != nil {
		if l.FailOpen {
			h.Log.WarnContext(ctx, "restauth: rate limit store failed; letting the request through", "action", action, "err", err)
			return true
		}
		h.fail(c, fmt.Errorf("restauth: rate limit store: %w", err))
		return false
	}
	if d.Allowed {
		return true
	}
	h.throttled(c, d)
	return false
}

// throttled answers DRF's 429 with Retry-After.
func (h *API[U]) throttled(c *gin.Context, d ratelimit.Decision) {
	secs := max(int(math.Ceil(d.RetryAfter.Seconds())), 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	h.fail(c, apierr.Detail(http.StatusTooManyRequests, locales.N("request.throttled", secs, "Seconds", secs)))
}

// loginFailed counts a failed login for the client (the account name's
// attempt was counted before the check) and, when the name is now locked
// out, tells the app (once per window and name, in the background: the
// answer must not take longer for names that exist).
func (h *API[U]) loginFailed(c *gin.Context, name string) {
	l := h.Limits
	if l == nil {
		return
	}
	ctx := c.Request.Context()
	if lim, ok := l.ByAction[actLoginFailedIP]; ok {
		if _, err := l.Store.Hit(ctx, actLoginFailedIP+"|"+h.ipKey(c), lim); err != nil {
			h.Log.WarnContext(ctx, "restauth: rate limit store failed", "action", actLoginFailedIP, "err", err)
		}
	}
	lim, ok := l.ByAction[actLoginFailed]
	key := nameKey(name)
	if !ok || key == "" || l.OnLockout == nil {
		return
	}
	d, err := l.Store.Peek(ctx, actLoginFailed+"|"+key, lim)
	if err != nil || d.Allowed || !l.firstLockout(key, lim.Window, time.Now()) {
		return
	}
	go l.OnLockout(context.WithoutCancel(ctx), name)
}

// firstLockout reports whether key's lockout has not been reported in
// the last window (a name kept locked by one guess per interval is
// reported once per window, not per guess).
func (l *Limits) firstLockout(key string, window time.Duration, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reported == nil {
		l.reported = map[string]time.Time{}
	}
	if t, ok := l.reported[key]; ok && now.Sub(t) < window {
		return false
	}
	if len(l.reported) > 10000 {
		for k, t := range l.reported {
			if now.Sub(t) >= window {
				delete(l.reported, k)
			}
		}
	}
	l.reported[key] = now
	return true
}

// clearLockout forgets the failed logins of each name (a successful
// password reset).
func (h *API[U]) clearLockout(ctx context.Context, names ...string) {
	l := h.Limits
	if l == nil {
		return
	}
	for _, n := range names {
		if k := nameKey(n); k != "" {
			if err := l.Store.Reset(ctx, actLoginFailed+"|"+k); err != nil {
				h.Log.WarnContext(ctx, "restauth: clear login lockout", "err", err)
			}
		}
	}
}
