package users_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
)

// legacyMember is the members table as an earlier version made it: no
// key columns. It is no models.UserModel, so no callback sets keys.
type legacyMember struct {
	ID          uint      `gorm:"primaryKey"`
	Username    string    `gorm:"size:150;not null"`
	Email       string    `gorm:"size:254;not null"`
	Password    string    `gorm:"size:255;not null"`
	FirstName   string    `gorm:"size:150;not null"`
	LastName    string    `gorm:"size:150;not null"`
	IsActive    bool      `gorm:"not null"`
	IsStaff     bool      `gorm:"not null"`
	IsSuperuser bool      `gorm:"not null"`
	DateJoined  time.Time `gorm:"not null"`
}

func (legacyMember) TableName() string { return "members" }

// legacy makes the pre-upgrade table with rows (name, email pairs) and,
// when oldIndexes, the lower() indexes of earlier versions.
func legacy(t *testing.T, db *gorm.DB, oldIndexes bool, rows ...string) {
	t.Helper()
	if err := db.AutoMigrate(&legacyMember{}); err != nil {
		t.Fatal(err)
	}
	if oldIndexes {
		for _, ix := range []struct{ name, expr string }{
			{"members_username_ci", "(lower(username))"},
			{"members_email_ci", "(lower(email)) WHERE email <> ''"},
		} {
			if err := db.Exec("CREATE UNIQUE INDEX "+ix.name+" ON ? "+ix.expr, clause.Table{Name: "members"}).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	var list []legacyMember
	for i := 0; i+1 < len(rows); i += 2 {
		list = append(list, legacyMember{Username: rows[i], Email: rows[i+1], Password: "hash", IsActive: true, DateJoined: t0})
	}
	if len(list) > 0 {
		if err := db.CreateInBatches(list, 200).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func newStore(t *testing.T, db *gorm.DB) *users.Users[member] {
	t.Helper()
	us, err := users.New[member](db, time.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	return us
}

type keyRow struct {
	Username, Email, UsernameKey, EmailKey string
}

func keyRows(t *testing.T, db *gorm.DB) map[string]keyRow {
	t.Helper()
	var rows []keyRow
	if err := db.Table("members").Select("username", "email", "username_key", "email_key").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]keyRow{}
	for _, r := range rows {
		out[r.Username] = r
	}
	return out
}

// TestMigrateBackfills: an earlier version's table gets its key columns
// filled, its lower() indexes replaced by the key indexes, and its users
// are found and kept unique by key.
func TestMigrateBackfills(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		rows := []string{"élan", "Elan@EXAMPLE.com", "Main", "main@example.com", "noemail", "", "", "nameless@example.com"}
		// More than a batch, so that backfill pages.
		for i := range 1100 {
			rows = append(rows, fmt.Sprintf("User%04d", i), fmt.Sprintf("U%04d@Example.COM", i))
		}
		legacy(t, db, true, rows...)
		us := newStore(t, db)
		ctx := context.Background()
		if err := us.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got := keyRows(t, db)
		want := map[string]keyRow{
			"élan":    {"élan", "Elan@EXAMPLE.com", "élan", "elan@example.com"},
			"Main":    {"Main", "main@example.com", "main", "main@example.com"},
			"noemail": {"noemail", "", "noemail", ""},
			"":        {"", "nameless@example.com", "", "nameless@example.com"},
		}
		for name, w := range want {
			if got[name] != w {
				t.Errorf("row %q = %+v, want %+v (stored values unchanged, keys filled)", name, got[name], w)
			}
		}
		for i := range 1100 {
			name := fmt.Sprintf("User%04d", i)
			if r := got[name]; r.UsernameKey != strings.ToLower(name) || r.EmailKey != strings.ToLower(fmt.Sprintf("U%04d@Example.COM", i)) {
				t.Fatalf("row %s = %+v", name, r)
			}
		}
		m := db.Migrator()
		for _, ix := range []string{"members_username_ci", "members_email_ci"} {
			if m.HasIndex("members", ix) {
				t.Errorf("old index %s kept", ix)
			}
		}
		for _, ix := range []string{"members_username_key_ci", "members_email_key_ci"} {
			if !m.HasIndex("members", ix) {
				t.Errorf("index %s missing", ix)
			}
		}
		// Lookups by key find the migrated rows.
		for _, tc := range []struct{ name, find string }{{"élan", "ÉLAN"}, {"Main", "ｍａｉｎ"}, {"User0999", "ＵＳＥＲ0999"}} {
			u, err := us.ByUsername(ctx, tc.find)
			if err != nil || u == nil || u.Username != tc.name {
				t.Errorf("ByUsername(%q) = %v, %v; want %s", tc.find, u, err, tc.name)
			}
		}
		if u, err := us.ByEmail(ctx, "ELAN@example.com"); err != nil || u == nil || u.Username != "élan" {
			t.Errorf("ByEmail(ELAN@example.com) = %v, %v", u, err)
		}
		// The key indexes hold: "ÉLAN" is élan on SQLite too.
		for _, tc := range []struct {
			name, email string
			want        error
		}{
			{"ÉLAN", "", users.ErrUsernameTaken},
			{"other", "ELAN@example.com", users.ErrEmailTaken},
		} {
			if err := us.Create(ctx, &member{User: models.User{Username: tc.name, Email: tc.email}}); err != tc.want {
				t.Errorf("Create(%s, %s) = %v, want %v", tc.name, tc.email, err, tc.want)
			}
		}
		// A second Migrate changes nothing.
		if err := us.Migrate(ctx); err != nil {
			t.Fatalf("second Migrate: %v", err)
		}

		// A row written by raw SQL since (no keys) gets them from the
		// next Migrate; one that collides with a user fails it, naming
		// both.
		insert := func(name, email string) {
			t.Helper()
			err := db.Exec("INSERT INTO members (username, email, password, first_name, last_name, is_active, is_staff, is_superuser, date_joined) VALUES (?, ?, '', '', '', ?, ?, ?, ?)",
				name, email, true, false, false, t0).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		insert("Raw", "Raw@X.DE")
		if err := us.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if r := keyRows(t, db)["Raw"]; r.UsernameKey != "raw" || r.EmailKey != "raw@x.de" {
			t.Errorf("raw row %+v", r)
		}
		insert("ＲＡＷ", "")
		err := us.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), `"Raw"`) || !strings.Contains(err.Error(), `"ＲＡＷ"`) {
			t.Fatalf("Migrate with a colliding raw row = %v, want an error naming Raw and ＲＡＷ", err)
		}
	})
}

// TestMigrateDuplicates: users that an earlier version kept apart but
// that fold to one key fail Migrate with an error naming both, and leave
// the database as it was; once one is renamed, Migrate succeeds.
func TestMigrateDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		rows   []string
		names  []string
		what   string
		rename string // the raw SQL that settles it
	}{
		{"sharp s", []string{"STRASSE", "a@example.com", "straße", "b@example.com"}, []string{"STRASSE", "straße"}, "usernames",
			"UPDATE members SET username = 'strasse2' WHERE username = 'straße'"},
		{"fullwidth", []string{"main", "", "ｍain", ""}, []string{"main", "ｍain"}, "usernames",
			"UPDATE members SET username = 'main2' WHERE username = 'ｍain'"},
		{"email case", []string{"bob1", "Bob@example.com", "bob2", "BOB@EXAMPLE.COM"}, []string{"bob1", "bob2"}, "email addresses",
			"UPDATE members SET email = 'bob2@example.com' WHERE username = 'bob2'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				// The old username index holds: lower() tells these apart.
				legacy(t, db, false, tc.rows...)
				if err := db.Exec("CREATE UNIQUE INDEX members_username_ci ON ? (lower(username))", clause.Table{Name: "members"}).Error; err != nil {
					t.Fatal(err)
				}
				us := newStore(t, db)
				ctx := context.Background()
				err := us.Migrate(ctx)
				if err == nil {
					t.Fatal("Migrate accepted two users with one key")
				}
				for _, n := range tc.names {
					if !strings.Contains(err.Error(), fmt.Sprintf("%q", n)) {
						t.Errorf("error %q does not name %q", err, n)
					}
				}
				if !strings.Contains(err.Error(), tc.what) {
					t.Errorf("error %q does not say %s", err, tc.what)
				}
				// Rolled back: no keys, the old index in place, no new one.
				for name, r := range keyRows(t, db) {
					if r.UsernameKey != "" || r.EmailKey != "" {
						t.Errorf("row %s has keys after the failed Migrate: %+v", name, r)
					}
				}
				if m := db.Migrator(); !m.HasIndex("members", "members_username_ci") || m.HasIndex("members", "members_username_key_ci") {
					t.Error("the failed Migrate changed the indexes")
				}
				if err := db.Exec(tc.rename).Error; err != nil {
					t.Fatal(err)
				}
				if err := us.Migrate(ctx); err != nil {
					t.Fatalf("Migrate after the rename: %v", err)
				}
				if u, err := us.ByUsername(ctx, tc.names[0]); err != nil || u == nil {
					t.Errorf("ByUsername(%s) after the migration = %v, %v", tc.names[0], u, err)
				}
			})
		})
	}
}

// TestCreateNormalises: Create stores the NFKC username and the email with
// its domain lower-cased, and shows them in u; SaveChanged stores a new
// username normalised; names that normalisation makes too long are field
// errors.
func TestCreateNormalises(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		u := &member{User: models.User{Username: "ｍain2", Email: "Bob@EXAMPLE.COM"}}
		if err := us.Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.Username != "main2" || u.Email != "Bob@example.com" {
			t.Errorf("u after Create = %q %q", u.Username, u.Email)
		}
		if r := keyRows(t, db)["main2"]; r != (keyRow{"main2", "Bob@example.com", "main2", "bob@example.com"}) {
			t.Errorf("stored %+v", r)
		}
		snap, err := us.Snapshot(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		u.Username = "ＭＡＩＮ3"
		if err := us.SaveChanged(ctx, snap, u); err != nil {
			t.Fatal(err)
		}
		if u.Username != "MAIN3" {
			t.Errorf("u after SaveChanged = %q, want MAIN3", u.Username)
		}
		if r := keyRows(t, db)["MAIN3"]; r.UsernameKey != "main3" {
			t.Errorf("stored after SaveChanged %+v", r)
		}
		// U+FDFA is one letter that NFKC makes 18 characters.
		long := strings.Repeat("\uFDFA", 10)
		tests := []struct {
			name string
			run  func() error
		}{
			{"create", func() error { return us.Create(ctx, &member{User: models.User{Username: long}}) }},
			{"save", func() error {
				snap, err := us.Snapshot(ctx, u)
				if err != nil {
					return err
				}
				v := *u
				v.Username = long
				return us.SaveChanged(ctx, snap, &v)
			}},
		}
		for _, tc := range tests {
			err := tc.run()
			if err == nil || !strings.Contains(err.Error(), "username=[field.max_length]") {
				t.Errorf("%s with a username NFKC makes 180 characters = %v, want a max_length field error", tc.name, err)
			}
		}
		if r := keyRows(t, db)["MAIN3"]; r.Username != "MAIN3" {
			t.Errorf("a refused rename changed the row: %+v", r)
		}
	})
}
