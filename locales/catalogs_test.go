package locales_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"text/template/parse"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/restauth/restauth/locales"
)

// pluralCategories are CLDR's plural categories, the only keys a plural
// message object may have.
var pluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

// wantPluralKeys are the messages the issue makes plural objects.
var wantPluralKeys = []string{"field.max_length", "field.min_length", "password.too_short", "request.throttled"}

// intPlaceholders are the template fields that hold numbers; the other
// fields hold strings.
var intPlaceholders = map[string]bool{"Max": true, "Min": true, "Seconds": true}

// pluralSampleCounts are the counts every plural message is rendered with.
var pluralSampleCounts = []int{0, 1, 2, 3, 5, 11, 21, 22, 100, 1000000}

// sameAsEnglishAllowed lists "lang key" pairs whose text may equal the
// English text (a word that really is the same in that language). It is
// empty: every embedded text is a translation.
var sameAsEnglishAllowed = map[string]bool{}

// catalogFile is one locales/*.json file as read from disk.
type catalogFile struct {
	lang    string
	texts   map[string]string            // key -> text, for string values
	plurals map[string]map[string]string // key -> category -> text
}

// keys returns the file's keys, sorted.
func (f *catalogFile) keys() []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range f.texts {
			if !yield(k) {
				return
			}
		}
		for k := range f.plurals {
			if !yield(k) {
				return
			}
		}
	})
}

// forms returns the texts of key by plural category: "" for a string,
// one per category for a plural object.
func (f *catalogFile) forms(key string) map[string]string {
	if s, ok := f.texts[key]; ok {
		return map[string]string{"": s}
	}
	return f.plurals[key]
}

var (
	catalogFilesOnce sync.Once
	catalogFilesVal  map[string]*catalogFile
	catalogFilesErr  error
)

// catalogFiles reads every *.json file of the package directory, keyed by
// language (the file name without ".json").
func catalogFiles(t *testing.T) map[string]*catalogFile {
	t.Helper()
	catalogFilesOnce.Do(func() {
		catalogFilesVal, catalogFilesErr = readCatalogFiles()
	})
	if catalogFilesErr != nil {
		t.Fatal(catalogFilesErr)
	}
	if catalogFilesVal["en"] == nil {
		t.Fatal("en.json is missing")
	}
	return catalogFilesVal
}

func readCatalogFiles() (map[string]*catalogFile, error) {
	names, err := filepath.Glob("*.json")
	if err != nil {
		return nil, fmt.Errorf("glob catalogs: %w", err)
	}
	out := make(map[string]*catalogFile, len(names))
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f := &catalogFile{
			lang:    strings.TrimSuffix(name, ".json"),
			texts:   make(map[string]string),
			plurals: make(map[string]map[string]string),
		}
		for key, v := range raw {
			var s string
			if err := json.Unmarshal(v, &s); err == nil {
				f.texts[key] = s
				continue
			}
			var forms map[string]string
			if err := json.Unmarshal(v, &forms); err != nil {
				return nil, fmt.Errorf("%s: key %q is neither a string nor an object of strings: %w", name, key, err)
			}
			f.plurals[key] = forms
		}
		out[f.lang] = f
	}
	return out, nil
}

// otherLanguages returns the languages of the catalog files except
// English, sorted.
func otherLanguages(files map[string]*catalogFile) []string {
	var out []string
	for lang := range files {
		if lang != "en" {
			out = append(out, lang)
		}
	}
	slices.Sort(out)
	return out
}

// eachNode parses text as a Go template and calls fn with every node of
// it, control structures, pipelines and their arguments included.
func eachNode(text string, fn func(parse.Node)) error {
	trees, err := parse.Parse("t", text, "{{", "}}")
	if err != nil {
		return err
	}
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
			return
		case *parse.PipeNode:
			if n == nil {
				return
			}
		}
		fn(n)
		switch n := n.(type) {
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, tree := range trees {
		walk(tree.Root)
	}
	return nil
}

// templateActions returns the actions of text parsed as a Go template,
// such as "{{.Max}}", each with how often it occurs.
func templateActions(text string) (map[string]int, error) {
	out := make(map[string]int)
	err := eachNode(text, func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ActionNode:
			out[n.String()]++
		case *parse.IfNode:
			out["{{if "+n.Pipe.String()+"}}"]++
		case *parse.RangeNode:
			out["{{range "+n.Pipe.String()+"}}"]++
		case *parse.WithNode:
			out["{{with "+n.Pipe.String()+"}}"]++
		case *parse.TemplateNode:
			out[n.String()]++
		}
	})
	return out, err
}

// templateFields returns the field names (".Max" -> "Max") the template
// text uses.
func templateFields(text string) (map[string]bool, error) {
	out := make(map[string]bool)
	err := eachNode(text, func(n parse.Node) {
		if f, ok := n.(*parse.FieldNode); ok {
			out[strings.Join(f.Ident, ".")] = true
		}
	})
	return out, err
}

// render executes text as a Go template with data, failing on a field
// data lacks.
func render(text string, data map[string]any) (string, error) {
	tmpl, err := template.New("t").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// sampleData returns template data for the fields of English's key:
// numbers for Max, Min and Seconds (n), distinctive strings elsewhere.
func sampleData(t *testing.T, en *catalogFile, key string, n int) map[string]any {
	t.Helper()
	data := make(map[string]any)
	for _, text := range en.forms(key) {
		fields, err := templateFields(text)
		if err != nil {
			t.Fatalf("en %s: %v", key, err)
		}
		for f := range fields {
			if intPlaceholders[f] {
				data[f] = n
			} else {
				data[f] = "«sample " + f + "»"
			}
		}
	}
	return data
}

// probedPlurals is what go-i18n selects for one language.
type probedPlurals struct {
	categories map[string]bool // selected for some integer, plus "other"
	byCount    map[int]string  // integer count -> category
}

var (
	probeMu    sync.Mutex
	probeCache = make(map[string]*probedPlurals)
)

// probeCounts are the integer counts probePlurals tries.
func probeCounts() []int {
	counts := make([]int, 0, 1003)
	for n := 0; n <= 1000; n++ {
		counts = append(counts, n)
	}
	return append(counts, 1000000, 2000000)
}

// probePlurals finds the plural categories go-i18n selects for integer
// counts in lang, by localizing a message that has all six forms.
func probePlurals(t *testing.T, lang string) *probedPlurals {
	t.Helper()
	probeMu.Lock()
	defer probeMu.Unlock()
	if p := probeCache[lang]; p != nil {
		return p
	}
	tag, err := language.Parse(lang)
	if err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	b := i18n.NewBundle(language.English)
	probe := &i18n.Message{ID: "probe", Zero: "zero", One: "one", Two: "two", Few: "few", Many: "many", Other: "other"}
	if err := b.AddMessages(tag, probe); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	loc := i18n.NewLocalizer(b, tag.String())
	p := &probedPlurals{categories: map[string]bool{"other": true}, byCount: make(map[int]string)}
	for _, n := range probeCounts() {
		form, got, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: n})
		if err != nil || got != tag {
			t.Fatalf("%s: probing count %d: %q from %v, %v", lang, n, form, got, err)
		}
		p.categories[form] = true
		p.byCount[n] = form
	}
	// Decimal counts too (an app's N may pass a float): Czech's "many".
	for _, n := range []string{"0.5", "1.5", "2.5", "10.5", "100.25"} {
		form, got, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: "probe", PluralCount: n})
		if err != nil || got != tag {
			t.Fatalf("%s: probing count %s: %q from %v, %v", lang, n, form, got, err)
		}
		p.categories[form] = true
	}
	probeCache[lang] = p
	return p
}

// TestCatalogKeys checks every embedded catalog has exactly the keys of
// en.json.
func TestCatalogKeys(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	en := files["en"]
	if len(files) < 25 {
		t.Errorf("%d catalog files, want en plus 24 languages", len(files))
	}
	want := en.keys()
	for _, lang := range otherLanguages(files) {
		got := files[lang].keys()
		for _, k := range want {
			if _, ok := slices.BinarySearch(got, k); !ok {
				t.Errorf("%s.json: key %q is missing", lang, k)
			}
		}
		for _, k := range got {
			if _, ok := slices.BinarySearch(want, k); !ok {
				t.Errorf("%s.json: key %q is not in en.json", lang, k)
			}
		}
	}
}

// TestCatalogPlaceholders checks every text, in every plural form, uses
// the same template actions as English's text for that key.
func TestCatalogPlaceholders(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	en := files["en"]
	for _, key := range en.keys() {
		var want map[string]int
		for cat, text := range en.forms(key) {
			acts, err := templateActions(text)
			if err != nil {
				t.Fatalf("en %s %s: %v", key, cat, err)
			}
			// English's forms agree with each other, else the reference
			// is ambiguous.
			if want != nil && !maps.Equal(acts, want) {
				t.Fatalf("en %s: forms use different actions: %v and %v", key, want, acts)
			}
			want = acts
		}
		for _, lang := range otherLanguages(files) {
			for cat, text := range files[lang].forms(key) {
				got, err := templateActions(text)
				if err != nil {
					t.Errorf("%s %s %s: template does not parse: %v", lang, key, cat, err)
					continue
				}
				if !equalSets(got, want) {
					t.Errorf("%s %s %s: actions %v, English has %v: %q", lang, key, cat, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)), text)
				}
			}
		}
	}
}

// equalSets reports whether a and b have the same keys.
func equalSets(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// TestCatalogPluralCategories checks each plural message has exactly the
// categories go-i18n selects for the language (found by probing), and
// that plural keys are plural objects and other keys strings everywhere.
func TestCatalogPluralCategories(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	en := files["en"]
	if got := slices.Sorted(maps.Keys(en.plurals)); !slices.Equal(got, wantPluralKeys) {
		t.Fatalf("en.json plural keys = %v, want %v", got, wantPluralKeys)
	}
	for _, lang := range slices.Sorted(maps.Keys(files)) {
		f := files[lang]
		want := probePlurals(t, lang).categories
		for _, key := range en.keys() {
			_, enPlural := en.plurals[key]
			forms, plural := f.plurals[key]
			_, isText := f.texts[key]
			switch {
			case enPlural && !plural && isText:
				t.Errorf("%s %s: a string, want a plural object with %v", lang, key, sortedSet(want))
				continue
			case !enPlural && plural:
				t.Errorf("%s %s: a plural object, want a string", lang, key)
				continue
			case !plural:
				continue
			}
			for cat := range forms {
				if !slices.Contains(pluralCategories, cat) {
					t.Errorf("%s %s: %q is not a CLDR plural category", lang, key, cat)
				} else if !want[cat] {
					t.Errorf("%s %s: category %q is never chosen in %s (its categories: %v)", lang, key, cat, lang, sortedSet(want))
				}
			}
			for cat := range want {
				if _, ok := forms[cat]; !ok {
					t.Errorf("%s %s: category %q is missing (its categories: %v)", lang, key, cat, sortedSet(want))
				}
			}
		}
	}
}

// sortedSet returns the members of set in CLDR order.
func sortedSet(set map[string]bool) []string {
	var out []string
	for _, c := range pluralCategories {
		if set[c] {
			out = append(out, c)
		}
	}
	return out
}

// TestCatalogNoEnglishLeft checks no translated text is identical to
// English's text for the same key (an untranslated copy).
func TestCatalogNoEnglishLeft(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	en := files["en"]
	for _, lang := range otherLanguages(files) {
		for _, key := range en.keys() {
			if sameAsEnglishAllowed[lang+" "+key] {
				continue
			}
			for cat, text := range files[lang].forms(key) {
				for _, english := range en.forms(key) {
					if strings.TrimSpace(text) == strings.TrimSpace(english) {
						t.Errorf("%s %s %s: text is English: %q", lang, key, cat, text)
						break
					}
				}
			}
		}
	}
}

// TestCatalogRendersEveryKey renders every key in every language with
// sample data and compares it with the language's file text rendered the
// same way; plural keys are rendered for several counts, each of which
// must choose the language's form for it, in that language.
func TestCatalogRendersEveryKey(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	en := files["en"]
	c := locales.New()
	for _, lang := range locales.Languages() {
		f := files[lang]
		if f == nil {
			t.Errorf("Languages lists %s, which has no file", lang)
			continue
		}
		t.Run(lang, func(t *testing.T) {
			t.Parallel()
			probe := probePlurals(t, lang)
			for _, key := range en.keys() {
				text, isText := f.texts[key]
				_, isPlural := f.plurals[key]
				if _, enPlural := en.plurals[key]; !enPlural {
					if isPlural {
						t.Errorf("%s %s: a plural object, want a string", lang, key)
						continue
					}
					if !isText {
						t.Errorf("%s %s: missing", lang, key)
						continue
					}
					data := sampleData(t, en, key, 7)
					checkRender(t, c, lang, key, text, locales.Message{ID: key, Data: data}, data)
					continue
				}
				if !isPlural {
					t.Errorf("%s %s: not a plural object", lang, key)
					continue
				}
				for _, n := range pluralSampleCounts {
					data := sampleData(t, en, key, n)
					cat := probe.byCount[n]
					text, ok := f.plurals[key][cat]
					if !ok {
						t.Errorf("%s %s: no %q form for count %d", lang, key, cat, n)
						continue
					}
					m := locales.Message{ID: key, Data: data, PluralCount: n}
					got := checkRender(t, c, lang, key+" count "+strconv.Itoa(n), text, m, data)
					if !strings.Contains(got, strconv.Itoa(n)) {
						t.Errorf("%s %s count %d: %q lacks the number", lang, key, n, got)
					}
					if lang == "en" {
						continue
					}
					for _, english := range en.plurals[key] {
						if s, err := render(english, data); err == nil && s == got {
							t.Errorf("%s %s count %d: rendered English: %q", lang, key, n, got)
						}
					}
				}
			}
		})
	}
}

// checkRender checks c renders m in lang as the file's text with data,
// and returns what it rendered.
func checkRender(t *testing.T, c *locales.Catalog, lang, what, text string, m locales.Message, data map[string]any) string {
	t.Helper()
	want, err := render(text, data)
	if err != nil {
		t.Errorf("%s %s: %s.json text does not render: %v", lang, what, lang, err)
		return ""
	}
	got := c.Text(lang, m)
	if got != want {
		t.Errorf("%s %s: Text = %q, %s.json renders %q", lang, what, got, lang, want)
	}
	if strings.Contains(got, "<no value>") {
		t.Errorf("%s %s: %q has a missing value", lang, what, got)
	}
	for name, v := range data {
		if s, ok := v.(string); ok && !strings.Contains(got, s) {
			t.Errorf("%s %s: %q lacks %s", lang, what, got, name)
		}
	}
	return got
}

// TestLanguagesMatchFiles checks Languages lists English first and then
// exactly the embedded files, each a canonical BCP 47 tag the catalog
// matches to itself.
func TestLanguagesMatchFiles(t *testing.T) {
	t.Parallel()
	files := catalogFiles(t)
	langs := locales.Languages()
	if len(langs) == 0 || langs[0] != "en" {
		t.Fatalf("Languages() = %v, want en first", langs)
	}
	if got, want := slices.Sorted(slices.Values(langs)), slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
		t.Fatalf("Languages() = %v, files are %v", langs, want)
	}
	c := locales.New()
	for _, lang := range langs {
		tag, err := language.Parse(lang)
		if err != nil {
			t.Errorf("%s: not a BCP 47 tag: %v", lang, err)
			continue
		}
		if tag.String() != lang {
			t.Errorf("%s: canonical form is %s", lang, tag)
		}
		if got := c.Match(lang); got != tag {
			t.Errorf("Match(%q) = %v, want itself", lang, got)
		}
	}
}
