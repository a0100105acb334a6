package restauth_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/models"
)

var sessionIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// sessions lists the sessions of the credential in hdr, checking the
// answer's shape and headers.
func (e *env) sessions(hdr ...string) []dto.Session {
	e.t.Helper()
	r := e.do("GET", "/rest-auth/sessions/", nil, hdr...)
	expect(e.t, r, 200)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		e.t.Fatalf("sessions/ Cache-Control %q", cc)
	}
	var out []dto.Session
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		e.t.Fatalf("sessions/ body %q: %v", r.Raw, err)
	}
	for _, s := range out {
		if !sessionIDRe.MatchString(s.ID) {
			e.t.Fatalf("session id %q is not 32 hex", s.ID)
		}
	}
	return out
}

// loginAs logs username in from a client (User-Agent, address) with the
// given body and returns the 200 body.
func (e *env) loginAs(username, ua, ip string) resp {
	e.t.Helper()
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": username, "password": goodPass},
		"User-Agent", ua, "X-Forwarded-For", ip)
	expect(e.t, r, 200)
	return r
}

// sessionUpdates counts the UPDATEs of the sessions table that changed a
// row.
func sessionUpdates(t testing.TB, db *gorm.DB) *atomic.Int64 {
	t.Helper()
	n := new(atomic.Int64)
	err := db.Callback().Update().After("gorm:update").Register("test:session_updates", func(tx *gorm.DB) {
		if tx.Statement.Table == (models.Session{}).TableName() && tx.RowsAffected > 0 {
			n.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessionsTokenMode(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		e.user("bob", "bob@example.com")
		writes := sessionUpdates(t, db)
		t0 := e.clock.Now()
		phone := e.loginAs("alice", "Phone/1.0", "198.51.100.7").str("key")
		e.clock.Advance(time.Second)
		laptop := e.loginAs("alice", "Laptop/2.0 (Ünïcode)", "2001:db8::5").str("key")
		bob := e.loginAs("bob", "Bob/1", "192.0.2.44").str("key")

		list := e.sessions(tokenHeader(laptop)...)
		if len(list) != 2 {
			t.Fatalf("alice has %d sessions, want 2: %+v", len(list), list)
		}
		want := []dto.Session{
			{Kind: "token", IP: "2001:db8::5", UserAgent: "Laptop/2.0 (Ünïcode)", Current: true, Created: t0.Add(time.Second), LastUsed: t0.Add(time.Second)},
			{Kind: "token", IP: "198.51.100.7", UserAgent: "Phone/1.0", Current: false, Created: t0, LastUsed: t0},
		}
		for i, w := range want {
			g := list[i]
			if g.Kind != w.Kind || g.IP != w.IP || g.UserAgent != w.UserAgent || g.Current != w.Current ||
				!g.Created.Equal(w.Created) || !g.LastUsed.Equal(w.LastUsed) {
				t.Fatalf("session %d = %+v, want %+v", i, g, w)
			}
			if strings.Contains(phone+laptop, g.ID) {
				t.Fatalf("a session id shows a key: %s", g.ID)
			}
		}
		phoneID, laptopID := list[1].ID, list[0].ID
		// The phone's own view marks the phone.
		if l := e.sessions(tokenHeader(phone)...); len(l) != 2 || l[0].Current || !l[1].Current {
			t.Fatalf("phone's view: %+v", l)
		}
		bobList := e.sessions(tokenHeader(bob)...)
		if len(bobList) != 1 || !bobList[0].Current || bobList[0].UserAgent != "Bob/1" {
			t.Fatalf("bob's sessions: %+v", bobList)
		}

		t.Run("last_used moves at most once a minute", func(t *testing.T) {
			lastUsed := func() time.Time {
				for _, s := range e.sessions(tokenHeader(laptop)...) {
					if s.ID == phoneID {
						return s.LastUsed
					}
				}
				t.Fatal("phone session gone")
				return time.Time{}
			}
			before := writes.Load()
			e.clock.Advance(30 * time.Second)
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(phone)...), 200)
			if got := lastUsed(); !got.Equal(t0) {
				t.Fatalf("last_used %v moved within the minute", got)
			}
			e.clock.Advance(31 * time.Second) // 61 s after the login
			used := e.clock.Now()
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(phone)...), 200)
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(phone)...), 200)
			e.clock.Advance(20 * time.Second)
			expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(phone)...), 200)
			if got := lastUsed(); !got.Equal(used) {
				t.Fatalf("last_used %v, want %v", got, used)
			}
			// The laptop's own requests (the listings) were within its
			// minute until now: one write for the phone, one for the
			// laptop (its listing 81 s after its login).
			if n := writes.Load() - before; n != 2 {
				t.Fatalf("%d session writes, want 2 (phone once, laptop once)", n)
			}
		})

		t.Run("revoke", func(t *testing.T) {
			for _, tc := range []struct {
				name, id string
				key      string
				code     int
			}{
				{"another user's session", bobList[0].ID, laptop, 404},
				{"unknown id", strings.Repeat("0", 32), laptop, 404},
				{"malformed id", "not-an-id", laptop, 404},
				{"unauthenticated", phoneID, "", 401},
				{"the other session", phoneID, laptop, 200},
				{"already ended", phoneID, laptop, 404},
			} {
				var hdr []string
				if tc.key != "" {
					hdr = tokenHeader(tc.key)
				}
				r := e.do("POST", "/rest-auth/sessions/"+tc.id+"/revoke/", nil, hdr...)
				expect(t, r, tc.code)
				switch tc.code {
				case 404:
					expectDetail(t, r, 404, "Not found.")
				case 200:
					if r.Raw != "{}" || r.Header.Get("Cache-Control") != "no-store" {
						t.Fatalf("%s: %q %v", tc.name, r.Raw, r.Header)
					}
				}
			}
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(phone)...), 401)
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(bob)...), 200)
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 1 || l[0].ID != laptopID || !l[0].Current {
				t.Fatalf("after revoke: %+v", l)
			}
		})

		t.Run("revoke-others", func(t *testing.T) {
			k3 := e.loginAs("alice", "Tablet", "198.51.100.8").str("key")
			k4 := e.loginAs("alice", "TV", "198.51.100.9").str("key")
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 3 {
				t.Fatalf("%d sessions before revoke-others, want 3", len(l))
			}
			expect(t, e.do("POST", "/rest-auth/sessions/revoke-others/", nil), 401)
			expect(t, e.do("GET", "/rest-auth/sessions/revoke-others/", nil, tokenHeader(laptop)...), 405)
			r := e.do("POST", "/rest-auth/sessions/revoke-others/", nil, tokenHeader(laptop)...)
			expect(t, r, 200)
			if r.Raw != "{}" || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("revoke-others: %q %v", r.Raw, r.Header)
			}
			for _, k := range []string{k3, k4} {
				expect(t, e.do("GET", "/api/me", nil, tokenHeader(k)...), 401)
			}
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(laptop)...), 200)
			expect(t, e.do("GET", "/api/me", nil, tokenHeader(bob)...), 200)
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 1 || l[0].ID != laptopID {
				t.Fatalf("after revoke-others: %+v", l)
			}
			if l := e.sessions(tokenHeader(bob)...); len(l) != 1 {
				t.Fatalf("bob's sessions after alice's revoke-others: %+v", l)
			}
		})

		t.Run("logout and prune", func(t *testing.T) {
			gone := e.loginAs("alice", "Kiosk", "198.51.100.10").str("key")
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 2 {
				t.Fatalf("%d sessions, want 2", len(l))
			}
			expect(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(gone)...), 200)
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 1 || l[0].ID != laptopID {
				t.Fatalf("after logout: %+v", l)
			}
			var rows int64
			db.Model(&models.Session{}).Where("user_agent = ?", "Kiosk").Count(&rows)
			if rows != 1 {
				t.Fatalf("%d Kiosk rows before pruning, want 1", rows)
			}
			if _, err := e.auth.PruneExpired(t.Context()); err != nil {
				t.Fatal(err)
			}
			db.Model(&models.Session{}).Where("user_agent = ?", "Kiosk").Count(&rows)
			if rows != 0 {
				t.Fatal("PruneExpired left the logged-out session")
			}
			if l := e.sessions(tokenHeader(laptop)...); len(l) != 1 {
				t.Fatalf("PruneExpired removed a live session: %+v", l)
			}
		})

		t.Run("revoke the current session", func(t *testing.T) {
			expect(t, e.do("POST", "/rest-auth/sessions/"+laptopID+"/revoke/", nil, tokenHeader(laptop)...), 200)
			expect(t, e.do("GET", "/rest-auth/sessions/", nil, tokenHeader(laptop)...), 401)
		})

		expect(t, e.do("GET", "/rest-auth/sessions/", nil), 401)
	})
}

func TestSessionsJWTMode(t *testing.T) {
	t.Parallel()
	for _, rotate := range []bool{false, true} {
		name := "no rotation"
		if rotate {
			name = "rotation"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = rotate })
				e.user("alice", "alice@example.com")
				e.user("bob", "bob@example.com")
				t0 := e.clock.Now()
				phone := e.loginAs("alice", "Phone", "198.51.100.7")
				e.clock.Advance(time.Second)
				laptop := e.loginAs("alice", "Laptop", "198.51.100.8")
				bob := e.loginAs("bob", "Bob", "192.0.2.1")
				auth := bearer(laptop.str("access"))

				list := e.sessions(auth...)
				if len(list) != 2 || !list[0].Current || list[1].Current || list[0].UserAgent != "Laptop" ||
					list[1].UserAgent != "Phone" || list[1].IP != "198.51.100.7" || list[0].Kind != "jwt" || list[1].Kind != "jwt" {
					t.Fatalf("sessions: %+v", list)
				}
				phoneID := list[1].ID
				bobID := e.sessions(bearer(bob.str("access"))...)[0].ID

				// Access tokens touch their family, at most once a minute.
				e.clock.Advance(30 * time.Second)
				expect(t, e.do("GET", "/api/claims", nil, bearer(phone.str("access"))...), 200)
				if l := e.sessions(auth...); !l[1].LastUsed.Equal(t0) {
					t.Fatalf("phone last_used %v moved within the minute", l[1].LastUsed)
				}
				e.clock.Advance(31 * time.Second)
				expect(t, e.do("GET", "/api/claims", nil, bearer(phone.str("access"))...), 200)
				if l := e.sessions(auth...); !l[1].LastUsed.Equal(e.clock.Now()) {
					t.Fatalf("phone last_used %v, want %v", l[1].LastUsed, e.clock.Now())
				}

				expectDetail(t, e.do("POST", "/rest-auth/sessions/"+bobID+"/revoke/", nil, auth...), 404, "Not found.")
				expect(t, e.do("POST", "/rest-auth/sessions/"+phoneID+"/revoke/", nil, auth...), 200)
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": phone.str("refresh")}),
					"Token is invalid or expired")
				r := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": laptop.str("refresh")})
				expect(t, r, 200)
				laptopRefresh := laptop.str("refresh")
				if rotate {
					laptopRefresh = r.str("refresh")
				}
				if l := e.sessions(auth...); len(l) != 1 || !l[0].Current {
					t.Fatalf("after revoke: %+v", l)
				}

				tablet := e.loginAs("alice", "Tablet", "198.51.100.9")
				tv := e.loginAs("alice", "TV", "198.51.100.10")
				expect(t, e.do("POST", "/rest-auth/sessions/revoke-others/", nil, auth...), 200)
				for _, x := range []resp{tablet, tv} {
					expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": x.str("refresh")}),
						"Token is invalid or expired")
				}
				expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": laptopRefresh}), 200)
				expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": bob.str("refresh")}), 200)
				if l := e.sessions(auth...); len(l) != 1 || !l[0].Current || l[0].UserAgent != "Laptop" {
					t.Fatalf("after revoke-others: %+v", l)
				}

				// A logout ends its session in the list.
				kiosk := e.loginAs("alice", "Kiosk", "198.51.100.11")
				if l := e.sessions(auth...); len(l) != 2 {
					t.Fatalf("%d sessions, want 2", len(l))
				}
				expect(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": kiosk.str("refresh")}), 200)
				if l := e.sessions(auth...); len(l) != 1 || l[0].UserAgent != "Laptop" {
					t.Fatalf("after logout: %+v", l)
				}
				expect(t, e.do("GET", "/rest-auth/sessions/", nil), 401)
			})
		})
	}
}

// TestSessionsRegistrationAndHandlers: a registration that logs the user
// in records its session too, and the endpoints work mounted one by one
// from Handlers.
func TestSessionsRegistrationAndHandlers(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationNone })
	r := e.do("POST", "/rest-auth/registration/", signup("carol", "carol@example.com"), "User-Agent", "Signup/1", "X-Forwarded-For", "203.0.113.77")
	expect(t, r, 201)
	key := r.str("key")
	h := e.auth.Handlers()
	e.r.GET("/mine/sessions", h.Sessions)
	e.r.POST("/mine/sessions/:id/revoke", h.SessionRevoke)
	e.r.POST("/mine/others", h.SessionRevokeOthers)
	other := e.loginAs("carol", "Other", "203.0.113.78").str("key")
	lr := e.do("GET", "/mine/sessions", nil, tokenHeader(key)...)
	expect(t, lr, 200)
	var list []dto.Session
	if err := json.Unmarshal([]byte(lr.Raw), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[1].UserAgent != "Signup/1" || list[1].IP != "203.0.113.77" || !list[1].Current {
		t.Fatalf("sessions: %+v", list)
	}
	expect(t, e.do("GET", "/mine/sessions", nil), 401)
	expect(t, e.do("POST", "/mine/others", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(other)...), 401)
	expect(t, e.do("POST", "/mine/sessions/"+list[1].ID+"/revoke", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401)
}

// TestSessionsCustomTokenStore: keys of a custom store cannot be checked
// or ended by digest, so they are not tracked; revoke-others still ends
// them through the store.
func TestSessionsCustomTokenStore(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := newEnv(t, db, func(c *restauth.Config) {
		c.Token.Store = customTokenStore{tokens.NewGORMStore(db, c.Now)}
	})
	e.user("alice", "alice@example.com")
	k1 := e.login("alice", goodPass)
	k2 := e.login("alice", goodPass)
	if l := e.sessions(tokenHeader(k1)...); len(l) != 0 {
		t.Fatalf("custom store sessions: %+v", l)
	}
	if n := e.count(&models.Session{}); n != 0 {
		t.Fatalf("%d session rows recorded for a custom store", n)
	}
	expect(t, e.do("POST", "/rest-auth/sessions/revoke-others/", nil, tokenHeader(k1)...), 200)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(k2)...), 401)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(k1)...), 200)
}

// customTokenStore hides the GORM store's extra methods.
type customTokenStore struct{ restauth.TokenStore }
