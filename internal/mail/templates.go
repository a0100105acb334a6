package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"reflect"
	"strings"
	texttemplate "text/template"
	tparse "text/template/parse"
	"unicode"

	"golang.org/x/text/language"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/locales"
)

// templateNames lists the emails restauth renders. Each name has the files
// NAME_subject.txt, NAME.txt and NAME.html.
var templateNames = []string{emails.TemplatePasswordReset, emails.TemplateEmailConfirmation, emails.TemplateAccountAlreadyExists}

// errUnknownTemplate is wrapped by the error render returns for a name it
// does not know.
var errUnknownTemplate = errors.New("unknown email template")

// noValue is what text/template prints for a map key the data lacks.
const noValue = "<no value>"

// templates holds the parsed emails; it is safe for concurrent use. The
// parsed templates are never executed: each render executes a clone bound
// to that render's language and data (see funcs).
type templates struct {
	catalog *locales.Catalog
	// root holds every email's files: the override's root files, else the
	// defaults. All three parts are set (html.tmpl is nil when there is no
	// HTML file at all).
	root map[string]*emailTemplate
	// langs holds, per language directory of the override, the files that
	// directory has; a nil part falls back to root's.
	langs map[language.Tag]map[string]*emailTemplate
}

type emailTemplate struct {
	subject *textPart
	text    *textPart
	html    *htmlPart
}

// textPart is a parsed subject or text body. localized reports whether it
// is written in the email's language: a default file, a file of a language
// directory, or a root override that calls t or lang.
type textPart struct {
	tmpl      *texttemplate.Template
	localized bool
}

// htmlPart is a parsed HTML body; tmpl is nil when there is no HTML file.
type htmlPart struct {
	tmpl      *htmltemplate.Template
	localized bool
}

// placeholderFuncs declares the template functions at parse time; funcs
// replaces them in the clone each render executes.
var placeholderFuncs = map[string]any{
	"t":    func(string) (string, error) { return "", errors.New("t is not bound to a render") },
	"lang": func() string { return "" },
	"dir":  func() string { return "" },
}

// parse parses every template, taking each file from override when it holds
// one of that name (at its root, e.g. "password_reset.html") and from
// emails.DefaultTemplates otherwise; a nil override means defaults only.
// Besides, every directory of override named by a language tag ("de",
// "pt-BR") is parsed: its files of the known names replace the root ones
// for emails in that language. Files of other names, and directories whose
// names are not language tags, are ignored. Subjects and text bodies are
// text/template files, HTML bodies html/template files; data keys missing at
// render time are errors. The returned error names the file that failed.
func parse(override fs.FS, catalog *locales.Catalog) (*templates, error) {
	if catalog == nil {
		catalog = locales.New()
	}
	t := &templates{
		catalog: catalog,
		root:    make(map[string]*emailTemplate, len(templateNames)),
		langs:   make(map[language.Tag]map[string]*emailTemplate),
	}
	for _, name := range templateNames {
		var et emailTemplate
		var err error
		if et.subject, err = parseRootText(override, name+"_subject.txt"); err != nil {
			return nil, err
		}
		if et.text, err = parseRootText(override, name+".txt"); err != nil {
			return nil, err
		}
		if et.html, err = parseRootHTML(override, name+".html"); err != nil {
			return nil, err
		}
		t.root[name] = &et
	}
	if override == nil {
		return t, nil
	}
	dirs, err := languageDirs(override)
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		set := make(map[string]*emailTemplate)
		for _, name := range templateNames {
			var et emailTemplate
			if et.subject, err = parseLangText(override, dir.name, name+"_subject.txt"); err != nil {
				return nil, err
			}
			if et.text, err = parseLangText(override, dir.name, name+".txt"); err != nil {
				return nil, err
			}
			if et.html, err = parseLangHTML(override, dir.name, name+".html"); err != nil {
				return nil, err
			}
			if et.subject != nil || et.text != nil || et.html != nil {
				set[name] = &et
			}
		}
		if len(set) == 0 {
			continue
		}
		// A directory the catalog has no language for would never be
		// used: mails for it are written in the closest catalog language.
		if got := catalog.Match(dir.tag.String()); got != dir.tag {
			return nil, fmt.Errorf("template directory %s: the catalog has no language %s (its mails are written in %s): add it to Config.Catalog or rename the directory", dir.name, dir.tag, got)
		}
		t.langs[dir.tag] = set
	}
	return t, nil
}

// langDir is a directory of the override named by a language tag.
type langDir struct {
	tag  language.Tag
	name string
}

// languageDirs returns the directories at the root of override whose names
// are language tags, sorted by name. Two directories naming the same
// language ("pt-BR" and "pt-br") are an error. An fs.FS whose root cannot
// be listed has none.
func languageDirs(override fs.FS) ([]langDir, error) {
	if _, ok := override.(fs.ReadDirFS); !ok {
		f, err := override.Open(".")
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list template directories: %w", err)
		}
		_, listable := f.(fs.ReadDirFile)
		_ = f.Close()
		if !listable {
			return nil, nil
		}
	}
	entries, err := fs.ReadDir(override, ".") // sorted by name
	if err != nil {
		return nil, fmt.Errorf("list template directories: %w", err)
	}
	var dirs []langDir
	seen := make(map[language.Tag]string)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		tag, ok := languageTag(e.Name())
		if !ok {
			continue
		}
		if other, dup := seen[tag]; dup {
			return nil, fmt.Errorf("template directories %s and %s both name language %s", other, e.Name(), tag)
		}
		seen[tag] = e.Name()
		dirs = append(dirs, langDir{tag: tag, name: e.Name()})
	}
	return dirs, nil
}

// languageTag parses a directory name as a BCP 47 language tag; ok is false
// for names that are not one, and for tags without a language ("und",
// private use "x-...").
func languageTag(name string) (tag language.Tag, ok bool) {
	tag, err := language.Parse(name)
	if err != nil {
		return language.Und, false
	}
	if base, _ := tag.Base(); base.String() == "und" {
		return language.Und, false
	}
	return tag, true
}

// readFile returns the content of file in fsys; ok is false when fsys is nil
// or does not have it.
func readFile(fsys fs.FS, file string) (src string, ok bool, err error) {
	if fsys == nil {
		return "", false, nil
	}
	b, err := fs.ReadFile(fsys, file)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read template %s: %w", file, err)
	}
	return string(b), true, nil
}

// readRoot returns the content of file from override, or else from the
// defaults; ok is false when neither has it, fromOverride whether override
// had it.
func readRoot(override fs.FS, file string) (src string, ok, fromOverride bool, err error) {
	if src, ok, err = readFile(override, file); err != nil || ok {
		return src, ok, ok, err
	}
	src, ok, err = readFile(emails.DefaultTemplates(), file)
	if err != nil {
		return "", false, false, fmt.Errorf("default: %w", err)
	}
	return src, ok, false, nil
}

func parseRootText(override fs.FS, file string) (*textPart, error) {
	src, ok, fromOverride, err := readRoot(override, file)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("template %s is missing", file)
	}
	tmpl, err := parseText(file, src)
	if err != nil {
		return nil, err
	}
	return &textPart{tmpl: tmpl, localized: !fromOverride || callsLanguageFuncs(textTrees(tmpl))}, nil
}

func parseRootHTML(override fs.FS, file string) (*htmlPart, error) {
	src, ok, fromOverride, err := readRoot(override, file)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &htmlPart{localized: true}, nil
	}
	tmpl, err := parseHTML(file, src)
	if err != nil {
		return nil, err
	}
	return &htmlPart{tmpl: tmpl, localized: !fromOverride || callsLanguageFuncs(htmlTrees(tmpl))}, nil
}

// parseLangText parses dir/file of override; it returns nil when there is
// no such file.
func parseLangText(override fs.FS, dir, file string) (*textPart, error) {
	name := path.Join(dir, file)
	src, ok, err := readFile(override, name)
	if err != nil || !ok {
		return nil, err
	}
	tmpl, err := parseText(name, src)
	if err != nil {
		return nil, err
	}
	return &textPart{tmpl: tmpl, localized: true}, nil
}

// parseLangHTML parses dir/file of override; it returns nil when there is
// no such file.
func parseLangHTML(override fs.FS, dir, file string) (*htmlPart, error) {
	name := path.Join(dir, file)
	src, ok, err := readFile(override, name)
	if err != nil || !ok {
		return nil, err
	}
	tmpl, err := parseHTML(name, src)
	if err != nil {
		return nil, err
	}
	return &htmlPart{tmpl: tmpl, localized: true}, nil
}

func parseText(name, src string) (*texttemplate.Template, error) {
	tmpl, err := texttemplate.New(name).Option("missingkey=error").Funcs(placeholderFuncs).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	return tmpl, nil
}

func parseHTML(name, src string) (*htmltemplate.Template, error) {
	tmpl, err := htmltemplate.New(name).Option("missingkey=error").Funcs(placeholderFuncs).Parse(src)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	return tmpl, nil
}

func textTrees(tmpl *texttemplate.Template) []*tparse.Tree {
	var out []*tparse.Tree
	for _, c := range tmpl.Templates() {
		out = append(out, c.Tree)
	}
	return out
}

func htmlTrees(tmpl *htmltemplate.Template) []*tparse.Tree {
	var out []*tparse.Tree
	for _, c := range tmpl.Templates() {
		out = append(out, c.Tree)
	}
	return out
}

// callsLanguageFuncs reports whether any of trees calls t or lang, the
// sign that a file is written for the email's language rather than in one
// fixed language.
func callsLanguageFuncs(trees []*tparse.Tree) bool {
	for _, tree := range trees {
		if tree != nil && tree.Root != nil && callsIdent(tree.Root, "t", "lang") {
			return true
		}
	}
	return false
}

// callsIdent reports whether node, or a node under it, calls a function
// named one of names.
func callsIdent(node tparse.Node, names ...string) bool {
	switch n := node.(type) {
	case nil:
		return false
	case *tparse.IdentifierNode:
		for _, name := range names {
			if n.Ident == name {
				return true
			}
		}
	case *tparse.ListNode:
		if n == nil {
			return false
		}
		for _, c := range n.Nodes {
			if callsIdent(c, names...) {
				return true
			}
		}
	case *tparse.ActionNode:
		return n.Pipe != nil && callsIdent(n.Pipe, names...)
	case *tparse.PipeNode:
		if n == nil {
			return false
		}
		for _, c := range n.Cmds {
			if callsIdent(c, names...) {
				return true
			}
		}
	case *tparse.CommandNode:
		for _, a := range n.Args {
			if callsIdent(a, names...) {
				return true
			}
		}
	case *tparse.ChainNode:
		return callsIdent(n.Node, names...)
	case *tparse.IfNode:
		return callsBranch(&n.BranchNode, names)
	case *tparse.RangeNode:
		return callsBranch(&n.BranchNode, names)
	case *tparse.WithNode:
		return callsBranch(&n.BranchNode, names)
	case *tparse.TemplateNode:
		return n.Pipe != nil && callsIdent(n.Pipe, names...)
	}
	return false
}

func callsBranch(b *tparse.BranchNode, names []string) bool {
	return (b.Pipe != nil && callsIdent(b.Pipe, names...)) ||
		(b.List != nil && callsIdent(b.List, names...)) ||
		(b.ElseList != nil && callsIdent(b.ElseList, names...))
}

// render renders the email called name (for example
// emails.TemplatePasswordReset) with data in language tag (a language of
// the catalog): each file comes from the override's directory of that
// language when it has one, else from the override's root, else from the
// defaults. The subject is flattened to one trimmed line (line breaks and
// control characters become spaces, so it cannot inject headers); the text
// and HTML bodies are trimmed; HTML is "" when there is no HTML template or
// it renders to blanks only. Language is tag, or "" when a part comes from a
// root override that does not use t or lang (its language is unknown). To
// is left for the caller to fill.
func (t *templates) render(name string, data any, tag language.Tag) (emails.Message, error) {
	et, ok := t.root[name]
	if !ok {
		return emails.Message{}, fmt.Errorf("%w %q", errUnknownTemplate, name)
	}
	subject, text, html := et.subject, et.text, et.html
	if lt := t.langs[tag][name]; lt != nil {
		if lt.subject != nil {
			subject = lt.subject
		}
		if lt.text != nil {
			text = lt.text
		}
		if lt.html != nil {
			html = lt.html
		}
	}
	fm := t.funcs(tag, data)

	var m emails.Message
	s, err := execText(subject.tmpl, fm, data)
	if err != nil {
		return emails.Message{}, err
	}
	m.Subject = flattenLine(s)
	body, err := execText(text.tmpl, fm, data)
	if err != nil {
		return emails.Message{}, err
	}
	if body = strings.TrimSpace(body); body != "" {
		m.Text = body + "\n"
	}
	if html.tmpl != nil {
		h, err := execHTML(html.tmpl, fm, data)
		if err != nil {
			return emails.Message{}, err
		}
		if h = strings.TrimSpace(h); h != "" {
			m.HTML = h + "\n"
		}
	}
	if subject.localized && text.localized && html.localized {
		m.Language = tag.String()
	}
	return m, nil
}

// funcs returns the template functions of one render: t renders a catalog
// key in language tag with the email's data, lang returns tag, dir "rtl"
// or "ltr".
func (t *templates) funcs(tag language.Tag, data any) map[string]any {
	lang := tag.String()
	dir := "ltr"
	if locales.RightToLeft(lang) {
		dir = "rtl"
	}
	values := messageData(data)
	return map[string]any{
		"t": func(key string) (string, error) {
			s := t.catalog.Text(lang, locales.Message{ID: key, Data: values})
			if s == key {
				return "", fmt.Errorf("message %q is in no catalog", key)
			}
			if strings.Contains(s, noValue) && !valuesContain(values, noValue) {
				return "", fmt.Errorf("message %q uses a field the data lacks", key)
			}
			return s, nil
		},
		"lang": func() string { return lang },
		"dir":  func() string { return dir },
	}
}

// messageData turns an email's data into the map catalog messages take:
// a struct (or pointer to one) gives its exported fields, including those
// promoted from embedded structs; a map with string keys gives its entries.
// Other data gives nil.
func messageData(data any) map[string]any {
	if m, ok := data.(map[string]any); ok {
		return m
	}
	v := reflect.ValueOf(data)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Struct:
		out := make(map[string]any, v.NumField())
		for _, f := range reflect.VisibleFields(v.Type()) {
			if !f.IsExported() {
				continue
			}
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil {
				continue // promoted through a nil embedded pointer
			}
			out[f.Name] = fv.Interface()
		}
		return out
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			out[it.Key().String()] = it.Value().Interface()
		}
		return out
	}
	return nil
}

// valuesContain reports whether a string value of values contains s.
func valuesContain(values map[string]any, s string) bool {
	for _, v := range values {
		if str, ok := v.(string); ok && strings.Contains(str, s) {
			return true
		}
		if str, ok := v.(fmt.Stringer); ok && strings.Contains(str.String(), s) {
			return true
		}
	}
	return false
}

// execText executes a clone of tmpl bound to fm.
func execText(tmpl *texttemplate.Template, fm map[string]any, data any) (string, error) {
	c, err := tmpl.Clone()
	if err != nil {
		return "", fmt.Errorf("render template %s: %w", tmpl.Name(), err)
	}
	var buf bytes.Buffer
	if err := c.Funcs(fm).Execute(&buf, data); err != nil {
		return "", fmt.Errorf("render template %s: %w", tmpl.Name(), err)
	}
	return buf.String(), nil
}

// execHTML executes a clone of tmpl bound to fm; tmpl itself is never
// executed, so it can always be cloned.
func execHTML(tmpl *htmltemplate.Template, fm map[string]any, data any) (string, error) {
	c, err := tmpl.Clone()
	if err != nil {
		return "", fmt.Errorf("render template %s: %w", tmpl.Name(), err)
	}
	var buf bytes.Buffer
	if err := c.Funcs(fm).Execute(&buf, data); err != nil {
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
