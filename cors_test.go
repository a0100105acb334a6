package restauth_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

// spaOrigin is the origin of a single-page app served from another site
// than the API.
const spaOrigin = "https://spa.example"

// csrfHeader is JWT.CSRFHeaderName's default; the CORS configuration
// must allow whatever name the JWT configuration uses.
const csrfHeader = "X-CSRFToken"

// corsConfig is the gin-contrib/cors configuration the README's "Browser
// clients" section recommends. credentials is for the JWT cookie mode
// only.
func corsConfig(credentials bool) cors.Config {
	return cors.Config{
		AllowOrigins:     []string{spaOrigin},
		AllowMethods:     []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
		AllowHeaders:     []string{"Authorization", "Content-Type", csrfHeader, "Accept-Language"},
		ExposeHeaders:    []string{"Retry-After"},
		AllowCredentials: credentials,
		MaxAge:           12 * time.Hour,
	}
}

// withCORS replaces e's engine by one built as an app would: the CORS
// middleware first, then restauth under /rest-auth. gin copies an
// engine's middleware into each route when the route is added, so Use
// must come before Register.
func withCORS(e *env, cfg cors.Config) *env {
	r := gin.New()
	r.Use(cors.New(cfg))
	e.auth.Register(r.Group("/rest-auth"))
	e.r = r
	return e
}

// listHas reports whether the comma-separated header value list holds
// want, case-insensitively (header and method names as CORS compares
// them).
func listHas(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}

// expectCORS fails t unless r is an answer a browser lets spaOrigin's
// scripts read, with credentials when credentials is set.
func expectCORS(t testing.TB, r resp, credentials bool) {
	t.Helper()
	if got := r.Header.Values("Access-Control-Allow-Origin"); len(got) != 1 || got[0] != spaOrigin {
		t.Fatalf("Access-Control-Allow-Origin %q, want exactly %q", got, spaOrigin)
	}
	if got := r.Header.Get("Access-Control-Allow-Credentials"); (got == "true") != credentials {
		t.Fatalf("Access-Control-Allow-Credentials %q with credentials=%v", got, credentials)
	}
	if !listHas(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
		t.Fatalf("Vary %q lacks Origin (caches would mix origins)", r.Header.Values("Vary"))
	}
}

func preflight(e *env, path, origin, method, headers string) resp {
	e.t.Helper()
	return e.do(http.MethodOptions, path, nil,
		"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	e := withCORS(newEnv(t, testdb.SQLite(t), nil), corsConfig(true))

	t.Run("allowed origin", func(t *testing.T) {
		t.Parallel()
		e := e.on(t)
		r := preflight(e, "/rest-auth/login/", spaOrigin, "POST", "content-type,x-csrftoken")
		// The middleware answers and aborts before restauth's own OPTIONS
		// handler, which would answer 200 with Allow and no CORS headers.
		expect(t, r, http.StatusNoContent)
		if a := r.Header.Get("Allow"); a != "" {
			t.Fatalf("restauth's OPTIONS handler ran (Allow %q)", a)
		}
		expectCORS(t, r, true)
		methods := r.Header.Get("Access-Control-Allow-Methods")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !listHas(methods, m) {
				t.Fatalf("Access-Control-Allow-Methods %q lacks %s", methods, m)
			}
		}
		headers := r.Header.Get("Access-Control-Allow-Headers")
		for _, h := range []string{csrfHeader, "Content-Type", "Authorization", "Accept-Language"} {
			if !listHas(headers, h) {
				t.Fatalf("Access-Control-Allow-Headers %q lacks %s", headers, h)
			}
		}
		if got := r.Header.Get("Access-Control-Max-Age"); got != "43200" {
			t.Fatalf("Access-Control-Max-Age %q, want 43200", got)
		}
		if r.Raw != "" {
			t.Fatalf("preflight body %q", r.Raw)
		}
	})

	t.Run("other origin refused", func(t *testing.T) {
		t.Parallel()
		e := e.on(t)
		for _, origin := range []string{"https://evil.example", "http://spa.example", "https://spa.example.evil.example"} {
			r := preflight(e, "/rest-auth/login/", origin, "POST", "content-type")
			expect(t, r, http.StatusForbidden)
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Allow"} {
				if v := r.Header.Get(h); v != "" {
					t.Fatalf("%s: %s %q on a refused preflight", origin, h, v)
				}
			}
			// The actual request is refused too (a browser would not
			// let the page read it anyway).
			lr := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, "Origin", origin)
			expect(t, lr, http.StatusForbidden)
			if v := lr.Header.Get("Access-Control-Allow-Origin"); v != "" || len(lr.Header.Values("Set-Cookie")) != 0 {
				t.Fatalf("%s: login from a refused origin answered ACAO %q, cookies %q", origin, v, lr.Header.Values("Set-Cookie"))
			}
		}
	})

	t.Run("requests without Origin untouched", func(t *testing.T) {
		t.Parallel()
		e := e.on(t)
		// curl, server-to-server: no CORS, restauth's own OPTIONS answer.
		r := e.do(http.MethodOptions, "/rest-auth/login/", nil)
		expect(t, r, http.StatusOK)
		if r.Header.Get("Allow") != "POST, OPTIONS" || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("OPTIONS without Origin: Allow %q, ACAO %q", r.Header.Get("Allow"), r.Header.Get("Access-Control-Allow-Origin"))
		}
	})

	t.Run("middleware after Register does not cover restauth", func(t *testing.T) {
		t.Parallel()
		late := newEnv(t, testdb.SQLite(t), nil)
		late.r = gin.New()
		late.auth.Register(late.r.Group("/rest-auth"))
		late.r.Use(cors.New(corsConfig(true)))
		r := preflight(late, "/rest-auth/login/", spaOrigin, "POST", "content-type")
		if r.Code != http.StatusOK || r.Header.Get("Allow") == "" || r.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("late Use: %d, Allow %q, ACAO %q; the README's order advice would be moot",
				r.Code, r.Header.Get("Allow"), r.Header.Get("Access-Control-Allow-Origin"))
		}
	})
}

func TestCORSJWTCookies(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := withCORS(jwtEnv(t, db, func(c *restauth.Config) {
			c.JWT.Cookie = "auth"
			c.JWT.RefreshCookie = "auth-refresh"
			c.JWT.CookieUseCSRF = true
			c.JWT.SameSite = http.SameSiteNoneMode
			c.JWT.Secure = true
		}), corsConfig(true))
		e.user("alice", "alice@example.com")
		origin := []string{"Origin", spaOrigin}

		// fetch(..., {credentials: "include"}) of login/.
		lr := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, origin...)
		expect(t, lr, 200)
		expectCORS(t, lr, true)
		if eh := lr.Header.Get("Access-Control-Expose-Headers"); !listHas(eh, "Retry-After") {
			t.Fatalf("Access-Control-Expose-Headers %q lacks Retry-After", eh)
		}
		ck := setCookies(lr)
		for _, name := range []string{"auth", "auth-refresh", "csrftoken"} {
			if line := ck[name]; cookieValue(line) == "" || !strings.Contains(line, "; Secure") || !strings.Contains(line, "SameSite=None") {
				t.Fatalf("%s Set-Cookie %q: want a value, Secure, SameSite=None", name, line)
			}
		}
		access, refresh, csrf := cookieValue(ck["auth"]), cookieValue(ck["auth-refresh"]), cookieValue(ck["csrftoken"])
		if access != lr.str("access") {
			t.Fatalf("access cookie %q, body %q", access, lr.str("access"))
		}
		cookies := []string{"Cookie", "auth=" + access + "; auth-refresh=" + refresh + "; csrftoken=" + csrf}
		with := func(hdr ...string) []string { return append(append(append([]string{}, origin...), cookies...), hdr...) }

		// A safe request needs the cookie only.
		me := e.do("GET", "/rest-auth/user/", nil, with()...)
		expect(t, me, 200)
		expectCORS(t, me, true)
		if me.Body["username"] != "alice" {
			t.Fatalf("GET user/ %s", me.Raw)
		}

		// CORS does not replace CSRF: the allowed origin, with the cookie,
		// still needs the header; the refusal is readable by the page.
		patch := map[string]any{"first_name": "Alice"}
		no := e.do("PATCH", "/rest-auth/user/", patch, with()...)
		expectDetail(t, no, 403, "CSRF Failed: CSRF token missing.")
		expectCORS(t, no, true)
		wrong := e.do("PATCH", "/rest-auth/user/", patch, with(csrfHeader, strings.Repeat("0", 64))...)
		expectDetail(t, wrong, 403, "CSRF Failed: CSRF token incorrect.")
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, with()...), 403, "CSRF Failed: CSRF token missing.")
		if got := e.do("GET", "/rest-auth/user/", nil, with()...); got.Body["first_name"] != "" {
			t.Fatalf("refused PATCH changed the user: %s", got.Raw)
		}

		ok := e.do("PATCH", "/rest-auth/user/", patch, with(csrfHeader, csrf)...)
		expect(t, ok, 200)
		expectCORS(t, ok, true)
		if ok.Body["first_name"] != "Alice" {
			t.Fatalf("PATCH user/ %s", ok.Raw)
		}
		out := e.do("POST", "/rest-auth/logout/", nil, with(csrfHeader, csrf)...)
		expect(t, out, 200)
		expectCORS(t, out, true)
		if oc := setCookies(out); !strings.HasPrefix(oc["auth"], "auth=;") || !strings.HasPrefix(oc["auth-refresh"], "auth-refresh=;") {
			t.Fatalf("logout did not clear the cookies: %q", out.Header.Values("Set-Cookie"))
		}
	})
}

func TestCORSToken(t *testing.T) {
	t.Parallel()
	// Token (and Bearer) headers need no credentials mode: the page sends
	// Authorization itself, which AllowHeaders must list.
	e := withCORS(newEnv(t, testdb.SQLite(t), nil), corsConfig(false))
	e.user("alice", "alice@example.com")
	key := e.login("alice", goodPass)

	pf := preflight(e, "/rest-auth/user/", spaOrigin, "GET", "authorization")
	expect(t, pf, http.StatusNoContent)
	expectCORS(t, pf, false)
	if h := pf.Header.Get("Access-Control-Allow-Headers"); !listHas(h, "Authorization") {
		t.Fatalf("Access-Control-Allow-Headers %q lacks Authorization", h)
	}

	r := e.do("GET", "/rest-auth/user/", nil, append(tokenHeader(key), "Origin", spaOrigin)...)
	expect(t, r, 200)
	expectCORS(t, r, false)
	if r.Body["username"] != "alice" {
		t.Fatalf("GET user/ %s", r.Raw)
	}
	// An unauthenticated answer is readable too, so the page can tell a
	// bad token from a network error.
	bad := e.do("GET", "/rest-auth/user/", nil, append(tokenHeader(strings.Repeat("0", 40)), "Origin", spaOrigin)...)
	expectDetail(t, bad, 401, "Invalid token.")
	expectCORS(t, bad, false)
}
