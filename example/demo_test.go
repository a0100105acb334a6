package main

// HTTP-level tests of the demo page's routes (demo.go), its
// configuration, the dev outbox (outbox.go) and the e-mailed links. The
// page's behaviour in a browser is in browser_test.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/testdb"
)

// specCSP is the demo's Content-Security-Policy, as the contract spells it.
const specCSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// demoServer starts the example with vars (a SQLite file of its own
// unless DATABASE_URL is set) on an httptest server.
func demoServer(t *testing.T, vars map[string]string, stdout io.Writer) (*app, *httptest.Server) {
	t.Helper()
	if vars["DATABASE_URL"] == "" {
		vars = with(vars, "DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "demo.db"))
	}
	vars = with(vars, "SECRET_KEY", strings.Repeat("d", 40))
	a, err := newApp(getenv(vars), stdout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	srv := httptest.NewServer(checked(t, a))
	t.Cleanup(srv.Close)
	return a, srv
}

// demoServerAtSite is demoServer on a port chosen first, so that
// SITE_URL is the server's own address (the social login comes back
// there).
func demoServerAtSite(t *testing.T, vars map[string]string) (*app, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := "http://" + ln.Addr().String()
	vars = with(vars, "SITE_URL", site, "SECRET_KEY", strings.Repeat("d", 40),
		"DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "site.db"))
	a, err := newApp(getenv(vars), io.Discard)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	srv := httptest.NewUnstartedServer(checked(t, a))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return a, site
}

func readWeb(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("web", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDemoRoutes: every page path serves index.html, with and without
// the trailing slash, under the CSP; the assets have their types.
func TestDemoRoutes(t *testing.T) {
	t.Parallel()
	_, srv := demoServer(t, nil, io.Discard)
	index := readWeb(t, "index.html")
	for _, path := range []string{
		"/",
		"/confirm-email/0a1b-2c3d", "/confirm-email/0a1b-2c3d/",
		"/reset/MQ/abc-0123", "/reset/MQ/abc-0123/",
		"/social/oidc/callback", "/social/oidc/callback/", "/social/oidc/callback?code=c&state=s",
	} {
		res, raw := fetch(t, noRedirect, "GET", srv.URL+path, "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || string(raw) != string(index) {
			t.Errorf("GET %s: %d %s, %d bytes; want index.html", path, res.StatusCode, res.Header.Get("Content-Type"), len(raw))
		}
		if got := res.Header.Get("Content-Security-Policy"); got != specCSP {
			t.Errorf("GET %s: CSP %q, want %q", path, got, specCSP)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: headers %v", path, res.Header)
		}
	}
	for path, want := range map[string]struct {
		typ, file string
	}{
		"/assets/app.js":    {"text/javascript; charset=utf-8", "app.js"},
		"/assets/style.css": {"text/css; charset=utf-8", "style.css"},
	} {
		res, raw := fetch(t, noRedirect, "GET", srv.URL+path, "")
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != want.typ || string(raw) != string(readWeb(t, want.file)) {
			t.Errorf("GET %s: %d %s, %d bytes", path, res.StatusCode, res.Header.Get("Content-Type"), len(raw))
		}
	}
	// Not pages: a path the page does not handle, and a half link.
	for _, path := range []string{"/reset/MQ", "/confirm-email", "/assets/other.js"} {
		if res, _ := fetch(t, noRedirect, "GET", srv.URL+path, ""); res.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, res.StatusCode)
		}
	}
}

// formRe finds a form of index.html and its content.
var formRe = regexp.MustCompile(`(?s)<form id="([a-z-]+)"[^>]*>(.*?)</form>`)

// TestDemoPageContract checks index.html for the ids and input names
// the contract (and browser_test.go) use, and the page's files for what
// the CSP and the security rules forbid: inline scripts, styles and
// handlers, innerHTML and eval.
func TestDemoPageContract(t *testing.T) {
	t.Parallel()
	index := string(readWeb(t, "index.html"))
	for _, id := range []string{
		"mode", "status", "mail-hint", "signed-out", "login-form", "signup-form", "resend-form", "reset-form",
		"confirm-view", "confirm-button", "reset-confirm-view", "reset-confirm-form",
		"signed-in", "whoami", "user-form", "user-email", "password-form", "social-accounts", "logout-button",
	} {
		if n := strings.Count(index, `id="`+id+`"`); n != 1 {
			t.Errorf("index.html has id %q %d times, want once", id, n)
		}
	}
	if !strings.Contains(index, `<p id="status" role="status"`) {
		t.Error(`#status lacks role="status"`)
	}
	forms := map[string]string{}
	for _, m := range formRe.FindAllStringSubmatch(index, -1) {
		forms[m[1]] = m[2]
	}
	for form, names := range map[string][]string{
		"login-form":         {"login", "password"},
		"signup-form":        {"username", "email", "password1", "password2"},
		"resend-form":        {"email"},
		"reset-form":         {"email"},
		"reset-confirm-form": {"new_password1", "new_password2"},
		"user-form":          {"username", "first_name", "last_name", "nickname"},
		"password-form":      {"old_password", "new_password1", "new_password2"},
	} {
		body, ok := forms[form]
		if !ok {
			t.Errorf("no form #%s", form)
			continue
		}
		for _, name := range names {
			if !strings.Contains(body, `<input name="`+name+`"`) {
				t.Errorf("#%s has no input %s", form, name)
			}
		}
		if !strings.Contains(body, `<button type="submit">`) {
			t.Errorf("#%s has no submit button", form)
		}
	}

	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(index, -1) {
		if tag != `<script type="module" src="/assets/app.js">` {
			t.Errorf("index.html: %s, want only the module /assets/app.js", tag)
		}
	}
	if !strings.Contains(index, `<link rel="stylesheet" href="/assets/style.css">`) {
		t.Error("index.html does not load /assets/style.css")
	}
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<style`), regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`(src|href)="(https?:)?//`), // nothing from elsewhere
	} {
		if m := bad.FindString(index); m != "" {
			t.Errorf("index.html has %q", m)
		}
	}
	script := string(readWeb(t, "app.js"))
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"on", ".style."} {
		if strings.Contains(script, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	for _, file := range []string{"app.js", "style.css"} {
		if m := regexp.MustCompile(`(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/`).FindString(string(readWeb(t, file))); m != "" {
			t.Errorf("%s loads something from elsewhere: %s", file, m)
		}
	}
}

// TestDemoScriptSyntax: node parses app.js as a module.
func TestDemoScriptSyntax(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	// The .mjs name makes node parse it as a module, as the browser does.
	file := filepath.Join(t.TempDir(), "app.mjs")
	if err := os.WriteFile(file, readWeb(t, "app.js"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(node, "--check", file).CombinedOutput(); err != nil {
		t.Fatalf("node --check app.js: %v\n%s", err, out)
	}
}

// TestDemoConfig: /demo/config.json tells the page the mode, the CSRF
// names, the providers and the mail settings, and nothing secret.
func TestDemoConfig(t *testing.T) {
	t.Parallel()
	m, oidc := oidcProvider(t)
	base := map[string]any{
		"api": "/rest-auth", "mode": "token", "jwt_cookies": false, "csrf_cookie": "csrftoken", "csrf_header": "X-CSRFToken",
		"csrf": false, "providers": []any{}, "mailer": "console", "outbox": false, "email_verification": "optional",
		"login_methods": []any{"username", "email"}, "old_password_field": false, "registration": true,
	}
	plus := func(kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		vars    map[string]string
		atSite  bool // SITE_URL is the server's address: providers list it
		want    map[string]any
		secrets []string // must not appear
	}{
		{"token mode", nil, false, base, nil},
		{"JWT mode", map[string]string{"REST_USE_JWT": "true"}, false, plus("mode", "jwt"), nil},
		{"JWT cookie mode", map[string]string{
			"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "auth", "JWT_AUTH_REFRESH_COOKIE": "refresh-auth",
			"JWT_AUTH_COOKIE_USE_CSRF": "true", "CSRF_COOKIE_NAME": "xsrf", "CSRF_HEADER_NAME": "HTTP_X_XSRF_TOKEN",
		}, false, plus("mode", "jwt", "jwt_cookies", true, "csrf", true, "csrf_cookie", "xsrf", "csrf_header", "X-XSRF-TOKEN"), nil},
		{"JWT cookies without CSRF", map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "auth"}, false,
			plus("mode", "jwt", "jwt_cookies", true), nil},
		{"other settings", map[string]string{
			"SMTP_ADDR": "127.0.0.1:2525", "EXAMPLE_DEV_OUTBOX": "true", "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
			"ACCOUNT_LOGIN_METHODS": "email", "OLD_PASSWORD_FIELD_ENABLED": "true", "REST_AUTH_DISABLE_REGISTRATION": "true",
		}, false, plus("mailer", "smtp", "outbox", true, "email_verification", "mandatory", "login_methods", []any{"email"},
			"old_password_field", true, "registration", false), nil},
		{"OIDC provider", oidc, true, nil, []string{m.ClientSecret, strings.Repeat("d", 40)}},
		{"OIDC provider without the page among its redirect URIs",
			with(oidc, "SOCIAL_REDIRECT_URIS", "https://app.example/cb"), true, base, []string{m.ClientSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var site string
			if tc.atSite {
				_, site = demoServerAtSite(t, tc.vars)
			} else {
				_, srv := demoServer(t, tc.vars, io.Discard)
				site = srv.URL
			}
			want := tc.want
			if want == nil {
				want = plus("providers", []any{map[string]any{"name": "oidc", "redirect_uri": site + "/social/oidc/callback"}})
			}
			res, raw := fetch(t, noRedirect, "GET", site+"/demo/config.json", "")
			got := decode[map[string]any](t, "config.json", raw)
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !reflect.DeepEqual(got, want) {
				t.Errorf("config.json: %d %s\n got %v\nwant %v", res.StatusCode, raw, got, want)
			}
			for _, s := range tc.secrets {
				if strings.Contains(string(raw), s) {
					t.Errorf("config.json holds the secret %q: %s", s, raw)
				}
			}
		})
	}
}

// TestDemoSocialRedirect: the page's callback is one of the provider's
// redirect URIs, so the flow the page starts comes back to it and logs
// in; any other redirect_uri is refused.
func TestDemoSocialRedirect(t *testing.T) {
	t.Parallel()
	m, oidc := oidcProvider(t)
	_, site := demoServerAtSite(t, oidc)
	callback := site + "/social/oidc/callback"
	res, raw := fetch(t, noRedirect, "GET", site+"/rest-auth/oidc/authorize/?redirect_uri="+url.QueryEscape(callback), "", "Accept", "application/json")
	start := decode[map[string]string](t, "authorize", raw)
	authURL, state := start["authorization_url"], start["state"]
	if res.StatusCode != 200 || !strings.HasPrefix(authURL, m.AuthorizationEndpoint()+"?") ||
		must(url.Parse(authURL)).Query().Get("redirect_uri") != callback {
		t.Fatalf("authorize with the page's callback: %d %s", res.StatusCode, raw)
	}
	var flow *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "restauth_social_flow" {
			flow = c
		}
	}
	if flow == nil {
		t.Fatalf("no flow cookie: %v", res.Header["Set-Cookie"])
	}
	// The provider sends the browser to the page, which is served there.
	code := authorizeAt(t, authURL, callback, state)
	res, raw = fetch(t, noRedirect, "GET", callback+"?code="+url.QueryEscape(code)+"&state="+state, "")
	if res.StatusCode != 200 || string(raw) != string(readWeb(t, "index.html")) {
		t.Fatalf("the page's callback: %d", res.StatusCode)
	}
	// The page posts the code and the state.
	res, raw = fetch(t, http.DefaultClient, "POST", site+"/rest-auth/oidc/", fmt.Sprintf(`{"code":%q,"state":%q}`, code, state), "Cookie", flow.String())
	if key := decode[map[string]string](t, "login", raw)["key"]; res.StatusCode != 200 || !tokenKey.MatchString(key) {
		t.Fatalf("login: %d %s", res.StatusCode, raw)
	}

	res, raw = fetch(t, noRedirect, "GET", site+"/rest-auth/oidc/authorize/?redirect_uri="+url.QueryEscape("https://evil.example/social/oidc/callback"), "", "Accept", "application/json")
	if res.StatusCode != 400 || !strings.Contains(string(raw), `"redirect_uri"`) {
		t.Errorf("authorize with a foreign redirect_uri: %d %s", res.StatusCode, raw)
	}
}

// TestDemoLinkDefaults: the e-mailed links default to the page, under
// SITE_URL with or without its trailing slash; PASSWORD_RESET_CONFIRM_URL
// still wins.
func TestDemoLinkDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		vars                 map[string]string
		reset, confirm, page string
	}{
		{nil, "http://127.0.0.1:8000/reset/{uid}/{token}/", "http://127.0.0.1:8000/confirm-email/{key}/", "http://127.0.0.1:8000/social/oidc/callback"},
		{map[string]string{"SITE_URL": "https://front.example/"}, "https://front.example/reset/{uid}/{token}/", "https://front.example/confirm-email/{key}/", ""},
		{map[string]string{"PASSWORD_RESET_CONFIRM_URL": "https://app.example/r/{uid}/{token}"}, "https://app.example/r/{uid}/{token}", "http://127.0.0.1:8000/confirm-email/{key}/", ""},
	} {
		s, err := load(tc.vars)
		if err != nil {
			t.Fatal(err)
		}
		if s.auth.PasswordReset.URL != tc.reset || s.auth.Registration.EmailConfirmURL != tc.confirm {
			t.Errorf("%v: reset %q, confirm %q; want %q, %q", tc.vars, s.auth.PasswordReset.URL, s.auth.Registration.EmailConfirmURL, tc.reset, tc.confirm)
		}
	}
}

// outboxMails reads /outbox.json.
func outboxMails(t *testing.T, base string) []outboxMail {
	t.Helper()
	res, raw := fetch(t, noRedirect, "GET", base+"/outbox.json", "")
	if res.StatusCode != 200 {
		t.Fatalf("outbox.json: %d %s", res.StatusCode, raw)
	}
	return decode[[]outboxMail](t, "outbox.json", raw)
}

// TestDemoOutbox: without EXAMPLE_DEV_OUTBOX there is no outbox; with it,
// a password reset e-mail goes to the console as before and is listed,
// its link a link; that link's uid and token reset the password.
func TestDemoOutbox(t *testing.T) {
	t.Parallel()
	_, off := demoServer(t, nil, io.Discard)
	for _, path := range []string{"/outbox", "/outbox/", "/outbox.json"} {
		if res, raw := fetch(t, noRedirect, "GET", off.URL+path, ""); res.StatusCode != 404 {
			t.Errorf("GET %s without EXAMPLE_DEV_OUTBOX: %d %s", path, res.StatusCode, raw)
		}
	}

	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{
				"EXAMPLE_DEV_OUTBOX": "true", "SITE_URL": "https://front.example",
				// Shown in the subject and body: the page must escape it.
				"SITE_NAME": `Demo <b>&</b> "Shop"`,
			}
			if db == "postgres" {
				vars["DATABASE_URL"] = testdb.PostgresURL(t)
			} else {
				vars["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "outbox.db")
			}
			vars["SECRET_KEY"] = strings.Repeat("d", 40)
			if err := run(context.Background(), []string{"createuser", "demo", "demo@example.com", "Sunny-Meadow-42"}, getenv(vars), io.Discard); err != nil {
				t.Fatal(err)
			}
			var console lockedBuffer
			a, srv := demoServer(t, vars, &console)
			if a.outbox == nil {
				t.Fatal("app.outbox is nil with EXAMPLE_DEV_OUTBOX=true")
			}
			if mails := outboxMails(t, srv.URL); len(mails) != 0 {
				t.Fatalf("outbox before any mail: %v", mails)
			}
			res, page := fetch(t, noRedirect, "GET", srv.URL+"/outbox", "")
			if res.StatusCode != 200 || strings.Contains(string(page), `class="mail"`) {
				t.Fatalf("empty outbox page: %d %s", res.StatusCode, page)
			}

			before := time.Now().UTC().Truncate(time.Second)
			if code, body := call(t, "POST", srv.URL+"/rest-auth/password/reset/", `{"email":"demo@example.com"}`, ""); code != 200 {
				t.Fatalf("reset: %d %v", code, body)
			}
			if err := a.auth.Shutdown(context.Background()); err != nil { // the mail is sent in the background
				t.Fatal(err)
			}
			mails := outboxMails(t, srv.URL)
			if len(mails) != 1 {
				t.Fatalf("outbox.json: %d mails, want 1: %v", len(mails), mails)
			}
			mail := mails[0]
			link := regexp.MustCompile(`https://front\.example/reset/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]{64})/`).FindStringSubmatch(mail.Text)
			sent, err := time.Parse(time.RFC3339, mail.Sent)
			if !reflect.DeepEqual(mail.To, []string{"demo@example.com"}) || link == nil || !strings.Contains(mail.Subject, "Password reset") ||
				!strings.Contains(mail.HTML, `href="`+link[0]+`"`) || err != nil || sent.Before(before) || sent.After(time.Now()) {
				t.Fatalf("outbox.json mail: %+v", mail)
			}
			if !strings.Contains(console.String(), "To: demo@example.com\n") || !strings.Contains(console.String(), link[0]) {
				t.Fatalf("the console mailer did not get the mail:\n%s", console.String())
			}

			res, page = fetch(t, noRedirect, "GET", srv.URL+"/outbox", "")
			html := string(page)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || res.Header.Get("Content-Security-Policy") != specCSP {
				t.Fatalf("outbox page: %d %v", res.StatusCode, res.Header)
			}
			for _, want := range []string{
				`<article class="mail">`, `<span class="to">demo@example.com</span>`,
				`<a href="` + link[0] + `">` + link[0] + `</a>`, `Demo &lt;b&gt;&amp;&lt;/b&gt; &#34;Shop&#34;`,
			} {
				if !strings.Contains(html, want) {
					t.Errorf("outbox page lacks %s:\n%s", want, html)
				}
			}
			if strings.Contains(html, "<b>&</b>") || regexp.MustCompile(`<pre class="body">[^<]*Hello demo`).FindString(html) == "" {
				t.Errorf("outbox page: the body is not the escaped text:\n%s", html)
			}

			// The page at the link posts uid and token with the new password.
			if res, _ := fetch(t, noRedirect, "GET", srv.URL+strings.TrimPrefix(link[0], "https://front.example"), ""); res.StatusCode != 200 {
				t.Fatalf("the reset link's page: %d", res.StatusCode)
			}
			confirm := fmt.Sprintf(`{"uid":%q,"token":%q,"new_password1":"Brave-Lantern-73","new_password2":"Brave-Lantern-73"}`, link[1], link[2])
			if code, body := call(t, "POST", srv.URL+"/rest-auth/password/reset/confirm/", confirm, ""); code != 200 || body["detail"] != "Password has been reset with the new password." {
				t.Fatalf("reset confirm: %d %v", code, body)
			}
			if code, body := call(t, "POST", srv.URL+"/rest-auth/login/", `{"username":"demo","password":"Brave-Lantern-73"}`, ""); code != 200 {
				t.Fatalf("login with the new password: %d %v", code, body)
			}
		})
	}
}

// TestDemoConfirmationLink: the confirmation e-mail links to the page's
// /confirm-email/KEY/, served with and without the slash, and that key
// confirms the address.
func TestDemoConfirmationLink(t *testing.T) {
	t.Parallel()
	a, srv := demoServer(t, map[string]string{"EXAMPLE_DEV_OUTBOX": "true", "ACCOUNT_EMAIL_VERIFICATION": "mandatory"}, io.Discard)
	code, body := call(t, "POST", srv.URL+"/rest-auth/registration/",
		`{"username":"newbie","email":"newbie@example.com","password1":"Quiet-Harbor-58","password2":"Quiet-Harbor-58"}`, "")
	if code != 201 {
		t.Fatalf("register: %d %v", code, body)
	}
	if err := a.auth.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mails := outboxMails(t, srv.URL)
	if len(mails) != 1 {
		t.Fatalf("%d mails, want 1", len(mails))
	}
	m := regexp.MustCompile(`http://127\.0\.0\.1:8000(/confirm-email/([0-9a-f]+-[0-9a-f]+)/)`).FindStringSubmatch(mails[0].Text)
	if m == nil {
		t.Fatalf("no /confirm-email/KEY/ link in %q", mails[0].Text)
	}
	for _, path := range []string{m[1], strings.TrimSuffix(m[1], "/")} {
		if res, raw := fetch(t, noRedirect, "POST", srv.URL+path, ""); res.StatusCode == 200 {
			t.Errorf("POST %s: %d %s; the page is GET only", path, res.StatusCode, raw)
		}
		if res, _ := fetch(t, noRedirect, "GET", srv.URL+path, ""); res.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
	}
	// Opening the page confirmed nothing.
	login := `{"username":"newbie","password":"Quiet-Harbor-58"}`
	if code, body := call(t, "POST", srv.URL+"/rest-auth/login/", login, ""); code != 400 {
		t.Fatalf("login before the button: %d %v", code, body)
	}
	if code, body := call(t, "POST", srv.URL+"/rest-auth/registration/verify-email/", `{"key":"`+m[2]+`"}`, ""); code != 200 || body["detail"] != "ok" {
		t.Fatalf("verify: %d %v", code, body)
	}
	if code, body := call(t, "POST", srv.URL+"/rest-auth/login/", login, ""); code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
}

// TestDevOutbox: the outbox keeps the last 50 valid messages, newest
// first, and hands every one to the mailer it wraps, whose error it
// returns.
func TestDevOutbox(t *testing.T) {
	t.Parallel()
	var next emails.Outbox
	o := newDevOutbox(&next)
	ctx := context.Background()
	for i := 1; i <= 55; i++ {
		if err := o.Send(ctx, emails.Message{To: []string{"a@example.com"}, Subject: fmt.Sprint("mail ", i), Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Send(ctx, emails.Message{To: []string{"a@example.com"}, Subject: "bad\nsubject"}); !errors.Is(err, emails.ErrInvalidMessage) {
		t.Fatalf("invalid message: %v", err)
	}
	mails := o.Mails()
	if len(mails) != 50 || mails[0].Subject != "mail 55" || mails[49].Subject != "mail 6" || next.Len() != 55 {
		t.Fatalf("kept %d (first %q, last %q); the wrapped mailer got %d", len(mails), mails[0].Subject, mails[len(mails)-1].Subject, next.Len())
	}
	mails[0].To[0] = "changed@example.com"
	if o.Mails()[0].To[0] != "a@example.com" {
		t.Fatal("Mails shares memory with the outbox")
	}
	failing := newDevOutbox(emails.MailerFunc(func(context.Context, emails.Message) error { return errors.New("smtp down") }))
	if err := failing.Send(ctx, emails.Message{To: []string{"a@example.com"}, Subject: "s"}); err == nil || err.Error() != "smtp down" {
		t.Fatalf("the wrapped mailer's error: %v", err)
	}
	if len(failing.Mails()) != 1 {
		t.Fatal("a message the mailer failed to send is not listed")
	}
}

// TestLinkify: URLs become link parts, without the punctuation after
// them; other schemes stay text.
func TestLinkify(t *testing.T) {
	t.Parallel()
	got := linkify("Open https://x.example/reset/MQ/a-1/. Or (http://y.example/?a=1&b=2), not javascript:alert(1)")
	want := []textPart{
		{Text: "Open "}, {Text: "https://x.example/reset/MQ/a-1/", URL: true}, {Text: ". Or ("},
		{Text: "http://y.example/?a=1&b=2", URL: true}, {Text: "), not javascript:alert(1)"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("linkify:\n got %+v\nwant %+v", got, want)
	}
	if got := linkify("no link"); !reflect.DeepEqual(got, []textPart{{Text: "no link"}}) {
		t.Fatalf("linkify without a link: %+v", got)
	}
}

// TestDemoOutboxLocalOnly: the outbox answers only a request from this
// machine that names it (no LAN client, no DNS-rebinding page).
func TestDemoOutboxLocalOnly(t *testing.T) {
	t.Parallel()
	a, srv := demoServer(t, map[string]string{"EXAMPLE_DEV_OUTBOX": "true"}, io.Discard)
	for _, tc := range []struct {
		remote, host string
		want         int
	}{
		{"127.0.0.1:5000", "127.0.0.1:8000", 200},
		{"[::1]:5000", "localhost:8000", 200},
		{"[::1]:5000", "[::1]:8000", 200},
		{"192.0.2.7:5000", "127.0.0.1:8000", 404},      // another machine
		{"127.0.0.1:5000", "rebind.example:8000", 404}, // a page rebinding its name
		{"127.0.0.1:5000", "10.0.0.2:8000", 404},
	} {
		for _, path := range []string{"/outbox", "/outbox.json"} {
			r := httptest.NewRequest("GET", path, nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			w := httptest.NewRecorder()
			a.router.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("%s from %s to Host %s: %d, want %d", path, tc.remote, tc.host, w.Code, tc.want)
			}
		}
	}
	// The real server on 127.0.0.1 answers.
	if res, raw := fetch(t, noRedirect, "GET", srv.URL+"/outbox.json", ""); res.StatusCode != 200 {
		t.Fatalf("outbox over loopback: %d %s", res.StatusCode, raw)
	}
}
