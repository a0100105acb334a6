package locales_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/restauth/restauth/locales"
)

// TestEveryKeyInCatalog scans the module's Go sources for message keys
// and checks each one is in the English catalog, so no client ever sees a
// raw key.
func TestEveryKeyInCatalog(t *testing.T) {
	t.Parallel()
	c := locales.New()
	re := regexp.MustCompile(`(?:locales\.[MN]|locales\.Message\{ID:|unauthenticated|h\.detail\(c, [^,]+,)\s*\(?\s*"([a-z_]+(?:\.[a-z_]+)+)"`)
	seen := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			seen++
			if !c.Has(m[1]) {
				t.Errorf("%s: key %q is not in en.json", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 20 {
		t.Fatalf("found only %d keys: the scan is broken", seen)
	}
}

// fileText returns lang's catalog file text for key (a string value), or
// for its plural category cat.
func fileText(t *testing.T, lang, key, cat string) string {
	t.Helper()
	f := catalogFiles(t)[lang]
	if f == nil {
		t.Fatalf("no %s.json", lang)
	}
	text, ok := f.forms(key)[cat]
	if !ok {
		t.Fatalf("%s.json has no %q form of %s", lang, cat, key)
	}
	return text
}

// fileRender renders lang's file text for key (and plural category cat)
// with data given as name/value pairs.
func fileRender(t *testing.T, lang, key, cat string, kv ...any) string {
	t.Helper()
	data := make(map[string]any)
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	s, err := render(fileText(t, lang, key, cat), data)
	if err != nil {
		t.Fatalf("%s %s %s: %v", lang, key, cat, err)
	}
	return s
}

const (
	enInvalidLogin = "Unable to log in with provided credentials."
	enMaxLength150 = "Ensure this field has no more than 150 characters."
)

// TestTextFallbacks uses Serbian, which has no embedded catalog, as an
// app's language.
func TestTextFallbacks(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if got := c.Text("", locales.N("field.max_length", 150, "Max", 150)); got != enMaxLength150 {
		t.Fatalf("template data: %q", got)
	}
	// Without a count a plural message takes its "other" form.
	if got := c.Text("", locales.M("field.max_length", "Max", 150)); got != enMaxLength150 {
		t.Fatalf("plural message without count: %q", got)
	}
	if got := c.Text("fr", locales.Message{ID: "app.custom", Default: "Custom text."}); got != "Custom text." {
		t.Fatalf("default text: %q", got)
	}
	if err := c.AddFile("active.sr.json", []byte(`{"login.disabled": "Кориснички налог је онемогућен."}`)); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("sr-RS, en;q=0.5", locales.M("login.disabled")); got != "Кориснички налог је онемогућен." {
		t.Fatalf("Serbian: %q", got)
	}
	if got := c.Text("sr", locales.M("login.invalid_credentials")); got != enInvalidLogin {
		t.Fatalf("English fallback: %q", got)
	}
	// Serbian lacks these keys: English, with template data and plural form.
	if got := c.Text("sr", locales.N("field.max_length", 150, "Max", 150)); got != enMaxLength150 {
		t.Fatalf("English fallback with data: %q", got)
	}
	if got, want := c.Text("sr", locales.N("request.throttled", 1, "Seconds", 1)), "Request was throttled. Expected available in 1 second."; got != want {
		t.Fatalf("English fallback, singular: %q, want %q", got, want)
	}
	for _, accept := range []string{"", "xx", "de;q=oops", "*", "en-GB"} {
		if got := c.Text(accept, locales.M("login.invalid_credentials")); got != enInvalidLogin {
			t.Errorf("Accept-Language %q: %q", accept, got)
		}
	}
	if got := c.Text("sr", locales.M("app.nowhere")); got != "app.nowhere" {
		t.Fatalf("missing key without default: %q", got)
	}
	// An embedded language lacking a key an app added in English.
	if err := c.AddMessages("en", map[string]string{"app.only_en": "Only in English, {{.Name}}."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("de", locales.M("app.only_en", "Name", "Ana")); got != "Only in English, Ana." {
		t.Fatalf("German without the key: %q", got)
	}
}

func TestTextEmbeddedLanguage(t *testing.T) {
	t.Parallel()
	c := locales.New()
	want := fileText(t, "de", "login.invalid_credentials", "")
	if want == enInvalidLogin {
		t.Fatal("de.json's text is English")
	}
	for _, accept := range []string{"de", "de-AT, en;q=0.5", "de-CH"} {
		if got := c.Text(accept, locales.M("login.invalid_credentials")); got != want {
			t.Errorf("Text(%q) = %q, want %q", accept, got, want)
		}
	}
}

func TestAddMessagesFallback(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if err := c.AddMessages("sr", map[string]string{"login.disabled": "Налог је онемогућен."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("sr-RS", locales.M("login.disabled")); got != "Налог је онемогућен." {
		t.Fatalf("Serbian: %q", got)
	}
	if got := c.Text("sr", locales.M("login.invalid_credentials")); got != enInvalidLogin {
		t.Fatalf("English fallback: %q", got)
	}
	// A key only an app's Serbian catalog defines: Serbian when asked for,
	// otherwise the default text.
	if err := c.AddMessages("sr", map[string]string{"app.only_sr": "Само српски."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("sr", locales.M("app.only_sr")); got != "Само српски." {
		t.Fatalf("Serbian-only key: %q", got)
	}
	if got := c.Text("de", locales.Message{ID: "app.only_sr", Default: "Only Serbian."}); got != "Only Serbian." {
		t.Fatalf("Serbian-only key in German: %q", got)
	}
	// An app overrides one embedded French message; the others stay.
	if err := c.AddMessages("fr", map[string]string{"login.disabled": "Compte bloqué."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("fr-CA", locales.M("login.disabled")); got != "Compte bloqué." {
		t.Fatalf("French override: %q", got)
	}
	if got, want := c.Text("fr", locales.M("login.invalid_credentials")), fileText(t, "fr", "login.invalid_credentials", ""); got != want {
		t.Fatalf("French after override: %q, want %q", got, want)
	}
	if err := c.AddMessages("not a language!", nil); err == nil {
		t.Fatal("AddMessages accepted a bad language tag")
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	c := locales.New()
	long := strings.Repeat("sw;q=0.3, am;q=0.3, yo;q=0.3, ", 6) + "de;q=0.2"
	if len(long) <= 128 {
		t.Fatalf("long header is only %d bytes", len(long))
	}
	tests := []struct {
		accept string
		want   string
	}{
		{"de", "de"},
		{"de-AT", "de"},
		{"fr-CA, en;q=0.5", "fr"},
		{"ar", "ar"},
		{"ar-EG", "ar"},
		{"", "en"},
		{"xx", "en"},
		{"*", "en"},
		{"de;q=oops", "en"},
		{"en-US,de;q=0.9", "en"},
		{"fr;q=0.1, de;q=0.9", "de"},
		{"pt", "pt-BR"},
		{"pt-BR", "pt-BR"},
		{"pt-PT", "pt-PT"},
		{"pt-AO", "pt-PT"},
		{"zh-TW", "zh-Hant"},
		{"zh-HK", "zh-Hant"},
		{"zh-Hant", "zh-Hant"},
		{"zh-CN", "zh-Hans"},
		{"zh", "zh-Hans"},
		{"zh-SG", "zh-Hans"},
		{"iw", "he"},
		{"he-IL", "he"},
		{"sr", "en"},
		{long, "de"},
	}
	for _, tt := range tests {
		// Twice: the second answer may come from the cache.
		for i := range 2 {
			if got := c.Match(tt.accept); got.String() != tt.want {
				t.Errorf("Match(%q) #%d = %v, want %s", tt.accept, i+1, got, tt.want)
			}
		}
	}
}

func TestMatchCacheReset(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if got := c.Match("sr"); got.String() != "en" {
		t.Fatalf("Match(sr) before Serbian = %v", got)
	}
	if err := c.AddMessages("sr", map[string]string{"login.disabled": "Налог је онемогућен."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Match("sr"); got.String() != "sr" {
		t.Fatalf("Match(sr) after AddMessages = %v, want sr", got)
	}
	if got := c.Text("sr", locales.M("login.disabled")); got != "Налог је онемогућен." {
		t.Fatalf("Text(sr) after AddMessages = %q", got)
	}
}

func TestMatchCacheBounded(t *testing.T) {
	t.Parallel()
	c := locales.New()
	for i := range locales.MaxMatchCache + 10 {
		header := fmt.Sprintf("de;q=0.%d", i%9+1) + strings.Repeat(" ", i/10)
		if got := c.Match(header); got.String() != "de" {
			t.Fatalf("Match(%q) = %v", header, got)
		}
		if n := c.CachedMatches(); n > locales.MaxMatchCache {
			t.Fatalf("cache holds %d headers, more than %d", n, locales.MaxMatchCache)
		}
	}
	// Headers over 256 bytes are not remembered.
	before := c.CachedMatches()
	c.Match(strings.Repeat("de, ", 70))
	if after := c.CachedMatches(); after != before {
		t.Fatalf("long header cached: %d -> %d", before, after)
	}
}

func TestPluralForms(t *testing.T) {
	t.Parallel()
	c := locales.New()
	// CLDR's categories for these counts.
	tests := []struct {
		lang string
		cats map[int]string
	}{
		{"pl", map[int]string{1: "one", 2: "few", 5: "many", 22: "few"}},
		{"ru", map[int]string{1: "one", 2: "few", 5: "many", 22: "few"}},
		{"ar", map[int]string{1: "one", 2: "two", 5: "few", 22: "many"}},
	}
	for _, tt := range tests {
		forms := map[string]bool{}
		for _, n := range []int{1, 2, 5, 22} {
			cat := tt.cats[n]
			want := fileRender(t, tt.lang, "field.min_length", cat, "Min", n)
			forms[fileText(t, tt.lang, "field.min_length", cat)] = true
			if got := c.Text(tt.lang, locales.N("field.min_length", n, "Min", n)); got != want {
				t.Errorf("%s field.min_length %d: %q, want the %q form %q", tt.lang, n, got, cat, want)
			}
		}
		// The forms differ, so the comparisons above tell them apart.
		if len(forms) < 3 {
			t.Errorf("%s: field.min_length has only %d distinct forms among one/few/many", tt.lang, len(forms))
		}
	}
}

func TestNestedMessage(t *testing.T) {
	t.Parallel()
	c := locales.New()
	for _, lang := range []string{"de", "ja", "en"} {
		attr := fileText(t, lang, "attr.username", "")
		want := fileRender(t, lang, "password.too_similar", "", "Field", attr)
		m := locales.M("password.too_similar", "Field", locales.Message{ID: "attr.username", Default: "username"})
		if got := c.Text(lang, m); got != want {
			t.Errorf("%s: %q, want %q", lang, got, want)
		}
		if inner, ok := m.Data["Field"].(locales.Message); !ok || inner.ID != "attr.username" {
			t.Errorf("%s: Text changed the message's data: %v", lang, m.Data)
		}
	}
	if de, en := fileText(t, "de", "attr.username", ""), fileText(t, "en", "attr.username", ""); de == en {
		t.Fatalf("de attr.username is English %q", de)
	}
	// An inner key no catalog has renders its default.
	got := c.Text("de", locales.M("password.too_similar", "Field", locales.Message{ID: "attr.nickname", Default: "nickname"}))
	if want := fileRender(t, "de", "password.too_similar", "", "Field", "nickname"); got != want {
		t.Errorf("unknown inner key: %q, want %q", got, want)
	}
}

func TestRightToLeft(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang string
		want bool
	}{
		{"ar", true},
		{"ar-EG", true},
		{"fa", true},
		{"he", true},
		{"iw", true},
		{"ur", true},
		{"az-Arab", true},
		{"en", false},
		{"zh-Hant", false},
		{"ru", false},
		{"az", false},
		{"", false},
		{"not a tag!", false},
	}
	for _, tt := range tests {
		if got := locales.RightToLeft(tt.lang); got != tt.want {
			t.Errorf("RightToLeft(%q) = %v, want %v", tt.lang, got, tt.want)
		}
	}
}

// TestConcurrentUse renders and matches from many goroutines while
// languages are added (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	c := locales.New()
	deLogin := fileText(t, "de", "login.invalid_credentials", "")
	jaMin := fileRender(t, "ja", "field.min_length", "other", "Min", 5)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if got := c.Text("de-AT", locales.M("login.invalid_credentials")); got != deLogin {
					t.Errorf("goroutine %d: German %q", g, got)
					return
				}
				if got := c.Text("ja", locales.N("field.min_length", 5, "Min", 5)); got != jaMin {
					t.Errorf("goroutine %d: Japanese %q", g, got)
					return
				}
				if got := c.Match(fmt.Sprintf("fr-CA, en;q=0.%d", i%10)); got.String() != "fr" {
					t.Errorf("goroutine %d: Match = %v", g, got)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			if err := c.AddMessages("sr", map[string]string{fmt.Sprintf("app.key%d", i): "текст"}); err != nil {
				t.Error(err)
				return
			}
			if err := c.AddFile("active.de.json", []byte(fmt.Sprintf(`{"app.key%d": "Text"}`, i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if got := c.Text("sr", locales.M("app.key49")); got != "текст" {
		t.Fatalf("Serbian after concurrent adds: %q", got)
	}
}

func TestHas(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if !c.Has("login.invalid_credentials") {
		t.Error("Has(login.invalid_credentials) = false")
	}
	// Found even though rendering it without data fails or prints no value.
	if !c.Has("field.max_length") {
		t.Error("Has(field.max_length) = false")
	}
	if c.Has("app.nowhere") {
		t.Error("Has(app.nowhere) = true")
	}
	if err := c.AddMessages("de", map[string]string{"app.only_de": "Nur Deutsch."}); err != nil {
		t.Fatal(err)
	}
	if c.Has("app.only_de") {
		t.Error("Has reports a key English lacks")
	}
	if err := c.AddMessages("en", map[string]string{"app.added": "Added."}); err != nil {
		t.Fatal(err)
	}
	if !c.Has("app.added") {
		t.Error("Has(app.added) = false after AddMessages")
	}
}
