package main

// Browser tests of the demo page (example/web): a headless Chromium,
// driven by chromedp, uses the page as a person would, against the example
// app started in-process with the dev outbox, in token mode and in JWT
// cookie mode. E-mails are read from the /outbox page. The harness is in
// browser_helpers_test.go.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
)

// demoMode is one configuration of the example the flows run against.
type demoMode struct {
	vars map[string]string
	// modeText: what #mode says (all of want, none of not).
	want, not []string
	// mandatory: ACCOUNT_EMAIL_VERIFICATION=mandatory, so logging in
	// waits for the confirmation.
	mandatory bool
	// oldPassword: OLD_PASSWORD_FIELD_ENABLED=true.
	oldPassword bool
	// confirmNoSlash, resetNoSlash: open the mailed link without its
	// trailing slash.
	confirmNoSlash, resetNoSlash bool
	// jwtCookies: JWT mode with the tokens in HttpOnly cookies.
	jwtCookies bool
	// docsShot: where to save the signed-in page for the docs ("": nowhere).
	docsShot string
}

// TestBrowserTokenMode runs the demo page's flows in token mode (optional
// verification, old password asked on change). With
// RESTAUTH_DEMO_SCREENSHOT=FILE it saves the signed-in page there.
func TestBrowserTokenMode(t *testing.T) {
	t.Parallel()
	runDemo(t, demoMode{
		vars:           map[string]string{"OLD_PASSWORD_FIELD_ENABLED": "true"},
		want:           []string{"token"},
		not:            []string{"JWT"},
		oldPassword:    true,
		confirmNoSlash: true,
		docsShot:       os.Getenv("RESTAUTH_DEMO_SCREENSHOT"),
	})
}

// TestBrowserJWTCookieMode runs them in JWT mode with the tokens in
// HttpOnly cookies and CSRF checks, and mandatory e-mail verification.
func TestBrowserJWTCookieMode(t *testing.T) {
	t.Parallel()
	runDemo(t, demoMode{
		vars: map[string]string{
			"REST_USE_JWT":               "true",
			"JWT_AUTH_COOKIE":            "auth",
			"JWT_AUTH_REFRESH_COOKIE":    "refresh-auth",
			"JWT_AUTH_COOKIE_USE_CSRF":   "true",
			"ACCOUNT_EMAIL_VERIFICATION": "mandatory",
		},
		want:         []string{"JWT", "cookies"},
		jwtCookies:   true,
		mandatory:    true,
		resetNoSlash: true,
	})
}

const (
	alice      = "alice"
	aliceEmail = "alice@example.com"
	firstPass  = "Sunny-Meadow-42"
	secondPass = "River-Stone-77" // after the change
	thirdPass  = "Quiet-Harbor-58"
)

// runDemo runs every flow against one configuration, in order: sign-up,
// resend, confirmation, log-in and the signed-in forms, connect and
// disconnect, password reset, social log-in. Each flow that must not see
// another's session has its own tab (browser context).
func runDemo(t *testing.T, m demoMode) {
	lap := laps(t)
	b := startBrowser(t)
	site := startDemo(t, m.vars)
	lap("browser and server started")

	// Sign-up: field errors first, then a good one.
	su := b.newTab("signup", site.URL)
	su.open("/")
	signedOut(su)
	su.wait("#mode "+strings.Join(m.want, ", ")+" (not "+strings.Join(m.not, ", ")+")", `
		const mode = txt($("#mode"));
		return `+jsQuote(strings.Join(m.want, "\x00"))+`.split("\x00").every(w => mode.includes(w)) &&
			!`+jsQuote(strings.Join(m.not, "\x00"))+`.split("\x00").some(w => w && mode.includes(w))`)
	if role := eval[string](su, `return $("#status")?.getAttribute("role") ?? ""`); role != "status" {
		su.fatalf(`#status has role=%q, want "status"`, role)
	}
	su.fill("#signup-form", "username", alice, "email", aliceEmail, "password1", "abc", "password2", "abc")
	su.failed("sign-up with a short password", su.submit("#signup-form"))
	su.errorShown(`#signup-form .field-error[data-field="password1"]`, "too short")
	su.fill("#signup-form", "password1", firstPass, "password2", secondPass)
	su.failed("sign-up with different passwords", su.submit("#signup-form"))
	su.errorShown("#signup-form .form-error", "didn't match")
	su.wait("the password1 error cleared by the next submit",
		`return ![...document.querySelectorAll('#signup-form .field-error[data-field="password1"]')].some(e => vis(e) && txt(e))`)
	su.fill("#signup-form", "password1", firstPass, "password2", firstPass)
	r := su.submit("#signup-form")
	su.ok("sign-up", r)
	if m.mandatory && !strings.Contains(r.Text, "Verification e-mail sent.") {
		su.fatalf("sign-up: #status %q, want the API's detail, Verification e-mail sent.", r.Text)
	}
	outboxHint(su)
	lap("sign-up")

	// Resend, from a signed-out tab (in token mode the sign-up may have
	// signed the first one in).
	vi := b.newTab("visitor", site.URL)
	vi.open("/")
	signedOut(vi)
	vi.fill("#resend-form", "email", aliceEmail)
	vi.ok("resend verification", vi.submit("#resend-form"))
	outboxHint(vi)
	mails := vi.outbox(aliceEmail, "/confirm-email/", 2) // the sign-up's and the resent one
	confirm := strings.TrimPrefix(mails[0].Links[0].Href, site.URL)
	if !confirmLink.MatchString(confirm) {
		vi.fatalf("confirmation link %s, want %s/confirm-email/KEY/", mails[0].Links[0].Href, site.URL)
	}
	if m.confirmNoSlash {
		confirm = strings.TrimSuffix(confirm, "/")
	}
	lap("resend, outbox")

	// The confirmation page confirms only on the button.
	su.open(confirm)
	if p := su.path(); p != confirm {
		su.fatalf("opening %s landed on %s; the page is served at both forms of the path", confirm, p)
	}
	su.visible("#confirm-view")
	su.visible("#confirm-button")
	if m.mandatory {
		vi.open("/")
		signedOut(vi)
		vi.fill("#login-form", "login", alice, "password", firstPass)
		vi.failed("log-in before the confirmation (page opened, button not pressed)", vi.submit("#login-form"))
		vi.errorShown("#login-form .form-error", "E-mail is not verified.")
	}
	su.ok("confirm", su.act("confirm", "#confirm-button"))
	lap("confirmation")

	// Log in by username, after a wrong password.
	vi.open("/")
	signedOut(vi)
	vi.fill("#login-form", "login", alice, "password", "Wrong-Password-1")
	vi.failed("log-in with a wrong password", vi.submit("#login-form"))
	vi.errorShown("#login-form .form-error", "Unable to log in with provided credentials.")
	vi.fill("#login-form", "login", alice, "password", firstPass)
	vi.ok("log-in by username", vi.submit("#login-form"))
	signedIn(vi, alice)
	checkStorage(vi, m.jwtCookies)
	vi.wait("#user-email "+aliceEmail, `const e = $("#user-email");
		return e && (e.tagName === "INPUT" ? e.value : txt(e)).includes(`+jsQuote(aliceEmail)+`)`)
	if vi.isVisible(`#user-form [name="email"]:not([readonly]):not([disabled])`) {
		vi.fatalf("#user-form has an editable email input; the address is shown read-only in #user-email")
	}

	// User details, with a field error first; they persist.
	vi.wait("#user-form username filled in", `return $('#user-form [name="username"]')?.value === `+jsQuote(alice))
	vi.fill("#user-form", "nickname", strings.Repeat("n", 51))
	vi.failed("a 51-character nickname", vi.submit("#user-form"))
	vi.errorShown(`#user-form .field-error[data-field="nickname"]`, "no more than 50 characters")
	vi.fill("#user-form", "first_name", "Alice", "last_name", "Liddell", "nickname", "Wonder")
	vi.ok("save user details", vi.submit("#user-form"))
	vi.wait("the nickname error cleared by the next submit",
		`return ![...document.querySelectorAll('#user-form .field-error[data-field="nickname"]')].some(e => vis(e) && txt(e))`)
	vi.step("reload", chromedp.Reload())
	signedIn(vi, alice)
	vi.wait("the saved user details after a reload", `const v = n => $('#user-form [name="' + n + '"]')?.value;
		return v("username") === "alice" && v("first_name") === "Alice" && v("last_name") === "Liddell" && v("nickname") === "Wonder"`)
	if m.docsShot != "" {
		vi.screenshot(m.docsShot)
		t.Logf("signed-in page saved in %s", m.docsShot)
	}
	lap("log-in, user details")

	// Change the password.
	if m.oldPassword {
		vi.visible(`#password-form [name="old_password"]`)
		vi.fill("#password-form", "old_password", firstPass)
	} else {
		vi.hidden(`#password-form [name="old_password"]`)
	}
	vi.fill("#password-form", "new_password1", secondPass, "new_password2", secondPass)
	vi.ok("change password", vi.submit("#password-form"))
	lap("password change")

	// Connect the provider to this user (who has a password), then
	// disconnect it.
	site.oidc.QueueUser(&mockoidc.MockUser{Subject: "rabbit-at-oidc", Email: "rabbit@example.com", PreferredUsername: "white.rabbit", EmailVerified: true})
	socialFlow(vi, "connect", `button[data-connect="oidc"]`)
	signedIn(vi, alice) // still alice: connected, not logged in as another user
	vi.visible(`#social-accounts li[data-provider="oidc"]`)
	accountID := waitFor[string](vi, `#social-accounts li[data-provider="oidc"][data-id]`, `return $('#social-accounts li[data-provider="oidc"]')?.dataset.id`)
	vi.ok("disconnect", vi.act("disconnect", `#social-accounts li[data-provider="oidc"][data-id="`+accountID+`"] button.disconnect`))
	vi.wait("the disconnected account gone", `return !$('#social-accounts li[data-provider="oidc"]')`)
	lap("connect, disconnect")

	// Log out; a reload stays signed out; the old password no longer
	// works, the new one by e-mail does.
	logOut(vi)
	vi.step("reload", chromedp.Reload())
	signedOutAfterCheck(vi)
	vi.fill("#login-form", "login", alice, "password", firstPass)
	vi.failed("log-in with the old password", vi.submit("#login-form"))
	vi.errorShown("#login-form .form-error", "Unable to log in")
	vi.fill("#login-form", "login", aliceEmail, "password", secondPass)
	vi.ok("log-in by e-mail with the new password", vi.submit("#login-form"))
	signedIn(vi, alice)
	logOut(vi)
	lap("log out, log in by e-mail")

	// Password reset through the mailed link.
	rs := b.newTab("reset", site.URL)
	rs.open("/")
	signedOut(rs)
	rs.fill("#reset-form", "email", aliceEmail)
	rs.ok("request a password reset", rs.submit("#reset-form"))
	outboxHint(rs)
	mails = rs.outbox(aliceEmail, "/reset/", 1)
	reset := strings.TrimPrefix(mails[0].Links[0].Href, site.URL)
	if !resetLink.MatchString(reset) {
		rs.fatalf("reset link %s, want %s/reset/UID/TOKEN/", mails[0].Links[0].Href, site.URL)
	}
	if m.resetNoSlash {
		reset = strings.TrimSuffix(reset, "/")
	}
	rs.open(reset)
	if p := rs.path(); p != reset {
		rs.fatalf("opening %s landed on %s; the page is served at both forms of the path", reset, p)
	}
	rs.visible("#reset-confirm-view")
	rs.fill("#reset-confirm-form", "new_password1", thirdPass, "new_password2", thirdPass+"x")
	rs.failed("reset with different passwords", rs.submit("#reset-confirm-form"))
	rs.errorShown(`#reset-confirm-form .field-error[data-field="new_password2"]`, "match")
	rs.fill("#reset-confirm-form", "new_password1", thirdPass, "new_password2", thirdPass)
	rs.ok("set the new password", rs.submit("#reset-confirm-form"))
	rs.open("/")
	signedOut(rs)
	rs.fill("#login-form", "login", alice, "password", thirdPass)
	rs.ok("log-in with the reset password", rs.submit("#login-form"))
	signedIn(rs, alice)
	logOut(rs)
	lap("password reset")

	// Social log-in: a new user, jane.doe, without a password, so
	// disconnecting her only account is refused.
	so := b.newTab("social", site.URL)
	// A provider's refusal comes back as ?error=: reported in #status.
	so.open("/social/oidc/callback?error=access_denied&error_description=The+user+said+no")
	r = waitFor[result](so, "#status after the provider's error", `const s = $("#status");
		return s && s.dataset.kind && txt(s) ? {kind: s.dataset.kind, text: txt(s)} : null`)
	if r.Kind != "error" || !strings.Contains(r.Text, "access_denied") || strings.Contains(r.Text, "said no") {
		so.fatalf("callback with ?error=access_denied: #status[data-kind=%s] %q, want an error naming access_denied only", r.Kind, r.Text)
	}
	signedOut(so)
	socialFlow(so, "login", `button[data-social="oidc"]`)
	signedIn(so, "jane.doe")
	so.visible(`#social-accounts li[data-provider="oidc"]`)
	r = so.act("disconnect the only account", `#social-accounts li[data-provider="oidc"] button.disconnect`)
	so.failed("disconnect without a password", r)
	if !strings.Contains(r.Text, "no password") {
		so.fatalf("disconnect without a password: #status %q, want the API's reason (no password set up)", r.Text)
	}
	so.visible(`#social-accounts li[data-provider="oidc"]`)
	logOut(so)
	lap("social log-in")
	t.Logf("screenshots of each tab's final state in %s", filepath.Clean(b.dir))
}

// laps returns a func that logs the time since its last call (or since
// laps), to see where a slow run spends it.
func laps(t *testing.T) func(what string) {
	start := time.Now()
	last := start
	return func(what string) {
		now := time.Now()
		t.Logf("%-26s %5.1fs (at %5.1fs)", what+":", now.Sub(last).Seconds(), now.Sub(start).Seconds())
		last = now
	}
}

// checkStorage checks where the signed-in page keeps its credentials: the
// token key in sessionStorage in token mode; nothing readable by scripts
// in JWT cookie mode (no token in either storage, the auth cookies
// HttpOnly). localStorage stays empty in both.
func checkStorage(tb *tab, jwtCookies bool) {
	tb.t.Helper()
	type storage struct {
		Session []string `json:"session"`
		Local   int      `json:"local"`
		Cookies string   `json:"cookies"`
	}
	st := eval[storage](tb, `return {session: Object.keys(sessionStorage).map(k => sessionStorage.getItem(k)),
		local: localStorage.length, cookies: document.cookie}`)
	if st.Local != 0 {
		tb.fatalf("localStorage holds %d item(s); credentials belong in sessionStorage or cookies", st.Local)
	}
	token := regexp.MustCompile(`^[0-9a-f]{40}$`)
	jwt := regexp.MustCompile(`eyJ[\w-]+\.[\w-]+\.`)
	var keys, jwts int
	for _, v := range st.Session {
		if token.MatchString(v) {
			keys++
		}
		if jwt.MatchString(v) {
			jwts++
		}
	}
	switch {
	case !jwtCookies && keys != 1:
		tb.fatalf("token mode: sessionStorage holds %d token key(s), want 1", keys)
	case jwtCookies && jwts+keys != 0:
		tb.fatalf("JWT cookie mode: sessionStorage holds a token; the page must store nothing")
	case jwtCookies && regexp.MustCompile(`(^|; )(auth|refresh-auth)=`).MatchString(st.Cookies):
		tb.fatalf("JWT cookie mode: document.cookie shows %q; the JWT cookies must be HttpOnly", st.Cookies)
	}
}

// signedOut waits for the signed-out view, with the signed-in one hidden.
func signedOut(tb *tab) {
	tb.t.Helper()
	tb.visible("#signed-out")
	tb.hidden("#signed-in")
}

// signedOutAfterCheck is signedOut once the page's GET user/ has
// answered, so a reload is not judged before it knows.
func signedOutAfterCheck(tb *tab) {
	tb.t.Helper()
	tb.wait("the page's GET user/ answered", `return performance.getEntriesByType("resource")
		.some(e => new URL(e.name).pathname === "/rest-auth/user/" && e.responseEnd > 0)`)
	signedOut(tb)
}

// signedIn waits for the signed-in view naming username in #whoami.
func signedIn(tb *tab, username string) {
	tb.t.Helper()
	// A word of #whoami, not part of one: alice.oidc is not alice.
	tb.wait("#signed-in with #whoami "+username, `return vis($("#signed-in")) &&
		txt($("#whoami")).split(/[\s,;:()]+/).includes(`+jsQuote(username)+`)`)
	tb.hidden("#signed-out")
}

// logOut presses #logout-button and waits for the signed-out view.
func logOut(tb *tab) {
	tb.t.Helper()
	tb.ok("log out", tb.act("log out", "#logout-button"))
	signedOut(tb)
}

// outboxHint checks #mail-hint after an action that mails: visible, with
// a#outbox-link to /outbox.
func outboxHint(tb *tab) {
	tb.t.Helper()
	tb.visible("#mail-hint")
	tb.wait("#mail-hint a#outbox-link to /outbox",
		`const a = $("#mail-hint a#outbox-link"); return a && new URL(a.href).pathname === "/outbox"`)
}

// socialFlow clicks the button sel, which leaves for the provider, and
// waits for the return: a new document (the page before the click is
// marked), back on / (history.replaceState) and signed in, with no error
// reported.
func socialFlow(tb *tab, what, sel string) {
	tb.t.Helper()
	eval[bool](tb, "window.beforeSocialFlow = true; return true")
	tb.step("click "+sel, chromedp.Click(chromedp.CSS(sel)))
	r := waitFor[result](tb, "the "+what+" flow back on / and signed in", `if (window.beforeSocialFlow) return null;
		const s = $("#status");
		if (s && s.dataset.kind === "error" && txt(s)) return {kind: "error", text: txt(s)};
		return location.pathname === "/" && vis($("#signed-in")) ? {kind: s?.dataset.kind || "", text: txt(s)} : null`)
	if r.Kind == "error" {
		tb.fatalf("social %s: #status %q (at %s)", what, r.Text, tb.path())
	}
}
