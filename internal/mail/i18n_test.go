package mail

import (
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"golang.org/x/text/language"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/locales"
)

// testCatalog is the catalog the internal tests render with (a Catalog is
// safe for concurrent use).
var testCatalog = locales.New()

// oldTemplates are restauth's English-only templates from before the
// emails were translated: an app's override written without t, lang or
// dir.
var oldTemplates = map[string]string{
	"password_reset_subject.txt": `Password reset on {{.SiteName}}
`,
	"password_reset.txt": `Hello{{with .Username}} {{.}}{{end}},

You're receiving this email because a password reset was requested for your account at {{.SiteName}}.

To choose a new password, open the following page:

{{.ResetURL}}
{{with .Username}}
Your username, in case you've forgotten: {{.}}
{{end}}
If you didn't ask for this, you can ignore this email: your password stays as it is.

Thanks for using our site!

The {{.SiteName}} team
{{with .SiteURL}}{{.}}{{end}}
`,
	"password_reset.html": `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Password reset on {{.SiteName}}</title>
</head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>Hello{{with .Username}} {{.}}{{end}},</p>
<p>You're receiving this email because a password reset was requested for your account at {{.SiteName}}.</p>
<p>To choose a new password, open the following page:</p>
<p><a href="{{.ResetURL}}">{{.ResetURL}}</a></p>
{{- with .Username}}
<p>Your username, in case you've forgotten: <strong>{{.}}</strong></p>
{{- end}}
<p>If you didn't ask for this, you can ignore this email: your password stays as it is.</p>
<p>Thanks for using our site!</p>
<p>The {{.SiteName}} team{{with .SiteURL}}<br><a href="{{.}}">{{.}}</a>{{end}}</p>
</body>
</html>
`,
	"email_confirmation_subject.txt": `Please confirm your email address on {{.SiteName}}
`,
	"email_confirmation.txt": `Hello from {{.SiteName}}!

You're receiving this email because {{with .User}}user {{.}}{{else}}someone{{end}} gave your email address to register an account on {{.SiteName}}.

To confirm this is correct, open the following page:

{{.ActivateURL}}

If you didn't register, you can ignore this email.

Thanks for using our site!

The {{.SiteName}} team
`,
	"email_confirmation.html": `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Please confirm your email address on {{.SiteName}}</title>
</head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>Hello from {{.SiteName}}!</p>
<p>You're receiving this email because {{with .User}}user <strong>{{.}}</strong>{{else}}someone{{end}} gave your email address to register an account on {{.SiteName}}.</p>
<p>To confirm this is correct, open the following page:</p>
<p><a href="{{.ActivateURL}}">{{.ActivateURL}}</a></p>
<p>If you didn't register, you can ignore this email.</p>
<p>Thanks for using our site!</p>
<p>The {{.SiteName}} team</p>
</body>
</html>
`,
	"account_already_exists_subject.txt": `Account already exists on {{.SiteName}}
`,
	"account_already_exists.txt": `Hello from {{.SiteName}}!

You're receiving this email because someone tried to register an account on {{.SiteName}} with your email address, {{.Email}}. An account with this address already exists.

If it was you, you can log in to your account, or reset your password if you forgot it: {{.SiteURL}}

If it wasn't you, you can ignore this email; nothing has changed.

Thanks for using our site!

The {{.SiteName}} team
`,
	"account_already_exists.html": `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Account already exists on {{.SiteName}}</title>
</head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>Hello from {{.SiteName}}!</p>
<p>You're receiving this email because someone tried to register an account on {{.SiteName}} with your email address, {{.Email}}. An account with this address already exists.</p>
<p>If it was you, you can log in to your account, or reset your password if you forgot it: <a href="{{.SiteURL}}">{{.SiteURL}}</a></p>
<p>If it wasn't you, you can ignore this email; nothing has changed.</p>
<p>Thanks for using our site!</p>
<p>The {{.SiteName}} team</p>
</body>
</html>
`,
}

// sample is an email with realistic data: the URL it must show and data
// values every language must show in its text body.
type sample struct {
	name     string
	template string
	data     any
	url      string
	values   []string
}

func samples() []sample {
	const site, siteURL = "Acme Shop", "https://shop.example.org/"
	return []sample{
		{"password reset", emails.TemplatePasswordReset, emails.PasswordResetData{
			Username: "amélie", Email: "amelie@example.org", ResetURL: "https://shop.example.org/auth/reset/NDI/c3a-9f1b2e/",
			UID: "NDI", Token: "c3a-9f1b2e", SiteName: site, SiteURL: siteURL,
		}, "https://shop.example.org/auth/reset/NDI/c3a-9f1b2e/", []string{"amélie", site, siteURL}},
		{"password reset without username", emails.TemplatePasswordReset, emails.PasswordResetData{
			Email: "amelie@example.org", ResetURL: "https://shop.example.org/auth/reset/NDI/c3a-9f1b2e/",
			UID: "NDI", Token: "c3a-9f1b2e", SiteName: site,
		}, "https://shop.example.org/auth/reset/NDI/c3a-9f1b2e/", []string{site}},
		{"email confirmation", emails.TemplateEmailConfirmation, emails.EmailConfirmationData{
			User: "amelie_dupont", ActivateURL: "https://shop.example.org/auth/confirm/Mzc:1uX9q2:f00d/", SiteName: site, Key: "Mzc:1uX9q2:f00d",
		}, "https://shop.example.org/auth/confirm/Mzc:1uX9q2:f00d/", []string{"amelie_dupont", site}},
		{"email confirmation without user", emails.TemplateEmailConfirmation, emails.EmailConfirmationData{
			ActivateURL: "https://shop.example.org/auth/confirm/Mzc:1uX9q2:f00d/", SiteName: site, Key: "Mzc:1uX9q2:f00d",
		}, "https://shop.example.org/auth/confirm/Mzc:1uX9q2:f00d/", []string{site}},
		{"account already exists", emails.TemplateAccountAlreadyExists, emails.AccountAlreadyExistsData{
			Email: "amelie@example.org", SiteName: site, SiteURL: siteURL,
		}, siteURL, []string{"amelie@example.org", site}},
	}
}

// rawKey matches a catalog key left in an email ("email.thanks"), not the
// word "email." ending a sentence.
var rawKey = regexp.MustCompile(`email\.[a-z_]`)

// tags matches HTML markup.
var tags = regexp.MustCompile(`<[^>]*>`)

// htmlWords returns the text an HTML body shows, markup removed, entities
// decoded and white space collapsed.
func htmlWords(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(s, ""))), " ")
}

// isDataLine reports whether a text body line shows only data (a URL).
func isDataLine(line string, s sample) bool {
	line = strings.TrimSpace(line)
	return line == "" || line == s.url || strings.HasPrefix(line, "https://")
}

// TestRenderEveryLanguage renders every email in every language of the
// catalogs: the texts are complete (no raw key, no missing value, the URL
// and the data shown), in the language (the HTML declares it and its
// direction, and every sentence differs from English) and the structure
// is that of the English email.
func TestRenderEveryLanguage(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, nil)
	english := make(map[string]emails.Message)
	for _, s := range samples() {
		m, err := tmpl.render(s.template, s.data, language.English)
		if err != nil {
			t.Fatalf("%s in English: %v", s.name, err)
		}
		english[s.name] = m
	}
	rtl := map[string]bool{"ar": true, "fa": true, "he": true}
	langs := locales.Languages()
	if len(langs) < 25 {
		t.Fatalf("locales.Languages() = %q, want the 25 catalog languages", langs)
	}
	for _, lang := range langs {
		for _, s := range samples() {
			t.Run(lang+"/"+s.name, func(t *testing.T) {
				t.Parallel()
				tag := testCatalog.Match(lang)
				if tag.String() != lang {
					t.Fatalf("Match(%q) = %s, want the catalog language itself", lang, tag)
				}
				m, err := tmpl.render(s.template, s.data, tag)
				if err != nil {
					t.Fatal(err)
				}
				if m.Language != lang {
					t.Errorf("Language = %q, want %q", m.Language, lang)
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
					t.Errorf("Subject = %q, want one non-empty line", m.Subject)
				}
				if !strings.Contains(m.Subject, "Acme Shop") {
					t.Errorf("Subject %q lacks the site name", m.Subject)
				}
				for part, text := range map[string]string{"subject": m.Subject, "text": m.Text, "HTML": m.HTML} {
					if k := rawKey.FindString(text); k != "" {
						t.Errorf("%s holds the raw key %q:\n%s", part, k, text)
					}
					if strings.Contains(text, noValue) {
						t.Errorf("%s holds %q:\n%s", part, noValue, text)
					}
				}
				if !strings.Contains(m.Text, "\n"+s.url+"\n") && !strings.Contains(m.Text, " "+s.url+"\n") {
					t.Errorf("text lacks the URL %s:\n%s", s.url, m.Text)
				}
				if !strings.Contains(m.HTML, `href="`+s.url+`"`) {
					t.Errorf("HTML lacks a link to %s:\n%s", s.url, m.HTML)
				}
				for _, v := range s.values {
					if !strings.Contains(m.Text, v) || !strings.Contains(m.HTML, v) {
						t.Errorf("text or HTML lacks %q:\n%s\n%s", v, m.Text, m.HTML)
					}
				}
				dir := "ltr"
				if rtl[lang] {
					dir = "rtl"
				}
				if want := fmt.Sprintf(`<html lang="%s" dir="%s">`, lang, dir); !strings.Contains(m.HTML, want) {
					t.Errorf("HTML lacks %s:\n%s", want, m.HTML)
				}

				en := english[s.name]
				enLines, lines := strings.Split(en.Text, "\n"), strings.Split(m.Text, "\n")
				if len(lines) != len(enLines) {
					t.Fatalf("text has %d lines, English %d:\n%s", len(lines), len(enLines), m.Text)
				}
				if lang == "en" {
					return
				}
				if m.Subject == en.Subject {
					t.Errorf("Subject %q is the English one", m.Subject)
				}
				for i, line := range lines {
					if !isDataLine(enLines[i], s) && line == enLines[i] {
						t.Errorf("text line %d %q is the English one", i+1, line)
					}
				}
				enParas, paras := strings.Split(en.HTML, "<p>"), strings.Split(m.HTML, "<p>")
				if len(paras) != len(enParas) {
					t.Fatalf("HTML has %d paragraphs, English %d:\n%s", len(paras)-1, len(enParas)-1, m.HTML)
				}
				for i := 1; i < len(paras); i++ {
					if strings.HasPrefix(paras[i], "<a ") {
						continue // the URL alone
					}
					if paras[i] == enParas[i] {
						t.Errorf("HTML paragraph %d %q is the English one", i, paras[i])
					}
				}
			})
		}
	}
}

// TestEnglishReadsAsBefore: in English the translated default templates
// say what the English-only ones said: the same subject and text body,
// and the same HTML text (markup aside).
func TestEnglishReadsAsBefore(t *testing.T) {
	t.Parallel()
	defaults := mustParse(t, nil)
	old := fstest.MapFS{}
	for name, src := range oldTemplates {
		old[name] = &fstest.MapFile{Data: []byte(src)}
	}
	before := mustParse(t, old)
	for _, s := range samples() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			want, err := before.render(s.template, s.data, language.English)
			if err != nil {
				t.Fatal(err)
			}
			got, err := defaults.render(s.template, s.data, language.English)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != want.Subject {
				t.Errorf("Subject = %q, was %q", got.Subject, want.Subject)
			}
			if got.Text != want.Text {
				t.Errorf("text body =\n%s\nwas\n%s", got.Text, want.Text)
			}
			if g, w := htmlWords(got.HTML), htmlWords(want.HTML); g != w {
				t.Errorf("HTML reads\n%s\nwas\n%s", g, w)
			}
		})
	}
}

// TestOldOverridesStillRender: an app's override written before the
// translations (no t, lang or dir) renders as it did, whatever the
// language, and the message does not claim a language it is not known
// to be written in.
func TestOldOverridesStillRender(t *testing.T) {
	t.Parallel()
	old := fstest.MapFS{}
	for name, src := range oldTemplates {
		old[name] = &fstest.MapFile{Data: []byte(src)}
	}
	tmpl := mustParse(t, old)
	for _, lang := range []string{"en", "fr", "ar", "zh-Hant"} {
		for _, s := range samples() {
			t.Run(lang+"/"+s.name, func(t *testing.T) {
				t.Parallel()
				want, err := tmpl.render(s.template, s.data, language.English)
				if err != nil {
					t.Fatal(err)
				}
				m, err := tmpl.render(s.template, s.data, testCatalog.Match(lang))
				if err != nil {
					t.Fatal(err)
				}
				if m.Subject != want.Subject || m.Text != want.Text || m.HTML != want.HTML {
					t.Errorf("in %s the override renders\n%+v\nnot as in English\n%+v", lang, m, want)
				}
				if !strings.Contains(m.HTML, `<html lang="en">`) || !strings.Contains(m.Text, s.url) {
					t.Errorf("not the override's own text:\n%s", m.HTML)
				}
				if m.Language != "" {
					t.Errorf("Language = %q for templates of unknown language, want empty", m.Language)
				}
			})
		}
	}
}

// TestMessageLanguage: Language is the language rendered in when every
// part is written for it (defaults, a language directory's file, a root
// override using t or lang) and empty when a part is a root override in
// a fixed language.
func TestMessageLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		override fstest.MapFS
		lang     string
		want     string
	}{
		{"defaults", nil, "de", "de"},
		{"root subject using t", fstest.MapFS{"password_reset_subject.txt": {Data: []byte(`[{{t "email.password_reset.subject"}}]`)}}, "de", "de"},
		{"root HTML using lang only", fstest.MapFS{"password_reset.html": {Data: []byte(`<html lang="{{lang}}">{{.ResetURL}}</html>`)}}, "de", "de"},
		{"root text using t in a defined template", fstest.MapFS{"password_reset.txt": {Data: []byte(`{{define "x"}}{{t "email.thanks"}}{{end}}{{template "x"}} {{.ResetURL}}`)}}, "de", "de"},
		{"root text in a fixed language", fstest.MapFS{"password_reset.txt": {Data: []byte(`Hallo! {{.ResetURL}}`)}}, "de", ""},
		{"root HTML using dir only", fstest.MapFS{"password_reset.html": {Data: []byte(`<p dir="{{dir}}">Hallo! {{.ResetURL}}</p>`)}}, "de", ""},
		{"language directory file in a fixed language", fstest.MapFS{"de/password_reset.txt": {Data: []byte(`Hallo! {{.ResetURL}}`)}}, "de", "de"},
		{"fixed-language root text, used by another language", fstest.MapFS{
			"de/password_reset.txt": {Data: []byte(`Hallo! {{.ResetURL}}`)},
			"password_reset.txt":    {Data: []byte(`Hello! {{.ResetURL}}`)},
		}, "fr", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl := mustParse(t, tc.override)
			m, err := tmpl.render(emails.TemplatePasswordReset, tplResetData(), testCatalog.Match(tc.lang))
			if err != nil {
				t.Fatal(err)
			}
			if m.Language != tc.want {
				t.Fatalf("Language = %q, want %q", m.Language, tc.want)
			}
		})
	}
}

// TestLanguageOverrides: a file in an override directory named by a
// language replaces that file for emails in that language only; other
// languages use the root override, then the defaults. Directories whose
// names are not language tags, and files of unknown names, are ignored.
func TestLanguageOverrides(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, fstest.MapFS{
		"password_reset.txt":                   {Data: []byte(`ROOT {{t "email.password_reset.action"}} {{.ResetURL}}`)},
		"de/password_reset.txt":                {Data: []byte(`DE {{t "email.password_reset.action"}} {{.ResetURL}}`)},
		"de/password_reset.html":               {Data: []byte(`<p lang="{{lang}}">DE-HTML <a href="{{.ResetURL}}">x</a></p>`)},
		"pt-br/email_confirmation_subject.txt": {Data: []byte(`PT {{t "email.email_confirmation.subject"}}`)},
		"zh-Hant/unrelated.txt":                {Data: []byte("{{ broken")},
		"static/password_reset.txt":            {Data: []byte("{{ broken")},
		"x-private/password_reset.txt":         {Data: []byte("{{ broken")},
		"de/nested/password_reset.txt":         {Data: []byte("{{ broken")},
	})
	defaults := mustParse(t, nil)
	reset := tplResetData()
	confirm := emails.EmailConfirmationData{User: "bob", ActivateURL: "https://example.com/confirm/KEY1/", SiteName: "Example", Key: "KEY1"}
	action := func(lang string) string {
		return testCatalog.Text(lang, locales.M("email.password_reset.action"))
	}
	tests := []struct {
		name     string
		lang     string
		template string
		data     any
		// Empty wants mean the defaults' part in that language.
		subject, text, html string
	}{
		{"German reset: German files", "de", emails.TemplatePasswordReset, reset,
			"", "DE " + action("de") + " " + reset.ResetURL + "\n", `<p lang="de">DE-HTML <a href="https://example.com/reset/MQ/abc-123/?next=/home&amp;x=1">x</a></p>` + "\n"},
		{"French reset: root text", "fr", emails.TemplatePasswordReset, reset,
			"", "ROOT " + action("fr") + " " + reset.ResetURL + "\n", ""},
		{"English reset: root text", "en", emails.TemplatePasswordReset, reset,
			"", "ROOT " + action("en") + " " + reset.ResetURL + "\n", ""},
		{"Swiss German falls to the catalog's German", "de-CH", emails.TemplatePasswordReset, reset,
			"", "DE " + action("de") + " " + reset.ResetURL + "\n", `<p lang="de">DE-HTML <a href="https://example.com/reset/MQ/abc-123/?next=/home&amp;x=1">x</a></p>` + "\n"},
		{"Brazilian confirmation: pt-br subject", "pt-BR", emails.TemplateEmailConfirmation, confirm,
			"PT " + testCatalog.Text("pt-BR", locales.M("email.email_confirmation.subject", "SiteName", "Example")), "", ""},
		{"European Portuguese confirmation: defaults", "pt-PT", emails.TemplateEmailConfirmation, confirm, "", "", ""},
		{"German confirmation: defaults", "de", emails.TemplateEmailConfirmation, confirm, "", "", ""},
		{"Traditional Chinese reset: root text", "zh-TW", emails.TemplatePasswordReset, reset,
			"", "ROOT " + action("zh-Hant") + " " + reset.ResetURL + "\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tag := testCatalog.Match(tc.lang)
			m, err := tmpl.render(tc.template, tc.data, tag)
			if err != nil {
				t.Fatal(err)
			}
			def, err := defaults.render(tc.template, tc.data, tag)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct{ part, got, want, def string }{
				{"subject", m.Subject, tc.subject, def.Subject},
				{"text", m.Text, tc.text, def.Text},
				{"HTML", m.HTML, tc.html, def.HTML},
			} {
				want := p.want
				if want == "" {
					want = p.def
				}
				if p.got != want {
					t.Errorf("%s =\n%q\nwant\n%q", p.part, p.got, want)
				}
			}
		})
	}
}

// TestTemplateFuncs: t renders a catalog key in the email's language with
// the email's data (whatever the dot is where it is called, and whatever
// the data's type), lang and dir give the language's tag and direction,
// and t refuses keys in no catalog and messages the data cannot fill.
func TestTemplateFuncs(t *testing.T) {
	t.Parallel()
	reset := tplResetData()
	text := func(lang, key string, kv ...any) string { return testCatalog.Text(lang, locales.M(key, kv...)) }
	tests := []struct {
		name    string
		src     string
		lang    string
		data    any
		want    string
		wantErr string
	}{
		{"lang and dir, Hebrew", `{{lang}} {{dir}}`, "he", reset, "he rtl", ""},
		{"lang and dir, Persian", `{{lang}} {{dir}}`, "fa-IR", reset, "fa rtl", ""},
		{"lang and dir, Traditional Chinese", `{{lang}} {{dir}}`, "zh-HK", reset, "zh-Hant ltr", ""},
		{"lang and dir, Brazilian Portuguese", `{{lang}} {{dir}}`, "pt", reset, "pt-BR ltr", ""},
		{"t inside with sees the email data", `{{with .Username}}[{{.}}] {{t "email.password_reset.username"}}{{end}}`, "it", reset,
			"[bob] " + text("it", "email.password_reset.username", "Username", "bob"), ""},
		{"t inside range", `{{range $i, $c := .Codes}}{{$c}}:{{t "email.signature"}};{{end}}`, "nl",
			map[string]any{"Codes": []string{"a", "b"}, "SiteName": "Nl"},
			"a:" + text("nl", "email.signature", "SiteName", "Nl") + ";b:" + text("nl", "email.signature", "SiteName", "Nl") + ";", ""},
		{"pointer to struct data", `{{t "email.password_reset.subject"}}`, "ja", &reset,
			text("ja", "email.password_reset.subject", "SiteName", "Example"), ""},
		{"map[string]string data", `{{t "email.account_already_exists.intro"}}`, "ko",
			map[string]string{"SiteName": "K", "Email": "k@example.com"},
			text("ko", "email.account_already_exists.intro", "SiteName", "K", "Email", "k@example.com"), ""},
		{"a value holding <no value> is not a missing one", `{{t "email.password_reset.greeting"}}`, "en",
			map[string]string{"Username": "<no value>"}, "Hello <no value>,", ""},
		{"key in no catalog", `{{t "email.password_reset.nope"}}`, "fr", reset, "", `"email.password_reset.nope"`},
		{"data lacks a field the message uses", `{{t "email.password_reset.subject"}}`, "fr", map[string]string{"Username": "bob"}, "", "lacks"},
		{"nil data", `{{t "email.signature"}}`, "fr", nil, "", "lacks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmpl := mustParse(t, fstest.MapFS{"password_reset.txt": {Data: []byte(tc.src)}})
			// Render the text part alone: the other parts need the real data.
			fm := tmpl.funcs(testCatalog.Match(tc.lang), tc.data)
			got, err := execText(tmpl.root[emails.TemplatePasswordReset].text.tmpl, fm, tc.data)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "password_reset.txt") {
					t.Fatalf("error = %v, want one naming password_reset.txt and containing %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRenderConcurrentLanguages renders the same templates in several
// languages at once: each render gets its own language and data.
func TestRenderConcurrentLanguages(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, nil)
	langs := []string{"en", "fr", "ar", "ja", "pt-BR", "uk"}
	want := make(map[string]emails.Message)
	for _, lang := range langs {
		d := tplResetData()
		d.Username = "user-" + lang
		m, err := tmpl.render(emails.TemplatePasswordReset, d, testCatalog.Match(lang))
		if err != nil {
			t.Fatal(err)
		}
		want[lang] = m
	}
	var wg sync.WaitGroup
	for i := range 60 {
		lang := langs[i%len(langs)]
		wg.Go(func() {
			d := tplResetData()
			d.Username = "user-" + lang
			m, err := tmpl.render(emails.TemplatePasswordReset, d, testCatalog.Match(lang))
			if err != nil {
				t.Error(err)
				return
			}
			if w := want[lang]; m.Subject != w.Subject || m.Text != w.Text || m.HTML != w.HTML || m.Language != w.Language {
				t.Errorf("concurrent render in %s differs from the sequential one", lang)
			}
		})
	}
	wg.Wait()
}

// TestMessageData: the data given to catalog messages holds the exported
// fields of a struct (promoted ones included) or the entries of a map.
func TestMessageData(t *testing.T) {
	t.Parallel()
	type Inner struct{ SiteName string }
	type withEmbedded struct {
		Inner
		Username string
		secret   string
	}
	type withNilEmbedded struct {
		*Inner
		Username string
	}
	tests := []struct {
		name string
		data any
		want map[string]any
	}{
		{"struct", emails.AccountAlreadyExistsData{Email: "e@x", SiteName: "S", SiteURL: "u"},
			map[string]any{"Email": "e@x", "SiteName": "S", "SiteURL": "u"}},
		{"pointer to struct", &emails.EmailConfirmationData{User: "u", SiteName: "S"},
			map[string]any{"User": "u", "ActivateURL": "", "SiteName": "S", "Key": ""}},
		{"embedded struct, unexported field", withEmbedded{Inner{"S"}, "u", "x"},
			map[string]any{"Inner": Inner{"S"}, "SiteName": "S", "Username": "u"}},
		{"nil embedded pointer", withNilEmbedded{Username: "u"},
			map[string]any{"Inner": (*Inner)(nil), "Username": "u"}},
		{"map[string]any", map[string]any{"A": 1}, map[string]any{"A": 1}},
		{"map[string]string", map[string]string{"A": "a"}, map[string]any{"A": "a"}},
		{"map with other keys", map[int]string{1: "a"}, nil},
		{"nil pointer", (*emails.PasswordResetData)(nil), nil},
		{"nil", nil, nil},
		{"string", "x", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := messageData(tc.data)
			if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", tc.want) {
				t.Fatalf("messageData = %#v, want %#v", got, tc.want)
			}
		})
	}
}
