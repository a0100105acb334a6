package emails_test

import (
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	texttemplate "text/template"
	"unicode"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/locales"
)

// TestDefaultTemplates: DefaultTemplates holds exactly the three files of
// each email at its root, each parses with the engine and functions the
// package documentation names, and each renders with the email's data type
// (so an app copying them starts from files that work); every sentence of
// every file is a catalog message, so each email reads in every language.
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

	catalog := locales.New()
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
			// The functions the package documentation names, in French;
			// t with the email's fields.
			var keys []string
			funcs := map[string]any{
				"t": func(key string) (string, error) {
					keys = append(keys, key)
					s := catalog.Text("fr", locales.Message{ID: key, Data: fields(d)})
					if s == key {
						return "", fmt.Errorf("no message %s", key)
					}
					return s, nil
				},
				"lang": func() string { return "fr" },
				"dir":  func() string { return "ltr" },
			}
			out, err := execute(file, string(src), funcs, d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "Example") {
				t.Errorf("%s does not show the site name:\n%s", file, out)
			}
			if len(keys) == 0 {
				t.Errorf("%s uses no catalog message", file)
			}
			if strings.Contains(out, "<no value>") {
				t.Errorf("%s renders a missing value:\n%s", file, out)
			}
			if strings.HasSuffix(file, ".html") && !strings.Contains(out, `<html lang="fr" dir="ltr">`) {
				t.Errorf("%s does not declare its language and direction:\n%s", file, out)
			}

			// Every sentence is a catalog message: with t giving nothing, no
			// word is left but the data and the markup.
			funcs["t"] = func(string) string { return "" }
			out, err = execute(file, string(src), funcs, d)
			if err != nil {
				t.Fatal(err)
			}
			out = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(out, "")
			var values []string
			for _, v := range fields(d) {
				values = append(values, v.(string))
			}
			// Longest first: a token is part of a URL.
			slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
			for _, v := range values {
				out = strings.ReplaceAll(out, v, "")
			}
			if i := strings.IndexFunc(out, unicode.IsLetter); i >= 0 {
				t.Errorf("%s has text outside catalog messages: %q", file, strings.TrimSpace(out[i:]))
			}
		})
	}
}

// execute parses src as the file named file (html/template for .html,
// text/template otherwise, missing keys being errors) with funcs and
// renders it with data.
func execute(file, src string, funcs map[string]any, data any) (string, error) {
	var tmpl interface {
		Execute(w io.Writer, data any) error
	}
	var err error
	if strings.HasSuffix(file, ".html") {
		tmpl, err = htmltemplate.New(file).Option("missingkey=error").Funcs(funcs).Parse(src)
	} else {
		tmpl, err = texttemplate.New(file).Option("missingkey=error").Funcs(funcs).Parse(src)
	}
	if err != nil {
		return "", err
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

// fields returns the string fields of a template data struct by name.
func fields(data any) map[string]any {
	v := reflect.ValueOf(data)
	out := make(map[string]any, v.NumField())
	for i := range v.NumField() {
		out[v.Type().Field(i).Name] = v.Field(i).String()
	}
	return out
}
