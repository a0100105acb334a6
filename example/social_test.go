package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
)

// oidcProvider starts a mockoidc for one test and returns it with the
// variables that point the example at it (what the mockprovider command
// prints).
func oidcProvider(t *testing.T) (*mockoidc.MockOIDC, map[string]string) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m, map[string]string{
		"SOCIAL_OIDC_ISSUER":        m.Issuer(),
		"SOCIAL_OIDC_CLIENT_ID":     m.ClientID,
		"SOCIAL_OIDC_CLIENT_SECRET": m.ClientSecret,
	}
}

// noRedirect returns redirects instead of following them, as curl does
// without -L.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// fetch makes one request and returns the response with its body read.
func fetch(t *testing.T, client *http.Client, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, raw
}

// decode unmarshals a JSON answer into a new T.
func decode[T any](t *testing.T, what string, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %q is not the JSON expected: %v", what, raw, err)
	}
	return v
}

var tokenKey = regexp.MustCompile(`^[0-9a-f]{40}$`)

// startFlow is the README's first curl: authorize/ asked for JSON. It
// checks the answer and returns the authorization URL, the state and the
// flow cookie.
func startFlow(t *testing.T, base string, m *mockoidc.MockOIDC, redirect string) (authURL, state string, cookie *http.Cookie) {
	t.Helper()
	res, raw := fetch(t, noRedirect, "GET", base+"/rest-auth/oidc/authorize/", "", "Accept", "application/json")
	body := decode[map[string]string](t, "authorize", raw)
	authURL, state = body["authorization_url"], body["state"]
	if res.StatusCode != 200 || len(state) < 22 || !strings.HasPrefix(authURL, m.AuthorizationEndpoint()+"?") {
		t.Fatalf("authorize: %d %s", res.StatusCode, raw)
	}
	q := must(url.Parse(authURL)).Query()
	if q.Get("client_id") != m.ClientID || q.Get("redirect_uri") != redirect || q.Get("state") != state ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorization URL %s", authURL)
	}
	for _, c := range res.Cookies() {
		if c.Name == "restauth_social_flow" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("flow cookie: %v", res.Header["Set-Cookie"])
	}
	return authURL, state, cookie
}

// authorizeAt is the README's second curl: the provider's authorization
// URL, not followed; the code is in the Location it answers.
func authorizeAt(t *testing.T, authURL, redirect, state string) (code string) {
	t.Helper()
	res, _ := fetch(t, noRedirect, "GET", authURL, "")
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("provider's authorization: %d Location %q", res.StatusCode, loc)
	}
	q := must(url.Parse(loc)).Query()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("provider's redirect %s", loc)
	}
	return q.Get("code")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSocialWalkthrough is the README's social login session against a
// local provider: authorize/ as JSON, the provider's redirect read without
// following it, POST oidc/ with code and state and the flow cookie, then
// socialaccounts/ with the key.
func TestSocialWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			m, vars := oidcProvider(t)
			vars["SECRET_KEY"] = strings.Repeat("o", 40)
			if db == "sqlite" {
				vars["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "social.db")
			} else {
				vars["DATABASE_URL"] = testdb.PostgresURL(t)
			}
			a, err := newApp(getenv(vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewServer(checked(t, a))
			defer srv.Close()
			base := srv.URL + "/rest-auth"
			// SITE_URL defaults to http://$ADDR.
			const redirect = "http://127.0.0.1:8000/rest-auth/oidc/callback/"

			authURL, state, cookie := startFlow(t, srv.URL, m, redirect)
			code := authorizeAt(t, authURL, redirect, state)
			flow := fmt.Sprintf(`{"code":%q,"state":%q}`, code, state)
			res, raw := fetch(t, http.DefaultClient, "POST", base+"/oidc/", flow, "Cookie", cookie.String())
			key := decode[map[string]string](t, "login", raw)["key"]
			if res.StatusCode != 200 || !tokenKey.MatchString(key) {
				t.Fatalf("login: %d %s", res.StatusCode, raw)
			}

			res, raw = fetch(t, http.DefaultClient, "GET", base+"/socialaccounts/", "", "Authorization", "Token "+key)
			accounts := decode[[]map[string]any](t, "socialaccounts", raw)
			if res.StatusCode != 200 || len(accounts) != 1 || accounts[0]["provider"] != "oidc" || accounts[0]["uid"] != "1234567890" {
				t.Fatalf("socialaccounts: %d %s", res.StatusCode, raw)
			}
			for _, k := range []string{"id", "last_login", "date_joined"} {
				if accounts[0][k] == nil {
					t.Errorf("socialaccounts entry lacks %s: %s", k, raw)
				}
			}

			// The new user: mockoidc's default profile, with the nickname
			// the example's WithSocialUserFields hook copies.
			res, raw = fetch(t, http.DefaultClient, "GET", base+"/user/", "", "Authorization", "Token "+key)
			user := decode[map[string]any](t, "user", raw)
			if res.StatusCode != 200 || user["username"] != "jane.doe" || user["email"] != "jane.doe@example.com" || user["nickname"] != "jane.doe" {
				t.Fatalf("user: %d %s", res.StatusCode, raw)
			}

			// A flow is single-use: the same code and state again is refused.
			res, raw = fetch(t, http.DefaultClient, "POST", base+"/oidc/", flow, "Cookie", cookie.String())
			if res.StatusCode != 400 || string(raw) != `{"non_field_errors":["Invalid or expired authorization state."]}` {
				t.Fatalf("replayed flow: %d %s", res.StatusCode, raw)
			}

			// A second flow without the cookie of the browser that started
			// it is refused too; with it, the same user logs in again.
			authURL, state, cookie = startFlow(t, srv.URL, m, redirect)
			code = authorizeAt(t, authURL, redirect, state)
			flow = fmt.Sprintf(`{"code":%q,"state":%q}`, code, state)
			res, raw = fetch(t, http.DefaultClient, "POST", base+"/oidc/", flow)
			if res.StatusCode != 400 || strings.Contains(string(raw), "key") {
				t.Fatalf("flow without its cookie: %d %s", res.StatusCode, raw)
			}
			authURL, state, cookie = startFlow(t, srv.URL, m, redirect)
			code = authorizeAt(t, authURL, redirect, state)
			flow = fmt.Sprintf(`{"code":%q,"state":%q}`, code, state)
			res, raw = fetch(t, http.DefaultClient, "POST", base+"/oidc/", flow, "Cookie", cookie.String())
			key2 := decode[map[string]string](t, "second login", raw)["key"]
			if res.StatusCode != 200 || !tokenKey.MatchString(key2) || key2 == key {
				t.Fatalf("second login: %d %s", res.StatusCode, raw)
			}
			res, raw = fetch(t, http.DefaultClient, "GET", base+"/socialaccounts/", "", "Authorization", "Token "+key2)
			if again := decode[[]map[string]any](t, "socialaccounts", raw); res.StatusCode != 200 || len(again) != 1 || again[0]["id"] != accounts[0]["id"] {
				t.Fatalf("second login made another account: %d %s", res.StatusCode, raw)
			}
		})
	}
}

// TestSocialBrowserCallback: a browser that follows every redirect goes
// authorize/ → provider → the default redirect URI
// <SITE_URL>/rest-auth/oidc/callback/, which answers the login body, or,
// in JWT cookie mode with SOCIAL_LOGIN_REDIRECT_URL, sets the cookies and
// sends the browser there.
func TestSocialBrowserCallback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		vars  map[string]string
		final string // path the browser ends on
		check func(t *testing.T, body map[string]any, jar http.CookieJar, site *url.URL)
	}{
		{"token mode", nil, "/rest-auth/oidc/callback/", func(t *testing.T, body map[string]any, _ http.CookieJar, _ *url.URL) {
			if key, _ := body["key"].(string); !tokenKey.MatchString(key) {
				t.Errorf("callback answered %v", body)
			}
		}},
		{"JWT cookie mode", map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "auth", "SOCIAL_LOGIN_REDIRECT_URL": "/api/profile"}, "/api/profile",
			func(t *testing.T, body map[string]any, jar http.CookieJar, site *url.URL) {
				// /api/profile authenticated the browser by its new cookie.
				if body["username"] != "jane.doe" || body["nickname"] != "jane.doe" {
					t.Errorf("profile answered %v", body)
				}
				var names []string
				for _, c := range jar.Cookies(site) {
					names = append(names, c.Name)
				}
				if !strings.Contains(strings.Join(names, ","), "auth") {
					t.Errorf("cookies after the callback: %v", names)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, vars := oidcProvider(t)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			site := "http://" + ln.Addr().String()
			vars = with(with(vars, "SITE_URL", site, "SECRET_KEY", strings.Repeat("b", 40),
				"DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "cb.db")), flatten(tc.vars)...)
			a, err := newApp(getenv(vars), io.Discard)
			if err != nil {
				_ = ln.Close()
				t.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewUnstartedServer(checked(t, a))
			_ = srv.Listener.Close()
			srv.Listener = ln
			srv.Start()
			defer srv.Close()

			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			browser := &http.Client{Jar: jar}
			res, raw := fetch(t, browser, "GET", site+"/rest-auth/oidc/authorize/", "")
			if res.StatusCode != 200 || res.Request.URL.Path != tc.final {
				t.Fatalf("browser ended on %s: %d %s", res.Request.URL, res.StatusCode, raw)
			}
			tc.check(t, decode[map[string]any](t, "final page", raw), jar, must(url.Parse(site)))
		})
	}
}

// flatten turns a map into the k1, v1, k2, v2... pairs with takes.
func flatten(m map[string]string) []string {
	var kv []string
	for k, v := range m {
		kv = append(kv, k, v)
	}
	return kv
}

// TestSocialRoutes: no provider routes by default; each configured
// provider has its own, and only those.
func TestSocialRoutes(t *testing.T) {
	t.Parallel()
	gh := map[string]string{"SOCIAL_GITHUB_CLIENT_ID": "gh-id", "SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret"}
	for _, tc := range []struct {
		name   string
		vars   map[string]string
		status map[string]int // "METHOD path" → status
	}{
		{"none by default", nil, map[string]int{
			"POST /rest-auth/github/": 404, "POST /rest-auth/google/": 404, "POST /rest-auth/oidc/": 404,
			"GET /rest-auth/github/authorize/": 404, "GET /rest-auth/socialaccounts/": 404,
			"POST /rest-auth/socialaccounts/1/disconnect/": 404,
		}},
		{"GitHub", gh, map[string]int{
			"POST /rest-auth/github/": 400, "POST /rest-auth/github/connect/": 401, "GET /rest-auth/github/authorize/": 200,
			"GET /rest-auth/socialaccounts/": 401, "POST /rest-auth/socialaccounts/1/disconnect/": 401,
			"POST /rest-auth/google/": 404, "POST /rest-auth/oidc/": 404,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vars := with(tc.vars, "SECRET_KEY", strings.Repeat("r", 40), "DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "routes.db"))
			a, err := newApp(getenv(vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewServer(checked(t, a))
			defer srv.Close()
			for route, want := range tc.status {
				method, path, _ := strings.Cut(route, " ")
				res, raw := fetch(t, noRedirect, method, srv.URL+path, "", "Accept", "application/json")
				if res.StatusCode != want {
					t.Errorf("%s: %d %s, want %d", route, res.StatusCode, raw, want)
				}
			}
			if tc.vars == nil {
				return
			}
			// The GitHub login route answers dj-rest-auth's error for an
			// empty body, and authorize/ builds GitHub's URL (no call out).
			res, raw := fetch(t, noRedirect, "POST", srv.URL+"/rest-auth/github/", "{}")
			if res.StatusCode != 400 || string(raw) != `{"non_field_errors":["Incorrect input. access_token or code is required."]}` {
				t.Errorf("github/ with {}: %d %s", res.StatusCode, raw)
			}
			res, raw = fetch(t, noRedirect, "GET", srv.URL+"/rest-auth/github/authorize/", "", "Accept", "application/json")
			u := decode[map[string]string](t, "github authorize", raw)["authorization_url"]
			if !strings.HasPrefix(u, "https://github.com/login/oauth/authorize?") || !strings.Contains(u, "client_id=gh-id") ||
				!strings.Contains(u, "redirect_uri="+url.QueryEscape("http://127.0.0.1:8000/rest-auth/github/callback/")) {
				t.Errorf("github authorize: %d %s", res.StatusCode, raw)
			}
		})
	}
}

// providerSummary is what the variables set on one provider.
type providerSummary struct {
	ClientID, ClientSecret string
	Issuer                 string
	RedirectURIs           []string
	EmailAuth, AutoConnect bool
}

// summary describes the providers of s by name.
func summary(s settings) map[string]providerSummary {
	out := map[string]providerSummary{}
	for _, p := range s.auth.Social.Providers {
		ps := providerSummary{RedirectURIs: p.RedirectURIs, EmailAuth: p.EmailAuthentication, AutoConnect: p.EmailAuthenticationAutoConnect}
		if p.OAuth2 != nil {
			ps.ClientID, ps.ClientSecret = p.OAuth2.ClientID, p.OAuth2.ClientSecret
		}
		if p.OIDC != nil {
			ps.Issuer = p.OIDC.Issuer
		}
		out[p.Name] = ps
	}
	return out
}

// TestSocialVariables sets each social variable in turn and checks what
// it fills, that it differs without the variable (or that the rest is
// refused then), and that restauth accepts the result.
func TestSocialVariables(t *testing.T) {
	t.Parallel()
	m, oidc := oidcProvider(t)
	db := testdb.SQLite(t)
	gh := map[string]string{"SOCIAL_GITHUB_CLIENT_ID": "gh-id", "SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret"}
	two := with(gh, "SOCIAL_GOOGLE_CLIENT_ID", "go-id", "SOCIAL_GOOGLE_CLIENT_SECRET", "go-secret")
	def := func(name string) []string {
		return []string{"http://127.0.0.1:8000/rest-auth/" + name + "/callback/", "http://127.0.0.1:8000/social/" + name + "/callback"}
	}
	providers := func(s settings) any { return summary(s) }
	field := func(name string, get func(providerSummary) any) func(settings) any {
		return func(s settings) any { return get(summary(s)[name]) }
	}
	flags := func(s settings) any {
		var f []string
		for name, p := range summary(s) {
			f = append(f, fmt.Sprintf("%s:%v,%v", name, p.EmailAuth, p.AutoConnect))
		}
		slices.Sort(f)
		return strings.Join(f, " ")
	}
	tested := map[string]bool{}
	for _, tc := range []struct {
		name, value string
		also        map[string]string
		get         func(settings) any
		want        any
	}{
		{"SOCIAL_GITHUB_CLIENT_ID", "gh-id", map[string]string{"SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret"}, providers,
			map[string]providerSummary{"github": {ClientID: "gh-id", ClientSecret: "gh-secret", RedirectURIs: def("github")}}},
		{"SOCIAL_GITHUB_CLIENT_SECRET", "gh-secret", map[string]string{"SOCIAL_GITHUB_CLIENT_ID": "gh-id"},
			field("github", func(p providerSummary) any { return p.ClientSecret }), "gh-secret"},
		{"SOCIAL_GOOGLE_CLIENT_ID", "go-id", map[string]string{"SOCIAL_GOOGLE_CLIENT_SECRET": "go-secret"}, providers,
			map[string]providerSummary{"google": {ClientID: "go-id", ClientSecret: "go-secret", Issuer: "https://accounts.google.com", RedirectURIs: def("google")}}},
		{"SOCIAL_GOOGLE_CLIENT_SECRET", "go-secret", map[string]string{"SOCIAL_GOOGLE_CLIENT_ID": "go-id"},
			field("google", func(p providerSummary) any { return p.ClientSecret }), "go-secret"},
		{"SOCIAL_OIDC_ISSUER", m.Issuer(), with(oidc, "SOCIAL_OIDC_ISSUER", ""), providers,
			map[string]providerSummary{"oidc": {ClientID: m.ClientID, ClientSecret: m.ClientSecret, Issuer: m.Issuer(), RedirectURIs: def("oidc")}}},
		{"SOCIAL_OIDC_NAME", "corp", oidc, func(s settings) any {
			p, ok := summary(s)["corp"]
			return fmt.Sprint(ok, p.RedirectURIs)
		}, "true [http://127.0.0.1:8000/rest-auth/corp/callback/ http://127.0.0.1:8000/social/corp/callback]"},
		{"SOCIAL_OIDC_CLIENT_ID", m.ClientID, with(oidc, "SOCIAL_OIDC_CLIENT_ID", ""),
			field("oidc", func(p providerSummary) any { return p.ClientID }), m.ClientID},
		{"SOCIAL_OIDC_CLIENT_SECRET", m.ClientSecret, with(oidc, "SOCIAL_OIDC_CLIENT_SECRET", ""),
			field("oidc", func(p providerSummary) any { return p.ClientSecret }), m.ClientSecret},
		{"SOCIAL_REDIRECT_URIS", " https://app.example/social/callback , com.example.app:/cb", two, func(s settings) any {
			sum := summary(s)
			return [][]string{sum["github"].RedirectURIs, sum["google"].RedirectURIs}
		}, [][]string{{"https://app.example/social/callback", "com.example.app:/cb"}, {"https://app.example/social/callback", "com.example.app:/cb"}}},
		{"SOCIAL_LOGIN_REDIRECT_URL", "https://app.example/welcome", gh, func(s settings) any { return s.auth.Social.LoginRedirectURL }, "https://app.example/welcome"},
		{"SOCIAL_LOGIN_REDIRECT_URL", "/welcome", gh, func(s settings) any { return s.auth.Social.LoginRedirectURL }, "/welcome"},
		{"SOCIALACCOUNT_EMAIL_AUTHENTICATION", "true", two, flags, "github:true,false google:true,false"},
		{"SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT", "yes", with(two, "SOCIALACCOUNT_EMAIL_AUTHENTICATION", "true"), flags, "github:true,true google:true,true"},
		{"SOCIALACCOUNT_STORE_TOKENS", "true", gh, func(s settings) any { return s.auth.Social.StoreTokens }, true},
		{"SOCIALACCOUNT_AUTO_SIGNUP", "false", gh, func(s settings) any { return deref(s.auth.Social.AutoSignup) }, false},
	} {
		tested[tc.name] = true
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			t.Parallel()
			s, err := load(with(tc.also, tc.name, tc.value))
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.get(s); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
			if base, err := load(tc.also); err == nil {
				if got := tc.get(base); reflect.DeepEqual(got, tc.want) {
					t.Errorf("without %s it is %#v already", tc.name, got)
				}
			} else if !strings.Contains(err.Error(), tc.name) {
				t.Errorf("without %s: %v does not name it", tc.name, err)
			}
			cfg := s.auth
			cfg.Password.Hasher = cheapHasher
			if _, err := restauth.New[Member](db, cfg); err != nil {
				t.Errorf("restauth.New refuses the result: %v", err)
			}
		})
	}
	for _, v := range socialVars {
		if !tested[v.name] {
			t.Errorf("no case for %s", v.name)
		}
	}
}

// TestSocialVariableList: socialEnv reads the documented variables, in
// the README's order, apart from the others.
func TestSocialVariableList(t *testing.T) {
	t.Parallel()
	var names []string
	for _, v := range socialVars {
		names = append(names, v.name)
		if v.jwt {
			t.Errorf("%s is marked a JWT variable", v.name)
		}
	}
	want := []string{
		"SOCIAL_GITHUB_CLIENT_ID", "SOCIAL_GITHUB_CLIENT_SECRET", "SOCIAL_GOOGLE_CLIENT_ID", "SOCIAL_GOOGLE_CLIENT_SECRET",
		"SOCIAL_OIDC_ISSUER", "SOCIAL_OIDC_NAME", "SOCIAL_OIDC_CLIENT_ID", "SOCIAL_OIDC_CLIENT_SECRET",
		"SOCIAL_REDIRECT_URIS", "SOCIAL_LOGIN_REDIRECT_URL",
		"SOCIALACCOUNT_EMAIL_AUTHENTICATION", "SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT",
		"SOCIALACCOUNT_STORE_TOKENS", "SOCIALACCOUNT_AUTO_SIGNUP",
	}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("variables:\n got %q\nwant %q", names, want)
	}
}

// closedURL is an http URL nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/oidc"
}

// TestSocialEnvErrors: the social variables' rules; each error names the
// variable at fault and comes before the database is created.
func TestSocialEnvErrors(t *testing.T) {
	t.Parallel()
	m, oidc := oidcProvider(t)
	gh := map[string]string{"SOCIAL_GITHUB_CLIENT_ID": "gh-id", "SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret"}
	down := closedURL(t)
	const noProvider = " is set but no social provider is (set SOCIAL_GITHUB_CLIENT_ID, SOCIAL_GOOGLE_CLIENT_ID or SOCIAL_OIDC_ISSUER)"
	for _, tc := range []struct {
		vars map[string]string
		want []string
	}{
		{map[string]string{"SOCIAL_GITHUB_CLIENT_ID": "gh-id"}, []string{"SOCIAL_GITHUB_CLIENT_ID is set but SOCIAL_GITHUB_CLIENT_SECRET is not"}},
		{map[string]string{"SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret"}, []string{"SOCIAL_GITHUB_CLIENT_SECRET is set but SOCIAL_GITHUB_CLIENT_ID is not"}},
		{map[string]string{"SOCIAL_GOOGLE_CLIENT_ID": "go-id"}, []string{"SOCIAL_GOOGLE_CLIENT_ID is set but SOCIAL_GOOGLE_CLIENT_SECRET is not"}},
		{map[string]string{"SOCIAL_GOOGLE_CLIENT_SECRET": "go-secret"}, []string{"SOCIAL_GOOGLE_CLIENT_SECRET is set but SOCIAL_GOOGLE_CLIENT_ID is not"}},
		{map[string]string{"SOCIAL_OIDC_ISSUER": m.Issuer()}, []string{"SOCIAL_OIDC_ISSUER is set but SOCIAL_OIDC_CLIENT_ID is not"}},
		{with(oidc, "SOCIAL_OIDC_CLIENT_SECRET", ""), []string{"SOCIAL_OIDC_CLIENT_ID is set but SOCIAL_OIDC_CLIENT_SECRET is not"}},
		{with(oidc, "SOCIAL_OIDC_ISSUER", ""), []string{"is set but SOCIAL_OIDC_ISSUER is not"}},
		{map[string]string{"SOCIAL_OIDC_NAME": "corp"}, []string{"SOCIAL_OIDC_NAME is set but SOCIAL_OIDC_ISSUER is not"}},
		{with(oidc, "SOCIAL_OIDC_ISSUER", "accounts.example.com"), []string{`SOCIAL_OIDC_ISSUER="accounts.example.com": want an absolute http(s) URL`}},
		{with(oidc, "SOCIAL_OIDC_ISSUER", down), []string{fmt.Sprintf("SOCIAL_OIDC_ISSUER=%q: ", down), "discovery", "connection refused"}},
		{with(oidc, "SOCIAL_OIDC_ISSUER", m.Issuer()+"/other"), []string{fmt.Sprintf("SOCIAL_OIDC_ISSUER=%q: ", m.Issuer()+"/other"), "404"}},
		{with(oidc, "SOCIAL_OIDC_NAME", "Corp"), []string{`SOCIAL_OIDC_NAME="Corp": want lower-case letters, digits, '-' and '_', starting with a letter or digit`}},
		{with(oidc, "SOCIAL_OIDC_NAME", "login"), []string{`SOCIAL_OIDC_NAME="login": that route is taken`}},
		{with(with(oidc, "SOCIAL_OIDC_NAME", "github"), flatten(gh)...), []string{`SOCIAL_OIDC_NAME="github": that route is taken`}},
		{with(gh, "SOCIAL_REDIRECT_URIS", "app.example/cb"), []string{`SOCIAL_REDIRECT_URIS="app.example/cb": "app.example/cb" is not an absolute URI`}},
		{with(gh, "SOCIAL_REDIRECT_URIS", "localhost:3000/cb"), []string{`"localhost:3000/cb" is not an absolute URI`}},
		{with(gh, "SOCIAL_REDIRECT_URIS", "https:/cb"), []string{`"https:/cb" is not an absolute URI`}},
		{with(gh, "SOCIAL_REDIRECT_URIS", "https://a.example/cb,,https://b.example/cb"), []string{`"" is not an absolute URI`}},
		{map[string]string{"SOCIAL_REDIRECT_URIS": "https://app.example/cb"}, []string{"SOCIAL_REDIRECT_URIS" + noProvider}},
		{map[string]string{"SOCIAL_LOGIN_REDIRECT_URL": "/welcome"}, []string{"SOCIAL_LOGIN_REDIRECT_URL" + noProvider}},
		{map[string]string{"SOCIALACCOUNT_EMAIL_AUTHENTICATION": "false"}, []string{"SOCIALACCOUNT_EMAIL_AUTHENTICATION" + noProvider}},
		{map[string]string{"SOCIALACCOUNT_STORE_TOKENS": "true"}, []string{"SOCIALACCOUNT_STORE_TOKENS" + noProvider}},
		{map[string]string{"SOCIALACCOUNT_AUTO_SIGNUP": "false"}, []string{"SOCIALACCOUNT_AUTO_SIGNUP" + noProvider}},
		{with(gh, "SOCIAL_LOGIN_REDIRECT_URL", "ftp://app.example/"), []string{`SOCIAL_LOGIN_REDIRECT_URL="ftp://app.example/": want an absolute http(s) URL or a path starting with /`}},
		{with(gh, "SOCIAL_LOGIN_REDIRECT_URL", "//evil.example/"), []string{`SOCIAL_LOGIN_REDIRECT_URL="//evil.example/"`}},
		{with(gh, "SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT", "true"),
			[]string{"SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT=true needs SOCIALACCOUNT_EMAIL_AUTHENTICATION=true"}},
		{with(gh, "SOCIALACCOUNT_EMAIL_AUTHENTICATION", "maybe"), []string{`SOCIALACCOUNT_EMAIL_AUTHENTICATION="maybe": want true or false`}},
		{with(gh, "SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT", "2"), []string{`SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT="2": want true or false`}},
		{with(gh, "SOCIALACCOUNT_STORE_TOKENS", "often"), []string{`SOCIALACCOUNT_STORE_TOKENS="often": want true or false`}},
		{with(gh, "SOCIALACCOUNT_AUTO_SIGNUP", "sometimes"), []string{`SOCIALACCOUNT_AUTO_SIGNUP="sometimes": want true or false`}},
		{map[string]string{"LOGOUT_ON_PASSWORD_CHANGE": "maybe", "SOCIALACCOUNT_STORE_TOKENS": "often"},
			[]string{`LOGOUT_ON_PASSWORD_CHANGE="maybe": want true or false`, `SOCIALACCOUNT_STORE_TOKENS="often": want true or false`}},
	} {
		t.Run(strings.Join(pairs(tc.vars), ","), func(t *testing.T) {
			t.Parallel()
			checkEnvError(t, tc.vars, tc.want...)
		})
	}
	// Client secrets are never shown.
	_, err := load(map[string]string{"SOCIAL_GITHUB_CLIENT_SECRET": "gh-secret-value"})
	if err == nil || strings.Contains(err.Error(), "gh-secret-value") {
		t.Errorf("the client secret in the error: %v", err)
	}
}

// TestSocialStartupError runs the example's main (see TestMain) with an
// issuer nothing serves: it exits 1 before creating the database, with
// the error on stderr naming SOCIAL_OIDC_ISSUER.
func TestSocialStartupError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	down := closedURL(t)
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, runMainEnv + "=1", "ADDR=127.0.0.1:0", "SECRET_KEY=" + strings.Repeat("e", 40),
		"SOCIAL_OIDC_ISSUER=" + down, "SOCIAL_OIDC_CLIENT_ID=id", "SOCIAL_OIDC_CLIENT_SECRET=secret"}
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, stderr.String())
	}
	if want := fmt.Sprintf("example: SOCIAL_OIDC_ISSUER=%q: socialauth: OIDC oidc: discovery at %s", down, down); !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q, want it to start with %q", stderr.String(), want)
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "example.db")); err == nil {
		t.Error("example.db created before the error")
	}
}
