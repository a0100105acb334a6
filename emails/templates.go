package emails

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"unicode"
)

// Names of the emails restauth renders, for Templates.Render.
const (
	// TemplatePasswordReset is the password reset email; its data is a
	// PasswordResetData.
	TemplatePasswordReset = "password_reset"
	// TemplateEmailConfirmation is the email address confirmation email; its
	// data is an EmailConfirmationData.
	TemplateEmailConfirmation = "email_confirmation"
)

// ErrUnknownTemplate is wrapped by the error Templates.Render returns for a
// name it does not know.
var ErrUnknownTemplate = errors.New("emails: unknown template")

// PasswordResetData is the data of the password reset templates.
type PasswordResetData struct {
	// Username is the user's login name.
	Username string
	// Email is the address the email is sent to.
	Email string
	// ResetURL is the page where the user chooses a new password.
	ResetURL string
	// UID is the encoded user id carried by ResetURL.
	UID string
	// Token is the reset token carried by ResetURL.
	Token string
	// SiteName is the human name of the site.
	SiteName string
	// SiteURL is the site's home page.
	SiteURL string
}

// EmailConfirmationData is the data of the email confirmation templates.
type EmailConfirmationData struct {
	// User is the user's login name.
	User string
	// ActivateURL is the page that confirms the address.
	ActivateURL string
	// SiteName is the human name of the site.
	SiteName string
	// Key is the confirmation key carried by ActivateURL.
	Key string
}

//go:embed templates/*.txt templates/*.html
var defaultFS embed.FS

// templateNames lists the emails Templates knows. Each name has the files
// NAME_subject.txt, NAME.txt and NAME.html.
var templateNames = []string{TemplatePasswordReset, TemplateEmailConfirmation}

// Templates renders the emails restauth sends. An app overrides any file by
// giving NewTemplates its own fs.FS holding files of the same names. A
// Templates is safe for concurrent use.
type Templates struct {
	set map[string]*emailTemplate
}

type emailTemplate struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template // nil when there is no HTML file
}

// NewTemplates parses every template, taking each file from override when it
// holds one of that name (at its root, e.g. "password_reset.html") and from
// the embedded defaults otherwise; a nil override means defaults only. Files
// of other names in override are ignored. Subjects and text bodies are
// text/template files, HTML bodies html/template files; data keys missing at
// render time are errors. The returned error names the file that failed.
func NewTemplates(override fs.FS) (*Templates, error) {
	t := &Templates{set: make(map[string]*emailTemplate, len(templateNames))}
	for _, name := range templateNames {
		var et emailTemplate
		var err error
		if et.subject, err = parseText(override, name+"_subject.txt"); err != nil {
			return nil, err
		}
		if et.text, err = parseText(override, name+".txt"); err != nil {
			return nil, err
		}
		if et.html, err = parseHTML(override, name+".html"); err != nil {
			return nil, err
		}
		t.set[name] = &et
	}
	return t, nil
}

// readTemplate returns the content of file from override, or else from the
// defaults; ok is false when neither has it.
func readTemplate(override fs.FS, file string) (src string, ok bool, err error) {
	if override != nil {
		b, err := fs.ReadFile(override, file)
		if err == nil {
			return string(b), true, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("emails: read template %s: %w", file, err)
		}
	}
	b, err := defaultFS.ReadFile("templates/" + file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("emails: read default template %s: %w", file, err)
	}
	return string(b), true, nil
}

func parseText(override fs.FS, file string) (*texttemplate.Template, error) {
	src, ok, err := readTemplate(override, file)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("emails: template %s is missing", file)
	}
	tmpl, err := texttemplate.New(file).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("emails: parse template %s: %w", file, err)
	}
	return tmpl, nil
}

func parseHTML(override fs.FS, file string) (*htmltemplate.Template, error) {
	src, ok, err := readTemplate(override, file)
	if err != nil || !ok {
		return nil, err
	}
	tmpl, err := htmltemplate.New(file).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("emails: parse template %s: %w", file, err)
	}
	return tmpl, nil
}

// Render renders the email called name (for example TemplatePasswordReset)
// with data. The subject is flattened to one trimmed line (line breaks and
// control characters become spaces, so it cannot inject headers); the text
// and HTML bodies are trimmed; HTML is "" when there is no HTML template or it
// renders to blanks only. To is left for the caller to fill.
func (t *Templates) Render(name string, data any) (Message, error) {
	et, ok := t.set[name]
	if !ok {
		return Message{}, fmt.Errorf("%w: %q", ErrUnknownTemplate, name)
	}
	var m Message
	subject, err := execText(et.subject, data)
	if err != nil {
		return Message{}, err
	}
	m.Subject = flattenLine(subject)
	text, err := execText(et.text, data)
	if err != nil {
		return Message{}, err
	}
	if text = strings.TrimSpace(text); text != "" {
		m.Text = text + "\n"
	}
	if et.html != nil {
		var buf bytes.Buffer
		if err := et.html.Execute(&buf, data); err != nil {
			return Message{}, fmt.Errorf("emails: render template %s: %w", et.html.Name(), err)
		}
		if html := strings.TrimSpace(buf.String()); html != "" {
			m.HTML = html + "\n"
		}
	}
	return m, nil
}

func execText(tmpl *texttemplate.Template, data any) (string, error) {
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("emails: render template %s: %w", tmpl.Name(), err)
	}
	return buf.String(), nil
}

// flattenLine turns s into one line: control characters (CR and LF
// included) and runs of white space become single spaces, and the ends are
// trimmed.
func flattenLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
