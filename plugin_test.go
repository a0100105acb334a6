package restauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
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

func TestLogin(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		alice := e.user("alice", "Alice@Example.com")
		off := e.user("olga", "olga@example.com")
		if err := db.Model(&Customer{}).Where("id = ?", off.ID).Update("is_active", false).Error; err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			body  map[string]any
			code  int
			field string
			msg   string
		}{
			{"username", map[string]any{"username": "alice", "password": goodPass}, 200, "", ""},
			{"username any case", map[string]any{"username": "ALICE", "password": goodPass}, 200, "", ""},
			{"email", map[string]any{"email": "alice@example.com", "password": goodPass}, 200, "", ""},
			{"email any case", map[string]any{"email": "ALICE@EXAMPLE.COM", "password": goodPass}, 200, "", ""},
			{"email typed as username", map[string]any{"username": "alice@EXAMPLE.com", "password": goodPass}, 200, "", ""},
			{"email wins over username", map[string]any{"username": "nobody", "email": "alice@example.com", "password": goodPass}, 200, "", ""},
			{"padded fields are trimmed", map[string]any{"username": "  alice ", "password": " " + goodPass + " "}, 200, "", ""},
			{"wrong password", map[string]any{"username": "alice", "password": "nope-nope-nope"}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"unknown user", map[string]any{"username": "mallory", "password": goodPass}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"inactive, right password", map[string]any{"username": "olga", "password": goodPass}, 400, "non_field_errors", "User account is disabled."},
			{"inactive, wrong password", map[string]any{"username": "olga", "password": "x-wrong-x"}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"missing password", map[string]any{"username": "alice"}, 400, "password", "This field is required."},
			{"blank password", map[string]any{"username": "alice", "password": ""}, 400, "password", "This field may not be blank."},
			{"missing username and email", map[string]any{"password": goodPass}, 400, "non_field_errors", `Must include either "username" or "email" and "password".`},
			{"bad email", map[string]any{"email": "not-an-email", "password": goodPass}, 400, "email", "Enter a valid email address."},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/rest-auth/login/", tc.body)
				if tc.code == 200 {
					expect(t, r, 200)
					if len(r.Body) != 1 || !keyRe.MatchString(r.detailKey()) {
						t.Fatalf("body %s, want exactly {\"key\": 40 hex}", r.Raw)
					}
					return
				}
				expectField(t, r, tc.field, tc.msg)
				if len(r.Body) != 1 {
					t.Fatalf("body %s has more than the failing key", r.Raw)
				}
			})
		}
		// last_login is updated and both slash forms work.
		e.clock.Advance(time.Hour)
		expect(t, e.do("POST", "/rest-auth/login", map[string]any{"username": "alice", "password": goodPass}), 200)
		got := e.reload(alice.ID)
		if got.LastLogin == nil || !got.LastLogin.Equal(e.clock.Now()) {
			t.Fatalf("last_login = %v, want %v", got.LastLogin, e.clock.Now())
		}
		// Tokens are stored as SHA-256 digests only.
		key := e.login("alice", goodPass)
		var n int64
		db.Model(&models.Token{}).Where("digest = ?", key).Count(&n)
		if n != 0 {
			t.Fatal("a token row holds the raw key")
		}
	})
}

func (r resp) detailKey() string { s, _ := r.Body["key"].(string); return s }

func TestLoginMethods(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		byName := newEnv(t, db, func(c *restauth.Config) { c.LoginMethods = []restauth.LoginMethod{restauth.LoginByUsername} })
		byName.user("bob", "bob@example.com")
		expectField(t, byName.do("POST", "/rest-auth/login/", map[string]any{"email": "bob@example.com", "password": goodPass}),
			"non_field_errors", `Must include "username" and "password".`)
		expectField(t, byName.do("POST", "/rest-auth/login/", map[string]any{"username": "bob@example.com", "password": goodPass}),
			"non_field_errors", "Unable to log in with provided credentials.")
		expect(t, byName.do("POST", "/rest-auth/login/", map[string]any{"username": "bob", "password": goodPass}), 200)

		byMail := newEnv(t, db, func(c *restauth.Config) { c.LoginMethods = []restauth.LoginMethod{restauth.LoginByEmail} })
		expectField(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"password": goodPass}),
			"non_field_errors", `Must include "email" and "password".`)
		expectField(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"username": "bob", "password": goodPass}),
			"non_field_errors", `Must include "email" and "password".`)
		expect(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"email": "BOB@example.com", "password": goodPass}), 200)
	})
}

func TestLogoutRevokesOnlyThatToken(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		phone, laptop := e.login("alice", goodPass), e.login("alice", goodPass)
		if phone == laptop {
			t.Fatal("two logins gave the same key")
		}
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(phone)...), 200)
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(phone)...), 200, "Successfully logged out.")
		expectDetail(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(phone)...), 401, "Invalid token.")
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 200)
		// Idempotent: a revoked or missing credential still gets 200.
		expectDetail(t, e.do("POST", "/rest-auth/logout", nil, tokenHeader(phone)...), 200, "Successfully logged out.")
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil), 200, "Successfully logged out.")
		// GET is not allowed unless LogoutOnGet.
		r := e.do("GET", "/rest-auth/logout/", nil, tokenHeader(laptop)...)
		expectDetail(t, r, 405, `Method "GET" not allowed.`)
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 200)

		g := newEnv(t, db, func(c *restauth.Config) { c.Logout.OnGet = true })
		expectDetail(t, g.do("GET", "/rest-auth/logout/", nil, tokenHeader(laptop)...), 200, "Successfully logged out.")
		expect(t, g.do("GET", "/rest-auth/user/", nil, tokenHeader(laptop)...), 401)
	})
}

func TestRequestAuthentication(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, func(c *restauth.Config) { c.Token.TTL = time.Hour })
		u := e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		cases := []struct {
			name, header string
			code         int
			msg          string
		}{
			{"none", "", 401, "Authentication credentials were not provided."},
			{"other scheme", "Basic YTpi", 401, "Authentication credentials were not provided."},
			{"keyword only", "Token", 401, "Invalid token header. No credentials provided."},
			{"spaces", "Token " + key + " extra", 401, "Invalid token header. Token string should not contain spaces."},
			{"unknown", "Token 0123456789abcdef0123456789abcdef01234567", 401, "Invalid token."},
			{"valid", "Token " + key, 200, ""},
			{"keyword any case", "tOkEn " + key, 200, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var hdr []string
				if tc.header != "" {
					hdr = []string{"Authorization", tc.header}
				}
				r := e.do("GET", "/api/me", nil, hdr...)
				if tc.code == 200 {
					expect(t, r, 200)
					if r.Body["username"] != "alice" {
						t.Fatalf("CurrentUser gave %s", r.Raw)
					}
					return
				}
				expectDetail(t, r, tc.code, tc.msg)
				if r.Header.Get("WWW-Authenticate") != "Token" {
					t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
				}
			})
		}
		// Deactivated users are refused.
		db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", false)
		expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401, "User inactive or deleted.")
		db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", true)
		// TokenTTL: the key dies after an hour.
		e.clock.Advance(59 * time.Minute)
		expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
		e.clock.Advance(2 * time.Minute)
		expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401, "Invalid token.")
		// Public endpoints ignore a bad credential instead of answering 401.
		r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, "Authorization", "Token deadbeef")
		expect(t, r, 200)
	})
}

func TestUserDetails(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		alice := e.user("alice", "alice@example.com")
		e.user("Bobby", "bob@example.com")
		key := e.login("alice", goodPass)
		auth := tokenHeader(key)

		r := e.do("GET", "/rest-auth/user/", nil, auth...)
		expect(t, r, 200)
		want := map[string]any{"pk": float64(alice.ID), "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": ""}
		if len(r.Body) != len(want) {
			t.Fatalf("GET user/ = %s, want keys of %v", r.Raw, want)
		}
		for k, v := range want {
			if r.Body[k] != v {
				t.Fatalf("GET user/ %s = %v, want %v", k, r.Body[k], v)
			}
		}

		// PUT: writable fields change; pk, email, password, flags are ignored.
		before := e.reload(alice.ID)
		r = e.do("PUT", "/rest-auth/user/", map[string]any{
			"username": "alice2", "first_name": "Alice", "last_name": "Liddell",
			"pk": 999, "email": "evil@example.com", "password": "hacked", "is_staff": true,
			"is_superuser": true, "is_active": false, "date_joined": "2000-01-01T00:00:00Z",
		}, auth...)
		expect(t, r, 200)
		if r.Body["username"] != "alice2" || r.Body["first_name"] != "Alice" || r.Body["email"] != "alice@example.com" || r.Body["pk"] != float64(alice.ID) {
			t.Fatalf("PUT answer %s", r.Raw)
		}
		got := e.reload(alice.ID)
		if got.Username != "alice2" || got.FirstName != "Alice" || got.LastName != "Liddell" {
			t.Fatalf("PUT not saved: %+v", got.User)
		}
		if got.Email != before.Email || got.Password != before.Password || got.IsStaff || got.IsSuperuser || !got.IsActive ||
			!got.DateJoined.Equal(before.DateJoined) {
			t.Fatalf("PUT changed a protected field: %+v", got.User)
		}

		// PATCH is partial.
		expect(t, e.do("PATCH", "/rest-auth/user", map[string]any{"last_name": "Smith"}, auth...), 200)
		got = e.reload(alice.ID)
		if got.LastName != "Smith" || got.FirstName != "Alice" || got.Username != "alice2" {
			t.Fatalf("PATCH: %+v", got.User)
		}

		// PUT requires username; validation messages.
		expectField(t, e.do("PUT", "/rest-auth/user/", map[string]any{"first_name": "A"}, auth...), "username", "This field is required.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "bad name!"}, auth...), "username",
			"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": strings.Repeat("a", 151)}, auth...), "username",
			"Ensure this field has no more than 150 characters.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "bobby"}, auth...), "username",
			"A user with that username already exists.")
		// Resending your own username (any case) is not a collision.
		expect(t, e.do("PUT", "/rest-auth/user/", map[string]any{"username": "ALICE2"}, auth...), 200)
		if e.reload(alice.ID).Username != "ALICE2" {
			t.Fatal("own username in another case not saved")
		}
		if e.reload(alice.ID).LastName != "Smith" {
			t.Fatal("PUT without last_name cleared it")
		}

		// HEAD answers like GET.
		if w := e.rawAuth("HEAD", "/rest-auth/user/", key); w.Code != 200 {
			t.Fatalf("HEAD user/: %d", w.Code)
		}
		// Method and auth rules.
		expectDetail(t, e.do("POST", "/rest-auth/user/", map[string]any{}, auth...), 405, `Method "POST" not allowed.`)
		expectDetail(t, e.do("DELETE", "/rest-auth/user/", nil, auth...), 405, `Method "DELETE" not allowed.`)
		r = e.do("GET", "/rest-auth/user/", nil)
		expectDetail(t, r, 401, "Authentication credentials were not provided.")
		if r.Header.Get("WWW-Authenticate") != "Token" {
			t.Fatal("401 without WWW-Authenticate")
		}
	})
}

func TestPasswordChange(t *testing.T) {
	const newPass = "Fresh-Orchid-77"
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		for _, logoutOnChange := range []bool{false, true} {
			name := "keep current token"
			if logoutOnChange {
				name = "logout on change"
			}
			t.Run(name, func(t *testing.T) {
				e := newEnv(t, db, func(c *restauth.Config) { c.PasswordChange.LogoutOnPasswordChange = logoutOnChange })
				u := e.user("u"+strings.ReplaceAll(name, " ", ""), "")
				cur, other := e.login(u.Username, goodPass), e.login(u.Username, goodPass)
				expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": newPass, "new_password2": newPass + "x"}, tokenHeader(cur)...),
					"new_password2", "The two password fields didn’t match.")
				expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "Zq9!x", "new_password2": "Zq9!x"}, tokenHeader(cur)...),
					"new_password2", "This password is too short. It must contain at least 8 characters.")
				expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "password", "new_password2": "password"}, tokenHeader(cur)...),
					"new_password2", "This password is too common.")
				expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": newPass}, tokenHeader(cur)...),
					"new_password2", "This field is required.")
				expectDetail(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": newPass, "new_password2": newPass}), 401,
					"Authentication credentials were not provided.")

				// old_password is not a field in this configuration: ignored whatever its type.
				expectDetail(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"old_password": 12.5, "new_password1": newPass, "new_password2": newPass}, tokenHeader(cur)...),
					200, "New password has been saved.")
				expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(other)...), 401)
				if logoutOnChange {
					expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(cur)...), 401)
				} else {
					expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(cur)...), 200)
				}
				expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": u.Username, "password": goodPass}),
					"non_field_errors", "Unable to log in with provided credentials.")
				e.login(u.Username, newPass)
			})
		}
		t.Run("old password required", func(t *testing.T) {
			e := newEnv(t, db, func(c *restauth.Config) { c.PasswordChange.OldPasswordFieldEnabled = true })
			e.user("olduser", "")
			key := e.login("olduser", goodPass)
			expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": newPass, "new_password2": newPass}, tokenHeader(key)...),
				"old_password", "This field is required.")
			expectField(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"old_password": "wrong-one", "new_password1": newPass, "new_password2": newPass}, tokenHeader(key)...),
				"old_password", "Your old password was entered incorrectly. Please enter it again.")
			expect(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"old_password": goodPass, "new_password1": newPass, "new_password2": newPass}, tokenHeader(key)...), 200)
			e.login("olduser", newPass)
		})
	})
}

// resetLink waits for the one reset email and returns its uid and token.
func (e *env) resetLink(to string) (uid, token string) {
	e.t.Helper()
	e.auth.Shutdown(context.Background())
	m, ok := e.out.Last()
	if !ok || e.out.Len() != 1 {
		e.t.Fatalf("want 1 email, have %d", e.out.Len())
	}
	if len(m.To) != 1 || m.To[0] != to {
		e.t.Fatalf("email to %v, want %s", m.To, to)
	}
	re := regexp.MustCompile(regexp.QuoteMeta(siteURL) + `/password/reset/confirm/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]{64})/`)
	mt := re.FindStringSubmatch(m.Text)
	if mt == nil || !strings.Contains(m.HTML, mt[0]) {
		e.t.Fatalf("no reset link in the email text/HTML:\n%s", m.Text)
	}
	e.out.Reset()
	return mt[1], mt[2]
}

func TestPasswordReset(t *testing.T) {
	const newPass = "Fresh-Orchid-77"
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		u := e.user("alice", "alice@example.com")
		old := e.login("alice", goodPass)
		reset := func(email string, hdr ...string) {
			t.Helper()
			expectDetail(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": email}, hdr...), 200, "Password reset e-mail has been sent.")
		}
		confirm := func(uid, token, p1, p2 string) resp {
			return e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": p1, "new_password2": p2})
		}

		// The link comes from SiteURL even when the Host header lies.
		reset("ALICE@example.COM", "Host", "evil.example", "X-Forwarded-Host", "evil.example")
		uid, token := e.resetLink("alice@example.com")
		if uid != "MQ" && u.ID == 1 {
			t.Fatalf("uid %q, want MQ for pk 1", uid)
		}
		expectField(t, confirm("@@@", token, newPass, newPass), "uid", "Invalid value")
		expectField(t, confirm("OTk5", token, newPass, newPass), "uid", "Invalid value")
		expectField(t, confirm(uid, token+"0", newPass, newPass), "token", "Invalid value")
		expectField(t, confirm(uid, "1-abc", newPass, newPass), "token", "Invalid value")
		expectField(t, confirm(uid, token, newPass, newPass+"!"), "new_password2", "The two password fields didn’t match.")
		expectField(t, confirm(uid, token, "alice", "alice"), "new_password2",
			"The password is too similar to the username.", "This password is too short. It must contain at least 8 characters.",
			"This password is too common.")
		expectField(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid}), "token", "This field is required.")

		expectDetail(t, confirm(uid, token, newPass, newPass), 200, "Password has been reset with the new password.")
		e.login("alice", newPass)
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(old)...), 401) // reset revokes tokens
		// Single use.
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")

		// A token dies when the password changes another way.
		reset("alice@example.com")
		uid, token = e.resetLink("alice@example.com")
		key := e.login("alice", newPass)
		expect(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "Third-Pass-303", "new_password2": "Third-Pass-303"}, tokenHeader(key)...), 200)
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")

		// And after PasswordResetTimeout (72 h).
		reset("alice@example.com")
		uid, token = e.resetLink("alice@example.com")
		e.clock.Advance(71 * time.Hour)
		uid2, token2 := e.auth.PasswordResetToken(ptr(e.reload(u.ID)))
		e.clock.Advance(2 * time.Hour)
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")
		expect(t, confirm(uid2, token2, "Another-Pass-99", "Another-Pass-99"), 200)

		// Unknown and inactive addresses: same answer, nothing sent.
		reset("nobody@example.com")
		e.auth.Shutdown(context.Background())
		if e.out.Len() != 0 {
			t.Fatal("an email went to an unknown address")
		}
		expectField(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "nope"}), "email", "Enter a valid email address.")
		expectField(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{}), "email", "This field is required.")
	})
}

func ptr[T any](v T) *T { return &v }

// customerSerializer is the seed's UserProfile FAQ case: user/ reads and
// writes company_name besides the default fields.
type customerSerializer struct {
	handlers.DefaultUserSerializer[Customer]
}

type customerDetails struct {
	PK          uint   `json:"pk"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	CompanyName string `json:"company_name"`
}

func (s customerSerializer) Represent(u *Customer) any {
	d := s.Details(u)
	return customerDetails{d.PK, d.Username, d.Email, d.FirstName, d.LastName, u.CompanyName}
}

func (s customerSerializer) Update(ctx context.Context, u *Customer, in *handlers.Input, partial bool) error {
	var extra struct {
		CompanyName *string `json:"company_name" binding:"max=100"`
	}
	err := handlers.JoinFieldErrors(s.DefaultUserSerializer.Update(ctx, u, in, partial), in.Bind(&extra, partial))
	if err != nil {
		return err
	}
	if extra.CompanyName != nil {
		u.CompanyName = *extra.CompanyName
	}
	return nil
}

func TestCustomUserSerializer(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil, restauth.WithUserSerializer[Customer](customerSerializer{}))
		u := e.user("carol", "carol@example.com")
		auth := tokenHeader(e.login("carol", goodPass))
		r := e.do("GET", "/rest-auth/user/", nil, auth...)
		expect(t, r, 200)
		if v, ok := r.Body["company_name"]; !ok || v != "" {
			t.Fatalf("GET has no company_name: %s", r.Raw)
		}
		r = e.do("PATCH", "/rest-auth/user/", map[string]any{"company_name": "Acme Ltd"}, auth...)
		expect(t, r, 200)
		if r.Body["company_name"] != "Acme Ltd" || e.reload(u.ID).CompanyName != "Acme Ltd" {
			t.Fatalf("company_name not saved: %s", r.Raw)
		}
		// The app's own route sees the typed field.
		if r := e.do("GET", "/api/me", nil, auth...); r.Body["company_name"] != "Acme Ltd" {
			t.Fatalf("/api/me %s", r.Raw)
		}
		// Errors of both parts come back together; nothing is saved.
		r = e.do("PUT", "/rest-auth/user/", map[string]any{"company_name": strings.Repeat("x", 101)}, auth...)
		expectField(t, r, "company_name", "Ensure this field has no more than 100 characters.")
		expectField(t, r, "username", "This field is required.")
		if e.reload(u.ID).CompanyName != "Acme Ltd" {
			t.Fatal("failed PUT changed the row")
		}
	})
}

func TestConfigValidation(t *testing.T) {
	db := testdb.SQLite(t)
	good := restauth.Config{SecretKey: testSecret, Logger: quietLogger()}
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
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
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

func TestResetHookRuns(t *testing.T) {
	db := testdb.SQLite(t)
	var got *Customer
	e := newEnv(t, db, nil, restauth.OnPasswordReset(func(_ context.Context, u *Customer) { got = u }))
	u := e.user("erin", "erin@example.com")
	uid, token := e.auth.PasswordResetToken(u)
	expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": "Another-Pass-99", "new_password2": "Another-Pass-99"}), 200)
	if got == nil || got.Username != "erin" {
		t.Fatalf("OnPasswordReset got %v", got)
	}
}

func TestTranslations(t *testing.T) {
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
	expectField(t, e.do("POST", "/rest-auth/login/", body, "Accept-Language", "de"),
		"non_field_errors", "Unable to log in with provided credentials.")
}

func TestDatabaseDownIs503(t *testing.T) {
	db := testdb.SQLite(t)
	e := newEnv(t, db, nil)
	e.user("alice", "alice@example.com")
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close()
	expectDetail(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}), 503, "Service temporarily unavailable.")
	expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(strings.Repeat("a", 40))...), 503, "Service temporarily unavailable.")
}

var _ = errors.New
var _ = url.Parse
