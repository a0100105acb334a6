package emails_test

import (
	htmltemplate "html/template"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
	texttemplate "text/template"

	"github.com/restauth/restauth/emails"
)

// TestDefaultTemplates: DefaultTemplates holds exactly the three files of
// each email at its root, each parses with the engine the package
// documentation names, and each renders with the email's data type (so an
// app copying them starts from files that work).
func TestDefaultTemplates(t *testing.T) {
	t.Parallel()
	data := map[string]any{
		emails.TemplatePasswordReset: emails.PasswordResetData{
			Username: "bob", Email: "bob@example.com", ResetURL: "https://example.com/reset/MQ/abc/",
			UID: "MQ", Token: "abc", SiteName: "Example", SiteURL: "https://example.com/",
		},
		emails.TemplateEmailConfirmation: emails.EmailConfirmationData{
			User: "bob", ActivateURL: "https://example.com/confirm/KEY1/", SiteName: "Example", Key: "KEY1",
		},
		emails.TemplateAccountAlreadyExists: emails.AccountAlreadyExistsData{
			Email: "bob@example.com", SiteName: "Example", SiteURL: "https://example.com/",
		},
	}

	var want []string
	for name := range data {
		want = append(want, name+"_subject.txt", name+".txt", name+".html")
	}
	slices.Sort(want)
	var got []string
	err := fs.WalkDir(emails.DefaultTemplates(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			got = append(got, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("DefaultTemplates holds %q, want %q", got, want)
	}

	for _, file := range want {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			src, err := fs.ReadFile(emails.DefaultTemplates(), file)
			if err != nil {
				t.Fatal(err)
			}
			name, _, _ := strings.Cut(strings.TrimSuffix(strings.TrimSuffix(file, ".txt"), ".html"), "_subject")
			d, ok := data[name]
			if !ok {
				t.Fatalf("no data for %s", name)
			}
			var tmpl interface {
				Execute(w io.Writer, data any) error
			}
			if strings.HasSuffix(file, ".html") {
				tmpl, err = htmltemplate.New(file).Option("missingkey=error").Parse(string(src))
			} else {
				tmpl, err = texttemplate.New(file).Option("missingkey=error").Parse(string(src))
			}
			if err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			if err := tmpl.Execute(&out, d); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "Example") {
				t.Errorf("%s does not show the site name:\n%s", file, out.String())
			}
		})
	}
}
