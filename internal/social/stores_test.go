package social

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// t0 is whole seconds: both databases store it exactly.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func migrateSocial(t *testing.T, db *gorm.DB) {
	t.Helper()
	if err := Migrate(context.Background(), db, true); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, db *gorm.DB, model any, where ...any) int64 {
	t.Helper()
	q := db.Model(model)
	if len(where) > 0 {
		q = q.Where(where[0], where[1:]...)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReplayUse(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		migrateSocial(t, db)
		ctx := context.Background()
		clk := newClock()
		r := &Replay{DB: db, Now: clk.Now}
		a, b := secret.Digest("token a"), secret.Digest("token b")
		steps := []struct {
			name      string
			advance   time.Duration
			digest    string
			until     time.Duration // from the clock's time
			wantFresh bool
		}{
			{"first use", 0, a, time.Hour, true},
			{"second use", 0, a, time.Hour, false},
			{"other digest independent", 0, b, 2 * time.Hour, true},
			{"other digest used", 0, b, 2 * time.Hour, false},
			{"still used a second before expiry", time.Hour - time.Second, a, time.Hour, false},
			{"fresh again at expiry", time.Second, a, time.Hour, true},
			{"used again after the new record", 0, a, time.Hour, false},
			{"other digest still used", 0, b, time.Hour, false},
			{"other digest fresh after its expiry", time.Hour, b, time.Hour, true},
		}
		for _, s := range steps {
			clk.Advance(s.advance)
			fresh, err := r.Use(ctx, s.digest, clk.Now().Add(s.until))
			if err != nil {
				t.Fatalf("%s: Use: %v", s.name, err)
			}
			if fresh != s.wantFresh {
				t.Errorf("%s: fresh = %v, want %v", s.name, fresh, s.wantFresh)
			}
		}
		// One row per digest: expired records are replaced, not piled up.
		if n := count(t, db, &models.UsedIDToken{}); n != 2 {
			t.Errorf("%d used id_token rows, want 2", n)
		}
	})
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestAuthorizationsStart(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		migrateSocial(t, db)
		ctx := context.Background()
		clk := newClock()
		a := &Authorizations{DB: db, Expire: 10 * time.Minute, Now: clk.Now}

		p, err := a.Start(ctx, "google", "https://app.example/cb", "")
		if err != nil {
			t.Fatal(err)
		}
		vals := map[string]string{"state": p.State, "browser": p.Browser, "verifier": p.Verifier, "nonce": p.Nonce}
		seen := map[string]string{}
		for k, v := range vals {
			if !hex64.MatchString(v) {
				t.Errorf("%s = %q, want 64 hex digits", k, v)
			}
			if other, ok := seen[v]; ok {
				t.Errorf("%s equals %s", k, other)
			}
			seen[v] = k
		}
		if p.RedirectURI != "https://app.example/cb" {
			t.Errorf("RedirectURI = %q", p.RedirectURI)
		}

		browser := strings.Repeat("ab", 32)
		q, err := a.Start(ctx, "google", "https://app.example/cb", browser)
		if err != nil {
			t.Fatal(err)
		}
		if q.Browser != browser {
			t.Errorf("Browser = %q, want the given %q", q.Browser, browser)
		}
		if q.State == p.State || q.Verifier == p.Verifier || q.Nonce == p.Nonce {
			t.Errorf("second flow repeats the first's secrets: %+v, %+v", p, q)
		}

		var rows []models.SocialAuthorization
		if err := db.Order("id").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 {
			t.Fatalf("%d rows, want 2", len(rows))
		}
		r := rows[0]
		if r.StateDigest != secret.Digest(p.State) || r.BrowserDigest != secret.Digest(p.Browser) ||
			r.Provider != "google" || r.Verifier != p.Verifier || r.Nonce != p.Nonce ||
			r.RedirectURI != p.RedirectURI || !r.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("stored row %+v does not match the flow %+v", r, p)
		}

		// Neither the state nor the browser secret is stored in clear.
		var raw []map[string]any
		if err := db.Model(&models.SocialAuthorization{}).Find(&raw).Error; err != nil {
			t.Fatal(err)
		}
		for _, row := range raw {
			for col, v := range row {
				s := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					s = string(b)
				}
				for _, plain := range []string{p.State, p.Browser, q.State, q.Browser} {
					if strings.Contains(s, plain) {
						t.Errorf("column %s holds a plaintext secret %q", col, plain)
					}
				}
			}
		}
	})
}

func TestAuthorizationsTake(t *testing.T) {
	t.Parallel()
	const provider, uri = "google", "https://app.example/cb"
	tests := []struct {
		name     string
		advance  time.Duration
		provider string
		// state and browser: "" the flow's own, "-" empty, else this value.
		state, browser string
		wantErr        error
		wantConsumed   bool
	}{
		{name: "right state, browser and provider", provider: provider, wantConsumed: true},
		{name: "a second before expiry", advance: 10*time.Minute - time.Second, provider: provider, wantConsumed: true},
		{name: "wrong browser", provider: provider, browser: strings.Repeat("0", 64), wantErr: ErrInvalidState, wantConsumed: true},
		{name: "empty browser", provider: provider, browser: "-", wantErr: ErrInvalidState, wantConsumed: true},
		{name: "wrong provider", provider: "github", wantErr: ErrInvalidState, wantConsumed: true},
		{name: "expired", advance: 10 * time.Minute, provider: provider, wantErr: ErrInvalidState, wantConsumed: true},
		{name: "unknown state", provider: provider, state: strings.Repeat("1", 64), wantErr: ErrInvalidState},
		{name: "empty state", provider: provider, state: "-", wantErr: ErrInvalidState},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				migrateSocial(t, db)
				ctx := context.Background()
				clk := newClock()
				a := &Authorizations{DB: db, Expire: 10 * time.Minute, Now: clk.Now}
				p, err := a.Start(ctx, provider, uri, "")
				if err != nil {
					t.Fatal(err)
				}
				// Another flow, which no Take may touch.
				other, err := a.Start(ctx, provider, uri, "")
				if err != nil {
					t.Fatal(err)
				}
				clk.Advance(tc.advance)
				state, browser := p.State, p.Browser
				switch tc.state {
				case "":
				case "-":
					state = ""
				default:
					state = tc.state
				}
				switch tc.browser {
				case "":
				case "-":
					browser = ""
				default:
					browser = tc.browser
				}

				got, err := a.Take(ctx, tc.provider, state, browser)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Take error = %v, want %v", err, tc.wantErr)
				}
				if tc.wantErr == nil && got != p {
					t.Errorf("Take = %+v, want %+v", got, p)
				}
				if tc.wantErr != nil && got != (Pending{}) {
					t.Errorf("Take = %+v with its error, want the zero Pending", got)
				}
				n := count(t, db, &models.SocialAuthorization{}, "state_digest = ?", secret.Digest(p.State))
				if want := map[bool]int64{true: 0, false: 1}[tc.wantConsumed]; n != want {
					t.Errorf("%d rows of the flow left, want %d", n, want)
				}
				if n := count(t, db, &models.SocialAuthorization{}, "state_digest = ?", secret.Digest(other.State)); n != 1 {
					t.Errorf("the other flow has %d rows, want 1", n)
				}
				if tc.wantConsumed {
					// Single use: not even the right request works again.
					if _, err := a.Take(ctx, provider, p.State, p.Browser); !errors.Is(err, ErrInvalidState) {
						t.Errorf("second Take error = %v, want ErrInvalidState", err)
					}
				}
			})
		})
	}
}

func TestBox(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	box, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	otherBox, err := NewBox(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		t.Parallel()
		for _, plain := range []string{"ya29.access-token", "refresh-1", strings.Repeat("long token ", 200), "ünïcode ✓"} {
			sealed, err := box.Seal(plain)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sealed, "v1:") {
				t.Errorf("Seal(%q) = %q, want the v1: prefix", plain, sealed)
			}
			if strings.Contains(sealed, plain) {
				t.Errorf("Seal(%q) = %q contains the plaintext", plain, sealed)
			}
			again, err := box.Seal(plain)
			if err != nil {
				t.Fatal(err)
			}
			if again == sealed {
				t.Errorf("two seals of %q are equal: %q", plain, sealed)
			}
			for _, s := range []string{sealed, again} {
				got, err := box.Open(s)
				if err != nil || got != plain {
					t.Errorf("Open(Seal(%q)) = %q, %v", plain, got, err)
				}
			}
		}
	})

	t.Run("empty stays empty", func(t *testing.T) {
		t.Parallel()
		sealed, err := box.Seal("")
		if err != nil || sealed != "" {
			t.Errorf("Seal(\"\") = %q, %v; want \"\", nil", sealed, err)
		}
		got, err := box.Open("")
		if err != nil || got != "" {
			t.Errorf("Open(\"\") = %q, %v; want \"\", nil", got, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		t.Parallel()
		const plain = "secret access token"
		sealed, err := box.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		raw := strings.TrimPrefix(sealed, "v1:")
		// Flip one character of the ciphertext body (after the nonce).
		mid := len("v1:") + len(raw)/2
		flip := byte('A')
		if sealed[mid] == 'A' {
			flip = 'B'
		}
		tampered := sealed[:mid] + string(flip) + sealed[mid+1:]
		tests := []struct {
			name string
			box  *Box
			in   string
		}{
			{"tampered ciphertext", box, tampered},
			{"truncated", box, sealed[:len(sealed)-4]},
			{"other key", otherBox, sealed},
			{"missing prefix", box, raw},
			{"other version prefix", box, "v2:" + raw},
			{"not base64", box, "v1:!!!not base64!!!"},
			{"shorter than a nonce", box, "v1:AAAA"},
			{"prefix only", box, "v1:"},
			{"plaintext", box, plain},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				got, err := tc.box.Open(tc.in)
				if err == nil {
					t.Fatalf("Open(%q) = %q, nil; want an error", tc.in, got)
				}
				if !errors.Is(err, errSealed) {
					t.Errorf("Open error = %v, want errSealed", err)
				}
				if got != "" {
					t.Errorf("Open(%q) = %q with its error, want \"\"", tc.in, got)
				}
			})
		}
	})

	t.Run("bad key", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{0, 5, 31, 33} {
			if b, err := NewBox(make([]byte, n)); err == nil || b != nil {
				t.Errorf("NewBox(%d bytes) = %v, %v; want an error", n, b, err)
			}
		}
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		migrateSocial(t, db)
		ctx := context.Background()
		exp := []struct {
			name    string
			at      time.Time
			expired bool
		}{
			{"long ago", t0.Add(-24 * time.Hour), true},
			{"a second ago", t0.Add(-time.Second), true},
			{"now", t0, true},
			{"in a second", t0.Add(time.Second), false},
			{"tomorrow", t0.Add(24 * time.Hour), false},
		}
		var wantPruned int64
		for i, e := range exp {
			tok := models.UsedIDToken{Digest: secret.Digest("token " + e.name), ExpiresAt: e.at}
			if err := db.Create(&tok).Error; err != nil {
				t.Fatal(err)
			}
			auth := models.SocialAuthorization{
				StateDigest: secret.Digest("state " + e.name), BrowserDigest: secret.Digest("browser"),
				Provider: "google", Verifier: fmt.Sprint("v", i), Nonce: fmt.Sprint("n", i),
				RedirectURI: "https://app.example/cb", ExpiresAt: e.at,
			}
			if err := db.Create(&auth).Error; err != nil {
				t.Fatal(err)
			}
			if e.expired {
				wantPruned += 2
			}
		}
		n, err := Prune(ctx, db, t0)
		if err != nil {
			t.Fatal(err)
		}
		if n != wantPruned {
			t.Errorf("Prune = %d, want %d", n, wantPruned)
		}
		for _, e := range exp {
			want := map[bool]int64{true: 0, false: 1}[e.expired]
			if got := count(t, db, &models.UsedIDToken{}, "digest = ?", secret.Digest("token "+e.name)); got != want {
				t.Errorf("used id_token %q: %d rows, want %d", e.name, got, want)
			}
			if got := count(t, db, &models.SocialAuthorization{}, "state_digest = ?", secret.Digest("state "+e.name)); got != want {
				t.Errorf("authorization %q: %d rows, want %d", e.name, got, want)
			}
		}
		n, err = Prune(ctx, db, t0)
		if err != nil || n != 0 {
			t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
		}
	})
}
