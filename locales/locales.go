// Package locales holds restauth's message catalogs and turns message keys
// into text in the language a request asks for.
//
// Every message restauth shows a client, and every line of the e-mails it
// sends, is a Message: a stable key plus template data. Catalogs for 25
// languages are embedded (see Languages); an app adds a language, or
// overrides any message of one, with Catalog.AddFile or
// Catalog.AddMessages without touching any handler.
//
// A request's language is negotiated from its Accept-Language header (or
// what restauth.Config.Language returns) against the catalog's languages
// with golang.org/x/text/language's Matcher: quality values count, a
// regional variant finds its language (fr-CA -> fr, de-AT -> de), zh-TW and
// zh-HK find zh-Hant, zh-CN and zh-SG zh-Hans, plain "pt" and pt-BR find
// pt-BR (CLDR's default Portuguese), pt-PT and Portugal's other regions
// (pt-AO, pt-MZ, ...) pt-PT; nothing matching means English.
//
// Plural forms follow CLDR's rules per language (go-i18n's "one", "few",
// "many", ... categories); a Message built with N carries the count that
// chooses the form.
package locales

import (
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"text/template"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed *.json
var files embed.FS

// Message is one translatable message: a catalog key and the values its
// template uses; a value that is itself a Message (or *Message) is
// rendered in the same language first. Default is the English text used,
// as it is (it is not a template), when the key is missing from every
// catalog (for messages an app defines in its own code).
// PluralCount, when set (see N), chooses the plural form of messages
// that have several.
type Message struct {
	ID          string
	Data        map[string]any
	Default     string
	PluralCount any
}

// M returns a Message for key id with optional data given as alternating
// name/value pairs: M("field.invalid_email"), M("csrf.failed", "Reason", r).
func M(id string, kv ...any) Message {
	m := Message{ID: id}
	if len(kv) > 1 {
		m.Data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			name, _ := kv[i].(string)
			m.Data[name] = kv[i+1]
		}
	}
	return m
}

// N returns a Message like M whose plural form is chosen by count (any
// integer type, a float, or a number as a string):
// N("field.max_length", 150, "Max", 150).
func N(id string, count any, kv ...any) Message {
	m := M(id, kv...)
	m.PluralCount = pluralCount(count)
	return m
}

// pluralCount converts count to a type go-i18n's plural rules accept
// (int, int64 or a decimal string).
func pluralCount(count any) any {
	switch n := count.(type) {
	case int, int64, string:
		return n
	case int8:
		return int64(n)
	case int16:
		return int64(n)
	case int32:
		return int64(n)
	case uint8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case uint:
		return strconv.FormatUint(uint64(n), 10)
	case uint64:
		return strconv.FormatUint(n, 10)
	case float32:
		return strconv.FormatFloat(float64(n), 'f', -1, 32)
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	// Named types (type Seconds int, json.Number) by their kind.
	v := reflect.ValueOf(count)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64)
	case reflect.String:
		return v.String()
	}
	return count
}

// maxMatchCache bounds the remembered negotiations (distinct header
// values); the cache starts over when full, so odd headers cannot grow it.
const maxMatchCache = 1024

// maxPreferences is how many languages of one header are tried.
const maxPreferences = 20

// maxCachedHeader is the longest header value the cache keeps.
const maxCachedHeader = 256

// Catalog is a set of message translations. It is safe for concurrent use.
type Catalog struct {
	mu     sync.RWMutex
	bundle *i18n.Bundle
	// Derived from bundle's languages, rebuilt when one is added.
	tags       []language.Tag // English first
	matcher    language.Matcher
	localizers map[language.Tag]*i18n.Localizer
	english    *i18n.Localizer
	matchMu    sync.Mutex              // guards matched (under mu's read lock)
	matched    map[string]language.Tag // Accept-Language value -> tag
}

// New returns a Catalog holding the embedded catalogs: English and the
// languages Languages lists.
func New() *Catalog {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	names, err := fs.Glob(files, "*.json")
	if err == nil && len(names) == 0 {
		err = fmt.Errorf("no catalogs")
	}
	for _, name := range names {
		if err != nil {
			break
		}
		var data []byte
		if data, err = files.ReadFile(name); err == nil {
			_, err = b.ParseMessageFileBytes(data, name)
		}
	}
	if err != nil {
		// The embedded catalogs are part of the build; a parse failure is
		// a programming error caught by the package's tests.
		panic(fmt.Sprintf("locales: embedded catalog: %v", err))
	}
	c := &Catalog{bundle: b}
	c.rebuild()
	return c
}

// Languages returns the languages of the embedded catalogs, English
// first, as BCP 47 tags ("en", "ar", ..., "zh-Hant").
func Languages() []string {
	names, _ := fs.Glob(files, "*.json")
	out := []string{"en"}
	for _, name := range names {
		if tag := strings.TrimSuffix(name, ".json"); tag != "en" {
			out = append(out, tag)
		}
	}
	return out
}

// rebuild derives the matcher and localizers from the bundle. Callers hold
// mu for writing (or own c).
func (c *Catalog) rebuild() {
	tags := []language.Tag{language.English}
	for _, t := range c.bundle.LanguageTags() {
		if t != language.English {
			tags = append(tags, t)
		}
	}
	c.tags = tags
	c.matcher = language.NewMatcher(tags)
	c.localizers = make(map[language.Tag]*i18n.Localizer, len(tags))
	for _, t := range tags {
		c.localizers[t] = i18n.NewLocalizer(c.bundle, t.String())
	}
	c.english = c.localizers[language.English]
	c.matched = make(map[string]language.Tag)
}

// AddFile adds the messages of a JSON catalog file whose name ends in
// "<lang>.json", such as "fr.json" or "active.de.json", given its content.
// Messages it defines replace those of the same key in that language.
func (c *Catalog) AddFile(name string, data []byte) error {
	// Parsed and checked on the side first: a text that cannot render
	// is refused, not silently replaced by English later.
	check := i18n.NewBundle(language.English)
	check.RegisterUnmarshalFunc("json", json.Unmarshal)
	mf, err := check.ParseMessageFileBytes(data, path.Base(name))
	if err != nil {
		return fmt.Errorf("locales: add %s: %w", name, err)
	}
	for _, m := range mf.Messages {
		for _, form := range []string{m.Zero, m.One, m.Two, m.Few, m.Many, m.Other} {
			if form == "" {
				continue
			}
			if err := checkTemplate(m.ID, form); err != nil {
				return fmt.Errorf("locales: add %s: %w", name, err)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.bundle.ParseMessageFileBytes(data, path.Base(name)); err != nil {
		return fmt.Errorf("locales: add %s: %w", name, err)
	}
	c.rebuild()
	return nil
}

// errBlank is wrapped by the error for a message added with no text.
var errBlank = errors.New("blank text")

// checkTemplate reports whether text, the text of message id, parses as
// a template.
func checkTemplate(id, text string) error {
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("message %q: %w", id, errBlank)
	}
	if _, err := template.New(id).Parse(text); err != nil {
		return fmt.Errorf("message %q: %w", id, err)
	}
	return nil
}

// AddMessages adds translations for one language: key -> text. They
// replace those of the same key in that language.
func (c *Catalog) AddMessages(lang string, messages map[string]string) error {
	tag, err := language.Parse(lang)
	if err != nil {
		return fmt.Errorf("locales: language %q: %w", lang, err)
	}
	ms := make([]*i18n.Message, 0, len(messages))
	for id, text := range messages {
		if err := checkTemplate(id, text); err != nil {
			return fmt.Errorf("locales: language %q: %w", lang, err)
		}
		ms = append(ms, &i18n.Message{ID: id, Other: text})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.bundle.AddMessages(tag, ms...); err != nil {
		return fmt.Errorf("locales: language %q: %w", lang, err)
	}
	c.rebuild()
	return nil
}

// Match returns the catalog language that serves lang best: lang is an
// Accept-Language header value ("fr-CA, en;q=0.5") or a single BCP 47 tag.
// It returns English when lang is empty, malformed or matches nothing.
func (c *Catalog) Match(lang string) language.Tag {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.match(lang)
}

// match is Match with mu held for reading.
func (c *Catalog) match(lang string) language.Tag {
	if lang == "" {
		return language.English
	}
	cache := len(lang) <= maxCachedHeader
	if cache {
		c.matchMu.Lock()
		t, ok := c.matched[lang]
		c.matchMu.Unlock()
		if ok {
			return t
		}
	}
	t := language.English
	// The wanted languages in order of preference: the first that a
	// catalog serves closely (High or Exact confidence) and in the same
	// language wins; the matcher alone would also offer a neighbour
	// (Danish for Norwegian, Russian for Belarusian).
	// (Exact covers macrolanguage codes such as cmn for zh, pes for fa.)
	// The first maxPreferences are tried: a client lists a few.
	wanted, _, _ := language.ParseAcceptLanguage(lang)
	for j, w := range wanted {
		if j == maxPreferences {
			break
		}
		if w == language.Und {
			continue
		}
		_, i, conf := c.matcher.Match(w)
		if conf < language.High || i < 0 || i >= len(c.tags) {
			continue
		}
		wb, _ := w.Base()
		cb, _ := c.tags[i].Base()
		if conf == language.Exact || wb == cb {
			t = c.tags[i]
			break
		}
	}
	if cache {
		c.matchMu.Lock()
		if len(c.matched) >= maxMatchCache {
			clear(c.matched)
		}
		// Cloned: lang may be a slice of a large request buffer.
		c.matched[strings.Clone(lang)] = t
		c.matchMu.Unlock()
	}
	return t
}

// Text renders m in the language Match(lang) chooses, falling back to
// English when that language lacks the key, then to m.Default, then to
// m.ID.
func (c *Catalog) Text(lang string, m Message) string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.text(c.match(lang), m, 0)
}

// maxNesting is how deep messages inside messages are rendered; deeper
// ones show their Default (or ID).
const maxNesting = 2

// flatten returns data with every Message value replaced by its plain
// text (Default, else ID); data itself is not changed.
func flatten(data map[string]any) map[string]any {
	out := maps.Clone(data)
	for k, v := range out {
		switch x := v.(type) {
		case Message:
			out[k] = cmp.Or(x.Default, x.ID)
		case *Message:
			if x != nil {
				out[k] = cmp.Or(x.Default, x.ID)
			}
		}
	}
	return out
}

// text is Text in the matched language tag, with mu held for reading;
// depth bounds nested messages.
func (c *Catalog) text(tag language.Tag, m Message, depth int) string {
	data := m.Data
	copied := false
	for k, v := range m.Data {
		var inner Message
		switch x := v.(type) {
		case Message:
			inner = x
		case *Message:
			if x == nil {
				continue
			}
			inner = *x
		default:
			continue
		}
		if !copied {
			data, copied = maps.Clone(m.Data), true
		}
		if depth >= maxNesting {
			// Too deep to nest further: rendered with its own nested
			// messages flattened to their plain text.
			inner.Data = flatten(inner.Data)
		}
		data[k] = c.text(tag, inner, depth+1)
	}
	cfg := &i18n.LocalizeConfig{MessageID: m.ID, TemplateData: data, PluralCount: m.PluralCount}
	locs := []*i18n.Localizer{c.english}
	if loc := c.localizers[tag]; loc != nil && loc != c.english {
		locs = []*i18n.Localizer{loc, c.english}
	}
	for _, loc := range locs {
		s, err := loc.Localize(cfg)
		if err != nil && s == "" && cfg.PluralCount != nil {
			// A count go-i18n cannot read: the "other" form.
			s, err = loc.Localize(&i18n.LocalizeConfig{MessageID: m.ID, TemplateData: data})
		}
		if usable(s, err) {
			return s
		}
	}
	if m.Default != "" {
		return m.Default
	}
	return m.ID
}

// usable reports whether a localized text can be shown: go-i18n returns
// the "other" form with an error when a translation lacks the plural
// form a count asks for (an app's AddMessages gives one form only); that
// text is still in the right language. A missing message is not usable.
func usable(s string, err error) bool {
	if s == "" {
		return false
	}
	var notFound *i18n.MessageNotFoundErr
	return err == nil || !errors.As(err, &notFound)
}

// RightToLeft reports whether lang (a BCP 47 tag) is written right to
// left, by its script: Arabic, Hebrew, Thaana, Syriac, N'Ko, Adlam,
// Hanifi Rohingya, Mandaic, Samaritan.
func RightToLeft(lang string) bool {
	tag, err := language.Parse(lang)
	if err != nil {
		return false
	}
	script, _ := tag.Script()
	switch script.String() {
	case "Arab", "Hebr", "Thaa", "Syrc", "Nkoo", "Adlm", "Rohg", "Mand", "Samr":
		return true
	}
	return false
}
