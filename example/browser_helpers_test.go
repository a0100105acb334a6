package main

// The harness of the browser tests (browser_test.go): the example app
// serving the demo page on a loopback port, a headless Chromium driven by
// chromedp, and tabs with their own cookie jar and storage.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oauth2-proxy/mockoidc"
)

const (
	// browserTimeout bounds a whole browser (one test mode).
	browserTimeout = 85 * time.Second
	// tabTimeout bounds everything one tab does.
	tabTimeout = 60 * time.Second
	// stepTimeout bounds one wait or action in a tab.
	stepTimeout = 15 * time.Second
)

// browserPath finds Chromium (or Chrome) on PATH. Without one the test is
// skipped, unless the CI variable is set: then it fails.
func browserPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "; CI is set, so the browser tests must run")
	}
	t.Skip(msg)
	return ""
}

// demoSite is the example app serving the demo page, with the dev outbox
// and a mockoidc provider named oidc.
type demoSite struct {
	URL  string // SITE_URL: http://127.0.0.1:PORT
	oidc *mockoidc.MockOIDC
}

// startDemo starts the example in-process on a free 127.0.0.1 port, with
// SQLite in a temporary directory and the variables in extra on top of
// the test defaults.
func startDemo(t *testing.T, extra map[string]string) *demoSite {
	t.Helper()
	m, vars := oidcProvider(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := "http://" + ln.Addr().String()
	vars = with(with(vars,
		"SITE_URL", site,
		"SECRET_KEY", strings.Repeat("w", 40),
		"DATABASE_URL", "sqlite://"+filepath.Join(t.TempDir(), "demo.db"),
		"EXAMPLE_DEV_OUTBOX", "true",
		// Resending a confirmation right after the sign-up mails again.
		"ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN", "0",
	), flatten(extra)...)
	a, err := newApp(getenv(vars), io.Discard)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	t.Cleanup(func() { a.auth.Shutdown(context.Background()) })
	srv := httptest.NewUnstartedServer(checked(t, a))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &demoSite{URL: site, oidc: m}
}

// browser is one headless Chromium process.
type browser struct {
	t    *testing.T
	ctx  context.Context // a chromedp context that has the browser
	dir  string          // where screenshots go
	logs *lockedBuffer   // the browser's stdout and stderr
}

// startBrowser starts Chromium for the test; it is closed at the test's end.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	path := browserPath(t)
	logs := &lockedBuffer{}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1000, 800),
		chromedp.CombinedOutput(logs),
	)
	// Not t.Context(): that ends before the cleanups, which still take
	// the tabs' final screenshots.
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
		cancel()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v\n%s", path, err, logs.String())
	}
	return &browser{t: t, ctx: bctx, dir: t.TempDir(), logs: logs}
}

// tab is a page in a browser context of its own: no cookies or storage
// shared with the other tabs.
type tab struct {
	t    *testing.T
	b    *browser
	name string
	site string
	ctx  context.Context

	mu      sync.Mutex
	console []string // console messages, for failure reports
	bad     []string // uncaught exceptions and CSP violations
}

// newTab opens a tab on site in a fresh browser context. At the test's
// end it saves a screenshot of its last state and fails the test if the
// page threw an uncaught exception or broke its Content-Security-Policy.
func (b *browser) newTab(name, site string) *tab {
	t := b.t
	t.Helper()
	tctx, tcancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(1000, 800)); err != nil {
		tcancel()
		t.Fatalf("tab %s: %v\n%s", name, err, b.logs.String())
	}
	ctx, cancel := context.WithTimeout(tctx, tabTimeout)
	tb := &tab{t: t, b: b, name: name, site: site, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			line := fmt.Sprintf("%s %s: %s", m.Type, m.URL, m.Text)
			tb.mu.Lock()
			tb.console = append(tb.console, line)
			if m.IsException() || strings.Contains(m.Text, "Content Security Policy") {
				tb.bad = append(tb.bad, line)
			}
			tb.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		defer tcancel()
		defer cancel()
		// A fresh deadline: the tab's own may be what failed the test.
		sctx, scancel := context.WithTimeout(tctx, 10*time.Second)
		defer scancel()
		if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err != nil {
			t.Logf("tab %s: no final screenshot: %v", name, err)
		} else {
			p := filepath.Join(b.dir, name+".png")
			if err := os.WriteFile(p, png, 0o600); err != nil {
				t.Error(err)
			}
			t.Logf("tab %s: final state in %s", name, p)
		}
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, line := range tb.bad {
			t.Errorf("tab %s: %s", name, line)
		}
		if t.Failed() && len(tb.console) > 0 {
			t.Logf("tab %s console:\n  %s", name, strings.Join(tb.console, "\n  "))
		}
	})
	return tb
}

// fatalf ends the test with what went wrong and the page's state.
func (tb *tab) fatalf(format string, args ...any) {
	tb.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(tb.ctx, 3*time.Second)
	defer cancel()
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](jsFunc(`
		const parts = ["at " + location.href];
		const s = $("#status");
		if (s) parts.push("#status[data-kind=" + s.dataset.kind + "] " + JSON.stringify(txt(s)));
		for (const e of document.querySelectorAll(".field-error, .form-error"))
			if (txt(e)) parts.push((e.closest("form")?.id || "?") + " " + e.className +
				(e.dataset.field ? "[" + e.dataset.field + "]" : "") + " " + JSON.stringify(txt(e)));
		for (const id of ["signed-out", "signed-in", "confirm-view", "reset-confirm-view"])
			parts.push("#" + id + (vis($("#" + id)) ? " visible" : " hidden"));
		return parts.join("\n    ");`)))
	if err != nil {
		state = "(page state unavailable: " + err.Error() + ")"
	}
	tb.t.Fatalf("tab %s: %s\n    %s", tb.name, msg, state)
}

// jsLib is put before each script: $ finds an element, vis tells whether
// it is rendered and visible, txt gives its trimmed text.
const jsLib = `const $ = s => document.querySelector(s);
const vis = el => !!el && el.checkVisibility({visibilityProperty: true, opacityProperty: true});
const txt = el => el ? el.textContent.replace(/\s+/g, " ").trim() : "";
`

// jsFunc wraps a function body using jsLib as an expression.
func jsFunc(body string) string {
	return "(() => {\n" + jsLib + body + "\n})()"
}

// jsQuote quotes s as a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// step runs actions with the step deadline.
func (tb *tab) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.fatalf("%s: %v", what, err)
	}
}

// eval runs a function body (with jsLib) and decodes its result into T.
func eval[T any](tb *tab, body string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](jsFunc(body)))
	if err != nil {
		tb.fatalf("script %s: %v", body, err)
	}
	return v
}

// waitFor polls a function body (with jsLib) until it returns a truthy
// value, decoded into T. It keeps polling across navigations (a poll does
// not survive one) until the step deadline.
func waitFor[T any](tb *tab, what, body string) T {
	tb.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	fn := "() => {\n" + jsLib + body + "\n}"
	for {
		ctx, cancel := context.WithDeadline(tb.ctx, deadline)
		v, err := chromedp.Run(ctx, chromedp.PollFunction[T](fn,
			chromedp.WithPollingInterval(25*time.Millisecond),
			chromedp.WithPollingTimeout(time.Until(deadline))))
		cancel()
		switch {
		case err == nil:
			return v
		case errors.Is(err, chromedp.ErrPollingTimeout) || time.Now().After(deadline) || tb.ctx.Err() != nil:
			tb.fatalf("waiting for %s: %v", what, err)
		case errors.As(err, new(*chromedp.ExceptionError)):
			tb.fatalf("waiting for %s: the script failed: %v", what, err)
		}
		// The page navigated while polling: poll the new one.
	}
}

// wait polls until the function body returns a truthy value.
func (tb *tab) wait(what, body string) {
	tb.t.Helper()
	waitFor[bool](tb, what, "return !!(() => {"+body+"})()")
}

// open navigates to a path of the site and waits for the load event.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.step("open "+path, chromedp.Navigate(tb.site+path))
}

// visible waits until the element that sel selects is visible.
func (tb *tab) visible(sel string) {
	tb.t.Helper()
	tb.wait(sel+" visible", "return vis($("+jsQuote(sel)+"))")
}

// hidden waits until nothing sel selects is visible.
func (tb *tab) hidden(sel string) {
	tb.t.Helper()
	tb.wait(sel+" hidden", "return ![...document.querySelectorAll("+jsQuote(sel)+")].some(vis)")
}

// isVisible tells whether the element that sel selects is visible now.
func (tb *tab) isVisible(sel string) bool {
	tb.t.Helper()
	return eval[bool](tb, "return vis($("+jsQuote(sel)+"))")
}

// value is the value of the input that sel selects.
func (tb *tab) value(sel string) string {
	tb.t.Helper()
	return eval[string](tb, "const e = $("+jsQuote(sel)+"); return e ? e.value : '(no '+"+jsQuote(sel)+"+')'")
}

// path is the page's location.pathname.
func (tb *tab) path() string {
	tb.t.Helper()
	return eval[string](tb, "return location.pathname")
}

// fill types values into the named inputs of a form, replacing what they
// held: name1, value1, name2, value2...
func (tb *tab) fill(form string, kv ...string) {
	tb.t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		sel := fmt.Sprintf(`%s [name="%s"]`, form, kv[i])
		// Emptied by script: chromedp's SetValue(sel, "") passes no
		// argument for "" and sets "undefined".
		if !eval[bool](tb, "const e = $("+jsQuote(sel)+"); if (!e) return false; e.value = ''; return true") {
			tb.fatalf("no %s", sel)
		}
		tb.step("type into "+sel, chromedp.SendKeys(chromedp.CSS(sel), kv[i+1]))
		if got := tb.value(sel); got != kv[i+1] {
			tb.fatalf("%s holds %q after typing %q", sel, got, kv[i+1])
		}
	}
}

// submitSel selects a form's submit button.
const submitSel = ` :is(button[type="submit"], button:not([type]), input[type="submit"])`

// result is what #status says after an action.
type result struct {
	Kind string `json:"kind"` // "ok" or "error"
	Text string `json:"text"`
}

// act clears #status, clicks the element sel selects, and waits for the
// page to report the outcome in #status.
func (tb *tab) act(what, sel string) result {
	tb.t.Helper()
	eval[bool](tb, `const s = $("#status"); if (!s) return false;
		s.textContent = ""; s.removeAttribute("data-kind"); return true`)
	tb.step(what, chromedp.Click(chromedp.CSS(sel)))
	return waitFor[result](tb, "#status after "+what, `const s = $("#status");
		const kind = s && s.dataset.kind;
		return (kind === "ok" || kind === "error") && txt(s) ? {kind, text: txt(s)} : null`)
}

// submit submits a form with its button and returns the outcome.
func (tb *tab) submit(form string) result {
	tb.t.Helper()
	return tb.act("submit "+form, form+submitSel)
}

// ok fails unless r reports success.
func (tb *tab) ok(what string, r result) {
	tb.t.Helper()
	if r.Kind != "ok" {
		tb.fatalf("%s: #status[data-kind=%s] %q, want ok", what, r.Kind, r.Text)
	}
}

// failed fails unless r reports an error.
func (tb *tab) failed(what string, r result) {
	tb.t.Helper()
	if r.Kind != "error" {
		tb.fatalf("%s: #status[data-kind=%s] %q, want error", what, r.Kind, r.Text)
	}
}

// errorShown waits until the element sel selects is visible and its text
// contains want.
func (tb *tab) errorShown(sel, want string) {
	tb.t.Helper()
	tb.wait(fmt.Sprintf("%s showing %q", sel, want),
		"const e = $("+jsQuote(sel)+"); return vis(e) && txt(e).includes("+jsQuote(want)+")")
}

// screenshot saves a full-page PNG at path.
func (tb *tab) screenshot(path string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// mail is one e-mail on the /outbox page.
type mail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Links   []link `json:"links"`
}

// link is an <a> in a mail's .body.
type link struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// outbox follows the link to /outbox in #mail-hint and waits until the
// page lists at least n mails to the address to with a link containing
// linkPart; it returns those, in the page's order (newest first), with
// the first such link in each.
func (tb *tab) outbox(to, linkPart string, n int) []mail {
	tb.t.Helper()
	// Mail goes out after the answer, in the background: wait until the
	// server holds it (/outbox.json) before the page is opened, which
	// then must show it.
	tb.waitMailed(to, linkPart, n)
	eval[bool](tb, "window.beforeOutbox = true; return true")
	tb.step("follow a#outbox-link", chromedp.Click(chromedp.CSS("#mail-hint a#outbox-link")))
	tb.wait("the /outbox page", `return !window.beforeOutbox && location.pathname === "/outbox"`)
	mails := waitFor[[]mail](tb, fmt.Sprintf("%d mail(s) to %s with a %s link on /outbox", n, to, linkPart), `
		const found = [...document.querySelectorAll(".mail")].map(m => ({
			to: txt(m.querySelector(".to")),
			subject: txt(m.querySelector(".subject")),
			links: [...m.querySelectorAll(".body a")]
				.map(a => ({href: a.getAttribute("href"), text: a.textContent.trim()}))
				.filter(l => l.href && l.href.includes(`+jsQuote(linkPart)+`)),
		})).filter(m => m.to.includes(`+jsQuote(to)+`) && m.links.length > 0);
		return found.length >= `+fmt.Sprint(n)+` ? found : null`)
	for _, m := range mails {
		l := m.Links[0]
		// The body's URL is the link: its text is the same URL, on the site.
		if l.Text != l.Href || !strings.HasPrefix(l.Href, tb.site+"/") {
			tb.fatalf("mail %q to %s: link %q with text %q, want a link to itself under %s", m.Subject, m.To, l.Href, l.Text, tb.site)
		}
		if m.Subject == "" {
			tb.fatalf("mail to %s has no .subject", m.To)
		}
	}
	return mails
}

// waitMailed polls /outbox.json until it holds n mails to the address
// to whose text contains linkPart (15 s at most).
func (tb *tab) waitMailed(to, linkPart string, n int) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(tb.site + "/outbox.json")
		if err != nil {
			tb.fatalf("GET /outbox.json: %v", err)
		}
		var mails []struct {
			To   []string `json:"to"`
			Text string   `json:"text"`
		}
		err = json.NewDecoder(res.Body).Decode(&mails)
		_ = res.Body.Close()
		if err != nil {
			tb.fatalf("/outbox.json: %v", err)
		}
		got := 0
		for _, m := range mails {
			if strings.Contains(strings.Join(m.To, ","), to) && strings.Contains(m.Text, linkPart) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			tb.fatalf("%d mail(s) to %s with %q after 15 s, want %d", got, to, linkPart, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// confirmLink matches a /confirm-email/KEY/ link.
var confirmLink = regexp.MustCompile(`^/confirm-email/([^/]+)/$`)

// resetLink matches a /reset/UID/TOKEN/ link.
var resetLink = regexp.MustCompile(`^/reset/([^/]+)/([^/]+)/$`)
