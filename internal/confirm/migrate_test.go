package confirm_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// legacyAddress is the address table as an earlier version made it: no
// email_key.
type legacyAddress struct {
	ID       uint   `gorm:"primaryKey"`
	UserID   uint   `gorm:"not null;index"`
	Email    string `gorm:"size:254;not null"`
	Verified bool   `gorm:"not null"`
	Primary  bool   `gorm:"column:is_primary;not null"`
}

func (legacyAddress) TableName() string { return "restauth_email_addresses" }

func legacyAddresses(t *testing.T, db *gorm.DB, oldIndex bool, emails ...string) {
	t.Helper()
	if err := db.AutoMigrate(&legacyAddress{}); err != nil {
		t.Fatal(err)
	}
	if oldIndex {
		if err := db.Exec("CREATE UNIQUE INDEX restauth_email_addresses_email_ci ON ? (lower(email))",
			clause.Table{Name: "restauth_email_addresses"}).Error; err != nil {
			t.Fatal(err)
		}
	}
	for i, e := range emails {
		if err := db.Create(&legacyAddress{UserID: uint(i + 1), Email: e}).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func keys(t *testing.T, db *gorm.DB) map[string]string {
	t.Helper()
	var rows []models.EmailAddress
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.Email] = r.EmailKey
	}
	return out
}

func TestMigrateBackfills(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		emails := []string{"Élan@EXAMPLE.com", "STRASSE@x.de"}
		for i := range 600 { // more than a batch
			emails = append(emails, fmt.Sprintf("User%04d@Example.COM", i))
		}
		legacyAddresses(t, db, true, emails...)
		c := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: expire, Now: (&clock{t: t0}).Now}
		ctx := context.Background()
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got := keys(t, db)
		if got["Élan@EXAMPLE.com"] != "élan@example.com" || got["STRASSE@x.de"] != "strasse@x.de" {
			t.Errorf("keys %q %q", got["Élan@EXAMPLE.com"], got["STRASSE@x.de"])
		}
		for i := range 600 {
			e := fmt.Sprintf("User%04d@Example.COM", i)
			if k := got[e]; k != strings.ToLower(e) {
				t.Fatalf("key of %s = %q", e, k)
			}
		}
		m := db.Migrator()
		if m.HasIndex("restauth_email_addresses", "restauth_email_addresses_email_ci") || !m.HasIndex("restauth_email_addresses", "restauth_email_addresses_email_key_ci") {
			t.Error("indexes not replaced")
		}
		// Lookups and uniqueness by key, on SQLite too.
		for _, e := range []string{"ÉLAN@example.com", "straße@X.DE"} {
			if taken, err := c.EmailTaken(ctx, e); err != nil || !taken {
				t.Errorf("EmailTaken(%s) = %v, %v", e, taken, err)
			}
			if _, err := c.AddAddress(ctx, models.EmailAddress{UserID: 99, Email: e}); err != confirm.ErrAddressTaken {
				t.Errorf("AddAddress(%s) = %v, want ErrAddressTaken", e, err)
			}
		}
		if a, err := c.ForResend(ctx, "élan@example.COM"); err != nil || a == nil || a.UserID != 1 {
			t.Errorf("ForResend = %+v, %v", a, err)
		}
		if err := c.MarkVerified(ctx, 2, "straße@x.de"); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Model(&models.EmailAddress{}).Where("user_id = ?", 2).Count(&n)
		if n != 1 {
			t.Errorf("MarkVerified added a second address for user 2 (%d rows)", n)
		}
		// A row written by raw SQL since gets its key from the next
		// Migrate; one that collides fails it.
		if err := db.Exec("INSERT INTO restauth_email_addresses (user_id, email, verified, is_primary) VALUES (?, ?, ?, ?)", 7, "Raw@X.DE", false, false).Error; err != nil {
			t.Fatal(err)
		}
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if k := keys(t, db)["Raw@X.DE"]; k != "raw@x.de" {
			t.Errorf("raw row key %q", k)
		}
		if err := db.Exec("INSERT INTO restauth_email_addresses (user_id, email, verified, is_primary) VALUES (?, ?, ?, ?)", 8, "RAW@x.de", false, false).Error; err != nil {
			t.Fatal(err)
		}
		if err := c.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "(user 7)") || !strings.Contains(err.Error(), "(user 8)") {
			t.Fatalf("Migrate with a colliding raw row = %v", err)
		}
	})
}

func TestMigrateDuplicateAddresses(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		// lower() keeps these apart; the key does not.
		legacyAddresses(t, db, true, "a@example.com", "STRASSE@x.de", "straße@x.de")
		c := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: expire, Now: (&clock{t: t0}).Now}
		ctx := context.Background()
		err := c.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "2 (user 2) and 3 (user 3)") {
			t.Fatalf("Migrate = %v, want an error naming addresses 2 and 3", err)
		}
		for e, k := range keys(t, db) {
			if k != "" {
				t.Errorf("%s has key %q after the failed Migrate", e, k)
			}
		}
		if !db.Migrator().HasIndex("restauth_email_addresses", "restauth_email_addresses_email_ci") {
			t.Error("the failed Migrate dropped the old index")
		}
		if err := db.Exec("DELETE FROM restauth_email_addresses WHERE id = 3").Error; err != nil {
			t.Fatal(err)
		}
		if err := c.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
