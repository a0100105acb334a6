package restauth_test

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

// TestPreventEnumeration: with Registration.PreventEnumeration a taken
// address answers exactly as a fresh one, creates nothing and tells the
// owner; without it, registration says the address is taken (as
// dj-rest-auth does).
func TestPreventEnumeration(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, func(c *restauth.Config) {
			c.Registration.EmailVerification = restauth.VerificationMandatory
			c.Registration.PreventEnumeration = true
		})
		owner := e.user("owner", "owner@example.com")
		ctx := context.Background()
		if err := e.auth.MarkEmailVerified(ctx, owner); err != nil {
			t.Fatal(err)
		}

		fresh := e.do("POST", "/rest-auth/registration/", signup("newbie", "newbie@example.com"))
		expect(t, fresh, 201)
		e.confirmKey("newbie@example.com")
		users := e.count(&Customer{})

		taken := e.do("POST", "/rest-auth/registration/", signup("intruder", "OWNER@example.com"))
		if taken.Code != fresh.Code || taken.Raw != fresh.Raw {
			t.Fatalf("taken address: %d %s; fresh: %d %s", taken.Code, taken.Raw, fresh.Code, fresh.Raw)
		}
		if n := e.count(&Customer{}); n != users {
			t.Fatalf("users %d -> %d", users, n)
		}
		if err := e.auth.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := e.out.Messages()
		if len(msgs) != 1 || msgs[0].To[0] != "OWNER@example.com" || !strings.Contains(msgs[0].Subject, "Account already exists") ||
			!strings.Contains(msgs[0].Text, "someone tried to register") || strings.Contains(msgs[0].Text, "intruder") {
			t.Fatalf("mails %+v", msgs)
		}
		e.out.Reset()
		// Other fields are still checked, and the address is not named.
		r := e.do("POST", "/rest-auth/registration/", signup("owner", "owner@example.com"))
		expectField(t, r, "username", "A user with that username already exists.")
		if _, ok := r.Body["email"]; ok {
			t.Fatalf("email error revealed: %s", r.Raw)
		}
		r = e.do("POST", "/rest-auth/registration/", map[string]any{"username": "x1", "email": "owner@example.com", "password1": goodPass, "password2": goodPass + "x"})
		expect(t, r, 400)
		if strings.Contains(r.Raw, "already registered") {
			t.Fatalf("email error revealed: %s", r.Raw)
		}
		// The owner's account is untouched and still logs in.
		e.login("owner", goodPass)
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, testdb.SQLite(t), nil)
		e.user("owner", "owner@example.com")
		r := e.do("POST", "/rest-auth/registration/", signup("intruder", "owner@example.com"))
		expectField(t, r, "email", "A user is already registered with this e-mail address.")
	})
	t.Run("needs mandatory verification", func(t *testing.T) {
		t.Parallel()
		_, err := restauth.New[Customer](testdb.SQLite(t), restauth.Config{
			SecretKey: testSecret, SiteURL: siteURL, Logger: quietLogger(),
			Registration: restauth.RegistrationConfig{PreventEnumeration: true},
		})
		if err == nil || !strings.Contains(err.Error(), "Config.Registration.PreventEnumeration") {
			t.Fatalf("New: %v", err)
		}
	})
}
