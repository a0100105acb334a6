package restauth_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/ratelimit"
)

// limited turns the rate limits on with the given limits (the others at
// their defaults) and takes the client address from X-Test-IP.
func limited(limits map[restauth.RateLimitAction]ratelimit.Limit) func(*restauth.Config) {
	return func(c *restauth.Config) {
		c.RateLimits = restauth.RateLimitConfig{
			Limits:   limits,
			ClientIP: func(c *gin.Context) string { return c.GetHeader("X-Test-IP") },
		}
	}
}

func from(ip string) []string { return []string{"X-Test-IP", ip} }

// expectThrottled checks DRF's 429 and a Retry-After in whole seconds.
func expectThrottled(t testing.TB, r resp, maxWait int) {
	t.Helper()
	if r.Code != 429 {
		t.Fatalf("status %d, want 429: %s", r.Code, r.Raw)
	}
	wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || wait < 1 || wait > maxWait {
		t.Fatalf("Retry-After %q, want 1..%d", r.Header.Get("Retry-After"), maxWait)
	}
	// DRF's singular and plural forms.
	unit := " seconds."
	if wait == 1 {
		unit = " second."
	}
	if want := "Request was throttled. Expected available in " + strconv.Itoa(wait) + unit; r.detail() != want {
		t.Fatalf("detail %q, want %q", r.detail(), want)
	}
}

// TestLoginLockout: failed logins lock the account name out, the right
// password included, the same way for unknown names; the window or a
// password reset ends it; the app hears of it.
func TestLoginLockout(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		lockedCh := make(chan string, 10)
		e := newEnv(t, db, limited(map[restauth.RateLimitAction]ratelimit.Limit{
			restauth.RateLoginFailed:   {Count: 3, Window: 5 * time.Minute},
			restauth.RateLoginFailedIP: {Count: 100, Window: time.Minute},
		}), restauth.OnLoginLockout(func(_ context.Context, name string, u *Customer) {
			who := "nil"
			if u != nil {
				who = u.Username
			}
			lockedCh <- name + "=" + who
		}))
		e.user("alice", "alice@example.com")
		e.user("bob", "bob@example.com")
		try := func(name, pw string) resp {
			return e.do("POST", "/rest-auth/login/", map[string]any{"username": name, "password": pw}, from("198.51.100.1")...)
		}
		for _, name := range []string{"alice", "ghost"} {
			for i := 0; i < 3; i++ {
				expectField(t, try(name, "wrong-password"), "non_field_errors", "Unable to log in with provided credentials.")
			}
			// Locked: the right password too, and any letter case.
			expectThrottled(t, try(name, goodPass), 300)
			expectThrottled(t, try(strings.ToUpper(name), goodPass), 300)
		}
		// The hook runs in the background, once per lockout.
		seen := map[string]bool{}
		for range 2 {
			select {
			case v := <-lockedCh:
				seen[v] = true
			case <-time.After(5 * time.Second):
				t.Fatalf("lockout hook saw only %v", seen)
			}
		}
		if !seen["alice=alice"] || !seen["ghost=nil"] {
			t.Fatalf("lockout hook saw %v", seen)
		}
		// Other accounts are not affected.
		expect(t, try("bob", goodPass), 200)
		// The window passes.
		e.clock.Advance(5 * time.Minute)
		expect(t, try("alice", goodPass), 200)

		// A password reset ends a lockout.
		for i := 0; i < 3; i++ {
			try("bob", "wrong-password")
		}
		expectThrottled(t, try("bob", goodPass), 300)
		expect(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "bob@example.com"}), 200)
		uid, token := e.resetLink("bob@example.com")
		expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{
			"uid": uid, "token": token, "new_password1": "Another-Sunflower-77", "new_password2": "Another-Sunflower-77"}), 200)
		expect(t, try("bob", "Another-Sunflower-77"), 200)
		select {
		case v := <-lockedCh:
			if v != "bob=bob" {
				t.Fatalf("lockout hook saw %s", v)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no lockout report for bob")
		}

		// Concurrent guesses: the attempt is counted before the password
		// check, so at most the allowance reaches it.
		e.user("carol", "carol@example.com")
		var wg sync.WaitGroup
		codes := make(chan int, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- e.do("POST", "/rest-auth/login/", map[string]any{"username": "carol", "password": "wrong-password"}, from("198.51.100.2")...).Code
			}()
		}
		wg.Wait()
		close(codes)
		checked := 0
		for code := range codes {
			if code == 400 {
				checked++
			} else if code != 429 {
				t.Fatalf("concurrent guess answered %d", code)
			}
		}
		if checked > 3 {
			t.Fatalf("%d concurrent guesses reached the password check, allowance 3", checked)
		}
		expectThrottled(t, try("carol", goodPass), 300)
	})
	t.Run("username-only logins key by username", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			limited(map[restauth.RateLimitAction]ratelimit.Limit{restauth.RateLoginFailed: {Count: 3, Window: 5 * time.Minute}})(c)
			c.LoginMethods = []restauth.LoginMethod{restauth.LoginByUsername}
		})
		e.user("dora", "dora@example.com")
		for i := range 3 {
			// A fresh email each time must not give a fresh allowance:
			// it is not what the password is checked against.
			e.do("POST", "/rest-auth/login/", map[string]any{"username": "dora", "email": "x" + itoa(i) + "@example.com", "password": "wrong"}, from("198.51.100.3")...)
		}
		expectThrottled(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "dora", "email": "y@example.com", "password": goodPass}, from("198.51.100.3")...), 300)
	})
}

// TestRateLimits: each action's limit answers 429 when used up, per IP,
// per address or per user, and another key is not affected.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	one := ratelimit.Limit{Count: 1, Window: time.Minute}
	cases := []struct {
		name   string
		action restauth.RateLimitAction
		jwt    bool
		// req sends one request as ip (tok is a credential of alice).
		req func(e *env, ip, tok string) resp
		// other is a request under another key that must pass.
		other func(e *env, tok string) resp
	}{
		{"login per IP", restauth.RateLogin, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, from(ip)...)
			}, nil},
		{"failed logins per IP", restauth.RateLoginFailedIP, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/login/", map[string]any{"username": "nobody" + ip, "password": "x"}, from(ip)...)
			}, nil},
		{"password reset per IP", restauth.RatePasswordResetIP, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": ip + "@example.com"}, from(ip)...)
			}, nil},
		{"password reset per address", restauth.RatePasswordReset, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"}, from(ip)...)
			},
			func(e *env, _ string) resp {
				return e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "bob@example.com"}, from("192.0.2.99")...)
			}},
		{"reset confirm per IP", restauth.RatePasswordResetConfirm, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": "x", "token": "y", "new_password1": "a", "new_password2": "a"}, from(ip)...)
			}, nil},
		{"registration per IP", restauth.RateSignup, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/registration/", signup("u"+strings.ReplaceAll(ip, ".", ""), ip+"@example.com"), from(ip)...)
			}, nil},
		{"resend per IP", restauth.RateResendIP, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "x@example.com"}, from(ip)...)
			}, nil},
		{"password change per user", restauth.RatePasswordChange, false,
			func(e *env, ip, tok string) resp {
				return e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "x", "new_password2": "y"}, append(tokenHeader(tok), from(ip)...)...)
			},
			func(e *env, _ string) resp {
				return e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "x", "new_password2": "y"}, append(tokenHeader(e.login("bob", goodPass)), from("192.0.2.1")...)...)
			}},
		{"token refresh per IP", restauth.RateTokenRefresh, true,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": "garbage"}, from(ip)...)
			}, nil},
		{"social per IP", restauth.RateSocial, false,
			func(e *env, ip, _ string) resp {
				return e.do("POST", "/rest-auth/github/", map[string]any{"access_token": "unknown"}, from(ip)...)
			}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mutate := limited(map[restauth.RateLimitAction]ratelimit.Limit{tc.action: one})
			s := newSocialEnv(t, testdb.SQLite(t), tc.jwt, false, mutate)
			e := s.env
			e.user("alice", "alice@example.com")
			e.user("bob", "bob@example.com")
			tok := ""
			if !tc.jwt {
				tok = e.login("alice", goodPass)
			}
			if tc.action == restauth.RateLogin {
				// That login used 192.0.2.1's allowance (httptest's
				// address is not used: ClientIP reads X-Test-IP, "" here).
				_ = tok
			}
			first := tc.req(e, "203.0.113.5", tok)
			if first.Code == 429 {
				t.Fatalf("first request throttled: %s", first.Raw)
			}
			expectThrottled(t, tc.req(e, "203.0.113.5", tok), 60)
			if tc.other != nil {
				if r := tc.other(e, tok); r.Code == 429 {
					t.Fatalf("another key throttled: %s", r.Raw)
				}
			} else if r := tc.req(e, "203.0.113.6", tok); r.Code == 429 {
				t.Fatalf("another IP throttled: %s", r.Raw)
			}
			// The window passes.
			e.clock.Advance(time.Minute)
			if r := tc.req(e, "203.0.113.5", tok); r.Code == 429 {
				t.Fatalf("still throttled after the window: %s", r.Raw)
			}
		})
	}
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testdb.SQLite(t), limited(map[restauth.RateLimitAction]ratelimit.Limit{
			restauth.RateLogin: {}, restauth.RateLoginFailedIP: {}, restauth.RateLoginFailed: {},
		}))
		for i := 0; i < 40; i++ {
			r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "x", "password": "y"}, from("203.0.113.7")...)
			expect(t, r, 400)
		}
	})
	t.Run("bad limit", func(t *testing.T) {
		t.Parallel()
		_, err := restauth.New[Customer](testdb.SQLite(t), restauth.Config{SecretKey: testSecret, SiteURL: siteURL, Logger: quietLogger(),
			RateLimits: restauth.RateLimitConfig{Limits: map[restauth.RateLimitAction]ratelimit.Limit{"nope": {Count: 1, Window: time.Second}}}})
		if err == nil || !strings.Contains(err.Error(), "Config.RateLimits.Limits") {
			t.Fatalf("New: %v", err)
		}
	})
}

// TestRateLimitStoreDown: a store that fails answers 503 (fail closed),
// or lets requests through with FailOpen; never a 500.
func TestRateLimitStoreDown(t *testing.T) {
	t.Parallel()
	down := ratelimit.NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond, MaxRetries: -1}), "t", nil)
	for _, open := range []bool{false, true} {
		e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.RateLimits = restauth.RateLimitConfig{Store: down, FailOpen: open}
		})
		e.user("alice", "alice@example.com")
		r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass})
		switch {
		case !open && r.Code != 503:
			t.Fatalf("fail closed: %d %s", r.Code, r.Raw)
		case !open && r.detail() == "":
			t.Fatalf("fail closed body %s", r.Raw)
		case open && r.Code != 200:
			t.Fatalf("fail open: %d %s", r.Code, r.Raw)
		}
	}
}

// TestRateLimitsSharedThroughRedis: two plugins (two instances) sharing
// a Redis store share the counts.
func TestRateLimitsSharedThroughRedis(t *testing.T) {
	t.Parallel()
	url := os.Getenv("RESTAUTH_TEST_REDIS")
	if url == "" {
		t.Skip("Redis tests skipped: set RESTAUTH_TEST_REDIS (e.g. redis://127.0.0.1:6379/0)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	prefix := "restauth-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	db := testdb.SQLite(t)
	var envs []*env
	for i := 0; i < 2; i++ {
		envs = append(envs, newEnv(t, db, func(c *restauth.Config) {
			limited(map[restauth.RateLimitAction]ratelimit.Limit{restauth.RateLogin: {Count: 3, Window: time.Minute}})(c)
			c.RateLimits.Store = ratelimit.NewRedis(client, prefix, nil)
		}))
	}
	envs[0].user("alice", "alice@example.com")
	for i := 0; i < 3; i++ {
		expect(t, envs[i%2].do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, from("203.0.113.9")...), 200)
	}
	expectThrottled(t, envs[1].do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, from("203.0.113.9")...), 60)
	expectThrottled(t, envs[0].do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, from("203.0.113.9")...), 60)
}
