package restauth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	good := restauth.Config{SecretKey: testSecret, Logger: quietLogger(), Password: restauth.PasswordConfig{Hasher: cheapHasher}}
	cases := []struct {
		name   string
		mutate func(*restauth.Config)
		want   string
	}{
		{"no secret", func(c *restauth.Config) { c.SecretKey = "" }, "Config.SecretKey"},
		{"short secret", func(c *restauth.Config) { c.SecretKey = "short" }, "SecretKey"},
		{"no auth scheme", func(c *restauth.Config) { c.Token.Disabled = true }, "Config.Token.Disabled"},
		{"jwt style", func(c *restauth.Config) { c.JWT.Enabled = true; c.JWT.ResponseStyle = "v2" }, "Config.JWT.ResponseStyle"},
		{"samesite none insecure", func(c *restauth.Config) { c.JWT.Enabled = true; c.JWT.SameSite = http.SameSiteNoneMode }, "Config.JWT.SameSite"},
		{"short hs key", func(c *restauth.Config) {
			c.JWT.Enabled = true
			c.JWT.Keys = []restauth.JWTKey{{Algorithm: "HS256", Secret: []byte("short")}}
		}, "Config.JWT.Keys"},
		{"alg none key", func(c *restauth.Config) {
			c.JWT.Enabled = true
			c.JWT.Keys = []restauth.JWTKey{{Algorithm: "none", Secret: []byte(testSecret)}}
		}, "unsupported algorithm"},
		{"bad cookie name", func(c *restauth.Config) { c.JWT.Enabled = true; c.JWT.Cookie = "my auth" }, "Config.JWT.Cookie"},
		{"cookie names clash", func(c *restauth.Config) {
			c.JWT.Enabled = true
			c.JWT.Cookie, c.JWT.RefreshCookie = "jwt", "jwt"
		}, "same cookie"},
		{"cookie named like CSRF", func(c *restauth.Config) { c.JWT.Enabled = true; c.JWT.RefreshCookie = "csrftoken" }, "same cookie"},
		{"duplicate kid", func(c *restauth.Config) {
			c.JWT.Enabled = true
			k := restauth.JWTKey{ID: "a", Algorithm: "HS256", Secret: []byte(testSecret)}
			c.JWT.Keys = []restauth.JWTKey{k, k}
		}, "kid"},
		{"relative site", func(c *restauth.Config) { c.SiteURL = "/app" }, "Config.SiteURL"},
		{"reset url without token", func(c *restauth.Config) { c.PasswordReset.URL = "https://x/{uid}" }, "Config.PasswordReset.URL"},
		{"bad login method", func(c *restauth.Config) { c.LoginMethods = []restauth.LoginMethod{"phone"} }, "Config.LoginMethods"},
		{"negative ttl", func(c *restauth.Config) { c.Token.TTL = -time.Second }, "Config.Token.TTL: must not be negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.mutate(&cfg)
			_, err := restauth.New[Customer](db, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error %v, want one naming %s", err, tc.want)
			}
		})
	}
	type notAUser struct{ Name string }
	if _, err := restauth.New[notAUser](db, good); err == nil || !strings.Contains(err.Error(), "models.User") {
		t.Fatalf("New[notAUser] error %v", err)
	}
	if _, err := restauth.New[Customer](nil, good); err == nil {
		t.Fatal("New with nil db succeeded")
	}
}

func TestHooksAndExtensions(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		var events []string
		note := func(ev string) func(context.Context, *Customer) {
			return func(_ context.Context, u *Customer) { events = append(events, ev+":"+u.Username) }
		}
		var e *env
		e = newEnv(t, db, nil,
			restauth.OnLogin(note("login")), restauth.OnLogout(note("logout")),
			restauth.OnPasswordChanged(note("changed")), restauth.OnPasswordReset(note("reset")),
			restauth.WithTokenResponse(func(key string, u *Customer) any {
				return map[string]any{"key": key, "user": u.Username}
			}),
			restauth.WithAuthenticator(handlers.AuthenticatorFunc[Customer](func(ctx context.Context, in *handlers.Input) (*Customer, error) {
				var req struct {
					Login    string `json:"login" binding:"required"`
					Password string `json:"password" binding:"required"`
				}
				if err := in.Bind(&req, false); err != nil {
					return nil, err
				}
				return e.auth.Authenticate(ctx, req.Login, "", req.Password)
			})),
			restauth.WithPasswordChangeCheck(func(_ context.Context, u *Customer, in *handlers.Input) error {
				if !in.Has("otp") {
					return handlers.FieldError("otp", "A one-time code is required.")
				}
				return nil
			}),
			restauth.WithPasswordResetConfirmCheck(func(_ context.Context, u *Customer, in *handlers.Input) error {
				return handlers.DetailError(http.StatusForbidden, "Resets are frozen.")
			}),
		)
		e.user("dave", "dave@example.com")
		expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "dave", "password": goodPass}), "login", "This field is required.")
		r := e.do("POST", "/rest-auth/login/", map[string]any{"login": "dave", "password": goodPass})
		expect(t, r, 200)
		if r.Body["user"] != "dave" {
			t.Fatalf("custom token response not used: %s", r.Raw)
		}
		key := r.detailKey()
		body := map[string]any{"new_password1": "Fresh-Orchid-77", "new_password2": "Fresh-Orchid-77"}
		expectField(t, e.do("POST", "/rest-auth/password/change/", body, tokenHeader(key)...), "otp", "A one-time code is required.")
		body["otp"] = "123456"
		expect(t, e.do("POST", "/rest-auth/password/change/", body, tokenHeader(key)...), 200)
		uid, token := e.auth.PasswordResetToken(ptr(e.reload(1)))
		expectDetail(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": "Another-Pass-99", "new_password2": "Another-Pass-99"}),
			403, "Resets are frozen.")
		expect(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(key)...), 200)
		want := "login:dave,changed:dave,logout:dave"
		if strings.Join(events, ",") != want {
			t.Fatalf("hooks ran %v, want %s", events, want)
		}
	})
}

func TestTranslations(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	cat := locales.New()
	if err := cat.AddMessages("fr", map[string]string{
		"login.invalid_credentials": "Impossible de se connecter avec les informations fournies.",
	}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, db, func(c *restauth.Config) { c.Catalog = cat })
	body := map[string]any{"username": "ghost", "password": "whatever-123"}
	expectField(t, e.do("POST", "/rest-auth/login/", body, "Accept-Language", "fr-CA,fr;q=0.9"),
		"non_field_errors", "Impossible de se connecter avec les informations fournies.")
	// A language without a catalog: English.
	expectField(t, e.do("POST", "/rest-auth/login/", body, "Accept-Language", "sr"),
		"non_field_errors", "Unable to log in with provided credentials.")
	// The other French messages are still the embedded ones.
	expectField(t, e.do("POST", "/rest-auth/registration/", map[string]any{}, "Accept-Language", "fr"),
		"password1", catalogText(t, "fr", "field.required", ""))
}

// TestAutoMigrateTwice: AutoMigrate runs again on a migrated database, in
// the same mode and adding JWT's tables, and keeps the rows.
func TestAutoMigrateTwice(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		if err := e.auth.AutoMigrate(); err != nil {
			t.Fatalf("second AutoMigrate: %v", err)
		}
		j := jwtEnv(t, db, nil)
		if err := j.auth.AutoMigrate(); err != nil {
			t.Fatalf("AutoMigrate in JWT mode over token mode's tables: %v", err)
		}
		e.login("alice", goodPass)
		if r := j.loginJWT("alice"); r.str("refresh") == "" {
			t.Fatalf("JWT login after migrating again: %s", r.Raw)
		}
		if n := j.count(&models.OutstandingToken{}); n != 1 {
			t.Fatalf("%d refresh-token rows, want 1", n)
		}
	})
}
