package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"unicode"

	"github.com/restauth/restauth/emails"
)

// templateNames lists the emails restauth renders. Each name has the files
// NAME_subject.txt, NAME.txt and NAME.html.
var templateNames = []string{emails.TemplatePasswordReset, emails.TemplateEmailConfirmation, emails.TemplateAccountAlreadyExists}

// errUnknownTemplate is wrapped by the error render returns for a name it
// does not know.
var errUnknownTemplate = errors.New("unknown email template")

// templates holds the parsed emails; it is safe for concurrent use.
type templates struct {
	set map[string]*emailTemplate
}

type emailTemplate struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template // nil when there is no HTML file
}

// parse parses every template, taking each file from override when it holds
// one of that name (at its root, e.g. "password_reset.html") and from
// emails.DefaultTemplates otherwise; a nil override means defaults only.
// Files of other names in override are ignored. Subjects and text bodies are
// text/template files, HTML bodies html/template files; data keys missing at
// render time are errors. The returned error names the file that failed.
func parse(override fs.FS) (*templates, error) {
	t := &templates{set: make(map[string]*emailTemplate, len(templateNames))}
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
			return "", false, fmt.Errorf("read template %s: %w", file, err)
		}
	}
	b, err := fs.ReadFile(emails.DefaultTemplates(), file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read default template %s: %w", file, err)
	}
	return string(b), true, nil
}

func parseText(override fs.FS, file string) (*texttemplate.Template, error) {
	src, ok, err := readTemplate(override, file)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("template %s is missing", file)
	}
	tmpl, err := texttemplate.New(file).Option("missingkey=error").Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", file, err)
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
		return nil, fmt.Errorf("parse template %s: %w", file, err)
	}
	return tmpl, nil
}

// render renders the email called name (for example
// emails.TemplatePasswordReset) with data. The subject is flattened to one
// trimmed line (line breaks and control characters become spaces, so it
// cannot inject headers); the text and HTML bodies are trimmed; HTML is ""
// when there is no HTML template or it renders to blanks only. To is left
// for the caller to fill.
func (t *templates) render(name string, data any) (emails.Message, error) {
	et, ok := t.set[name]
	if !ok {
		return emails.Message{}, fmt.Errorf("%w %q", errUnknownTemplate, name)
	}
	var m emails.Message
	subject, err := execText(et.subject, data)
	if err != nil {
		return emails.Message{}, err
	}
	m.Subject = flattenLine(subject)
	text, err := execText(et.text, data)
	if err != nil {
		return emails.Message{}, err
	}
	if text = strings.TrimSpace(text); text != "" {
		m.Text = text + "\n"
	}
	if et.html != nil {
		var buf bytes.Buffer
		if err := et.html.Execute(&buf, data); err != nil {
			return emails.Message{}, fmt.Errorf("render template %s: %w", et.html.Name(), err)
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
		return "", fmt.Errorf("render template %s: %w", tmpl.Name(), err)
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
