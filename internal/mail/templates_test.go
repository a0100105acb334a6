package mail

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/text/language"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/locales"
)

func tplResetData() emails.PasswordResetData {
	return emails.PasswordResetData{
		Username: "bob",
		Email:    "bob@example.com",
		ResetURL: "https://example.com/reset/MQ/abc-123/?next=/home&x=1",
		UID:      "MQ",
		Token:    "abc-123",
		SiteName: "Example",
		SiteURL:  "https://example.com/",
	}
}

func mustParse(t *testing.T, override fstest.MapFS) *templates {
	t.Helper()
	var tmpl *templates
	var err error
	if override == nil {
		tmpl, err = parse(nil, testCatalog) // a nil fs.FS, not a typed nil MapFS
	} else {
		tmpl, err = parse(override, testCatalog)
	}
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return tmpl
}

func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, nil)
	tests := []struct {
		name        string
		data        any
		wantSubject string
		wantText    []string
		wantHTML    []string
	}{
		{
			name:        emails.TemplatePasswordReset,
			data:        tplResetData(),
			wantSubject: "Password reset on Example",
			wantText: []string{
				"https://example.com/reset/MQ/abc-123/?next=/home&x=1\n",
				"Your username, in case you've forgotten: bob",
				"The Example team",
			},
			wantHTML: []string{
				`<html lang="en" dir="ltr">`,
				`href="https://example.com/reset/MQ/abc-123/?next=/home&amp;x=1"`,
				"<p>Your username, in case you&#39;ve forgotten: bob</p>",
			},
		},
		{
			name: emails.TemplateEmailConfirmation,
			data: emails.EmailConfirmationData{
				User: "bob", ActivateURL: "https://example.com/confirm/KEY1/", SiteName: "Example", Key: "KEY1",
			},
			wantSubject: "Please confirm your email address on Example",
			wantText:    []string{"https://example.com/confirm/KEY1/\n", "user bob"},
			wantHTML:    []string{`<html lang="en" dir="ltr">`, `href="https://example.com/confirm/KEY1/"`, "because user bob gave"},
		},
		{
			name: emails.TemplateAccountAlreadyExists,
			data: emails.AccountAlreadyExistsData{
				Email: "bob@example.com", SiteName: "Example", SiteURL: "https://example.com/",
			},
			wantSubject: "Account already exists on Example",
			wantText:    []string{"with your email address, bob@example.com.", "forgot it: https://example.com/\n"},
			wantHTML:    []string{`<html lang="en" dir="ltr">`, `href="https://example.com/"`, "The Example team"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := tmpl.render(tc.name, tc.data, language.English)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tc.wantSubject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.wantSubject)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text body lacks %q:\n%s", w, m.Text)
				}
			}
			for _, w := range tc.wantHTML {
				if !strings.Contains(m.HTML, w) {
					t.Errorf("HTML body lacks %q:\n%s", w, m.HTML)
				}
			}
			if len(m.To) != 0 {
				t.Errorf("To = %q, want it left empty", m.To)
			}
			if err := (emails.Message{To: []string{"x@example.com"}, Subject: m.Subject}).Validate(); err != nil {
				t.Errorf("rendered subject is not sendable: %v", err)
			}
		})
	}
}

func TestTemplatesEscapeHTMLOnly(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, nil)
	d := tplResetData()
	d.Username = `<script>alert("x")</script>&`
	m, err := tmpl.render(emails.TemplatePasswordReset, d, language.English)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, d.Username) {
		t.Errorf("text body should carry the username verbatim:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "<script>") {
		t.Errorf("HTML body contains an unescaped username:\n%s", m.HTML)
	}
	if !strings.Contains(m.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;") {
		t.Errorf("HTML body lacks the escaped username:\n%s", m.HTML)
	}

	d = tplResetData()
	d.ResetURL = "javascript:alert(1)"
	m, err = tmpl.render(emails.TemplatePasswordReset, d, language.English)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, `href="javascript:`) {
		t.Errorf("HTML body links to a javascript: URL:\n%s", m.HTML)
	}
}

func TestTemplatesOverride(t *testing.T) {
	t.Parallel()
	override := fstest.MapFS{
		"password_reset.txt": {Data: []byte("Custom: {{.ResetURL}} for {{.Username}}")},
		"unrelated.html":     {Data: []byte("{{ broken")}, // ignored: not a known name
	}
	tmpl := mustParse(t, override)
	m, err := tmpl.render(emails.TemplatePasswordReset, tplResetData(), language.English)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Custom: https://example.com/reset/MQ/abc-123/?next=/home&x=1 for bob\n"; m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	if m.Subject != "Password reset on Example" {
		t.Errorf("Subject = %q, want the default", m.Subject)
	}
	if !strings.Contains(m.HTML, "<p>Your username, in case you&#39;ve forgotten: bob</p>") {
		t.Errorf("HTML should be the default:\n%s", m.HTML)
	}
	c, err := tmpl.render(emails.TemplateEmailConfirmation, emails.EmailConfirmationData{User: "bob", ActivateURL: "https://e/x", SiteName: "E"}, language.English)
	if err != nil || !strings.Contains(c.Text, "https://e/x") {
		t.Errorf("confirmation default broken by override: %q, %v", c.Text, err)
	}

	// A blank HTML file drops the HTML alternative.
	noHTML := mustParse(t, fstest.MapFS{"password_reset.html": {Data: []byte("  \n")}})
	m, err = noHTML.render(emails.TemplatePasswordReset, tplResetData(), language.English)
	if err != nil {
		t.Fatal(err)
	}
	if m.HTML != "" || m.Text == "" {
		t.Errorf("blank HTML override: HTML = %q, Text = %q", m.HTML, m.Text)
	}
}

// TestNewRefusesBrokenOverride: New parses the templates, those of every
// language directory included, so a broken override is refused when the
// Sender is built, naming the file.
func TestNewRefusesBrokenOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		files fstest.MapFS
		want  []string // in the error
	}{
		{"root HTML", fstest.MapFS{"password_reset.html": {Data: []byte("<p>{{.ResetURL</p>")}}, []string{"password_reset.html"}},
		{"root subject", fstest.MapFS{"password_reset_subject.txt": {Data: []byte("{{if .SiteName}}")}}, []string{"password_reset_subject.txt"}},
		{"root text", fstest.MapFS{"email_confirmation.txt": {Data: []byte("{{end}}")}}, []string{"email_confirmation.txt"}},
		{"German HTML", fstest.MapFS{"de/password_reset.html": {Data: []byte("<p>{{.ResetURL</p>")}}, []string{"de/password_reset.html"}},
		{"Brazilian subject", fstest.MapFS{"pt-BR/email_confirmation_subject.txt": {Data: []byte("{{if .SiteName}}")}}, []string{"pt-BR/email_confirmation_subject.txt"}},
		{"Traditional Chinese text among good files", fstest.MapFS{
			"password_reset.txt":                 {Data: []byte("{{.ResetURL}}")},
			"fr/password_reset.txt":              {Data: []byte("{{.ResetURL}}")},
			"zh-Hant/account_already_exists.txt": {Data: []byte("{{t}")},
		}, []string{"zh-Hant/account_already_exists.txt"}},
		{"unknown function in a language directory", fstest.MapFS{"ar/password_reset.txt": {Data: []byte("{{translate \"x\"}}")}}, []string{"ar/password_reset.txt"}},
		{"two directories of one language", fstest.MapFS{
			"pt-BR/password_reset.txt": {Data: []byte("{{.ResetURL}}")},
			"pt-br/password_reset.txt": {Data: []byte("{{.ResetURL}}")},
		}, []string{"pt-BR", "pt-br"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(&emails.Outbox{}, tc.files, testCatalog, nil, nil)
			if err == nil {
				t.Fatal("New accepted a broken template")
			}
			if s != nil {
				t.Errorf("New returned a Sender with its error %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

func TestTemplatesSubjectFlattened(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, fstest.MapFS{
		"password_reset_subject.txt": {Data: []byte("\n  Reset\r\nfor {{.Username}}\t\x00on\u2028{{.SiteName}}  \n\n")},
	})
	d := tplResetData()
	d.Username = "bob\r\nBcc: evil@example.net"
	m, err := tmpl.render(emails.TemplatePasswordReset, d, language.English)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Reset for bob Bcc: evil@example.net on Example"; m.Subject != want {
		t.Fatalf("Subject = %q, want %q", m.Subject, want)
	}
}

func TestTemplatesRenderErrors(t *testing.T) {
	t.Parallel()
	tmpl := mustParse(t, nil)
	if _, err := tmpl.render("nope", nil, language.English); !errors.Is(err, errUnknownTemplate) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown name: error = %v, want errUnknownTemplate naming it", err)
	}
	// A map missing a key is an error, not "<no value>" in a sent email.
	_, err := tmpl.render(emails.TemplatePasswordReset, map[string]string{"SiteName": "E"}, language.English)
	if err == nil || !strings.Contains(err.Error(), "password_reset") {
		t.Errorf("missing key: error = %v, want one naming the template", err)
	}
	// A struct of the wrong type is an error too.
	_, err = tmpl.render(emails.TemplateEmailConfirmation, tplResetData(), language.English)
	if err == nil || !strings.Contains(err.Error(), "email_confirmation") {
		t.Errorf("wrong data type: error = %v, want one naming the template", err)
	}
	// A complete map works.
	m, err := tmpl.render(emails.TemplatePasswordReset, map[string]string{
		"Username": "bob", "ResetURL": "https://e/r", "SiteName": "E", "SiteURL": "",
	}, language.English)
	if err != nil || !strings.Contains(m.Text, "https://e/r") {
		t.Errorf("map data: %q, %v", m.Text, err)
	}
}

// TestLanguageDirectoryNeedsItsCatalog: a template directory for a
// language the catalog lacks (so never used) fails New; once the
// catalog has the language, the directory serves it.
func TestLanguageDirectoryNeedsItsCatalog(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{"nb/password_reset_subject.txt": {Data: []byte("Tilbakestill passord på {{.SiteName}}")}}
	for _, dir := range []string{"nb", "en-US"} {
		fs := fstest.MapFS{dir + "/password_reset_subject.txt": files["nb/password_reset_subject.txt"]}
		if _, err := parse(fs, locales.New()); err == nil || !strings.Contains(err.Error(), "template directory "+dir) {
			t.Errorf("%s: err %v, want one naming the directory", dir, err)
		}
	}
	cat := locales.New()
	if err := cat.AddMessages("nb", map[string]string{"login.disabled": "Kontoen er deaktivert."}); err != nil {
		t.Fatal(err)
	}
	tp, err := parse(files, cat)
	if err != nil {
		t.Fatalf("with nb in the catalog: %v", err)
	}
	m, err := tp.render(emails.TemplatePasswordReset, tplResetData(), language.MustParse("nb"))
	if err != nil || !strings.HasPrefix(m.Subject, "Tilbakestill passord på") {
		t.Fatalf("nb subject %q, %v", m.Subject, err)
	}
}
