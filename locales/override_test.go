package locales_test

import (
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
