package restauth_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

func TestSocialSmoke(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		s.gh.add("tok-1", ghUser{ID: 1, Login: "octo", Name: "Octo Cat", Email: "octo@example.com", Verified: true})
		r := s.ghLogin("tok-1")
		expect(t, r, 200)
		if r.str("key") == "" {
			t.Fatalf("no key: %s", r.Raw)
		}
		var u Customer
		if err := db.Where("username = ?", "octo").First(&u).Error; err != nil {
			t.Fatal(err)
		}
		if u.Email != "octo@example.com" || u.FirstName != "Octo" || u.LastName != "Cat" || password.IsUsable(u.Password) {
			t.Fatalf("user %+v", u.User)
		}
		var addr models.EmailAddress
		if err := db.Where("user_id = ?", u.ID).First(&addr).Error; err != nil || !addr.Verified || !addr.Primary {
			t.Fatalf("address %+v %v", addr, err)
		}
		if a := s.account("github", "1"); a == nil || a.UserID != u.ID || a.ExtraData["login"] != "octo" {
			t.Fatalf("account %+v", a)
		}
	})
}
