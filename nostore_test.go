package restauth_test

import (
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

// TestNoStore: every answer that carries a credential is uncacheable
// (Cache-Control: no-store, Pragma: no-cache).
func TestNoStore(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, name string, r resp) {
		t.Helper()
		if r.Code >= 300 {
			t.Fatalf("%s: status %d: %s", name, r.Code, r.Raw)
		}
		if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Pragma") != "no-cache" {
			t.Fatalf("%s: Cache-Control %q, Pragma %q", name, r.Header.Get("Cache-Control"), r.Header.Get("Pragma"))
		}
	}
	t.Run("token mode", func(t *testing.T) {
		t.Parallel()
		s := newSocialEnv(t, testdb.SQLite(t), false, true, func(c *restauth.Config) {
			c.Registration.EmailVerification = restauth.VerificationNone
		})
		s.user("alice", "alice@example.com")
		check(t, "login", s.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}))
		check(t, "registration", s.do("POST", "/rest-auth/registration/", signup("bob", "bob@example.com")))
		s.gh.add("tok-n", ghUser{ID: 9, Login: "nina", Email: "nina@example.com", Verified: true})
		check(t, "social login", s.ghLogin("tok-n"))
		s.gh.add("tok-a", ghUser{ID: 10, Login: "alicegh", Email: "alice-gh@example.com"})
		key := s.login("alice", goodPass)
		check(t, "social connect", s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-a"}, tokenHeader(key)...))
		check(t, "authorize", s.do("GET", "/rest-auth/oidc/authorize/", nil, "Accept", "application/json"))
		code, state, cookie := s.oidcFlow(t, mockUser("n-1", "n1@example.com", true))
		check(t, "callback", s.do("GET", "/rest-auth/oidc/callback/?code="+code+"&state="+state, nil, "Cookie", "__Host-restauth_social_flow="+cookie))
		// An answer without credentials stays cacheable by the app's rules.
		if r := s.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...); r.Header.Get("Pragma") != "" {
			t.Fatalf("user/ has Pragma %q", r.Header.Get("Pragma"))
		}
	})
	t.Run("jwt mode", func(t *testing.T) {
		t.Parallel()
		e := jwtEnv(t, testdb.SQLite(t), nil)
		e.user("carol", "carol@example.com")
		r := e.loginJWT("carol")
		check(t, "jwt login", r)
		check(t, "refresh", e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}))
	})
}
