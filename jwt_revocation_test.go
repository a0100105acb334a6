package restauth_test

import (
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

// TestJWTRevocationSet: without JWT.CheckRevoked, revoked logins' access
// tokens still die within JWT.RevocationInterval, on the instance that
// revoked at once and on another instance sharing the database after the
// interval, without a query per request.
func TestJWTRevocationSet(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a := jwtEnv(t, db, nil)
		// One clock for both instances.
		b := jwtEnv(t, db, func(c *restauth.Config) { c.Now = a.clock.Now })
		b.clock = a.clock
		a.user("alice", "alice@example.com")
		bob := a.user("bob", "bob@example.com")
		me := func(e *env, access string) int { return e.do("GET", "/api/me", nil, bearer(access)...).Code }

		// Logout on A.
		r := a.loginJWT("alice")
		access, refresh := r.str("access"), r.str("refresh")
		if me(a, access) != 200 || me(b, access) != 200 {
			t.Fatal("fresh access token refused")
		}
		expect(t, a.do("POST", "/rest-auth/logout/", map[string]any{"refresh": refresh}, bearer(access)...), 200)
		if got := me(a, access); got != 401 {
			t.Fatalf("instance A after its logout: %d", got)
		}
		expectTokenInvalid(t, a.do("POST", "/rest-auth/token/verify/", map[string]any{"token": access}), "Token is invalid or expired")
		// B read its set less than an interval ago.
		if got := me(b, access); got != 200 {
			t.Fatalf("instance B within the interval: %d", got)
		}
		a.clock.Advance(time.Second)
		if got := me(b, access); got != 401 {
			t.Fatalf("instance B after the interval: %d", got)
		}

		// Password change on B ends A's other logins; RevokeSessions too.
		r1, r2 := a.loginJWT("alice"), a.loginJWT("alice")
		expect(t, b.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "Brand-New-Sunflower-9", "new_password2": "Brand-New-Sunflower-9"}, bearer(r1.str("access"))...), 200)
		a.clock.Advance(time.Second)
		if got := me(a, r2.str("access")); got != 401 {
			t.Fatalf("other login after a password change: %d", got)
		}
		if got := me(a, r1.str("access")); got != 200 {
			t.Fatalf("the login that changed the password: %d", got)
		}
		rb := a.loginJWT("bob")
		if err := b.auth.RevokeSessions(t.Context(), bob); err != nil {
			t.Fatal(err)
		}
		a.clock.Advance(time.Second)
		if got := me(a, rb.str("access")); got != 401 {
			t.Fatalf("after RevokeSessions: %d", got)
		}
		// A refresh rotation is no revocation.
		c := jwtEnv(t, testdb.Fresh(t, db), func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		c.user("carol", "carol@example.com")
		rc := c.loginJWT("carol")
		expect(t, c.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": rc.str("refresh")}), 200)
		c.clock.Advance(time.Second)
		if got := me(c, rc.str("access")); got != 200 {
			t.Fatalf("access token after a rotation: %d", got)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.JWT.RevocationInterval = -1 })
		e.user("dave", "dave@example.com")
		r := e.loginJWT("dave")
		expect(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r.str("refresh")}, bearer(r.str("access"))...), 200)
		if got := e.do("GET", "/api/me", nil, bearer(r.str("access"))...).Code; got != 200 {
			t.Fatalf("with the check off a logged-out access token lives to its expiry: %d", got)
		}
	})
}
