package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/models"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func setup(t *testing.T, db *gorm.DB) (*tokens.GORMStore, *clock) {
	t.Helper()
	if err := db.AutoMigrate(&models.Token{}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	return tokens.NewGORMStore(db, clk.Now), clk
}

func count(t *testing.T, db *gorm.DB, where string, args ...any) int64 {
	t.Helper()
	var n int64
	q := db.Model(&models.Token{})
	if where != "" {
		q = q.Where(where, args...)
	}
	if err := q.Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewKey(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{40}$`)
	a, err := tokens.NewKey()
	if err != nil || !re.MatchString(a) {
		t.Fatalf("NewKey = %q, %v; want 40 lowercase hex characters", a, err)
	}
	if b, _ := tokens.NewKey(); b == a {
		t.Fatal("NewKey repeated itself")
	}
}

// TestGORMStoreContract checks the Store contract on the default store:
// keys resolve to their user until deleted or expired, deletes are
// idempotent, and every miss is ErrNotFound.
func TestGORMStoreContract(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, clk := setup(t, db)
		ctx := context.Background()
		mustCreate := func(user uint, exp time.Time) string {
			t.Helper()
			k, err := s.Create(ctx, user, exp)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
		a1 := mustCreate(1, time.Time{})
		a2 := mustCreate(1, time.Time{})
		a3 := mustCreate(1, t0.Add(time.Hour))
		b1 := mustCreate(2, time.Time{})
		short := mustCreate(2, t0.Add(time.Minute))
		if a1 == a2 {
			t.Fatal("two keys are equal")
		}

		lookup := func(key string) (uint, error) { return s.User(ctx, key) }
		expect := func(step, key string, want uint) {
			t.Helper()
			got, err := lookup(key)
			switch {
			case want == 0 && !errors.Is(err, tokens.ErrNotFound):
				t.Errorf("%s: User(%.8s…) = %d, %v; want ErrNotFound", step, key, got, err)
			case want != 0 && (err != nil || got != want):
				t.Errorf("%s: User(%.8s…) = %d, %v; want %d", step, key, got, err, want)
			}
		}
		expect("fresh", a1, 1)
		expect("fresh", a2, 1)
		expect("fresh", a3, 1)
		expect("fresh", b1, 2)
		expect("fresh", short, 2)
		expect("unknown", strings.Repeat("0", 40), 0)
		expect("empty", "", 0)
		expect("other case", strings.ToUpper(a1), 0)
		expect("digest as key", secret.Digest(a1), 0)

		// Expiry: a key dies at its expiry instant.
		clk.Add(time.Minute - time.Nanosecond)
		expect("just before expiry", short, 2)
		clk.Add(time.Nanosecond)
		expect("at expiry", short, 0)
		expect("no expiry", b1, 2)

		if err := s.Delete(ctx, a1); err != nil {
			t.Fatal(err)
		}
		expect("deleted", a1, 0)
		expect("sibling of deleted", a2, 1)
		for _, k := range []string{a1, "never issued", ""} {
			if err := s.Delete(ctx, k); err != nil {
				t.Errorf("Delete of a missing key: %v", err)
			}
		}

		// DeleteUser keeps the listed keys and nobody else's.
		a4 := mustCreate(1, time.Time{})
		if err := s.DeleteUser(ctx, 1, a2, "not a key", b1); err != nil {
			t.Fatal(err)
		}
		expect("kept", a2, 1)
		expect("not kept", a3, 0)
		expect("not kept", a4, 0)
		expect("other user's", b1, 2)
		if err := s.DeleteUser(ctx, 1); err != nil {
			t.Fatal(err)
		}
		expect("delete all", a2, 0)
		expect("other user's", b1, 2)
		if err := s.DeleteUser(ctx, 1); err != nil {
			t.Errorf("DeleteUser of a user without keys: %v", err)
		}
		if n := count(t, db, "user_id = ?", 1); n != 0 {
			t.Fatalf("%d rows left for user 1", n)
		}
	})
}

func TestGORMStoreStoresOnlyDigests(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, _ := setup(t, db)
		ctx := context.Background()
		var keys []string
		for i := range 3 {
			k, err := s.Create(ctx, uint(i+1), t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k)
		}
		var rows []map[string]any
		if err := db.Table(models.Token{}.TableName()).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(keys) {
			t.Fatalf("%d rows, want %d", len(rows), len(keys))
		}
		digests := map[string]bool{}
		for _, row := range rows {
			for col, v := range row {
				text := strings.ToLower(fmt.Sprint(v))
				for _, k := range keys {
					if strings.Contains(text, k) {
						t.Errorf("column %s holds a key", col)
					}
				}
			}
			digests[fmt.Sprint(row["digest"])] = true
		}
		for _, k := range keys {
			if !digests[secret.Digest(k)] {
				t.Errorf("no row holds the digest of a key")
			}
		}
	})
}

func TestCreateJoinsTransaction(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, _ := setup(t, db)
		ctx := context.Background()
		var key string
		boom := errors.New("boom")
		err := dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
			var err error
			if key, err = s.Create(ctx, 7, time.Time{}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := s.User(ctx, key); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("key of a rolled back transaction: %v, want ErrNotFound", err)
		}
	})
}

func TestKeys(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, clk := setup(t, db)
		ctx := context.Background()
		ttl := tokens.Keys{Store: s, TTL: time.Hour, Now: clk.Now}
		forever := tokens.Keys{Store: s, Now: clk.Now}

		k1, err := ttl.Issue(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var row models.Token
		if err := db.Where("digest = ?", secret.Digest(k1)).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.ExpiresAt == nil || !row.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("expires_at = %v, want %v (now + TTL)", row.ExpiresAt, t0.Add(time.Hour))
		}
		k2, err := forever.Issue(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var row2 models.Token
		if err := db.Where("digest = ?", secret.Digest(k2)).Take(&row2).Error; err != nil {
			t.Fatal(err)
		}
		if row2.ExpiresAt != nil {
			t.Fatalf("TTL 0 stored expires_at %v", row2.ExpiresAt)
		}
		if id, err := ttl.User(ctx, k1); err != nil || id != 1 {
			t.Fatalf("User = %d, %v", id, err)
		}
		clk.Add(time.Hour)
		if _, err := ttl.User(ctx, k1); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("User after TTL = %v, want ErrNotFound", err)
		}
		if id, err := forever.User(ctx, k2); err != nil || id != 1 {
			t.Fatalf("key without expiry: %d, %v", id, err)
		}

		// Revoke and RevokeUser.
		k3, _ := forever.Issue(ctx, 1)
		k4, _ := forever.Issue(ctx, 1)
		other, _ := forever.Issue(ctx, 2)
		if err := forever.Revoke(ctx, k3); err != nil {
			t.Fatal(err)
		}
		if _, err := forever.User(ctx, k3); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("revoked key: %v", err)
		}
		if err := forever.RevokeUser(ctx, 1, k4); err != nil {
			t.Fatal(err)
		}
		if _, err := forever.User(ctx, k4); err != nil {
			t.Fatalf("kept key: %v", err)
		}
		if _, err := forever.User(ctx, k2); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("RevokeUser kept a key: %v", err)
		}
		if err := forever.RevokeUser(ctx, 1, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := forever.User(ctx, k4); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf(`RevokeUser(…, "") kept a key: %v`, err)
		}
		if id, err := forever.User(ctx, other); err != nil || id != 2 {
			t.Fatalf("another user's key: %d, %v", id, err)
		}
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s, clk := setup(t, db)
		ctx := context.Background()
		keys := tokens.Keys{Store: s, Now: clk.Now}
		for _, exp := range []time.Time{t0.Add(time.Minute), t0.Add(time.Minute), t0.Add(2 * time.Minute), {}} {
			if _, err := s.Create(ctx, 1, exp); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			advance time.Duration
			pruned  int64
			left    int64
		}{
			{0, 0, 4},
			{time.Minute - time.Second, 0, 4},
			{time.Second, 2, 2}, // exactly at expiry
			{time.Minute, 1, 1},
			{24 * time.Hour, 0, 1}, // no expiry: kept
		}
		for i, st := range steps {
			clk.Add(st.advance)
			n, err := keys.Prune(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != st.pruned {
				t.Errorf("step %d: Prune = %d, want %d", i, n, st.pruned)
			}
			if left := count(t, db, ""); left != st.left {
				t.Errorf("step %d: %d rows left, want %d", i, left, st.left)
			}
		}
	})
}

// storeOnly is a Store without PruneExpired.
type storeOnly struct{ tokens.Store }

func TestPruneWithoutPruner(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	s, clk := setup(t, db)
	if _, err := s.Create(context.Background(), 1, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	keys := tokens.Keys{Store: storeOnly{s}, Now: clk.Now}
	if n, err := keys.Prune(context.Background()); n != 0 || err != nil {
		t.Fatalf("Prune = %d, %v; want 0, nil", n, err)
	}
	if left := count(t, db, ""); left != 1 {
		t.Fatalf("%d rows, want 1 (the store cannot prune)", left)
	}
}
