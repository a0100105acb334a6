package users_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
)

// member is an app's user struct: the base user and columns of the app's
// own, among them a slice, a map and a pointer that can change in place.
type member struct {
	models.User
	Company  string            `gorm:"size:100"`
	Tags     []string          `gorm:"serializer:json"`
	Prefs    map[string]string `gorm:"serializer:json"`
	Nickname *string           `gorm:"size:50"`
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// migrate creates the tables and the case-insensitive unique indexes the
// way Plugin.AutoMigrate does.
func migrate(t testing.TB, db *gorm.DB) {
	t.Helper()
	if err := db.AutoMigrate(&models.EmailAddress{}); err != nil {
		t.Fatal(err)
	}
	us, err := users.New[member](db, time.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	if err := us.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func setup(t *testing.T, db *gorm.DB) (*users.Users[member], *clock) {
	t.Helper()
	migrate(t, db)
	clk := &clock{t: t0}
	us, err := users.New[member](db, clk.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	return us, clk
}

func create(t *testing.T, us *users.Users[member], username, email string, active bool) *member {
	t.Helper()
	u := &member{User: models.User{Username: username, Email: email, Password: "hash-" + username, IsActive: active}}
	if err := us.Create(context.Background(), u); err != nil {
		t.Fatalf("create %s: %v", username, err)
	}
	return u
}

func reload(t *testing.T, db *gorm.DB, id uint) member {
	t.Helper()
	var m member
	if err := db.Take(&m, id).Error; err != nil {
		t.Fatalf("reload %d: %v", id, err)
	}
	return m
}

func ptr[T any](v T) *T { return &v }

func TestNewAndTable(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	if _, err := users.New[int](db, time.Now, dberr.UniqueViolation); err == nil {
		t.Fatal("New[int] accepted a type that is not a model")
	}
	us, _ := setup(t, db)
	if us.Table() != "members" {
		t.Fatalf("Table() = %q, want members", us.Table())
	}
	u := &member{}
	if users.Base(u) != &u.User {
		t.Fatal("Base does not return the embedded user")
	}
}

func TestNowIsUTCMicroseconds(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("X", 5*3600)
	at := time.Date(2030, 1, 2, 8, 4, 5, 123456789, zone)
	us, err := users.New[member](testdb.SQLite(t), func() time.Time { return at }, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	got := us.Now()
	want := time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("Now() = %v, want %v in UTC", got, want)
	}
}

func TestLookups(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		alice := create(t, us, "Alice", "Alice@Example.com", true)
		bob := create(t, us, "bob", "", true)
		carol := create(t, us, "carol", "carol@example.com", false)
		ctx := context.Background()

		tests := []struct {
			name string
			find func() (*member, error)
			want uint // 0: (nil, nil)
		}{
			{"by id", func() (*member, error) { return us.ByID(ctx, alice.ID) }, alice.ID},
			{"by id of inactive", func() (*member, error) { return us.ByID(ctx, carol.ID) }, carol.ID},
			{"by id zero", func() (*member, error) { return us.ByID(ctx, 0) }, 0},
			{"by id unknown", func() (*member, error) { return us.ByID(ctx, carol.ID+100) }, 0},
			{"by username exact", func() (*member, error) { return us.ByUsername(ctx, "Alice") }, alice.ID},
			{"by username lower", func() (*member, error) { return us.ByUsername(ctx, "alice") }, alice.ID},
			{"by username upper", func() (*member, error) { return us.ByUsername(ctx, "BOB") }, bob.ID},
			{"by username unknown", func() (*member, error) { return us.ByUsername(ctx, "dave") }, 0},
			{"by username prefix", func() (*member, error) { return us.ByUsername(ctx, "ali") }, 0},
			{"by username empty", func() (*member, error) { return us.ByUsername(ctx, "") }, 0},
			{"by email exact", func() (*member, error) { return us.ByEmail(ctx, "Alice@Example.com") }, alice.ID},
			{"by email other case", func() (*member, error) { return us.ByEmail(ctx, "alice@EXAMPLE.COM") }, alice.ID},
			{"by email unknown", func() (*member, error) { return us.ByEmail(ctx, "dave@example.com") }, 0},
			// bob has no email: "" must not find him.
			{"by email empty", func() (*member, error) { return us.ByEmail(ctx, "") }, 0},
		}
		for _, tc := range tests {
			u, err := tc.find()
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			switch {
			case tc.want == 0 && u != nil:
				t.Errorf("%s: found user %d, want (nil, nil)", tc.name, u.ID)
			case tc.want != 0 && u == nil:
				t.Errorf("%s: nothing found, want user %d", tc.name, tc.want)
			case tc.want != 0 && u.ID != tc.want:
				t.Errorf("%s: found user %d, want %d", tc.name, u.ID, tc.want)
			}
		}
		// The whole row is loaded (the email as stored: its domain
		// lower-cased).
		u, err := us.ByUsername(ctx, "alice")
		if err != nil || u == nil || u.Email != "Alice@example.com" || u.Password != "hash-Alice" || !u.IsActive {
			t.Fatalf("ByUsername row = %+v, %v", u, err)
		}

		for _, tc := range []struct {
			email string
			want  []uint
		}{
			{"ALICE@example.com", []uint{alice.ID}},
			{"carol@example.com", nil}, // inactive
			{"nobody@example.com", nil},
		} {
			list, err := us.ActiveByEmail(ctx, tc.email)
			if err != nil {
				t.Fatal(err)
			}
			var got []uint
			for _, u := range list {
				got = append(got, u.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ActiveByEmail(%q) = %v, want %v", tc.email, got, tc.want)
			}
		}
	})
}

func TestCreate(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, clk := setup(t, db)
		ctx := context.Background()
		alice := create(t, us, "alice", "alice@example.com", true)
		if alice.ID == 0 {
			t.Fatal("Create set no ID")
		}
		if !alice.DateJoined.Equal(clk.Now()) {
			t.Fatalf("DateJoined = %v, want the clock's %v", alice.DateJoined, clk.Now())
		}
		if got := reload(t, db, alice.ID); !got.DateJoined.Equal(t0) {
			t.Fatalf("stored DateJoined = %v, want %v", got.DateJoined, t0)
		}
		joined := t0.Add(-48 * time.Hour)
		old := &member{User: models.User{Username: "old", DateJoined: joined}}
		if err := us.Create(ctx, old); err != nil {
			t.Fatal(err)
		}
		if got := reload(t, db, old.ID); !got.DateJoined.Equal(joined) {
			t.Fatalf("Create replaced a given DateJoined: %v, want %v", got.DateJoined, joined)
		}
		// Empty emails do not collide (the email index skips them).
		for _, name := range []string{"noemail1", "noemail2"} {
			create(t, us, name, "", true)
		}

		tests := []struct {
			name, username, email string
			want                  error
		}{
			{"same username", "alice", "other@example.com", users.ErrUsernameTaken},
			{"username other case", "ALICE", "other@example.com", users.ErrUsernameTaken},
			{"username fullwidth", "ａｌｉｃｅ", "other@example.com", users.ErrUsernameTaken},
			{"same email", "alice2", "alice@example.com", users.ErrEmailTaken},
			{"email other case", "alice2", "Alice@EXAMPLE.com", users.ErrEmailTaken},
		}
		for _, tc := range tests {
			u := &member{User: models.User{Username: tc.username, Email: tc.email}}
			err := us.Create(ctx, u)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s: Create = %v, want %v", tc.name, err, tc.want)
			}
			if u.ID != 0 {
				t.Errorf("%s: failed Create left ID %d", tc.name, u.ID)
			}
		}
		var n int64
		db.Model(&member{}).Count(&n)
		if n != 4 {
			t.Fatalf("%d rows after failed creates, want 4", n)
		}
	})
}

// TestUniqueErrByIndexName maps the violated index to the error even when
// the index name does not say "username": only "email" in the name makes
// ErrEmailTaken.
func TestUniqueErrByIndexName(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	migrate(t, db)
	seed := &member{User: models.User{Username: "seed"}}
	if err := db.Create(seed).Error; err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		constraint string
		unique     bool
		want       error // nil: a plain database error
	}{
		{"members_email_ci", true, users.ErrEmailTaken},
		{"members.email", true, users.ErrEmailTaken},
		{"members_username_ci", true, users.ErrUsernameTaken},
		{"members.username", true, users.ErrUsernameTaken},
		{"members_username_key", true, users.ErrUsernameTaken},
		{"members_username_key_ci", true, users.ErrUsernameTaken},
		{"members.username_key", true, users.ErrUsernameTaken},
		{"members_email_key_ci", true, users.ErrEmailTaken},
		{"members.email_key", true, users.ErrEmailTaken},
		// Unknown (TranslateError) or an app's own unique column: not
		// worded as a taken username or email.
		{"", true, nil},
		{"members_phone_key", true, nil},
		{"members_username_prefs_key", true, nil},
		{"members_email_ci", false, nil},
	}
	for _, tc := range tests {
		fake := func(error) (string, bool) { return tc.constraint, tc.unique }
		us, err := users.New[member](db, time.Now, fake)
		if err != nil {
			t.Fatal(err)
		}
		// A failing insert: the seed's primary key again.
		u := &member{User: models.User{ID: seed.ID, Username: "x"}}
		err = us.Create(context.Background(), u)
		if u.ID != 0 {
			t.Errorf("constraint %q: failed Create left ID %d", tc.constraint, u.ID)
		}
		switch {
		case err == nil:
			t.Errorf("constraint %q: Create succeeded", tc.constraint)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Errorf("constraint %q: Create = %v, want %v", tc.constraint, err, tc.want)
		case tc.want == nil && (errors.Is(err, users.ErrUsernameTaken) || errors.Is(err, users.ErrEmailTaken)):
			t.Errorf("not a unique violation, but Create = %v", err)
		}
	}
}

func TestSnapshotSaveChanged(t *testing.T) {
	t.Parallel()
	later := t0.Add(time.Hour)
	tests := []struct {
		name   string
		change func(u *member)
		check  func(t *testing.T, got member)
	}{
		{"string column", func(u *member) { u.FirstName = "Alicia" },
			func(t *testing.T, got member) {
				if got.FirstName != "Alicia" {
					t.Errorf("FirstName = %q", got.FirstName)
				}
			}},
		{"slice element in place", func(u *member) { u.Tags[0] = "gold" },
			func(t *testing.T, got member) {
				if !slices.Equal(got.Tags, []string{"gold", "b"}) {
					t.Errorf("Tags = %v", got.Tags)
				}
			}},
		{"slice appended", func(u *member) { u.Tags = append(u.Tags, "c") },
			func(t *testing.T, got member) {
				if !slices.Equal(got.Tags, []string{"a", "b", "c"}) {
					t.Errorf("Tags = %v", got.Tags)
				}
			}},
		{"map in place", func(u *member) { u.Prefs["theme"] = "light" },
			func(t *testing.T, got member) {
				if got.Prefs["theme"] != "light" {
					t.Errorf("Prefs = %v", got.Prefs)
				}
			}},
		{"pointer target in place", func(u *member) { *u.Nickname = "Ali" },
			func(t *testing.T, got member) {
				if got.Nickname == nil || *got.Nickname != "Ali" {
					t.Errorf("Nickname = %v", got.Nickname)
				}
			}},
		{"pointer cleared", func(u *member) { u.Nickname = nil },
			func(t *testing.T, got member) {
				if got.Nickname != nil {
					t.Errorf("Nickname = %q, want NULL", *got.Nickname)
				}
			}},
		{"nothing", func(u *member) {},
			func(t *testing.T, got member) {
				if got.FirstName != "Al" || *got.Nickname != "Al" || !slices.Equal(got.Tags, []string{"a", "b"}) {
					t.Errorf("row changed: %+v", got)
				}
			}},
		{"protected fields", func(u *member) {
			u.Password = "stolen"
			u.Email = "evil@example.com"
			u.IsActive = false
			u.IsStaff = true
			u.IsSuperuser = true
			u.DateJoined = later
			*u.LastLogin = later // in place
		}, func(t *testing.T, got member) {
			if got.Password != "hash-alice" || got.Email != "alice@example.com" || !got.IsActive ||
				got.IsStaff || got.IsSuperuser || !got.DateJoined.Equal(t0) ||
				got.LastLogin == nil || !got.LastLogin.Equal(t0) {
				t.Errorf("a protected column was written: %+v", got.User)
			}
		}},
		{"protected pointer replaced", func(u *member) { u.LastLogin = nil },
			func(t *testing.T, got member) {
				if got.LastLogin == nil || !got.LastLogin.Equal(t0) {
					t.Errorf("LastLogin = %v, want %v", got.LastLogin, t0)
				}
			}},
		{"the primary key", func(u *member) { u.ID = 9999; u.LastName = "X" },
			func(t *testing.T, got member) {
				if got.LastName != "X" {
					t.Errorf("LastName = %q, want X", got.LastName)
				}
			}},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		for _, tc := range tests {
			u := &member{
				User: models.User{Username: "alice", Email: "alice@example.com", Password: "hash-alice",
					FirstName: "Al", IsActive: true, LastLogin: ptr(t0)},
				Tags: []string{"a", "b"}, Prefs: map[string]string{"theme": "dark"}, Nickname: ptr("Al"),
			}
			if err := us.Create(ctx, u); err != nil {
				t.Fatal(err)
			}
			loaded, err := us.ByID(ctx, u.ID)
			if err != nil || loaded == nil {
				t.Fatalf("%s: load: %v", tc.name, err)
			}
			snap, err := us.Snapshot(ctx, loaded)
			if err != nil {
				t.Fatal(err)
			}
			// Another writer changes a column this save does not touch.
			if err := db.Model(&member{}).Where("id = ?", u.ID).Update("company", "Concurrent Ltd").Error; err != nil {
				t.Fatal(err)
			}
			tc.change(loaded)
			if err := us.SaveChanged(ctx, snap, loaded); err != nil {
				t.Fatalf("%s: SaveChanged: %v", tc.name, err)
			}
			if loaded.ID != u.ID {
				t.Errorf("%s: SaveChanged left ID %d, want %d", tc.name, loaded.ID, u.ID)
			}
			got := reload(t, db, u.ID)
			if got.Company != "Concurrent Ltd" {
				t.Errorf("%s: an unchanged column was written back: company = %q", tc.name, got.Company)
			}
			t.Run(tc.name, func(t *testing.T) { tc.check(t, got) })
			var n int64
			db.Model(&member{}).Count(&n)
			if n != 1 {
				t.Errorf("%s: %d rows", tc.name, n)
			}
			if err := db.Delete(&member{}, u.ID).Error; err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestSaveChangedUsername(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		alice := create(t, us, "alice", "alice@example.com", true)
		create(t, us, "bob", "bob@example.com", true)

		tests := []struct {
			name, username string
			want           error
			stored         string
		}{
			{"taken", "bob", users.ErrUsernameTaken, "alice"},
			{"taken other case", "BOB", users.ErrUsernameTaken, "alice"},
			{"taken fullwidth", "ｂｏｂ", users.ErrUsernameTaken, "alice"},
			{"own name fullwidth", "ａｌｉｃｅ", nil, "alice"},
			{"own name other case", "Alice", nil, "Alice"},
			{"free", "alicia", nil, "alicia"},
		}
		for _, tc := range tests {
			u, err := us.ByID(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := us.Snapshot(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			u.Username = tc.username
			if err := us.SaveChanged(ctx, snap, u); !errors.Is(err, tc.want) {
				t.Errorf("%s: SaveChanged = %v, want %v", tc.name, err, tc.want)
			}
			if got := reload(t, db, alice.ID).Username; got != tc.stored {
				t.Errorf("%s: stored username %q, want %q", tc.name, got, tc.stored)
			}
		}

		// A concurrent taker of the name, after the check and before the
		// update, is caught by the unique index.
		fire := false
		err := db.Callback().Update().Before("gorm:update").Register("test:race", func(tx *gorm.DB) {
			if tx.Statement.Table != "members" || !fire {
				return
			}
			fire = false
			// In the update's own transaction (its connection).
			racer := &member{User: models.User{Username: "Racer", DateJoined: t0}}
			if err := tx.Session(&gorm.Session{NewDB: true}).Create(racer).Error; err != nil {
				_ = tx.AddError(err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := us.ByID(ctx, alice.ID)
		snap, _ := us.Snapshot(ctx, u)
		u.Username = "racer"
		fire = true
		if err := us.SaveChanged(ctx, snap, u); !errors.Is(err, users.ErrUsernameTaken) {
			t.Fatalf("SaveChanged against a concurrent taker = %v, want ErrUsernameTaken", err)
		}
		if fire {
			t.Fatal("the racing insert did not run")
		}
		if got := reload(t, db, alice.ID).Username; got != "alicia" {
			t.Fatalf("username = %q after the lost race", got)
		}
	})
}

func TestReplacePassword(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		alice := create(t, us, "alice", "alice@example.com", true)
		bob := create(t, us, "bob", "bob@example.com", true)
		tests := []struct {
			name      string
			id        uint
			old, next string
			ok        bool
			stored    string
		}{
			{"current hash", alice.ID, "hash-alice", "h2", true, "h2"},
			{"stale hash loses", alice.ID, "hash-alice", "h3", false, "h2"},
			{"another user's hash", alice.ID, "hash-bob", "h4", false, "h2"},
			{"unknown user", bob.ID + 100, "hash-bob", "h5", false, "h2"},
			{"chained", alice.ID, "h2", "h6", true, "h6"},
		}
		for _, tc := range tests {
			ok, err := us.ReplacePassword(ctx, tc.id, tc.old, tc.next)
			if err != nil || ok != tc.ok {
				t.Errorf("%s: ReplacePassword = %v, %v; want %v", tc.name, ok, err, tc.ok)
			}
			if got := reload(t, db, alice.ID).Password; got != tc.stored {
				t.Errorf("%s: stored %q, want %q", tc.name, got, tc.stored)
			}
		}
		if got := reload(t, db, bob.ID).Password; got != "hash-bob" {
			t.Fatalf("bob's password changed: %q", got)
		}
	})
}

func TestSetLastLogin(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		alice := create(t, us, "alice", "", true)
		bob := create(t, us, "bob", "", true)
		at := t0.Add(time.Minute)
		if err := us.SetLastLogin(context.Background(), alice.ID, at); err != nil {
			t.Fatal(err)
		}
		if got := reload(t, db, alice.ID).LastLogin; got == nil || !got.Equal(at) {
			t.Fatalf("last_login = %v, want %v", got, at)
		}
		if got := reload(t, db, bob.ID).LastLogin; got != nil {
			t.Fatalf("bob's last_login set: %v", got)
		}
	})
}

// TestLock shows that a user's lock, taken inside a transaction, keeps a
// second transaction from taking it until the first ends.
func TestLock(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		alice := create(t, us, "alice", "", true)
		bob := create(t, us, "bob", "", true)
		pg := db.Dialector.Name() == "postgres"

		// contend tries to lock id in a second transaction that does not
		// wait for locks.
		contend := func(id uint) error {
			return dbx.Transaction(ctx, db, func(ctx context.Context, tx *gorm.DB) error {
				if pg {
					if err := tx.Exec("SET LOCAL lock_timeout = '50ms'").Error; err != nil {
						return err
					}
					return us.Lock(ctx, id)
				}
				if err := tx.Exec("PRAGMA busy_timeout = 0").Error; err != nil {
					return err
				}
				defer tx.Exec("PRAGMA busy_timeout = 10000")
				return us.Lock(ctx, id)
			})
		}

		tx := db.Begin()
		if err := us.Lock(dbx.WithTx(ctx, tx), alice.ID); err != nil {
			t.Fatal(err)
		}
		if err := contend(alice.ID); err == nil {
			t.Fatal("a second transaction took the lock the first holds")
		}
		if pg {
			// Row locks: another user's lock is free.
			if err := contend(bob.ID); err != nil {
				t.Fatalf("locking another user: %v", err)
			}
		}
		// Locking a missing user is harmless.
		if err := us.Lock(dbx.WithTx(ctx, tx), bob.ID+100); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if err := contend(alice.ID); err != nil {
			t.Fatalf("lock after the first transaction ended: %v", err)
		}
		// The lock changes nothing.
		if got := reload(t, db, alice.ID); got.Username != "alice" || got.Password != "hash-alice" {
			t.Fatalf("row changed: %+v", got.User)
		}
	})
}

func TestFreeUsername(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us, _ := setup(t, db)
		ctx := context.Background()
		create(t, us, "Taken", "", true)
		create(t, us, "user", "", true)

		long := strings.Repeat("é", 200)
		tests := []struct {
			email    string
			want     string // exact, or a prefix followed by 6 hex digits when suffixed
			suffixed bool
		}{
			{"bob.smith+tag@example.com", "bob.smith+tag", false},
			{"j o!h#n(x)@example.com", "johnx", false},
			{"élodie_ü-1@example.com", "élodie_ü-1", false},
			{"no-at-sign", "no-at-sign", false},
			{"@example.com", "user", true},
			{"!!!@example.com", "user", true},
			{"taken@example.com", "taken", true}, // taken in another case
			{long + "@example.com", strings.Repeat("é", 140), false},
			{strings.Repeat("a", 145) + "@example.com", strings.Repeat("a", 140), false},
		}
		for _, tc := range tests {
			got, err := us.FreeUsername(ctx, tc.email)
			if err != nil {
				t.Errorf("FreeUsername(%q): %v", tc.email, err)
				continue
			}
			if tc.suffixed {
				re := regexp.MustCompile("^" + regexp.QuoteMeta(tc.want) + "[0-9a-f]{6}$")
				if !re.MatchString(got) {
					t.Errorf("FreeUsername(%q) = %q, want %s + 6 hex digits", tc.email, got, tc.want)
				}
			} else if got != tc.want {
				t.Errorf("FreeUsername(%q) = %q, want %q", tc.email, got, tc.want)
			}
			if utf8.RuneCountInString(got) > 150 {
				t.Errorf("FreeUsername(%q) = %q is longer than the column", tc.email, got)
			}
			if other, err := us.ByUsername(ctx, got); err != nil || other != nil {
				t.Errorf("FreeUsername(%q) = %q is taken", tc.email, got)
			}
		}
	})
}

// emailAccount is an app's user type whose table name contains "email".
type emailAccount struct {
	models.User
}

func (emailAccount) TableName() string { return "email_accounts" }

// TestUniqueErrTableNameContainsEmail: Plugin.AutoMigrate names the
// username index after the table, so on a table whose name contains
// "email" the mapping must look at the index's suffix, not for "email"
// anywhere in its name.
func TestUniqueErrTableNameContainsEmail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		if err := db.AutoMigrate(&emailAccount{}); err != nil {
			t.Fatal(err)
		}
		us, err := users.New[emailAccount](db, time.Now, dberr.UniqueViolation)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// The indexes Plugin.AutoMigrate makes for this table
		// (email_accounts_username_key_ci, email_accounts_email_key_ci;
		// SQLite reports their columns).
		if err := us.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := us.Create(ctx, &emailAccount{models.User{Username: "alice", Email: "a@example.com"}}); err != nil {
			t.Fatal(err)
		}
		err = us.Create(ctx, &emailAccount{models.User{Username: "ALICE", Email: "other@example.com"}})
		if !errors.Is(err, users.ErrUsernameTaken) {
			t.Errorf("username collision = %v, want ErrUsernameTaken", err)
		}
		err = us.Create(ctx, &emailAccount{models.User{Username: "bob", Email: "A@example.com"}})
		if !errors.Is(err, users.ErrEmailTaken) {
			t.Errorf("email collision = %v, want ErrEmailTaken", err)
		}
	})
}

// TestLookupsUsePartialIndexesInGenericPlans: the username and email
// lookups exclude the empty key in their condition, as the partial unique
// indexes do, so PostgreSQL can use those indexes even in a generic plan
// of the prepared statement, the plan it may cache after five runs
// (force_generic_plan always uses it).
func TestLookupsUsePartialIndexesInGenericPlans(t *testing.T) {
	t.Parallel()
	db := testdb.Postgres(t)
	us, _ := setup(t, db)
	var mu sync.Mutex
	var seen []string
	if err := db.Callback().Query().After("gorm:query").Register("test:sql", func(tx *gorm.DB) {
		mu.Lock()
		seen = append(seen, tx.Statement.SQL.String())
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := us.ByUsername(ctx, "nobody"); err != nil {
		t.Fatal(err)
	}
	if _, err := us.ByEmail(ctx, "nobody@example.com"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("queries %q", seen)
	}
	conn, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	c, err := conn.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, set := range []string{"SET plan_cache_mode = force_generic_plan", "SET enable_seqscan = off"} {
		if _, err := c.ExecContext(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	for i, q := range seen {
		name := fmt.Sprintf("lookup%d", i)
		if _, err := c.ExecContext(ctx, "PREPARE "+name+" AS "+q); err != nil {
			t.Fatalf("prepare %q: %v", q, err)
		}
		rows, err := c.QueryContext(ctx, "EXPLAIN EXECUTE "+name+"('k', 1)")
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		if p := strings.Join(plan, "\n"); strings.Contains(p, "Seq Scan") || !strings.Contains(p, "_key_ci") {
			t.Errorf("generic plan of %q scans the table:\n%s", q, p)
		}
	}
}

// softMember is a user type with GORM's soft delete.
type softMember struct {
	models.User
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

// TestRawLookupsSkipSoftDeleted: the raw lookups of authenticated
// requests (by id, by token digest) honour gorm.DeletedAt as GORM's own
// queries do.
func TestRawLookupsSkipSoftDeleted(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		if err := db.AutoMigrate(&softMember{}, &models.Token{}); err != nil {
			t.Fatal(err)
		}
		us, err := users.New[softMember](db, time.Now, dberr.UniqueViolation)
		if err != nil {
			t.Fatal(err)
		}
		u := &softMember{User: models.User{Username: "gone", IsActive: true}}
		if err := db.Create(u).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&models.Token{Digest: strings.Repeat("d", 64), UserID: u.ID, CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if got, err := us.ByTokenDigest(ctx, strings.Repeat("d", 64), time.Now()); err != nil || got == nil {
			t.Fatalf("live user by token: %v %v", got, err)
		}
		if err := db.Delete(u).Error; err != nil {
			t.Fatal(err)
		}
		if got, err := us.ByID(ctx, u.ID); err != nil || got != nil {
			t.Fatalf("soft-deleted user by id: %+v %v", got, err)
		}
		if got, err := us.ByTokenDigest(ctx, strings.Repeat("d", 64), time.Now()); err != nil || got != nil {
			t.Fatalf("soft-deleted user by token: %+v %v", got, err)
		}
	})
}
