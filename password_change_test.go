package restauth_test

import (
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	const newPass = "Fresh-Orchid-77"
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		// Each subtest migrates the shared database before it goes
		// parallel; its user is its own.
		for _, tc := range []struct {
			name, user     string
			logoutOnChange bool
			currentAfter   int // user/ with the token that made the change
		}{
			{"keep current token", "ukeepcurrenttoken", false, 200},
			{"logout on change", "ulogoutonchange", true, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := newEnv(t, db, func(c *restauth.Config) { c.PasswordChange.LogoutOnPasswordChange = tc.logoutOnChange })
				t.Parallel()
				u := e.user(tc.user, "")
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
				expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(cur)...), tc.currentAfter)
				expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": u.Username, "password": goodPass}),
					"non_field_errors", "Unable to log in with provided credentials.")
				e.login(u.Username, newPass)
			})
		}
		t.Run("old password required", func(t *testing.T) {
			e := newEnv(t, db, func(c *restauth.Config) { c.PasswordChange.OldPasswordFieldEnabled = true })
			t.Parallel()
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

// TestJWTPasswordChangeRevokes: a password change ends the user's other
// JWT logins, and the current one too with LogoutOnPasswordChange.
func TestJWTPasswordChangeRevokes(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		for _, tc := range []struct {
			name, user   string
			logoutAll    bool
			currentAfter int // token/refresh/ with the refresh token of the login that changed it
		}{
			{"LogoutOnPasswordChange=false", "pwfalse", false, 200},
			{"LogoutOnPasswordChange=true", "pwtrue", true, 401},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e := jwtEnv(t, db, func(c *restauth.Config) { c.PasswordChange.LogoutOnPasswordChange = tc.logoutAll })
				t.Parallel()
				e.user(tc.user, tc.user+"@example.com")
				here, there := e.loginJWT(tc.user), e.loginJWT(tc.user)
				ch := e.do("POST", "/rest-auth/password/change/", map[string]any{
					"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
				}, bearer(here.str("access"))...)
				expect(t, ch, 200)
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": there.str("refresh")}), "Token is invalid or expired")
				cur := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": here.str("refresh")})
				expect(t, cur, tc.currentAfter)
			})
		}
	})
}
