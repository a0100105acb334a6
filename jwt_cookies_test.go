package restauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

func TestJWTCookies(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, func(c *restauth.Config) {
			c.JWT.Cookie = "app-auth"
			c.JWT.RefreshCookie = "app-refresh"
			c.JWT.RefreshCookiePath = "/rest-auth/"
			c.JWT.Secure = true
			c.JWT.SameSite = http.SameSiteStrictMode
			c.JWT.CookieDomain = "app.example"
		})
		e.user("alice", "alice@example.com")
		e.user("bob", "bob@example.com")
		r := e.loginJWT("alice")
		ck := setCookies(r)
		access := cookieValue(ck["app-auth"])
		if access == "" || access != r.str("access") {
			t.Fatalf("access cookie %q vs body %q", ck["app-auth"], r.str("access"))
		}
		exp := e.clock.Now().UTC()
		wantAccess := "app-auth=" + access + "; Path=/; Domain=app.example; Expires=" +
			exp.Add(5*time.Minute).Format(http.TimeFormat) + "; Max-Age=300; HttpOnly; Secure; SameSite=Strict"
		if ck["app-auth"] != wantAccess {
			t.Fatalf("access Set-Cookie\n got %s\nwant %s", ck["app-auth"], wantAccess)
		}
		refresh := cookieValue(ck["app-refresh"])
		wantRefresh := "app-refresh=" + refresh + "; Path=/rest-auth/; Domain=app.example; Expires=" +
			exp.Add(24*time.Hour).Format(http.TimeFormat) + "; Max-Age=86400; HttpOnly; Secure; SameSite=Strict"
		if ck["app-refresh"] != wantRefresh || payload(t, refresh)["token_type"] != "refresh" {
			t.Fatalf("refresh Set-Cookie\n got %s\nwant %s", ck["app-refresh"], wantRefresh)
		}
		if v, ok := r.Body["refresh"]; !ok || v != "" {
			t.Fatalf("body refresh should be blank with an HttpOnly refresh cookie: %s", r.Raw)
		}
		if _, ok := ck["csrftoken"]; ok {
			t.Fatal("CSRF cookie set although CSRF is off")
		}

		// The cookie alone authenticates, also for unsafe methods (CSRF off).
		me := e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access)
		expect(t, me, 200)
		expect(t, e.do("POST", "/api/action", nil, "Cookie", "app-auth="+access), 200)
		// The header wins over the cookie, both ways.
		bob := e.loginJWT("bob")
		both := e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access, "Authorization", "Bearer "+bob.str("access"))
		if both.Body["username"] != "bob" {
			t.Fatalf("header did not win: %s", both.Raw)
		}
		expect(t, e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access, "Authorization", "Bearer broken"), 401)
		// token/refresh/ reads the refresh cookie and renews the access cookie.
		nr := e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+refresh)
		expect(t, nr, 200)
		if cookieValue(setCookies(nr)["app-auth"]) != nr.str("access") {
			t.Fatalf("refresh did not set the access cookie: %v", nr.Header.Values("Set-Cookie"))
		}
		// logout/ reads the refresh cookie, blacklists it and clears both.
		out := e.do("POST", "/rest-auth/logout/", nil, "Cookie", "app-auth="+access+"; app-refresh="+refresh)
		expect(t, out, 200)
		oc := setCookies(out)
		for name, path := range map[string]string{"app-auth": "/", "app-refresh": "/rest-auth/"} {
			want := name + "=; Path=" + path + "; Domain=app.example; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
			if oc[name] != want {
				t.Fatalf("logout Set-Cookie\n got %s\nwant %s", oc[name], want)
			}
		}
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+refresh), "Token is invalid or expired")
		// With only the access cookie, logout ends that login.
		again := e.loginJWT("alice")
		ac, rf := cookieValue(setCookies(again)["app-auth"]), cookieValue(setCookies(again)["app-refresh"])
		expect(t, e.do("POST", "/rest-auth/logout/", nil, "Cookie", "app-auth="+ac), 200)
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+rf), "Token is invalid or expired")
	})

	t.Run("refresh kept in body", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name     string
			mutate   func(*restauth.Config)
			httpOnly bool // the access cookie's HttpOnly attribute
		}{
			{"no refresh cookie", func(c *restauth.Config) { c.JWT.Cookie = "app-auth" }, true},
			{"not HttpOnly", func(c *restauth.Config) {
				c.JWT.Cookie, c.JWT.RefreshCookie, c.JWT.HTTPOnly = "app-auth", "app-refresh", restauth.Bool(false)
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := jwtEnv(t, testdb.SQLite(t), tc.mutate)
				e.user("alice", "alice@example.com")
				r := e.loginJWT("alice")
				if r.str("refresh") == "" || payload(t, r.str("refresh"))["token_type"] != "refresh" {
					t.Fatalf("refresh lost from the body: %s", r.Raw)
				}
				if strings.Contains(setCookies(r)["app-auth"], "HttpOnly") != tc.httpOnly {
					t.Fatalf("HttpOnly attribute wrong: %s", setCookies(r)["app-auth"])
				}
			})
		}
	})
}

func TestJWTCSRF(t *testing.T) {
	t.Parallel()
	cookieEnv := func(t *testing.T, enforce bool) *env {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.JWT.Cookie = "app-auth"
			c.JWT.CookieUseCSRF = true
			c.JWT.EnforceCSRFOnUnauthenticated = enforce
		})
		e.user("alice", "alice@example.com")
		return e
	}
	t.Run("cookie-authenticated requests", func(t *testing.T) {
		t.Parallel()
		e := cookieEnv(t, false)
		// No access cookie yet: login needs no CSRF token.
		r := e.loginJWT("alice")
		ck := setCookies(r)
		access, csrf := cookieValue(ck["app-auth"]), cookieValue(ck["csrftoken"])
		if len(csrf) != 64 || strings.Contains(ck["csrftoken"], "HttpOnly") {
			t.Fatalf("csrftoken cookie %q must be readable by scripts", ck["csrftoken"])
		}
		cookies := "app-auth=" + access + "; csrftoken=" + csrf
		cases := []struct {
			name   string
			hdr    []string
			status int
			detail string
		}{
			{"no CSRF cookie", []string{"Cookie", "app-auth=" + access, "X-CSRFToken", csrf}, 403, "CSRF Failed: CSRF cookie not set."},
			{"no header", []string{"Cookie", cookies}, 403, "CSRF Failed: CSRF token missing."},
			{"wrong header", []string{"Cookie", cookies, "X-CSRFToken", strings.Repeat("0", 64)}, 403, "CSRF Failed: CSRF token incorrect."},
			{"matching", []string{"Cookie", cookies, "X-CSRFToken", csrf}, 200, ""},
			{"header-authenticated", bearer(access), 200, ""},
			{"header wins over cookie", append(bearer(access), "Cookie", cookies), 200, ""},
		}
		t.Run("action", func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					r := e.on(t).do("POST", "/api/action", nil, tc.hdr...)
					if tc.detail != "" {
						expectDetail(t, r, tc.status, tc.detail)
					} else {
						expect(t, r, tc.status)
					}
				})
			}
		})
		// A refresh cookie alone also needs the token: no other site may
		// log the user out or refresh with it.
		re := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.JWT.RefreshCookie = "app-refresh"
			c.JWT.CookieUseCSRF = true
		})
		re.user("alice", "alice@example.com")
		lr := re.loginJWT("alice")
		rc, rcsrf := cookieValue(setCookies(lr)["app-refresh"]), cookieValue(setCookies(lr)["csrftoken"])
		both := "app-refresh=" + rc + "; csrftoken=" + rcsrf
		expectDetail(t, re.do("POST", "/rest-auth/logout/", nil, "Cookie", both), 403, "CSRF Failed: CSRF token missing.")
		expectDetail(t, re.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", both), 403, "CSRF Failed: CSRF token missing.")
		expect(t, re.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", both, "X-CSRFToken", rcsrf), 200)
		expect(t, re.do("POST", "/rest-auth/logout/", nil, "Cookie", both, "X-CSRFToken", rcsrf), 200)
		// A header of another scheme (a browser adds cached Basic
		// credentials by itself) does not make a request header-borne:
		// restauth's endpoints still check, for every unsafe method, and
		// RequireAuth does not fall back to the cookie.
		basic := []string{"Cookie", cookies, "Authorization", "Basic YTpi"}
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			expectDetail(t, e.do(m, "/rest-auth/user/", nil, basic...), 403, "CSRF Failed: CSRF token missing.")
		}
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, basic...), 403, "CSRF Failed: CSRF token missing.")
		expectDetail(t, e.do("POST", "/api/action", nil, basic...), 401, "Authentication credentials were not provided.")
		// Safe methods need no token.
		expect(t, e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access), 200)
		// restauth's own unsafe endpoints follow the same rule.
		expectDetail(t, e.do("POST", "/rest-auth/password/change/", map[string]any{
			"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
		}, "Cookie", cookies), 403, "CSRF Failed: CSRF token missing.")
		expect(t, e.do("POST", "/rest-auth/password/change/", map[string]any{
			"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
		}, "Cookie", cookies, "X-CSRFToken", csrf), 200)
	})
	t.Run("enforced on unauthenticated", func(t *testing.T) {
		t.Parallel()
		e := cookieEnv(t, true)
		body := map[string]any{"username": "alice", "password": goodPass}
		first := e.do("POST", "/rest-auth/login/", body)
		expectDetail(t, first, 403, "CSRF Failed: CSRF cookie not set.")
		csrf := cookieValue(setCookies(first)["csrftoken"])
		if csrf == "" {
			t.Fatal("the refusal did not hand out a CSRF cookie")
		}
		expectDetail(t, e.do("POST", "/rest-auth/login/", body, "Cookie", "csrftoken="+csrf), 403, "CSRF Failed: CSRF token missing.")
		ok := e.do("POST", "/rest-auth/login/", body, "Cookie", "csrftoken="+csrf, "X-CSRFToken", csrf)
		expect(t, ok, 200)
		// Login rotates the CSRF token.
		if next := cookieValue(setCookies(ok)["csrftoken"]); next == "" || next == csrf {
			t.Fatalf("CSRF token not rotated at login: %q", next)
		}
		// A request with an Authorization header needs none.
		expect(t, e.do("POST", "/api/action", nil, bearer(ok.str("access"))...), 200)
		expect(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": ok.str("refresh")}, bearer(ok.str("access"))...), 200)
	})
}

func TestJWTPluginLoginKeepsRefresh(t *testing.T) {
	t.Parallel()
	e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.JWT.Cookie, c.JWT.RefreshCookie = "a", "r" })
	u := e.user("alice", "alice@example.com")
	res, err := e.auth.Login(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	ref, _ := out["refresh"].(string)
	if ref == "" || payload(t, ref)["token_type"] != "refresh" {
		t.Fatalf("Login without a request set no cookie, so the body must keep refresh: %s", raw)
	}
	if res.Refresh != ref || res.Access != out["access"] || res.Key != "" {
		t.Fatalf("LoginResult fields %+v disagree with the body %s", res, raw)
	}
	expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": ref}), 200)
}
