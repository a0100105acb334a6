package locales_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/restauth/restauth/locales"
)

// TestOneFormOverridesEveryCount: an app's override of a plural message
// with one text serves every count in its language.
func TestOneFormOverridesEveryCount(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if err := c.AddMessages("de", map[string]string{"field.max_length": "Höchstens {{.Max}} Zeichen."}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 2, 5} {
		want := "Höchstens " + string(rune('0'+n)) + " Zeichen."
		if got := c.Text("de", locales.N("field.max_length", n, "Max", n)); got != want {
			t.Errorf("count %d: %q, want %q", n, got, want)
		}
	}
}

// TestMatchKeepsTheLanguage: a neighbouring language the matcher rates
// close (Danish for Norwegian, Russian for Belarusian, Spanish for
// Basque) is not served: English is, or the next language asked for.
func TestMatchKeepsTheLanguage(t *testing.T) {
	t.Parallel()
	c := locales.New()
	for _, tc := range []struct{ accept, want string }{
		{"nb", "en"}, {"no", "en"}, {"be", "en"}, {"eu", "en"}, {"gl", "en"}, {"ms", "en"}, {"mr", "en"},
		{"nb, de;q=0.5", "de"}, {"be, uk;q=0.9", "uk"}, {"iw", "he"}, {"in", "id"}, {"zh-TW", "zh-Hant"},
		// Macrolanguage members the matcher rates Exact.
		{"cmn", "zh-Hans"}, {"cmn-Hant-TW", "zh-Hant"}, {"pes", "fa"}, {"arb", "ar"},
	} {
		if got := c.Match(tc.accept).String(); got != tc.want {
			t.Errorf("Match(%q) = %s, want %s", tc.accept, got, tc.want)
		}
	}
}

// TestNumberTypesAsCounts: any integer or float type chooses a plural
// form in the language asked for, never the raw key.
func TestNumberTypesAsCounts(t *testing.T) {
	t.Parallel()
	c := locales.New()
	want := c.Text("pl", locales.N("request.throttled", 5, "Seconds", 5))
	for _, n := range []any{int8(5), int16(5), int32(5), int64(5), uint(5), uint8(5), uint16(5), uint32(5), uint64(5), "5"} {
		if got := c.Text("pl", locales.N("request.throttled", n, "Seconds", 5)); got != want {
			t.Errorf("count %T: %q, want %q", n, got, want)
		}
	}
	if got := c.Text("pl", locales.N("request.throttled", 2.5, "Seconds", 2.5)); got == "request.throttled" || !strings.Contains(got, "2.5") {
		t.Errorf("float count: %q", got)
	}
	type seconds int
	for _, n := range []any{seconds(5), json.Number("5")} {
		if got := c.Text("pl", locales.N("request.throttled", n, "Seconds", 5)); got != want {
			t.Errorf("count %T: %q, want %q", n, got, want)
		}
	}
	// Counts go-i18n cannot read still give the language's "other" form.
	other := c.Text("pl", locales.N("request.throttled", "1.5", "Seconds", "x"))
	for _, n := range []any{uint64(1 << 63), 1e21, struct{}{}} {
		if got := c.Text("pl", locales.N("request.throttled", n, "Seconds", "x")); got != other {
			t.Errorf("count %v: %q, want the other form %q", n, got, other)
		}
	}
}

// TestNestingTooDeep: a message nested deeper than rendered shows its
// text, not a Go value.
func TestNestingTooDeep(t *testing.T) {
	t.Parallel()
	c := locales.New()
	inner := locales.Message{ID: "app.x", Default: "innermost"}
	m := locales.M("csrf.failed", "Reason", locales.M("csrf.failed", "Reason", &locales.Message{ID: "csrf.failed", Data: map[string]any{"Reason": inner}}))
	got := c.Text("en", m)
	if strings.Contains(got, "{") || strings.Contains(got, "map[") {
		t.Fatalf("rendered a Go value: %q", got)
	}
	if !strings.Contains(got, "innermost") {
		t.Fatalf("the innermost text is missing: %q", got)
	}
	// A message at the limit still renders its own text (its key found).
	deep := locales.M("csrf.failed", "Reason", locales.M("csrf.failed", "Reason", locales.M("password.too_similar", "Field", locales.M("attr.username"))))
	start, _, _ := strings.Cut(c.Text("de", locales.M("password.too_similar", "Field", "X")), "X")
	if got := c.Text("de", deep); !strings.Contains(got, start) || strings.Contains(got, "{") || strings.Contains(got, "map[") {
		t.Fatalf("deep German: %q, want the German similarity sentence inside", got)
	}
}

// TestAddFileRefusesBrokenTemplates: a catalog file with a text that
// cannot render is refused whole.
func TestAddFileRefusesBrokenTemplates(t *testing.T) {
	t.Parallel()
	c := locales.New()
	for _, file := range []string{`{"login.disabled": "{{.X"}`, `{"request.throttled": {"one": "ok {{.Seconds}}", "other": "{{end}}"}}`} {
		if err := c.AddFile("de.json", []byte(file)); err == nil {
			t.Errorf("AddFile accepted %s", file)
		}
	}
	if got := c.Text("de", locales.M("login.disabled")); strings.Contains(got, "{{") {
		t.Fatalf("a refused file changed the catalog: %q", got)
	}
}

// TestAddMessagesRefusesBrokenTemplates: a text that cannot render is
// refused when added, not silently replaced by English later.
func TestAddMessagesRefusesBrokenTemplates(t *testing.T) {
	t.Parallel()
	c := locales.New()
	for _, text := range []string{"{{.X", "", "  "} {
		if err := c.AddMessages("de", map[string]string{"login.disabled": text}); err == nil {
			t.Errorf("AddMessages accepted %q", text)
		}
	}
}
