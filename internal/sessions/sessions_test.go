package sessions_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
)

type member struct {
	models.User
	Plan string `gorm:"size:20"`
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// logBuffer is a bytes.Buffer safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

const (
	accessLife  = 5 * time.Minute
	refreshLife = time.Hour
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type env struct {
	db    *gorm.DB
	s     *sessions.Sessions[member]
	clk   *clock
	log   *logBuffer
	alice *member
	bob   *member
}

func setup(t *testing.T, db *gorm.DB, rotate bool) *env {
	t.Helper()
	if err := db.AutoMigrate(&member{}, &models.OutstandingToken{}, &models.BlacklistedToken{}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	us, err := users.New[member](db, clk.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwtauth.New([]jwtauth.Key{{Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32))}},
		accessLife, refreshLife, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	lb := &logBuffer{}
	e := &env{db: db, clk: clk, log: lb, s: &sessions.Sessions[member]{
		DB: db, Users: us, JWT: iss, Rotate: rotate, Now: clk.Now,
		Log: slog.New(slog.NewTextHandler(lb, nil)),
		Claims: func(_ context.Context, u *member) map[string]any {
			return map[string]any{"plan": u.Plan, "user_id": "forged", "token_type": "refresh"}
		},
	}}
	e.alice = e.user(t, "alice", true)
	e.bob = e.user(t, "bob", true)
	return e
}

func (e *env) user(t *testing.T, name string, active bool) *member {
	t.Helper()
	u := &member{User: models.User{Username: name, IsActive: active}, Plan: "gold-" + name}
	if err := e.s.Users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) issue(t *testing.T, u *member) sessions.Pair {
	t.Helper()
	p, err := e.s.Issue(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) live(t *testing.T, family string) bool {
	t.Helper()
	ok, err := e.s.Live(context.Background(), family)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func (e *env) count(t *testing.T, model any, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := e.db.Model(model)
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUserIDs(t *testing.T) {
	t.Parallel()
	if got := sessions.UserIDString(42); got != "42" {
		t.Fatalf("UserIDString(42) = %q", got)
	}
	tests := []struct {
		in   string
		want uint
		ok   bool
	}{
		{"42", 42, true},
		{"1", 1, true},
		{"0", 0, false},
		{"", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"4 2", 0, false},
		{"0x10", 0, false},
		{"18446744073709551616", 0, false},
	}
	for _, tc := range tests {
		got, ok := sessions.ParseUserID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseUserID(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestIssue(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, false)
		p := e.issue(t, e.alice)
		if p.Access == "" || p.Refresh == "" || p.Family == "" {
			t.Fatalf("Issue = %+v", p)
		}
		if !p.AccessExpires.Equal(t0.Add(accessLife)) || !p.RefreshExpires.Equal(t0.Add(refreshLife)) {
			t.Fatalf("expiries %v, %v", p.AccessExpires, p.RefreshExpires)
		}
		ac, err := e.s.JWT.Parse(p.Access, jwtauth.Access)
		if err != nil {
			t.Fatal(err)
		}
		if ac.UserID != sessions.UserIDString(e.alice.ID) || ac.SID != p.Family || ac.All()["plan"] != "gold-alice" {
			t.Fatalf("access claims %+v", ac)
		}
		rc, err := e.s.JWT.Parse(p.Refresh, jwtauth.Refresh)
		if err != nil {
			t.Fatal(err)
		}
		// The first refresh token's jti names the family.
		if rc.JTI != p.Family || rc.SID != p.Family || rc.UserID != ac.UserID {
			t.Fatalf("refresh claims %+v, family %s", rc, p.Family)
		}
		if _, ok := rc.All()["plan"]; ok {
			t.Fatal("the app's claims went into the refresh token")
		}
		var row models.OutstandingToken
		if err := db.Where("jti = ?", rc.JTI).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.Family != p.Family || row.UserID != e.alice.ID || !row.ExpiresAt.Equal(p.RefreshExpires) || !row.CreatedAt.Equal(t0) {
			t.Fatalf("outstanding row %+v", row)
		}
		// Access resolves access tokens only.
		if c, id, ok := e.s.Access(p.Access); !ok || id != e.alice.ID || c.SID != p.Family {
			t.Fatalf("Access = %v, %d, %v", c, id, ok)
		}
		for _, raw := range []string{p.Refresh, "", "junk"} {
			if _, _, ok := e.s.Access(raw); ok {
				t.Errorf("Access(%.10q) accepted", raw)
			}
		}
		if p2 := e.issue(t, e.alice); p2.Family == p.Family {
			t.Fatal("two logins share a family")
		}
	})
}

func TestIssueJoinsTransaction(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, false)
		boom := errors.New("boom")
		var p sessions.Pair
		err := dbx.Transaction(context.Background(), db, func(ctx context.Context, _ *gorm.DB) error {
			var err error
			p, err = e.s.Issue(ctx, e.alice)
			if err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if e.live(t, p.Family) {
			t.Fatal("a rolled back login is live")
		}
		if _, err := e.s.Refresh(context.Background(), p.Refresh); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("Refresh of a rolled back login = %v", err)
		}
	})
}

func TestRefreshWithoutRotation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, false)
		ctx := context.Background()
		p := e.issue(t, e.alice)
		e.clk.Set(t0.Add(time.Minute))
		for i := range 2 { // the refresh token stays usable
			got, err := e.s.Refresh(ctx, p.Refresh)
			if err != nil {
				t.Fatalf("refresh %d: %v", i, err)
			}
			if got.Refresh != "" || got.Family != p.Family || !got.AccessExpires.Equal(t0.Add(time.Minute+accessLife)) {
				t.Fatalf("refresh %d = %+v", i, got)
			}
			c, id, ok := e.s.Access(got.Access)
			if !ok || id != e.alice.ID || c.SID != p.Family || c.All()["plan"] != "gold-alice" {
				t.Fatalf("refreshed access token: %+v %d %v", c, id, ok)
			}
		}
		if n := e.count(t, &models.OutstandingToken{}, ""); n != 1 {
			t.Fatalf("%d outstanding rows, want 1", n)
		}
		if n := e.count(t, &models.BlacklistedToken{}, ""); n != 0 {
			t.Fatalf("%d blacklist rows, want 0", n)
		}
	})
}

func TestRefreshWithRotationAndReuse(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, true)
		ctx := context.Background()
		p1 := e.issue(t, e.alice)
		other := e.issue(t, e.alice)
		e.clk.Set(t0.Add(time.Minute))
		p2, err := e.s.Refresh(ctx, p1.Refresh)
		if err != nil {
			t.Fatal(err)
		}
		if p2.Refresh == "" || p2.Refresh == p1.Refresh || p2.Family != p1.Family || p2.Access == "" {
			t.Fatalf("rotated pair %+v", p2)
		}
		if !p2.RefreshExpires.Equal(t0.Add(time.Minute + refreshLife)) {
			t.Fatalf("rotated refresh expires %v", p2.RefreshExpires)
		}
		rc, _ := e.s.JWT.Parse(p2.Refresh, jwtauth.Refresh)
		if rc == nil || rc.SID != p1.Family || rc.JTI == p1.Family {
			t.Fatalf("rotated refresh claims %+v", rc)
		}
		// The presented token is blacklisted, the new one is not.
		bl := "token_id IN (SELECT id FROM restauth_jwt_outstanding WHERE jti = ?)"
		if n := e.count(t, &models.BlacklistedToken{}, bl, p1.Family); n != 1 {
			t.Fatalf("old refresh token blacklisted %d times, want 1", n)
		}
		if n := e.count(t, &models.BlacklistedToken{}, bl, rc.JTI); n != 0 {
			t.Fatal("new refresh token blacklisted")
		}
		p3, err := e.s.Refresh(ctx, p2.Refresh)
		if err != nil {
			t.Fatal(err)
		}
		if e.log.String() != "" {
			t.Fatalf("logged before any reuse: %s", e.log.String())
		}

		// Reusing the first token revokes the whole family, for good.
		if _, err := e.s.Refresh(ctx, p1.Refresh); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("reuse = %v, want ErrInvalid", err)
		}
		if !strings.Contains(e.log.String(), "blacklisted refresh token was presented") {
			t.Fatalf("reuse not logged: %q", e.log.String())
		}
		if _, err := e.s.Refresh(ctx, p3.Refresh); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("newest token of a revoked family = %v, want ErrInvalid", err)
		}
		if e.live(t, p1.Family) {
			t.Fatal("family live after reuse")
		}
		// Every token of the family is blacklisted (committed).
		if n := e.count(t, &models.BlacklistedToken{}, "token_id IN (SELECT id FROM restauth_jwt_outstanding WHERE family = ?)", p1.Family); n != 3 {
			t.Fatalf("%d of 3 tokens of the family blacklisted", n)
		}
		// Another login of the same user is untouched.
		if !e.live(t, other.Family) {
			t.Fatal("reuse revoked another login")
		}
		if _, err := e.s.Refresh(ctx, other.Refresh); err != nil {
			t.Fatalf("other login: %v", err)
		}
	})
}

// TestConcurrentRotation uses one refresh token twice at once: one use
// rotates, the other is a reuse, so the family ends revoked either way.
func TestConcurrentRotation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, true)
		p := e.issue(t, e.alice)
		start := make(chan struct{})
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				<-start
				_, err := e.s.Refresh(context.Background(), p.Refresh)
				errs <- err
			}()
		}
		close(start)
		var ok, invalid int
		for range 2 {
			switch err := <-errs; {
			case err == nil:
				ok++
			case errors.Is(err, sessions.ErrInvalid):
				invalid++
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if ok != 1 || invalid != 1 {
			t.Fatalf("%d successes and %d refusals, want 1 and 1", ok, invalid)
		}
		if e.live(t, p.Family) {
			t.Fatal("family live after a concurrent reuse")
		}
	})
}

func TestRefreshRefusals(t *testing.T) {
	t.Parallel()
	for _, rotate := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "rotate"}[rotate], func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				e := setup(t, db, rotate)
				ctx := context.Background()
				p := e.issue(t, e.alice)
				uid := sessions.UserIDString(e.alice.ID)
				sign := func(typ, userID, sid, jti string) string {
					raw, _, err := e.s.JWT.Sign(typ, userID, sid, jti, nil)
					if err != nil {
						t.Fatal(err)
					}
					return raw
				}
				otherIss, err := jwtauth.New([]jwtauth.Key{{Algorithm: "HS256", Secret: []byte(strings.Repeat("x", 32))}},
					accessLife, refreshLife, e.clk.Now)
				if err != nil {
					t.Fatal(err)
				}
				foreign, _, _ := otherIss.Sign(jwtauth.Refresh, uid, p.Family, p.Family, nil)
				carol := e.user(t, "carol", false)
				carolPair := e.issue(t, carol)
				dave := e.user(t, "dave", true)
				davePair := e.issue(t, dave)
				if err := db.Delete(&member{}, dave.ID).Error; err != nil {
					t.Fatal(err)
				}

				tests := []struct {
					name string
					raw  string
					want error
				}{
					{"empty", "", sessions.ErrInvalid},
					{"junk", "a.b.c", sessions.ErrInvalid},
					{"access token", p.Access, sessions.ErrInvalid},
					{"other key", foreign, sessions.ErrInvalid},
					{"never recorded", sign(jwtauth.Refresh, uid, p.Family, "0123456789abcdef0123456789abcdef"), sessions.ErrInvalid},
					{"family claim changed", sign(jwtauth.Refresh, uid, "other", p.Family), sessions.ErrInvalid},
					{"user claim changed", sign(jwtauth.Refresh, sessions.UserIDString(e.bob.ID), p.Family, p.Family), sessions.ErrInvalid},
					{"bad user claim", sign(jwtauth.Refresh, "x", p.Family, p.Family), sessions.ErrInvalid},
					{"inactive user", carolPair.Refresh, sessions.ErrNoActiveAccount},
					{"deleted user", davePair.Refresh, sessions.ErrNoActiveAccount},
				}
				for _, tc := range tests {
					if _, err := e.s.Refresh(ctx, tc.raw); !errors.Is(err, tc.want) {
						t.Errorf("%s: Refresh = %v, want %v", tc.name, err, tc.want)
					}
				}
				// None of that hurt the real login.
				if !e.live(t, p.Family) {
					t.Fatal("forged tokens revoked the login")
				}
				if got, err := e.s.Refresh(ctx, p.Refresh); err != nil || got.Access == "" {
					t.Fatalf("the real token after the forgeries: %v", err)
				}
				// Expired (JWT and row alike).
				e.clk.Set(t0.Add(refreshLife))
				if _, err := e.s.Refresh(ctx, p.Refresh); !errors.Is(err, sessions.ErrInvalid) {
					t.Errorf("expired: Refresh = %v, want ErrInvalid", err)
				}
			})
		})
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, false)
		ctx := context.Background()
		p := e.issue(t, e.alice)
		other := e.issue(t, e.alice)
		id, err := e.s.Logout(ctx, p.Refresh)
		if err != nil || id != e.alice.ID {
			t.Fatalf("Logout = %d, %v; want %d", id, err, e.alice.ID)
		}
		if _, err := e.s.Refresh(ctx, p.Refresh); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("Refresh after logout = %v", err)
		}
		if _, err := e.s.Logout(ctx, p.Refresh); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("second Logout = %v", err)
		}
		if _, err := e.s.Logout(ctx, p.Access); !errors.Is(err, sessions.ErrInvalid) {
			t.Fatalf("Logout with an access token = %v", err)
		}
		if e.live(t, p.Family) || !e.live(t, other.Family) {
			t.Fatal("logout must end its own login only")
		}
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, true)
		ctx := context.Background()
		a := e.issue(t, e.alice)
		b := e.issue(t, e.alice)
		c := e.issue(t, e.alice)
		if _, err := e.s.Refresh(ctx, b.Refresh); err != nil { // b has two tokens now
			t.Fatal(err)
		}
		bob := e.issue(t, e.bob)
		state := func(step string, want map[string]bool) {
			t.Helper()
			for name, fam := range map[string]string{"a": a.Family, "b": b.Family, "c": c.Family, "bob": bob.Family} {
				if got := e.live(t, fam); got != want[name] {
					t.Errorf("%s: family %s live = %v, want %v", step, name, got, want[name])
				}
			}
		}
		state("start", map[string]bool{"a": true, "b": true, "c": true, "bob": true})

		if err := e.s.RevokeFamily(ctx, e.bob.ID, c.Family); err != nil { // not bob's
			t.Fatal(err)
		}
		state("RevokeFamily of another user's family", map[string]bool{"a": true, "b": true, "c": true, "bob": true})
		if err := e.s.RevokeFamily(ctx, e.alice.ID, c.Family); err != nil {
			t.Fatal(err)
		}
		state("RevokeFamily", map[string]bool{"a": true, "b": true, "bob": true})

		if err := e.s.RevokeUser(ctx, e.alice.ID, a.Family); err != nil {
			t.Fatal(err)
		}
		state("RevokeUser keeping a", map[string]bool{"a": true, "bob": true})
		if _, err := e.s.Refresh(ctx, a.Refresh); err != nil {
			t.Fatalf("kept family: %v", err)
		}
		// Revoking is no reuse: nothing was logged.
		if e.log.String() != "" {
			t.Fatalf("logged: %s", e.log.String())
		}

		// Inside the caller's transaction: rolled back with it.
		boom := errors.New("boom")
		err := dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
			if err := e.s.RevokeUser(ctx, e.alice.ID, ""); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		state("rolled back RevokeUser", map[string]bool{"a": true, "bob": true})
		if err := e.s.RevokeUser(ctx, e.alice.ID, ""); err != nil {
			t.Fatal(err)
		}
		state("RevokeUser keeping none", map[string]bool{"bob": true})
		// Idempotent.
		if err := e.s.RevokeUser(ctx, e.alice.ID, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.s.RevokeFamily(ctx, e.alice.ID, c.Family); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLiveGrace: a family stays live until one access lifetime past its
// last refresh token's expiry, so an access token issued just before
// stays good to its own end; revocation reaches those tokens too.
func TestLiveGrace(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, false)
		ctx := context.Background()
		p := e.issue(t, e.alice)
		expiry := t0.Add(refreshLife)
		tests := []struct {
			name string
			at   time.Time
			live bool
		}{
			{"fresh", t0, true},
			{"at refresh expiry", expiry, true},
			{"within the grace", expiry.Add(accessLife - time.Second), true},
			{"at the end of the grace", expiry.Add(accessLife), false},
			{"after the grace", expiry.Add(accessLife + time.Hour), false},
		}
		for _, tc := range tests {
			e.clk.Set(tc.at)
			if got := e.live(t, p.Family); got != tc.live {
				t.Errorf("%s: Live = %v, want %v", tc.name, got, tc.live)
			}
		}
		for _, fam := range []string{"", "unknown"} {
			if e.live(t, fam) {
				t.Errorf("Live(%q) = true", fam)
			}
		}
		// Revocation within the grace ends the family.
		e.clk.Set(expiry.Add(time.Minute))
		if err := e.s.RevokeUser(ctx, e.alice.ID, ""); err != nil {
			t.Fatal(err)
		}
		if e.live(t, p.Family) {
			t.Fatal("a family revoked within the grace is live")
		}
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, true)
		ctx := context.Background()
		live := e.issue(t, e.alice)
		rotated := e.issue(t, e.alice)
		next, err := e.s.Refresh(ctx, rotated.Refresh)
		if err != nil {
			t.Fatal(err)
		}
		revoked := e.issue(t, e.bob)
		if err := e.s.RevokeUser(ctx, e.bob.ID, ""); err != nil {
			t.Fatal(err)
		}
		uid := sessions.UserIDString(e.alice.ID)
		unrecorded, _, _ := e.s.JWT.Sign(jwtauth.Refresh, uid, live.Family, "0123456789abcdef0123456789abcdef", nil)

		tests := []struct {
			name         string
			raw          string
			checkRevoked bool
			want         error
		}{
			{"access", live.Access, false, nil},
			{"access, checked", live.Access, true, nil},
			{"access of a revoked login", revoked.Access, false, nil},
			{"access of a revoked login, checked", revoked.Access, true, sessions.ErrInvalid},
			{"access of a rotated login, checked", rotated.Access, true, nil},
			{"refresh", live.Refresh, false, nil},
			{"refresh, rotated away", rotated.Refresh, false, sessions.ErrInvalid},
			{"refresh after rotation", next.Refresh, false, nil},
			{"refresh of a revoked login", revoked.Refresh, false, sessions.ErrInvalid},
			{"refresh never recorded", unrecorded, false, sessions.ErrInvalid},
			{"junk", "x.y.z", false, sessions.ErrInvalid},
			{"empty", "", true, sessions.ErrInvalid},
		}
		for _, tc := range tests {
			e.s.CheckRevoked = tc.checkRevoked
			if err := e.s.Verify(ctx, tc.raw); !errors.Is(err, tc.want) {
				t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
			}
		}
		e.s.CheckRevoked = false
		e.clk.Set(t0.Add(accessLife))
		if err := e.s.Verify(ctx, live.Access); !errors.Is(err, sessions.ErrInvalid) {
			t.Errorf("expired access: Verify = %v", err)
		}
		if err := e.s.Verify(ctx, live.Refresh); err != nil {
			t.Errorf("refresh still valid: Verify = %v", err)
		}
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db, true)
		ctx := context.Background()
		old := e.issue(t, e.alice)
		if _, err := e.s.Refresh(ctx, old.Refresh); err != nil { // 2 rows + 1 blacklist row
			t.Fatal(err)
		}
		e.clk.Set(t0.Add(30 * time.Minute))
		e.issue(t, e.bob)
		cutoffOld := t0.Add(refreshLife + accessLife)

		steps := []struct {
			at          time.Time
			pruned      int64
			outstanding int64
			blacklist   int64
		}{
			{t0.Add(refreshLife), 0, 3, 1},
			{cutoffOld.Add(-time.Second), 0, 3, 1},
			{cutoffOld, 3, 1, 0},
			{cutoffOld.Add(29 * time.Minute), 0, 1, 0},
			{cutoffOld.Add(30 * time.Minute), 1, 0, 0},
		}
		for i, st := range steps {
			e.clk.Set(st.at)
			n, err := e.s.Prune(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != st.pruned {
				t.Errorf("step %d: Prune = %d, want %d", i, n, st.pruned)
			}
			if got := e.count(t, &models.OutstandingToken{}, ""); got != st.outstanding {
				t.Errorf("step %d: %d outstanding rows, want %d", i, got, st.outstanding)
			}
			if got := e.count(t, &models.BlacklistedToken{}, ""); got != st.blacklist {
				t.Errorf("step %d: %d blacklist rows, want %d", i, got, st.blacklist)
			}
		}
	})
}

// TestRevokeWaitsForRotation (PostgreSQL): a revocation that starts while
// a rotation is in flight must also revoke the token the rotation is
// adding. Under READ COMMITTED only the user's lock makes the revocation
// wait and then see the new row. (SQLite locks the whole database, so
// there the order is forced anyway.)
func TestRevokeWaitsForRotation(t *testing.T) {
	t.Parallel()
	db := testdb.Postgres(t)
	e := setup(t, db, true)
	ctx := context.Background()
	p := e.issue(t, e.alice)

	var armed atomic.Bool
	armed.Store(true)
	paused := make(chan int, 1)
	resume := make(chan struct{})
	err := db.Callback().Create().After("gorm:create").Register("test:pause", func(tx *gorm.DB) {
		if tx.Statement.Table != (models.OutstandingToken{}).TableName() || !armed.CompareAndSwap(true, false) {
			return
		}
		var pid int
		if err := tx.Session(&gorm.Session{NewDB: true}).Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
			_ = tx.AddError(err)
		}
		paused <- pid
		<-resume
	})
	if err != nil {
		t.Fatal(err)
	}
	rotated := make(chan error, 1)
	var next sessions.Pair
	go func() {
		var err error
		next, err = e.s.Refresh(ctx, p.Refresh)
		rotated <- err
	}()
	pid := <-paused // the rotation holds its new row, uncommitted
	revoked := make(chan error, 1)
	go func() { revoked <- e.s.RevokeUser(ctx, e.alice.ID, "") }()

	// Wait until the revocation is blocked by the rotation's transaction.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		if err := db.Raw("SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", pid).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		select {
		case err := <-revoked:
			t.Fatalf("the revocation finished (%v) while the rotation was in flight", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the revocation never waited for the rotation")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(resume)
	if err := <-rotated; err != nil {
		t.Fatalf("rotation: %v", err)
	}
	if err := <-revoked; err != nil {
		t.Fatalf("revocation: %v", err)
	}
	if e.live(t, p.Family) {
		t.Fatal("the token added by the rotation survived the revocation")
	}
	if err := e.s.Verify(ctx, next.Refresh); !errors.Is(err, sessions.ErrInvalid) {
		t.Fatalf("Verify(new refresh token) = %v, want ErrInvalid", err)
	}
}
