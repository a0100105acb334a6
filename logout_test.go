package restauth_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		phone, laptop := e.login("alice", goodPass), e.login("alice", goodPass)
		if phone == laptop {
			t.Fatal("two logins gave the same key")
		}
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(phone)...), 200)
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(phone)...), 200, "Successfully logged out.")
		expectDetail(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(phone)...), 401, "Invalid token.")
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 200)
		// Idempotent: a revoked or missing credential still gets 200.
		expectDetail(t, e.do("POST", "/rest-auth/logout", nil, tokenHeader(phone)...), 200, "Successfully logged out.")
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil), 200, "Successfully logged out.")
		// GET is not allowed unless LogoutOnGet.
		r := e.do("GET", "/rest-auth/logout/", nil, tokenHeader(laptop)...)
		expectDetail(t, r, 405, `Method "GET" not allowed.`)
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 200)

		g := newEnv(t, db, func(c *restauth.Config) { c.Logout.OnGet = true })
		expectDetail(t, g.do("GET", "/rest-auth/logout/", nil, tokenHeader(laptop)...), 200, "Successfully logged out.")
		expect(t, g.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 401)
	})
}

func TestHeadDoesNotLogOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Logout.OnGet = true })
	e.user("alice", "alice@example.com")
	key := e.login("alice", goodPass)
	req := httptest.NewRequest("HEAD", "/rest-auth/logout/", nil)
	req.Header.Set("Authorization", "Token "+key)
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("HEAD logout/ %d", w.Code)
	}
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/rest-auth/logout/", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401)
}

// TestJWTLogout: logout/ in JWT mode blacklists the refresh token (or the
// access token's login).
func TestJWTLogout(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		// Each subtest migrates the shared database before it goes
		// parallel; its users are its own.
		t.Run("logout blacklists", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			t.Parallel()
			e.user("carol", "carol@example.com")
			r := e.loginJWT("carol")
			out := e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r.str("refresh")})
			expectDetail(t, out, 200, "Successfully logged out.")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r.str("refresh")}), "Token is invalid or expired")
			// Logout is idempotent: a spent, bad or missing token gets 200.
			for _, body := range []any{map[string]any{"refresh": r.str("refresh")}, map[string]any{"refresh": "junk"}, nil} {
				r := e.do("POST", "/rest-auth/logout/", body)
				expectDetail(t, r, 200, "Successfully logged out.")
			}
			expectField(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": strings.Repeat("r", 9000)}), "refresh", "Ensure this field has no more than 8192 characters.")
			// Without a refresh token, a valid access token ends its session.
			r2 := e.loginJWT("carol")
			expect(t, e.do("POST", "/rest-auth/logout/", nil, bearer(r2.str("access"))...), 200)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r2.str("refresh")}), "Token is invalid or expired")
		})
		t.Run("stale token at logout revokes the family", func(t *testing.T) {
			e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
			t.Parallel()
			e.user("stale", "stale@example.com")
			r1 := e.loginJWT("stale").str("refresh")
			n := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1})
			expect(t, n, 200)
			expectDetail(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r1}), 200, "Successfully logged out.")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": n.str("refresh")}), "Token is invalid or expired")
		})
	})
}
