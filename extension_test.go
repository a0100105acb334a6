package restauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// TestHandlersMountedAlone: an app mounts only login and user, at paths
// of its own, through Plugin.Handlers; each endpoint authenticates by
// itself and the unmounted ones do not exist.
func TestHandlersMountedAlone(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		e.r = gin.New()
		h := e.auth.Handlers()
		e.r.POST("/auth/sign-in", h.Login)
		e.r.GET("/me", h.User)
		e.r.PATCH("/me", h.User)

		r := e.do("POST", "/auth/sign-in", map[string]any{"username": "alice", "password": goodPass})
		expect(t, r, 200)
		key, _ := r.Body["key"].(string)
		if !keyRe.MatchString(key) {
			t.Fatalf("sign-in body %s", r.Raw)
		}
		expectDetail(t, e.do("GET", "/me", nil), 401, "Authentication credentials were not provided.")
		me := e.do("GET", "/me", nil, tokenHeader(key)...)
		expect(t, me, 200)
		if me.Body["username"] != "alice" || me.Body["email"] != "alice@example.com" {
			t.Fatalf("/me %s", me.Raw)
		}
		upd := e.do("PATCH", "/me", map[string]any{"first_name": "Al"}, tokenHeader(key)...)
		expect(t, upd, 200)
		if upd.Body["first_name"] != "Al" {
			t.Fatalf("PATCH /me %s", upd.Raw)
		}
		w := newRecorder()
		e.r.ServeHTTP(w, mustRequest(t, "POST", "/rest-auth/login/"))
		if w.Code != 404 {
			t.Fatalf("unmounted login answered %d", w.Code)
		}
	})
}

// TestHandlersCarryCSRF: an endpoint mounted alone still enforces the
// JWT cookie mode's CSRF rule.
func TestHandlersCarryCSRF(t *testing.T) {
	t.Parallel()
	e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.JWT.Cookie = "access"
		c.JWT.EnforceCSRFOnUnauthenticated = true
	})
	e.user("alice", "alice@example.com")
	e.r.POST("/auth/sign-in", e.auth.Handlers().Login)
	body := map[string]any{"username": "alice", "password": goodPass}
	r := e.do("POST", "/auth/sign-in", body)
	expectDetail(t, r, 403, "CSRF Failed: CSRF cookie not set.")
	r = e.do("POST", "/auth/sign-in", body, "Cookie", "csrftoken=abc", "X-CSRFToken", "abc")
	expect(t, r, 200)
	if r.Body["access"] == nil {
		t.Fatalf("sign-in body %s", r.Raw)
	}
}

// apiKeys is an app's own login: a field api_key that names a user.
type apiKeys map[string]string // key -> username

func (k apiKeys) authenticator(e **env) handlers.Authenticator[Customer] {
	return handlers.AuthenticatorFunc[Customer](func(ctx context.Context, in *handlers.Input) (*Customer, error) {
		if !in.Has("api_key") {
			return nil, nil // not ours: password login goes on
		}
		var req struct {
			Key string `json:"api_key" binding:"required,max=64"`
		}
		if err := in.Bind(&req, false); err != nil {
			return nil, err
		}
		name, ok := k[req.Key]
		if !ok {
			return nil, handlers.FieldError("api_key", "Unknown API key.")
		}
		var u Customer
		if err := (*e).db.Where("username = ?", name).Take(&u).Error; err != nil {
			return nil, err
		}
		return &u, nil
	})
}

var errBanned = handlers.FieldError("non_field_errors", "This account is banned.")

// bannedCheck refuses users whose company is "BANNED".
func bannedCheck(calls *int) restauth.Check[Customer] {
	return restauth.CheckFunc[Customer](func(_ context.Context, u *Customer) error {
		*calls++
		if u.CompanyName == "BANNED" {
			return errBanned
		}
		return nil
	})
}

// TestCustomAuthenticatorAndCheck: an app adds a login by API key and a
// check refusing banned users, with no change to restauth; both run for
// login/, the check also for Plugin.Login and registration.
func TestCustomAuthenticatorAndCheck(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		var e *env
		checks := 0
		e = newEnv(t, db, nil,
			restauth.WithAuthenticator(apiKeys{"k-alice": "alice", "k-bob": "bob"}.authenticator(&e)),
			restauth.WithCheck(bannedCheck(&checks)),
			restauth.WithRegistrationFields(func(_ context.Context, u *Customer, in *handlers.Input) error {
				var req struct {
					Company string `json:"company_name" binding:"max=100"`
				}
				err := in.Bind(&req, false)
				u.CompanyName = req.Company
				return err
			}))
		e.user("alice", "alice@example.com")
		bob := e.user("bob", "bob@example.com")
		if err := db.Model(bob).Update("company_name", "BANNED").Error; err != nil {
			t.Fatal(err)
		}
		// The API key logs in; a wrong key is the authenticator's error;
		// without the field, password login still works.
		r := e.do("POST", "/rest-auth/login/", map[string]any{"api_key": "k-alice"})
		expect(t, r, 200)
		if k, _ := r.Body["key"].(string); !keyRe.MatchString(k) {
			t.Fatalf("api-key login %s", r.Raw)
		}
		expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"api_key": "nope"}), "api_key", "Unknown API key.")
		e.login("alice", goodPass)
		// The check refuses bob by key and by password, and the built-in
		// checks still run before it.
		for _, body := range []map[string]any{{"api_key": "k-bob"}, {"username": "bob", "password": goodPass}} {
			expectField(t, e.do("POST", "/rest-auth/login/", body), "non_field_errors", "This account is banned.")
		}
		before := checks
		var tokens int64
		db.Model(&models.Token{}).Count(&tokens)
		if _, err := e.auth.Login(context.Background(), e.reloadPtr(bob.ID)); !errors.Is(err, errBanned) {
			t.Fatalf("Plugin.Login of a banned user: %v", err)
		}
		if checks != before+1 {
			t.Fatalf("Plugin.Login ran the check %d times", checks-before)
		}
		var after int64
		db.Model(&models.Token{}).Count(&after)
		if after != tokens {
			t.Fatal("a refused Plugin.Login issued a token")
		}
		res, err := e.auth.Login(context.Background(), e.reloadPtr(1))
		if err != nil || !keyRe.MatchString(res.Key) {
			t.Fatalf("Plugin.Login of alice: %+v %v", res, err)
		}
		// A registration the check refuses leaves no user behind.
		reg := e.do("POST", "/rest-auth/registration/", map[string]any{
			"username": "carol", "email": "carol@example.com", "password1": goodPass, "password2": goodPass, "company_name": "BANNED",
		})
		expectField(t, reg, "non_field_errors", "This account is banned.")
		var n int64
		db.Model(&Customer{}).Where("username = ?", "carol").Count(&n)
		if n != 0 {
			t.Fatal("refused registration left its user")
		}
	})
}

func (e *env) reloadPtr(id uint) *Customer {
	u := e.reload(id)
	return &u
}

func mustRequest(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, path, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestCheckRunsAtMandatorySignup: under mandatory verification the app's
// checks still run at registration (before the verified-email check, which
// only withholds the token).
func TestCheckRunsAtMandatorySignup(t *testing.T) {
	t.Parallel()
	checks := 0
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationMandatory },
		restauth.WithCheck(bannedCheck(&checks)),
		restauth.WithRegistrationFields(func(_ context.Context, u *Customer, in *handlers.Input) error {
			var req struct {
				Company string `json:"company_name" binding:"max=100"`
			}
			err := in.Bind(&req, false)
			u.CompanyName = req.Company
			return err
		}))
	body := func(name, company string) map[string]any {
		return map[string]any{"username": name, "email": name + "@example.com", "password1": goodPass, "password2": goodPass, "company_name": company}
	}
	expectField(t, e.do("POST", "/rest-auth/registration/", body("carol", "BANNED")), "non_field_errors", "This account is banned.")
	expectDetail(t, e.do("POST", "/rest-auth/registration/", body("dave", "Acme")), 201, "Verification e-mail sent.")
	if checks != 2 {
		t.Fatalf("the check ran %d times for two sign-ups", checks)
	}
	var n int64
	e.db.Model(&Customer{}).Count(&n)
	if n != 1 {
		t.Fatalf("%d users after one refused and one accepted sign-up", n)
	}
}
