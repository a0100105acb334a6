package users_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
)

// TestHotLookupsKeepPreparedStatements: on SQLite the two queries of
// authenticated requests are prepared once and reused; elsewhere the
// driver's own cache serves.
func TestHotLookupsKeepPreparedStatements(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		if err := db.AutoMigrate(&models.Token{}); err != nil {
			t.Fatal(err)
		}
		u := create(t, us, "prep", "prep@example.com", true)
		digest := strings.Repeat("a", 64)
		if err := db.Create(&models.Token{Digest: digest, UserID: u.ID, CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for range 3 {
			if got, err := us.ByTokenDigest(ctx, digest, time.Now()); err != nil || got == nil || got.ID != u.ID {
				t.Fatalf("by token: %+v %v", got, err)
			}
			if got, err := us.ByID(ctx, u.ID); err != nil || got == nil || got.Username != "prep" {
				t.Fatalf("by id: %+v %v", got, err)
			}
			if got, err := us.ByID(ctx, u.ID+1000); err != nil || got != nil {
				t.Fatalf("unknown id: %+v %v", got, err)
			}
		}
		n, on := users.Prepared(us)
		if sqlite := db.Dialector.Name() == "sqlite"; on != sqlite || (sqlite && n != 2) {
			t.Fatalf("prepared statements: %d (on=%v), want 2 on SQLite only", n, on)
		}
	})
}

// TestHotLookupsSurviveSchemaChanges: an app that adds a column, or a
// table that is briefly away, never leaves the lookups failing on a stale
// statement.
func TestHotLookupsSurviveSchemaChanges(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		if err := db.AutoMigrate(&models.Token{}); err != nil {
			t.Fatal(err)
		}
		u := create(t, us, "alter", "alter@example.com", true)
		digest := strings.Repeat("b", 64)
		if err := db.Create(&models.Token{Digest: digest, UserID: u.ID, CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		check := func(when string) {
			t.Helper()
			if got, err := us.ByTokenDigest(ctx, digest, time.Now()); err != nil || got == nil || got.Username != "alter" {
				t.Fatalf("%s: by token: %+v %v", when, got, err)
			}
			if got, err := us.ByID(ctx, u.ID); err != nil || got == nil || got.Email != "alter@example.com" {
				t.Fatalf("%s: by id: %+v %v", when, got, err)
			}
		}
		check("before")
		table := us.Table()
		if err := db.Exec("ALTER TABLE " + table + " ADD COLUMN shoe_size integer").Error; err != nil {
			t.Fatal(err)
		}
		check("after ADD COLUMN")
		if err := db.Exec("ALTER TABLE restauth_tokens RENAME TO tokens_away").Error; err != nil {
			t.Fatal(err)
		}
		if _, err := us.ByTokenDigest(ctx, digest, time.Now()); err == nil {
			t.Fatal("by token with the table away: no error")
		}
		if err := db.Exec("ALTER TABLE tokens_away RENAME TO restauth_tokens").Error; err != nil {
			t.Fatal(err)
		}
		check("table back")
	})
}

// hooked is a user type with an AfterFind hook: the prepared lookups
// still run GORM's callbacks. The hook queries through the session it is
// given, in a transaction, with SQL that changes every time.
type hooked struct {
	models.User
	Loaded bool  `gorm:"-"`
	Sum    int64 `gorm:"-"`
}

func (h *hooked) AfterFind(tx *gorm.DB) error {
	h.Loaded = true
	// Through the lookup's own pool: a query of its own, and a transaction.
	db := tx.Session(&gorm.Session{})
	if err := db.Raw(fmt.Sprintf("SELECT %d + 1", h.ID*1000+uint(time.Now().UnixNano()%1000))).Scan(&h.Sum).Error; err != nil {
		return err
	}
	return db.Transaction(func(tx *gorm.DB) error {
		var one int
		return tx.Raw("SELECT 1").Scan(&one).Error
	})
}

func TestHotLookupsRunAfterFindHooks(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	if err := db.AutoMigrate(&hooked{}); err != nil {
		t.Fatal(err)
	}
	us, err := users.New[hooked](db, time.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	u := &hooked{User: models.User{Username: "hook", IsActive: true}}
	if err := db.Create(u).Error; err != nil {
		t.Fatal(err)
	}
	for range 5 {
		got, err := us.ByID(context.Background(), u.ID)
		if err != nil || got == nil || !got.Loaded || got.Sum == 0 {
			t.Fatalf("AfterFind did not run, or its query failed: %+v %v", got, err)
		}
	}
	if n, on := users.Prepared(us); !on || n != 1 {
		t.Fatalf("prepared statements: %d (on=%v), want 1", n, on)
	}
}

// TestHotLookupsKeepStatementsOnCancel: a request whose context ended
// does not throw away the statement every other request uses.
func TestHotLookupsKeepStatementsOnCancel(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	us, _ := setup(t, db)
	u := create(t, us, "cancel", "cancel@example.com", true)
	if got, err := us.ByID(context.Background(), u.ID); err != nil || got == nil {
		t.Fatalf("by id: %v %v", got, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := us.ByID(ctx, u.ID); err == nil {
		t.Fatal("by id with an ended context: no error")
	}
	if n, _ := users.Prepared(us); n != 1 {
		t.Fatalf("prepared statements after a cancelled request: %d, want 1", n)
	}
	if got, err := us.ByID(context.Background(), u.ID); err != nil || got == nil {
		t.Fatalf("by id after: %v %v", got, err)
	}
}
