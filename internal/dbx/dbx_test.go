package dbx_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/testdb"
)

type item struct {
	ID   uint `gorm:"primaryKey"`
	Name string
}

func names(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	var out []string
	if err := db.Model(&item{}).Order("name").Pluck("name", &out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDBWithoutTx(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, "v")
	got := dbx.DB(ctx, db)
	if got.Statement.Context != ctx {
		t.Fatal("DB did not bind ctx")
	}
	// A nil transaction in the context falls back to db.
	if got := dbx.DB(dbx.WithTx(ctx, nil), db); got.Statement.Context.Value(key{}) != "v" {
		t.Fatal("DB with a nil tx lost ctx")
	}
}

func TestTransaction(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		if err := db.AutoMigrate(&item{}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		boom := errors.New("boom")

		// fn's context carries the transaction: a write through
		// dbx.DB(ctx, db) inside it is rolled back with it.
		err := dbx.Transaction(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
			if err := dbx.DB(ctx, db).Create(&item{Name: "rolled back"}).Error; err != nil {
				return err
			}
			// Visible inside the transaction...
			var n int64
			if err := dbx.DB(ctx, db).Model(&item{}).Count(&n).Error; err != nil || n != 1 {
				t.Errorf("inside tx: count %d, %v; want 1", n, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transaction = %v, want fn's error", err)
		}
		if got := names(t, db); len(got) != 0 {
			t.Fatalf("rolled back transaction left %v", got)
		}

		// A nested Transaction joins the outer one as a savepoint: the
		// inner failure undoes only the inner write, the outer commit
		// keeps the rest, and the outer rollback would undo both.
		err = dbx.Transaction(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
			if err := tx.Create(&item{Name: "outer"}).Error; err != nil {
				return err
			}
			inner := dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
				if err := dbx.DB(ctx, db).Create(&item{Name: "inner"}).Error; err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(inner, boom) {
				t.Errorf("inner Transaction = %v, want boom", inner)
			}
			return dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
				return dbx.DB(ctx, db).Create(&item{Name: "inner2"}).Error
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(t, db); len(got) != 2 || got[0] != "inner2" || got[1] != "outer" {
			t.Fatalf("after nested transactions: %v, want [inner2 outer]", got)
		}

		// The outer rollback undoes an inner committed savepoint.
		err = dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
			if err := dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
				return dbx.DB(ctx, db).Create(&item{Name: "gone"}).Error
			}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Transaction = %v", err)
		}
		if got := names(t, db); len(got) != 2 {
			t.Fatalf("outer rollback kept the inner write: %v", got)
		}
	})
}
