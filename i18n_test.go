package restauth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/locales"
)

// catalogText returns the text of key in the catalog file of lang
// (locales/<lang>.json), read independently of the locales package; for
// a plural message, its form form.
func catalogText(t *testing.T, lang, key, form string) string {
	t.Helper()
	raw, err := os.ReadFile("locales/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var cat map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cat); err != nil {
		t.Fatal(err)
	}
	v, ok := cat[key]
	if !ok {
		t.Fatalf("%s.json has no %s", lang, key)
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var forms map[string]string
	if err := json.Unmarshal(v, &forms); err != nil {
		t.Fatal(err)
	}
	return forms[form]
}

// TestLanguageOfErrors: the acceptance cases of the languages issue on a
// wrong login, and the Content-Language that names the answer's language.
func TestLanguageOfErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	e.user("alice", "alice@example.com")
	for _, tc := range []struct{ accept, lang string }{
		{"de", "de"},
		{"fr-CA, en;q=0.5", "fr"},
		{"ar", "ar"},
		{"zh-TW", "zh-Hant"},
		{"pt", "pt-BR"},
		{"pl;q=0.2, ja;q=0.8", "ja"},
		{"xx-YY", "en"},
		{"", "en"},
		{"de;q=broken", "en"},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			t.Parallel()
			e := e.on(t)
			r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": "wrong"}, "Accept-Language", tc.accept)
			expect(t, r, 400)
			expectField(t, r, "non_field_errors", catalogText(t, tc.lang, "login.invalid_credentials", ""))
			if got := r.Header.Get("Content-Language"); got != tc.lang {
				t.Fatalf("Content-Language %q, want %q", got, tc.lang)
			}
		})
	}
}

// TestLanguageOfValidationAndSuccess: validation messages (bind rules,
// plural forms, password validators with a translated attribute name)
// and success details follow the language too; an answer without text
// names no language.
func TestLanguageOfValidationAndSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	cat := locales.New()

	r := e.do("POST", "/rest-auth/registration/", map[string]any{"username": strings.Repeat("x", 151), "email": "x@example.com", "password1": "short", "password2": "short"}, "Accept-Language", "pl")
	expect(t, r, 400)
	// 150 is "many" in Polish: the form comes from the file, the number from the rule.
	expectField(t, r, "username", strings.ReplaceAll(catalogText(t, "pl", "field.max_length", "many"), "{{.Max}}", "150"))
	if got := r.field("password1"); len(got) == 0 || got[0] != cat.Text("pl", locales.N("password.too_short", 8, "Min", 8)) {
		t.Fatalf("password1: %q", got)
	}
	if !strings.Contains(r.field("password1")[0], "8") {
		t.Fatalf("password1 lacks the minimum: %q", r.field("password1"))
	}

	r = e.do("POST", "/rest-auth/registration/", map[string]any{"email": "x@example.com"}, "Accept-Language", "ru")
	expect(t, r, 400)
	expectField(t, r, "password1", catalogText(t, "ru", "field.required", ""))

	r = e.do("POST", "/rest-auth/registration/", map[string]any{"username": "gretchen", "email": "g@example.com", "password1": "gretchen1", "password2": "gretchen1"}, "Accept-Language", "de")
	expect(t, r, 400)
	similar := strings.ReplaceAll(catalogText(t, "de", "password.too_similar", ""), "{{.Field}}", catalogText(t, "de", "attr.username", ""))
	if got := r.field("password1"); !contains(got, similar) {
		t.Fatalf("password1 %q, want %q among them", got, similar)
	}

	e.user("bob", "bob@example.com")
	key := e.login("bob", goodPass)
	user := e.do("GET", "/rest-auth/user/", nil, append(tokenHeader(key), "Accept-Language", "es")...)
	expect(t, user, 200)
	if got := user.Header.Get("Content-Language"); got != "" {
		t.Fatalf("GET user/ names a language (%q) for an answer without text", got)
	}
	r = e.do("POST", "/rest-auth/logout/", nil, append(tokenHeader(key), "Accept-Language", "es-MX")...)
	expectDetail(t, r, 200, catalogText(t, "es", "logout.success", ""))
	if got := r.Header.Get("Content-Language"); got != "es" {
		t.Fatalf("Content-Language %q, want es", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestLanguageHook: Config.Language picks the language before the
// header (here a ?lang= parameter), and "" leaves it to the header.
func TestLanguageHook(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.Language = func(c *gin.Context) string { return c.Query("lang") }
	})
	for _, tc := range []struct{ query, accept, lang string }{
		{"?lang=ja", "de", "ja"},
		{"?lang=uk-UA", "", "uk"},
		{"", "de", "de"},
		{"?lang=nope", "fr", "en"},
	} {
		r := e.do("POST", "/rest-auth/login/"+tc.query, map[string]any{"username": "nobody", "password": "x"}, "Accept-Language", tc.accept)
		expect(t, r, 400)
		expectField(t, r, "non_field_errors", catalogText(t, tc.lang, "login.invalid_credentials", ""))
		if got := r.Header.Get("Content-Language"); got != tc.lang {
			t.Fatalf("%s %s: Content-Language %q, want %q", tc.query, tc.accept, got, tc.lang)
		}
	}
}

// TestLanguageOfConfirmPage: the confirmation page is written in the
// request's language, right to left for Hebrew.
func TestLanguageOfConfirmPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	for _, tc := range []struct{ accept, lang, dir string }{{"he", "he", "rtl"}, {"ko-KR", "ko", "ltr"}, {"", "en", "ltr"}} {
		req := httptest.NewRequestWithContext(context.Background(), "GET", "/rest-auth/registration/account-confirm-email/abc/", nil)
		req.Header.Set("Accept-Language", tc.accept)
		w := httptest.NewRecorder()
		e.r.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d", tc.accept, w.Code)
		}
		body := w.Body.String()
		if !strings.Contains(body, `<html lang="`+tc.lang+`" dir="`+tc.dir+`">`) {
			t.Fatalf("%s: no lang/dir in %q", tc.accept, body)
		}
		if title := catalogText(t, tc.lang, "confirm_page.title", ""); !strings.Contains(body, "<title>"+title+"</title>") {
			t.Fatalf("%s: title %q missing from %q", tc.accept, title, body)
		}
		if got := w.Header().Get("Content-Language"); got != tc.lang {
			t.Fatalf("%s: Content-Language %q", tc.accept, got)
		}
	}
}

// TestLanguageOfEmails: the reset and confirmation e-mails are written in
// the language of the request that caused them, subject included, with
// dir="rtl" in Arabic HTML.
func TestLanguageOfEmails(t *testing.T) {
	t.Parallel()
	fill := func(s string, kv ...string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			s = strings.ReplaceAll(s, "{{."+kv[i]+"}}", kv[i+1])
		}
		return s
	}
	for _, tc := range []struct{ accept, lang string }{{"de", "de"}, {"fr-CA, en;q=0.5", "fr"}, {"ar", "ar"}, {"xx", "en"}} {
		t.Run(tc.accept, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testdb.SQLite(t), nil)
			e.user("alice", "alice@example.com")
			expect(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"}, "Accept-Language", tc.accept), 200)
			e.auth.Shutdown(context.Background())
			m, ok := e.out.Last()
			if !ok {
				t.Fatal("no reset e-mail")
			}
			site := "app.example"
			if want := fill(catalogText(t, tc.lang, "email.password_reset.subject", ""), "SiteName", site); m.Subject != want {
				t.Fatalf("subject %q, want %q", m.Subject, want)
			}
			intro := fill(catalogText(t, tc.lang, "email.password_reset.intro", ""), "SiteName", site)
			if !strings.Contains(m.Text, intro) {
				t.Fatalf("text lacks %q:\n%s", intro, m.Text)
			}
			dir := "ltr"
			if tc.lang == "ar" {
				dir = "rtl"
			}
			if !strings.Contains(m.HTML, `lang="`+tc.lang+`" dir="`+dir+`"`) {
				t.Fatalf("HTML lacks lang/dir:\n%s", m.HTML)
			}
			if m.Language != tc.lang {
				t.Fatalf("Message.Language %q, want %q", m.Language, tc.lang)
			}
			if link := resetLinkRe.FindString(m.Text); link == "" || !strings.Contains(m.HTML, link) {
				t.Fatalf("no reset link in text and HTML:\n%s", m.Text)
			}

			e.out.Reset()
			r := e.do("POST", "/rest-auth/registration/", signup("bob", "bob@example.com"), "Accept-Language", tc.accept)
			expect(t, r, 201)
			e.auth.Shutdown(context.Background())
			m, ok = e.out.Last()
			if !ok {
				t.Fatal("no confirmation e-mail")
			}
			if want := fill(catalogText(t, tc.lang, "email.email_confirmation.subject", ""), "SiteName", site); m.Subject != want {
				t.Fatalf("confirmation subject %q, want %q", m.Subject, want)
			}
		})
	}
}

// TestLanguageHookPanics: a Config.Language that panics costs its
// request nothing: the header decides, and the panic is logged.
func TestLanguageHookPanics(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.Language = func(*gin.Context) string { panic("boom") }
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "nobody", "password": "x"}, "Accept-Language", "it")
	expect(t, r, 400)
	expectField(t, r, "non_field_errors", catalogText(t, "it", "login.invalid_credentials", ""))
	if got := r.Header.Values("Vary"); !contains(got, "Accept-Language") {
		t.Fatalf("Vary %q lacks Accept-Language", got)
	}
	if got := logs.String(); !strings.Contains(got, "Config.Language panicked") || !strings.Contains(got, "boom") {
		t.Fatalf("the panic was not logged: %q", got)
	}
}
