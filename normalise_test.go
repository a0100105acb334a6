package restauth_test

import (
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

const (
	usernameTaken = "A user with that username already exists."
	emailTaken    = "A user is already registered with this e-mail address."
)

func noVerification(c *restauth.Config) {
	c.Registration.EmailVerification = restauth.VerificationNone
}

// TestRegistrationNormalisedCollisions: names and addresses that are one
// after NFKC and case folding are taken, on SQLite as on PostgreSQL
// (whose lower() alone would fold "ÉLAN", SQLite's would not).
func TestRegistrationNormalisedCollisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		first, second map[string]any
		field, msg    string
	}{
		{"accented capitals", signup("ÉLAN", "elan1@example.com"), signup("élan", "elan2@example.com"), "username", usernameTaken},
		{"fullwidth m", signup("main", "main1@example.com"), signup("ｍain", "main2@example.com"), "username", usernameTaken},
		{"sharp s", signup("STRASSE", "s1@example.com"), signup("straße", "s2@example.com"), "username", usernameTaken},
		{"Greek final sigma", signup("ΟΔΟΣ", "g1@example.com"), signup("οδος", "g2@example.com"), "username", usernameTaken},
		{"email case", signup("bob", "Bob@EXAMPLE.COM"), signup("bobby", "bob@example.com"), "email", emailTaken},
		{"email sharp s", signup("strasse1", "STRASSE@x.de"), signup("strasse2", "straße@x.de"), "email", emailTaken},
		{"email accented", signup("elan1", "ÉLAN@x.fr"), signup("elan2", "élan@X.FR"), "email", emailTaken},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				// A fresh database per case: the names repeat.
				e := newEnv(t, testdb.Fresh(t, db), noVerification)
				expect(t, e.do("POST", "/rest-auth/registration/", tc.first), 201)
				expectField(t, e.do("POST", "/rest-auth/registration/", tc.second), tc.field, tc.msg)
				if n := e.count(&Customer{}); n != 1 {
					t.Fatalf("%d users, want 1", n)
				}
			})
		}
		// Names that only look alike stay apart: the Turkish dotless ı is
		// not i, and an accent matters.
		e := newEnv(t, testdb.Fresh(t, db), noVerification)
		for i, name := range []string{"istanbul", "ıstanbul", "elan", "élan"} {
			expect(t, e.do("POST", "/rest-auth/registration/", signup(name, string(rune('a'+i))+"@example.com")), 201)
		}
	})
}

// TestNormalisedIdentitiesStoredAndFound: registration and user/ store
// the NFKC username and the email with its domain lower-cased, answer
// with them, and every lookup (login by username or email, password
// reset) finds the user in any case or compatibility form.
func TestNormalisedIdentitiesStoredAndFound(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, noVerification)

		// Registration stores the normalised forms and user/ shows them.
		r := e.do("POST", "/rest-auth/registration/", signup("ｍain2", "Bob@EXAMPLE.COM"))
		expect(t, r, 201)
		key := r.detailKey()
		me := e.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...)
		expect(t, me, 200)
		if me.str("username") != "main2" || me.str("email") != "Bob@example.com" {
			t.Fatalf("user/ after registration: %s", me.Raw)
		}
		var stored Customer
		if err := db.Where("id = ?", uint(me.Body["pk"].(float64))).Take(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored.Username != "main2" || stored.Email != "Bob@example.com" {
			t.Fatalf("stored %q %q", stored.Username, stored.Email)
		}
		var addr models.EmailAddress
		if err := db.Where("user_id = ?", stored.ID).Take(&addr).Error; err != nil || addr.Email != "Bob@example.com" {
			t.Fatalf("address %+v, %v", addr, err)
		}

		// Login in any form of the name or address.
		e.user("main", "main@example.com")
		e.user("élan", "")
		for _, tc := range []struct{ login, want string }{
			{"E\u0301LAN", "élan"}, // combining accent
			{"ＭＡＩＮ", "main"},
			{"Main", "main"},
			{"ｍain2", "main2"},
			{"MAIN2", "main2"},
			{"BOB@example.com", "main2"},
			{"bob@EXAMPLE.com", "main2"},
		} {
			k := e.login(tc.login, goodPass)
			if got := e.do("GET", "/rest-auth/user/", nil, tokenHeader(k)...).str("username"); got != tc.want {
				t.Errorf("login as %q is user %q, want %q", tc.login, got, tc.want)
			}
		}
		r = e.do("POST", "/rest-auth/login/", map[string]any{"email": "BOB@Example.Com", "password": goodPass})
		expect(t, r, 200)

		// user/ PATCH stores and answers the NFKC name; one that folds to
		// another user's is taken.
		r = e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "ＭＡＩＮ3"}, tokenHeader(key)...)
		expect(t, r, 200)
		if r.str("username") != "MAIN3" || e.reload(stored.ID).Username != "MAIN3" {
			t.Fatalf("PATCH answer %s, stored %q", r.Raw, e.reload(stored.ID).Username)
		}
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "ｍａｉｎ"}, tokenHeader(key)...),
			"username", usernameTaken)
		if got := e.reload(stored.ID).Username; got != "MAIN3" {
			t.Fatalf("a refused rename stored %q", got)
		}

		// Password reset for the address in another case reaches its
		// owner, at the address as stored.
		expect(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "BOB@example.com"}), 200)
		uid, token := e.resetLink("Bob@example.com")
		expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{
			"uid": uid, "token": token, "new_password1": "Another-Sunflower-77", "new_password2": "Another-Sunflower-77"}), 200)
		k := e.login("main3", "Another-Sunflower-77")
		if got := e.do("GET", "/rest-auth/user/", nil, tokenHeader(k)...).str("username"); got != "MAIN3" {
			t.Fatalf("reset reached %q", got)
		}
	})
}

// legacyCustomer and legacyAddress are the tables an earlier version made
// (no key columns); neither is a restauth model, so rows go in exactly
// as given, without keys.
type legacyCustomer struct {
	ID          uint   `gorm:"primaryKey"`
	Username    string `gorm:"size:150;not null"`
	Email       string `gorm:"size:254;not null"`
	Password    string `gorm:"size:255;not null"`
	FirstName   string `gorm:"size:150;not null"`
	LastName    string `gorm:"size:150;not null"`
	IsActive    bool   `gorm:"not null"`
	IsStaff     bool   `gorm:"not null"`
	IsSuperuser bool   `gorm:"not null"`
	DateJoined  time.Time
	CompanyName string `gorm:"size:100;not null;default:''"`
}

func (legacyCustomer) TableName() string { return "customers" }

type legacyAddress struct {
	ID       uint   `gorm:"primaryKey"`
	UserID   uint   `gorm:"not null;index"`
	Email    string `gorm:"size:254;not null"`
	Verified bool   `gorm:"not null"`
	Primary  bool   `gorm:"column:is_primary;not null"`
}

func (legacyAddress) TableName() string { return "restauth_email_addresses" }

// legacyEnv makes an earlier version's tables, with their lower()
// indexes, holding users (username, email pairs) with goodPass and their
// addresses, and a plugin on them that has not migrated yet.
func legacyEnv(t *testing.T, db *gorm.DB, rows ...string) *env {
	t.Helper()
	if err := db.AutoMigrate(&legacyCustomer{}, &legacyAddress{}); err != nil {
		t.Fatal(err)
	}
	for _, ix := range []struct{ name, table, expr string }{
		{"customers_username_ci", "customers", "(lower(username))"},
		{"customers_email_ci", "customers", "(lower(email)) WHERE email <> ''"},
		{"restauth_email_addresses_email_ci", "restauth_email_addresses", "(lower(email))"},
	} {
		if err := db.Exec("CREATE UNIQUE INDEX "+ix.name+" ON ? "+ix.expr, clause.Table{Name: ix.table}).Error; err != nil {
			t.Fatal(err)
		}
	}
	// The test migrates when it means to.
	envMigrated.Store(db, migratedTokens)
	e := newEnv(t, db, noVerification)
	var hashed Customer
	if err := e.auth.SetPassword(&hashed, goodPass); err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(rows); i += 2 {
		u := legacyCustomer{Username: rows[i], Email: rows[i+1], Password: hashed.Password, IsActive: true, DateJoined: e.clock.Now()}
		if err := db.Create(&u).Error; err != nil {
			t.Fatal(err)
		}
		if u.Email != "" {
			if err := db.Create(&legacyAddress{UserID: u.ID, Email: u.Email, Primary: true, Verified: true}).Error; err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

// TestAutoMigrateBackfillsKeys: a database from before the keys is
// migrated by AutoMigrate; its users then log in, and are unique, by
// key.
func TestAutoMigrateBackfillsKeys(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := legacyEnv(t, db, "élan", "Elan@EXAMPLE.com", "Main", "main@example.com")
		if err := e.auth.AutoMigrate(); err != nil {
			t.Fatalf("AutoMigrate: %v", err)
		}
		for _, tc := range []struct{ login, want string }{
			{"ÉLAN", "élan"},
			{"E\u0301lan", "élan"},
			{"ｍａｉｎ", "Main"},
			{"ELAN@example.com", "élan"},
		} {
			k := e.login(tc.login, goodPass)
			if got := e.do("GET", "/rest-auth/user/", nil, tokenHeader(k)...).str("username"); got != tc.want {
				t.Errorf("login as %q is user %q, want %q", tc.login, got, tc.want)
			}
		}
		expectField(t, e.do("POST", "/rest-auth/registration/", signup("ÉLAN", "new@example.com")), "username", usernameTaken)
		expectField(t, e.do("POST", "/rest-auth/registration/", signup("new", "ELAN@example.COM")), "email", emailTaken)
		// The address table was migrated too: resend finds the address
		// by key (verified: nothing to send, and no error).
		expect(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "ÉLAN@example.com"}), 200)
		var addr models.EmailAddress
		if err := db.Where("email_key = ?", "elan@example.com").Take(&addr).Error; err != nil || addr.Email != "Elan@EXAMPLE.com" {
			t.Fatalf("address %+v, %v", addr, err)
		}
		// Idempotent.
		if err := e.auth.AutoMigrate(); err != nil {
			t.Fatalf("second AutoMigrate: %v", err)
		}
	})
}

// TestAutoMigrateRefusesFoldedDuplicates: two users an earlier version
// kept apart but that are one after folding stop AutoMigrate with an
// error naming both; once one is renamed, it succeeds.
func TestAutoMigrateRefusesFoldedDuplicates(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := legacyEnv(t, db, "STRASSE", "a@example.com", "straße", "b@example.com")
		err := e.auth.AutoMigrate()
		if err == nil || !strings.Contains(err.Error(), `"STRASSE"`) || !strings.Contains(err.Error(), `"straße"`) {
			t.Fatalf("AutoMigrate = %v, want an error naming STRASSE and straße", err)
		}
		if err := db.Model(&legacyCustomer{}).Where("username = ?", "straße").Update("username", "strasse2").Error; err != nil {
			t.Fatal(err)
		}
		if err := e.auth.AutoMigrate(); err != nil {
			t.Fatalf("AutoMigrate after the rename: %v", err)
		}
		k := e.login("straße", goodPass)
		if got := e.do("GET", "/rest-auth/user/", nil, tokenHeader(k)...).str("username"); got != "STRASSE" {
			t.Fatalf("straße logs in as %q", got)
		}
	})
}
