package restauth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

func TestJWTRefresh(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		// Each subtest migrates the shared database before it goes
		// parallel; its user is its own.
		t.Run("without rotation", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			t.Parallel()
			e.user("alice", "alice@example.com")
			r := e.loginJWT("alice")
			e.clock.Advance(time.Minute)
			nr := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			expect(t, nr, 200)
			if _, ok := nr.Body["refresh"]; ok {
				t.Fatalf("refresh without rotation returned a refresh: %s", nr.Raw)
			}
			if nr.str("access") == r.str("access") || nr.str("access_expiration") != e.clock.Now().UTC().Add(5*time.Minute).Format(time.RFC3339) {
				t.Fatalf("refresh body %s", nr.Raw)
			}
			expect(t, e.do("GET", "/api/me", nil, bearer(nr.str("access"))...), 200)
			// The same refresh token keeps working without rotation.
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), 200)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{}), "No valid refresh token found.")
			e.clock.Advance(24 * time.Hour)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
		})
		t.Run("rotation and reuse", func(t *testing.T) {
			e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
			t.Parallel()
			e.user("bob", "bob@example.com")
			first := e.loginJWT("bob")
			other := e.loginJWT("bob") // another device: another family
			r1 := first.str("refresh")
			n1 := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1})
			expect(t, n1, 200)
			r2 := n1.str("refresh")
			if r2 == "" || r2 == r1 || n1.str("refresh_expiration") == "" {
				t.Fatalf("rotation body %s", n1.Raw)
			}
			if payload(t, r2)["sid"] != payload(t, r1)["sid"] {
				t.Fatal("rotated token left its family")
			}
			// The rotated-out token is rejected...
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1}), "Token is invalid or expired")
			// ...and its reuse revoked the family: the newest one is dead too.
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r2}), "Token is invalid or expired")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r2}), "Token is invalid or expired")
			// The other device is untouched.
			n2 := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": other.str("refresh")})
			expect(t, n2, 200)
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": n2.str("refresh")}), 200)
		})
		t.Run("inactive user", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			t.Parallel()
			u := e.user("erin", "erin@example.com")
			r := e.loginJWT("erin")
			e.db.Model(u).Update("is_active", false)
			nr := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			expectDetail(t, nr, 401, "No active account found for the given token.")
			// A still-valid access token no longer yields the user.
			expectDetail(t, e.do("GET", "/rest-auth/user/", nil, bearer(r.str("access"))...), 401, "User inactive or deleted.")
		})
	})
}

func TestJWTVerify(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, nil)
		e.user("dave", "dave@example.com")
		r := e.loginJWT("dave")
		for _, k := range []string{"access", "refresh"} {
			v := e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r.str(k)})
			expect(t, v, 200)
			if v.Raw != "{}" {
				t.Fatalf("verify body %s", v.Raw)
			}
		}
		expectField(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{}), "token", "This field is required.")
		expect(t, e.do("GET", "/rest-auth/token/verify/", nil), 405)
	})
}

func TestJWTConcurrentRefresh(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		const n = 8
		codes := make(chan resp, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			}()
		}
		wg.Wait()
		close(codes)
		var winners []resp
		for c := range codes {
			switch c.Code {
			case 200:
				winners = append(winners, c)
			case 401:
			default:
				t.Fatalf("concurrent refresh answered %d: %s", c.Code, c.Raw)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent uses of one refresh token succeeded, want 1", len(winners), n)
		}
		// The losers were reuse: the winner's new token died with its family.
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": winners[0].str("refresh")}), "Token is invalid or expired")
	})
}

// TestJWTRevocationWaitsForRotation revokes a login while a rotation of
// it is in flight (held open inside its transaction, after it wrote its
// new refresh token): the token that rotation mints must die with the
// rest.
func TestJWTRevocationWaitsForRotation(t *testing.T) {
	t.Parallel()
	const newPass = "An0ther-Sunflower-77"
	for _, tc := range []struct {
		name string
		// revoke ends the stolen login, on ctx, while its rotation is
		// held open: directly, or through a password change made from
		// the user's other login.
		revoke func(e *env, ctx context.Context, stolen, current resp) resp
	}{
		{"password change", func(e *env, ctx context.Context, _, current resp) resp {
			return e.doCtx(ctx, "POST", "/rest-auth/password/change/", map[string]any{
				"new_password1": newPass, "new_password2": newPass,
			}, bearer(current.str("access"))...)
		}},
		{"logout with the access token", func(e *env, ctx context.Context, stolen, _ resp) resp {
			return e.doCtx(ctx, "POST", "/rest-auth/logout/", nil, bearer(stolen.str("access"))...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
				e.user("victim", "victim@example.com")
				stolen, current := e.loginJWT("victim"), e.loginJWT("victim")

				h := holdNextRotation(t, db)
				var rot, rev resp
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					rot = e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": stolen.str("refresh")})
				}()
				awaitClose(t, h.paused, "the rotation to write its new token")
				go func() {
					defer wg.Done()
					rev = tc.revoke(e, h.revocation(context.Background()), stolen, current)
				}()
				awaitClose(t, h.writing, "the revocation to start writing")
				h.awaitBlocked(t)
				h.release()
				wg.Wait()
				expect(t, rot, 200)
				expect(t, rev, 200)
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": rot.str("refresh")}), "Token is invalid or expired")
			})
		})
	}
}

// rotationHold holds the next refresh-token rotation on one database open
// and watches the revocation that races it.
type rotationHold struct {
	db      *gorm.DB
	armed   atomic.Bool
	paused  chan struct{} // closed once the rotation wrote its new token
	resume  chan struct{} // closed to let the rotation commit
	release func()        // closes resume, once
	pid     int64         // PostgreSQL: the rotation transaction's backend
	writing chan struct{} // closed when the revocation issues its first write
	wrote   atomic.Bool
}

// revocationMark marks the context of the revocation's request; GORM's
// callbacks see it on every statement the request runs.
type revocationMark struct{}

func (h *rotationHold) revocation(ctx context.Context) context.Context {
	return context.WithValue(ctx, revocationMark{}, true)
}

// holdNextRotation registers the callbacks on db (the test's own).
func holdNextRotation(t *testing.T, db *gorm.DB) *rotationHold {
	t.Helper()
	h := &rotationHold{db: db, paused: make(chan struct{}), resume: make(chan struct{}), writing: make(chan struct{})}
	h.release = sync.OnceFunc(func() { close(h.resume) })
	t.Cleanup(h.release) // a failed test must not leave the rotation hanging
	outstanding := models.OutstandingToken{}.TableName()
	postgres := db.Dialector.Name() == "postgres"
	pause := func(tx *gorm.DB) {
		if tx.Statement.Table != outstanding || tx.Error != nil || !h.armed.CompareAndSwap(true, false) {
			return
		}
		if postgres {
			tx.Session(&gorm.Session{NewDB: true}).Raw("SELECT pg_backend_pid()").Scan(&h.pid)
		}
		close(h.paused)
		<-h.resume
	}
	firstWrite := func(tx *gorm.DB) {
		if tx.Statement.Context.Value(revocationMark{}) != nil && h.wrote.CompareAndSwap(false, true) {
			close(h.writing)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("test:hold_rotation", pause),
		cb.Create().Before("gorm:create").Register("test:revocation_writes", firstWrite),
		cb.Update().Before("gorm:update").Register("test:revocation_writes", firstWrite),
		cb.Delete().Before("gorm:delete").Register("test:revocation_writes", firstWrite),
		cb.Raw().Before("gorm:raw").Register("test:revocation_writes", firstWrite),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	h.armed.Store(true)
	return h
}

// awaitBlocked returns once the revocation's first write waits for the
// rotation's transaction. PostgreSQL shows it: the rotation's backend
// blocks another. SQLite has one writer and no such view: the write waits
// in SQLite's busy handler for the rotation's commit whether it got there
// before or after the release, and its transaction has read nothing yet,
// so it sees the rotation's token either way.
func (h *rotationHold) awaitBlocked(t *testing.T) {
	t.Helper()
	if h.pid == 0 {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var blocked bool
		err := h.db.Raw("SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid)))", h.pid).Scan(&blocked).Error
		if err != nil {
			t.Fatalf("pg_blocking_pids: %v", err)
		}
		if blocked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the revocation never waited for the rotation's transaction")
		}
	}
}

// awaitClose fails t unless ch closes within ten seconds.
func awaitClose(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestJWTPruneExpired(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), 200)
		if e.count(&models.OutstandingToken{}) != 2 || e.count(&models.BlacklistedToken{}) != 1 {
			t.Fatalf("rows: %d outstanding, %d blacklisted", e.count(&models.OutstandingToken{}), e.count(&models.BlacklistedToken{}))
		}
		n, err := e.auth.PruneExpired(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("prune of live rows: %d %v", n, err)
		}
		// Rows stay an access lifetime (5 min) past expiry.
		e.clock.Advance(24*time.Hour + time.Minute)
		if n, err := e.auth.PruneExpired(context.Background()); err != nil || n != 0 {
			t.Fatalf("prune inside the grace period: %d %v", n, err)
		}
		e.clock.Advance(5 * time.Minute)
		keep := e.loginJWT("alice")
		n, err = e.auth.PruneExpired(context.Background())
		// Two refresh tokens, one blacklist row, the login's session row.
		if err != nil || n != 4 {
			t.Fatalf("PruneExpired = %d, %v; want 4 rows", n, err)
		}
		if e.count(&models.OutstandingToken{}) != 1 || e.count(&models.BlacklistedToken{}) != 0 {
			t.Fatal("expired rows left or live row pruned")
		}
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": keep.str("refresh")}), 200)
	})
}
