package revoked_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/revoked"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// TestSet: a family is revoked when all its refresh tokens are
// blacklisted (or long expired) and one was blacklisted within the
// lifetime; the set is re-read only once per interval or when stale.
func TestSet(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		if err := db.AutoMigrate(&models.OutstandingToken{}, &models.BlacklistedToken{}); err != nil {
			t.Fatal(err)
		}
		c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
		now := c.now()
		n := 0
		token := func(family string, blacklistedAgo time.Duration, blacklisted bool) {
			n++
			row := models.OutstandingToken{JTI: family + string(rune('a'+n)), Family: family, UserID: 1, CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)}
			if err := db.Create(&row).Error; err != nil {
				t.Fatal(err)
			}
			if blacklisted {
				if err := db.Create(&models.BlacklistedToken{TokenID: row.ID, BlacklistedAt: now.Add(-blacklistedAgo)}).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		token("logged-out", time.Minute, true)
		token("rotated", time.Minute, true)
		token("rotated", 0, false)
		token("long-ago", time.Hour, true)
		token("live", 0, false)

		s := revoked.New(db, 5*time.Minute, time.Second, c.now)
		ctx := context.Background()
		want := map[string]bool{"logged-out": true, "rotated": false, "long-ago": false, "live": false, "unknown": false}
		for fam, w := range want {
			got, err := s.Revoked(ctx, fam)
			if err != nil || got != w {
				t.Errorf("%s: revoked %v %v, want %v", fam, got, err, w)
			}
		}
		// A revocation after the read is seen after the interval, or at
		// once when the set is made stale.
		token("later", 0, true)
		if got, _ := s.Revoked(ctx, "later"); got {
			t.Fatal("re-read within the interval")
		}
		c.add(time.Second)
		if got, _ := s.Revoked(ctx, "later"); !got {
			t.Fatal("not re-read after the interval")
		}
		token("stale", 0, true)
		s.Stale()
		if got, _ := s.Revoked(ctx, "stale"); !got {
			t.Fatal("Stale did not force a read")
		}
		// An entry ends one lifetime after its revocation.
		c.add(5 * time.Minute)
		if got, _ := s.Revoked(ctx, "logged-out"); got {
			t.Fatal("still revoked after its access tokens expired")
		}
	})
}

// TestSetBacksOff: a failed read answers from the last set and is not
// retried before an interval has passed (a database outage must not
// make every request wait for it).
func TestSetBacksOff(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	s := revoked.New(db, 5*time.Minute, time.Second, c.now)
	// No tables: every read fails.
	if _, err := s.Revoked(context.Background(), "f"); err == nil {
		t.Fatal("read of missing tables succeeded")
	}
	if _, err := s.Revoked(context.Background(), "f"); err != nil {
		t.Fatalf("retried within the interval: %v", err)
	}
	c.add(time.Second)
	if _, err := s.Revoked(context.Background(), "f"); err == nil {
		t.Fatal("not retried after the interval")
	}
}
