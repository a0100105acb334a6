package confirm_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	expire   = 72 * time.Hour
	cooldown = 3 * time.Minute
)

func setup(t *testing.T, db *gorm.DB) (*confirm.Confirmations, *clock) {
	t.Helper()
	clk := &clock{t: t0}
	c := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: expire, Cooldown: cooldown, Now: clk.Now}
	if err := c.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c, clk
}

func add(t *testing.T, c *confirm.Confirmations, user uint, email string, primary, verified bool) uint {
	t.Helper()
	id, err := c.AddAddress(context.Background(), models.EmailAddress{UserID: user, Email: email, Primary: primary, Verified: verified})
	if err != nil {
		t.Fatalf("AddAddress(%s): %v", email, err)
	}
	return id
}

func newKey(t *testing.T, c *confirm.Confirmations, addr uint) string {
	t.Helper()
	k, err := c.NewKey(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func address(t *testing.T, db *gorm.DB, id uint) models.EmailAddress {
	t.Helper()
	var a models.EmailAddress
	if err := db.Take(&a, id).Error; err != nil {
		t.Fatal(err)
	}
	return a
}

func confirmations(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.EmailConfirmation{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAddAddress(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		ctx := context.Background()
		id := add(t, c, 1, "Alice@Example.com", true, false)
		// Stored with its domain lower-cased (Django's normalize_email).
		if a := address(t, db, id); a.UserID != 1 || a.Email != "Alice@example.com" || !a.Primary || a.Verified {
			t.Fatalf("stored %+v", a)
		}
		for _, tc := range []struct {
			user  uint
			email string
		}{
			{2, "Alice@Example.com"},
			{2, "alice@example.COM"},
			{1, "ALICE@example.com"}, // the same user twice too
			{2, "ＡＬＩＣＥ@example.com"}, // fullwidth
		} {
			if _, err := c.AddAddress(ctx, models.EmailAddress{UserID: tc.user, Email: tc.email, Primary: false, Verified: false}); !errors.Is(err, confirm.ErrAddressTaken) {
				t.Errorf("AddAddress(%d, %s) = %v, want ErrAddressTaken", tc.user, tc.email, err)
			}
		}
		// Another failure is not "taken".
		notUnique := *c
		notUnique.Unique = func(error) (string, bool) { return "", false }
		if _, err := notUnique.AddAddress(ctx, models.EmailAddress{UserID: 2, Email: "alice@example.com", Primary: false, Verified: false}); err == nil || errors.Is(err, confirm.ErrAddressTaken) {
			t.Fatalf("AddAddress with a non-unique error = %v", err)
		}

		taken := []struct {
			email string
			want  bool
		}{{"ALICE@example.com", true}, {"bob@example.com", false}, {"", false}}
		for _, tc := range taken {
			if got, err := c.EmailTaken(ctx, tc.email); err != nil || got != tc.want {
				t.Errorf("EmailTaken(%s) = %v, %v; want %v", tc.email, got, err, tc.want)
			}
		}
	})
}

func TestHasVerified(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		add(t, c, 1, "a@example.com", true, false)
		add(t, c, 2, "b@example.com", true, true)
		add(t, c, 2, "b2@example.com", false, false)
		for _, tc := range []struct {
			user uint
			want bool
		}{{1, false}, {2, true}, {3, false}} {
			if got, err := c.HasVerified(context.Background(), tc.user); err != nil || got != tc.want {
				t.Errorf("HasVerified(%d) = %v, %v; want %v", tc.user, got, err, tc.want)
			}
		}
	})
}

func TestNewKeyStoresOnlyTheVerifierDigest(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	c, _ := setup(t, db)
	addr := add(t, c, 1, "a@example.com", true, false)
	key := newKey(t, c, addr)
	if !regexp.MustCompile(`^[0-9a-f]{32}-[0-9a-f]{64}$`).MatchString(key) {
		t.Fatalf("key %q, want <32 hex>-<64 hex>", key)
	}
	selector, verifier, _ := strings.Cut(key, "-")
	var row models.EmailConfirmation
	if err := db.Take(&row).Error; err != nil {
		t.Fatal(err)
	}
	if row.Selector != selector || row.VerifierHash != secret.Digest(verifier) || row.EmailAddressID != addr || !row.CreatedAt.Equal(t0) {
		t.Fatalf("row %+v", row)
	}
	if strings.Contains(row.VerifierHash, verifier) {
		t.Fatal("the verifier is stored")
	}
	if other := newKey(t, c, addr); other == key {
		t.Fatal("two keys are equal")
	}
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, clk := setup(t, db)
		ctx := context.Background()
		old := add(t, c, 1, "old@example.com", true, true)
		other := add(t, c, 1, "other@example.com", false, false)
		addr := add(t, c, 1, "new@example.com", false, false)
		bobs := add(t, c, 2, "bob@example.com", true, false)
		key := newKey(t, c, addr)
		sibling := newKey(t, c, addr) // a second key for the same address
		bobKey := newKey(t, c, bobs)
		selector, verifier, _ := strings.Cut(key, "-")
		flipped := []byte(verifier)
		flipped[0] ^= 1

		bad := []struct {
			name string
			key  string
		}{
			{"empty", ""},
			{"no dash", selector + verifier},
			{"short selector", selector[1:] + "-" + verifier},
			{"short verifier", selector + "-" + verifier[1:]},
			{"long verifier", key + "0"},
			{"unknown selector", strings.Repeat("0", 32) + "-" + verifier},
			{"wrong verifier", selector + "-" + string(flipped)},
			{"another key's verifier", selector + "-" + strings.SplitN(bobKey, "-", 2)[1]},
			{"verifier digest", selector + "-" + secret.Digest(verifier)},
		}
		for _, tc := range bad {
			if id, err := c.Confirm(ctx, tc.key); !errors.Is(err, confirm.ErrNotFound) {
				t.Errorf("%s: Confirm = %d, %v; want ErrNotFound", tc.name, id, err)
			}
		}
		if a := address(t, db, addr); a.Verified {
			t.Fatal("a bad key verified the address")
		}

		clk.Set(t0.Add(expire)) // exactly at the end of its life: still good
		id, err := c.Confirm(ctx, key)
		if err != nil || id != 1 {
			t.Fatalf("Confirm = %d, %v; want 1", id, err)
		}
		if a := address(t, db, addr); !a.Verified || !a.Primary {
			t.Fatalf("confirmed address %+v, want verified and primary", a)
		}
		if a := address(t, db, old); a.Primary || !a.Verified {
			t.Fatalf("old primary %+v, want verified, not primary", a)
		}
		if a := address(t, db, other); a.Primary || a.Verified {
			t.Fatalf("other address %+v", a)
		}
		if a := address(t, db, bobs); !a.Primary || a.Verified {
			t.Fatalf("another user's address changed: %+v", a)
		}
		// Single use, and the address's other keys went with it.
		for _, k := range []string{key, sibling} {
			if _, err := c.Confirm(ctx, k); !errors.Is(err, confirm.ErrNotFound) {
				t.Errorf("used address's key: Confirm = %v, want ErrNotFound", err)
			}
		}
		if n := confirmations(t, db); n != 1 {
			t.Fatalf("%d confirmations left, want bob's only", n)
		}
		// Expired: one second past its life.
		clk.Set(t0.Add(expire + time.Second))
		if _, err := c.Confirm(ctx, bobKey); !errors.Is(err, confirm.ErrNotFound) {
			t.Fatalf("expired key: %v", err)
		}
		if a := address(t, db, bobs); a.Verified {
			t.Fatal("an expired key verified the address")
		}
	})
}

func TestConfirmConcurrent(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		key := newKey(t, c, add(t, c, 1, "a@example.com", true, false))
		const n = 3
		// Every Confirm reads the key's row before any goes on, so all
		// of them see it unused.
		var readers sync.WaitGroup
		readers.Add(n)
		var reads atomic.Int32
		err := db.Callback().Query().After("gorm:query").Register("test:barrier", func(tx *gorm.DB) {
			if tx.Statement.Table == (models.EmailConfirmation{}).TableName() && reads.Add(1) <= n {
				readers.Done()
				readers.Wait()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := c.Confirm(context.Background(), key)
				errs <- err
			}()
		}
		var ok int
		for range n {
			err := <-errs
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, confirm.ErrNotFound):
				t.Errorf("Confirm: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent confirmations succeeded, want 1", ok)
		}
	})
}

func TestConfirmDeletedAddress(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	c, _ := setup(t, db)
	addr := add(t, c, 1, "a@example.com", true, false)
	key := newKey(t, c, addr)
	if err := db.Delete(&models.EmailAddress{}, addr).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Confirm(context.Background(), key); !errors.Is(err, confirm.ErrNotFound) {
		t.Fatalf("key of a deleted address: %v, want ErrNotFound", err)
	}
}

func TestMarkVerified(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		ctx := context.Background()
		first := add(t, c, 1, "first@example.com", true, true)
		second := add(t, c, 1, "Second@Example.com", false, false)
		bobs := add(t, c, 2, "bob@example.com", true, false)

		// Existing address, other case: updated, made the only primary.
		if err := c.MarkVerified(ctx, 1, "second@example.COM"); err != nil {
			t.Fatal(err)
		}
		if a := address(t, db, second); !a.Verified || !a.Primary || a.Email != "Second@example.com" {
			t.Fatalf("second %+v", a)
		}
		if a := address(t, db, first); a.Primary {
			t.Fatalf("first still primary: %+v", a)
		}
		// Missing address: added verified and primary.
		if err := c.MarkVerified(ctx, 1, "third@example.com"); err != nil {
			t.Fatal(err)
		}
		var third models.EmailAddress
		if err := db.Where("email = ?", "third@example.com").Take(&third).Error; err != nil {
			t.Fatal(err)
		}
		if third.UserID != 1 || !third.Verified || !third.Primary {
			t.Fatalf("third %+v", third)
		}
		if a := address(t, db, bobs); !a.Primary || a.Verified {
			t.Fatalf("bob's address changed: %+v", a)
		}
		// Another user's address: taken.
		if err := c.MarkVerified(ctx, 1, "BOB@example.com"); !errors.Is(err, confirm.ErrAddressTaken) {
			t.Fatalf("MarkVerified of bob's address = %v, want ErrAddressTaken", err)
		}
		if a := address(t, db, bobs); a.Verified || a.UserID != 2 {
			t.Fatalf("bob's address changed: %+v", a)
		}
	})
}

// TestMarkVerifiedAddedAddressIsOnlyPrimary: MarkVerified does what a
// confirmation does (the address verified and the user's only primary
// one) also when it adds the address; the user's old primary address is
// demoted, not left as a second primary.
func TestMarkVerifiedAddedAddressIsOnlyPrimary(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		ctx := context.Background()
		old := add(t, c, 1, "old@example.com", true, false)
		if err := c.MarkVerified(ctx, 1, "new@example.com"); err != nil {
			t.Fatal(err)
		}
		var primaries []string
		if err := db.Model(&models.EmailAddress{}).Where("user_id = ? AND is_primary = ?", 1, true).
			Order("email").Pluck("email", &primaries).Error; err != nil {
			t.Fatal(err)
		}
		if len(primaries) != 1 || primaries[0] != "new@example.com" {
			t.Errorf("primary addresses %v, want only new@example.com", primaries)
		}
		if a := address(t, db, old); a.Verified {
			t.Errorf("old address verified: %+v", a)
		}
	})
}

func TestForResend(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, clk := setup(t, db)
		ctx := context.Background()
		fresh := add(t, c, 1, "Fresh@Example.com", true, false)
		recent := add(t, c, 2, "recent@example.com", true, false)
		add(t, c, 3, "verified@example.com", true, true)
		newKey(t, c, recent) // at t0
		clk.Set(t0.Add(time.Minute))
		noCooldown := *c
		noCooldown.Cooldown = 0

		tests := []struct {
			name  string
			c     *confirm.Confirmations
			at    time.Time
			email string
			want  uint // 0: nil
		}{
			{"no key yet, other case", c, t0.Add(time.Minute), "fresh@EXAMPLE.com", fresh},
			{"unknown", c, t0.Add(time.Minute), "nobody@example.com", 0},
			{"verified", c, t0.Add(time.Minute), "verified@example.com", 0},
			{"verified, no cooldown", &noCooldown, t0.Add(time.Minute), "verified@example.com", 0},
			{"key within the cooldown", c, t0.Add(time.Minute), "recent@example.com", 0},
			{"key just inside the cooldown", c, t0.Add(cooldown - time.Second), "recent@example.com", 0},
			{"key at the end of the cooldown", c, t0.Add(cooldown), "recent@example.com", recent},
			{"cooldown 0 means none", &noCooldown, t0.Add(time.Second), "recent@example.com", recent},
		}
		for _, tc := range tests {
			clk.Set(tc.at)
			a, err := tc.c.ForResend(ctx, tc.email)
			switch {
			case err != nil:
				t.Errorf("%s: %v", tc.name, err)
			case tc.want == 0 && a != nil:
				t.Errorf("%s: ForResend = address %d, want nil", tc.name, a.ID)
			case tc.want != 0 && (a == nil || a.ID != tc.want):
				t.Errorf("%s: ForResend = %+v, want address %d", tc.name, a, tc.want)
			}
		}
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, clk := setup(t, db)
		ctx := context.Background()
		addr := add(t, c, 1, "a@example.com", true, false)
		newKey(t, c, addr)
		newKey(t, c, addr)
		clk.Set(t0.Add(time.Hour))
		late := newKey(t, c, addr)
		steps := []struct {
			at     time.Time
			pruned int64
			left   int64
		}{
			{t0.Add(expire - time.Second), 0, 3},
			{t0.Add(expire + time.Second), 2, 1},
			{t0.Add(expire + time.Hour + time.Second), 1, 0},
		}
		for i, st := range steps {
			clk.Set(st.at)
			n, err := c.Prune(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != st.pruned || confirmations(t, db) != st.left {
				t.Errorf("step %d: Prune = %d with %d left, want %d with %d", i, n, confirmations(t, db), st.pruned, st.left)
			}
		}
		clk.Set(t0.Add(time.Hour))
		if _, err := c.Confirm(ctx, late); !errors.Is(err, confirm.ErrNotFound) {
			t.Fatalf("pruned key: %v", err)
		}
	})
}

func TestJoinsTransaction(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c, _ := setup(t, db)
		boom := errors.New("boom")
		err := dbx.Transaction(context.Background(), db, func(ctx context.Context, _ *gorm.DB) error {
			id, err := c.AddAddress(ctx, models.EmailAddress{UserID: 1, Email: "a@example.com", Primary: true, Verified: false})
			if err != nil {
				return err
			}
			if _, err := c.NewKey(ctx, id); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if taken, _ := c.EmailTaken(context.Background(), "a@example.com"); taken || confirmations(t, db) != 0 {
			t.Fatal("rolled back rows remain")
		}
	})
}
