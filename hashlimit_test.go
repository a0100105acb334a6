package restauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// gatedHasher is cheapHasher whose Verify, once armed, reports on entered
// and waits for a value on release: a hash that holds its slot for as
// long as the test wants.
type gatedHasher struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGatedHasher() *gatedHasher {
	return &gatedHasher{entered: make(chan struct{}, 10), release: make(chan struct{}, 10)}
}

func (g *gatedHasher) Hash(pw string) (string, error) { return cheapHasher.Hash(pw) }

func (g *gatedHasher) Verify(pw, encoded string) (bool, error) {
	if g.armed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return cheapHasher.Verify(pw, encoded)
}

func (g *gatedHasher) NeedsRehash(encoded string) bool { return cheapHasher.NeedsRehash(encoded) }

// holdSlot starts a login of alice whose verification takes the one
// hashing slot; it returns when the slot is taken, and the returned
// function lets the login finish and returns its status.
func holdSlot(t *testing.T, e *env, g *gatedHasher) func() int {
	t.Helper()
	code := make(chan int, 1)
	go func() {
		raw, _ := json.Marshal(map[string]any{"username": "alice", "password": goodPass})
		req := httptest.NewRequest("POST", "/rest-auth/login/", bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.r.ServeHTTP(w, req)
		code <- w.Code
	}()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first login never reached the hasher")
	}
	return func() int {
		g.release <- struct{}{}
		return <-code
	}
}

// expectBusy checks a refusal of the hashing limiter: 503, the outage
// detail, and Retry-After in seconds.
func expectBusy(t *testing.T, what string, r resp, retryAfter string) {
	t.Helper()
	if r.Code != 503 || r.detail() != "Service temporarily unavailable." {
		t.Errorf("%s: %d %s, want 503 Service temporarily unavailable.", what, r.Code, r.Raw)
	}
	if got := r.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("%s: Retry-After %q, want %q", what, got, retryAfter)
	}
}

// TestHashingBusyIs503: with the one hashing slot taken and no queue,
// login/ (known and unknown users), registration/, password/change/ and
// Plugin.Authenticate are refused with 503 and Retry-After, never as
// wrong credentials, and change nothing; the login holding the slot then
// succeeds.
func TestHashingBusyIs503(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		g := newGatedHasher()
		e := newEnv(t, db, func(c *restauth.Config) {
			c.Password = restauth.PasswordConfig{Hasher: g, MaxConcurrentHashes: 1, HashQueue: -1}
			c.PasswordChange.OldPasswordFieldEnabled = true
		})
		alice := e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		g.armed.Store(true)
		users, tokens := e.count(&Customer{}), e.count(&models.Token{})
		before := e.reload(alice.ID)

		done := holdSlot(t, e, g)
		expectBusy(t, "login", e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}), "3")
		expectBusy(t, "login with a wrong password", e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": "wrong"}), "3")
		// The unknown user's timing equaliser waits for the same slots.
		expectBusy(t, "unknown user's login", e.do("POST", "/rest-auth/login/", map[string]any{"username": "nobody", "password": goodPass}), "3")
		expectBusy(t, "registration", e.do("POST", "/rest-auth/registration/", signup("bob", "bob@example.com")), "3")
		expectBusy(t, "password change", e.do("POST", "/rest-auth/password/change/", map[string]any{
			"old_password": goodPass, "new_password1": "An0ther-Sunflower-43", "new_password2": "An0ther-Sunflower-43",
		}, tokenHeader(key)...), "3")
		if _, err := e.auth.Authenticate(context.Background(), "alice", "", goodPass); !errors.Is(err, restauth.ErrHashingBusy) {
			t.Errorf("Plugin.Authenticate: %v, want ErrHashingBusy", err)
		}
		if err := e.auth.SetPassword(alice, "An0ther-Sunflower-43"); !errors.Is(err, restauth.ErrHashingBusy) {
			t.Errorf("Plugin.SetPassword: %v, want ErrHashingBusy", err)
		}

		if n := e.count(&Customer{}); n != users {
			t.Errorf("%d users after the refusals, want %d", n, users)
		}
		if n := e.count(&models.Token{}); n != tokens {
			t.Errorf("%d tokens after the refusals, want %d", n, tokens)
		}
		after := e.reload(alice.ID)
		if after.Password != before.Password || !after.LastLogin.Equal(*before.LastLogin) {
			t.Error("a refused request changed alice's password or last_login")
		}
		if code := done(); code != 200 {
			t.Errorf("the login that held the slot answered %d, want 200", code)
		}
		if n := e.count(&models.Token{}); n != tokens+1 {
			t.Errorf("%d tokens after the held login, want %d", n, tokens+1)
		}
		g.armed.Store(false)
		e.login("alice", goodPass)
	})
}

// TestHashingWaitRunsOut: a login queued behind a held slot is refused
// with 503 once HashWait runs out, with Retry-After of at least 1 s.
func TestHashingWaitRunsOut(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	g := newGatedHasher()
	e := newEnv(t, db, func(c *restauth.Config) {
		c.Password = restauth.PasswordConfig{Hasher: g, MaxConcurrentHashes: 1, HashQueue: 1, HashWait: 30 * time.Millisecond}
	})
	e.user("alice", "alice@example.com")
	g.armed.Store(true)
	done := holdSlot(t, e, g)
	start := time.Now()
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass})
	waited := time.Since(start)
	expectBusy(t, "queued login", r, "1")
	if waited < 30*time.Millisecond {
		t.Errorf("refused after %v, before HashWait", waited)
	}
	if n := e.count(&models.Token{}); n != 0 {
		t.Errorf("%d tokens after the refusal, want 0", n)
	}
	if code := done(); code != 200 {
		t.Errorf("the login that held the slot answered %d, want 200", code)
	}
}

// TestHashingLimitOff: MaxConcurrentHashes < 0 turns the limiter off
// (two verifications run at once where a limit of one with no queue
// would refuse the second).
func TestHashingLimitOff(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	g := newGatedHasher()
	e := newEnv(t, db, func(c *restauth.Config) {
		c.Password = restauth.PasswordConfig{Hasher: g, MaxConcurrentHashes: -1, HashQueue: -1}
	})
	e.user("alice", "alice@example.com")
	g.armed.Store(true)
	first := holdSlot(t, e, g)
	second := holdSlot(t, e, g)
	if a, b := first(), second(); a != 200 || b != 200 {
		t.Errorf("two logins at once without a limit: %d, %d", a, b)
	}
}
