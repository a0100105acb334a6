package locales_test

import (
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
