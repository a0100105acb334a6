package ident_test

import (
	"reflect"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

type account struct {
	models.User
	Company string `gorm:"size:100"`
}

// other is not a user: a field named like a key is left alone.
type other struct {
	ID          uint
	Username    string
	UsernameKey string
}

type keys struct{ Username, UsernameKey, Email, EmailKey string }

func stored(t *testing.T, db *gorm.DB, id uint) keys {
	t.Helper()
	var k keys
	if err := db.Table("accounts").Select("username", "username_key", "email", "email_key").Where("id = ?", id).Take(&k).Error; err != nil {
		t.Fatal(err)
	}
	return k
}

func TestMaintain(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		if err := db.AutoMigrate(&account{}, &models.EmailAddress{}, &other{}); err != nil {
			t.Fatal(err)
		}
		before := createCallbacks(t, db)
		if err := ident.Maintain(db); err != nil {
			t.Fatal(err)
		}
		once := createCallbacks(t, db)
		if once != before+1 {
			t.Fatalf("create callbacks %d -> %d, want one more", before, once)
		}
		// A second call registers nothing.
		if err := ident.Maintain(db); err != nil {
			t.Fatal(err)
		}
		if n := createCallbacks(t, db); n != once {
			t.Fatalf("create callbacks %d after a second Maintain, want %d", n, once)
		}
		newAccount := func(name, email string) *account {
			t.Helper()
			a := &account{User: models.User{Username: name, Email: email}}
			if err := db.Create(a).Error; err != nil {
				t.Fatal(err)
			}
			return a
		}
		tests := []struct {
			name  string
			write func(a *account) error
			want  keys
		}{
			{"create", func(*account) error { return nil },
				keys{"ÉLAN", "élan", "Bob@EXAMPLE.com", "bob@example.com"}},
			{"save", func(a *account) error {
				a.Username, a.Email = "STRASSE", "X@Y.de"
				return db.Save(a).Error
			}, keys{"STRASSE", "strasse", "X@Y.de", "x@y.de"}},
			{"updates struct", func(a *account) error {
				return db.Model(a).Updates(&account{User: models.User{Username: "ΟΔΟΣ"}}).Error
			}, keys{"ΟΔΟΣ", "οδοσ", "Bob@EXAMPLE.com", "bob@example.com"}},
			{"updates struct by value", func(a *account) error {
				return db.Model(a).Updates(account{User: models.User{Email: "NEW@x.de"}}).Error
			}, keys{"ÉLAN", "élan", "NEW@x.de", "new@x.de"}},
			{"select updates", func(a *account) error {
				a.Username, a.Email, a.Company = "ＭＡＩＮ", "ignored@x.de", "ACME"
				return db.Model(a).Select("username", "company").Updates(a).Error
			}, keys{"ＭＡＩＮ", "main", "Bob@EXAMPLE.com", "bob@example.com"}},
			{"select by field name", func(a *account) error {
				a.Username = "Ｂ"
				return db.Model(a).Select("Username").Updates(a).Error
			}, keys{"Ｂ", "b", "Bob@EXAMPLE.com", "bob@example.com"}},
			{"omit", func(a *account) error {
				a.Username, a.Email = "kept-out", "Z@Z.de"
				return db.Model(a).Omit("username").Save(a).Error
			}, keys{"ÉLAN", "élan", "Z@Z.de", "z@z.de"}},
			{"update column", func(a *account) error {
				return db.Model(a).Update("username", "İx").Error
			}, keys{"İx", "i\u0307x", "Bob@EXAMPLE.com", "bob@example.com"}},
			{"updates map", func(a *account) error {
				return db.Model(a).Updates(map[string]any{"Username": "straße", "email": "Q@Q.de"}).Error
			}, keys{"straße", "strasse", "Q@Q.de", "q@q.de"}},
			{"update column no hooks", func(a *account) error {
				return db.Model(a).UpdateColumn("email", "U@U.de").Error
			}, keys{"ÉLAN", "élan", "U@U.de", "u@u.de"}},
			{"update expression left alone", func(a *account) error {
				return db.Model(a).Update("company", gorm.Expr("username")).Error
			}, keys{"ÉLAN", "élan", "Bob@EXAMPLE.com", "bob@example.com"}},
		}
		for _, tc := range tests {
			a := newAccount("ÉLAN", "Bob@EXAMPLE.com")
			if err := tc.write(a); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got := stored(t, db, a.ID); got != tc.want {
				t.Errorf("%s: stored %+v, want %+v", tc.name, got, tc.want)
			}
			if err := db.Delete(&account{}, a.ID).Error; err != nil {
				t.Fatal(err)
			}
		}

		// A batch insert.
		batch := []*account{{User: models.User{Username: "Ａ1"}}, {User: models.User{Username: "A2", Email: "A@B.C"}}}
		if err := db.Create(&batch).Error; err != nil {
			t.Fatal(err)
		}
		if got := stored(t, db, batch[0].ID); got.UsernameKey != "a1" || got.EmailKey != "" {
			t.Errorf("batch row 1 %+v", got)
		}
		if got := stored(t, db, batch[1].ID); got.UsernameKey != "a2" || got.EmailKey != "a@b.c" {
			t.Errorf("batch row 2 %+v", got)
		}

		// An address.
		addr := models.EmailAddress{UserID: 1, Email: "ÉLAN@X.FR"}
		if err := db.Create(&addr).Error; err != nil {
			t.Fatal(err)
		}
		var got models.EmailAddress
		if err := db.Take(&got, addr.ID).Error; err != nil || got.EmailKey != "élan@x.fr" || got.Email != "ÉLAN@X.FR" {
			t.Errorf("address %+v, %v", got, err)
		}
		if err := db.Model(&got).Update("email", "STRASSE@x.de").Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Take(&got, addr.ID).Error; err != nil || got.EmailKey != "strasse@x.de" {
			t.Errorf("updated address %+v, %v", got, err)
		}

		// Not a user: untouched.
		o := other{Username: "ÉLAN", UsernameKey: "custom"}
		if err := db.Create(&o).Error; err != nil {
			t.Fatal(err)
		}
		var og other
		if err := db.Take(&og, o.ID).Error; err != nil || og.UsernameKey != "custom" {
			t.Errorf("other model %+v, %v", og, err)
		}
	})
}

// createCallbacks is the number of compiled create callbacks of db (read
// from GORM's processor by reflection).
func createCallbacks(t *testing.T, db *gorm.DB) int {
	t.Helper()
	fns := reflect.ValueOf(db.Callback().Create()).Elem().FieldByName("fns")
	if fns.Kind() != reflect.Slice {
		t.Fatal("GORM's create processor has no fns slice")
	}
	return fns.Len()
}
