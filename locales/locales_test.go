package locales_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/restauth/restauth/locales"
)

// TestEveryKeyInCatalog scans the module's Go sources for message keys
// and checks each one is in the English catalog, so no client ever sees a
// raw key.
func TestEveryKeyInCatalog(t *testing.T) {
	t.Parallel()
	c := locales.New()
	re := regexp.MustCompile(`(?:locales\.M|unauthenticated|h\.detail\(c, [^,]+,)\s*\(?\s*"([a-z_]+\.[a-z_]+)"`)
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

func TestTextFallbacks(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if got := c.Text("", locales.M("field.max_length", "Max", 150)); got != "Ensure this field has no more than 150 characters." {
		t.Fatalf("template data: %q", got)
	}
	if got := c.Text("fr", locales.Message{ID: "app.custom", Default: "Custom text."}); got != "Custom text." {
		t.Fatalf("default text: %q", got)
	}
	if err := c.AddFile("active.de.json", []byte(`{"login.disabled": "Benutzerkonto ist deaktiviert."}`)); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("de-AT, en;q=0.5", locales.M("login.disabled")); got != "Benutzerkonto ist deaktiviert." {
		t.Fatalf("German: %q", got)
	}
	if got := c.Text("de", locales.M("login.invalid_credentials")); got != "Unable to log in with provided credentials." {
		t.Fatalf("English fallback: %q", got)
	}
	// German lacks these keys: English, with template data.
	if got := c.Text("de", locales.M("field.max_length", "Max", 150)); got != "Ensure this field has no more than 150 characters." {
		t.Fatalf("English fallback with data: %q", got)
	}
	for _, accept := range []string{"fr", "xx", "de;q=oops", "*"} {
		if got := c.Text(accept, locales.M("login.invalid_credentials")); got != "Unable to log in with provided credentials." {
			t.Errorf("Accept-Language %q: %q", accept, got)
		}
	}
	if got := c.Text("de", locales.M("app.nowhere")); got != "app.nowhere" {
		t.Fatalf("missing key without default: %q", got)
	}
}

func TestAddMessagesFallback(t *testing.T) {
	t.Parallel()
	c := locales.New()
	if err := c.AddMessages("fr", map[string]string{"login.disabled": "Compte désactivé."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("fr-CA", locales.M("login.disabled")); got != "Compte désactivé." {
		t.Fatalf("French: %q", got)
	}
	if got := c.Text("fr", locales.M("login.invalid_credentials")); got != "Unable to log in with provided credentials." {
		t.Fatalf("English fallback: %q", got)
	}
	// A key only an app's French catalog defines: French when asked for,
	// otherwise the default text.
	if err := c.AddMessages("fr", map[string]string{"app.only_fr": "Seulement en français."}); err != nil {
		t.Fatal(err)
	}
	if got := c.Text("fr", locales.M("app.only_fr")); got != "Seulement en français." {
		t.Fatalf("French-only key: %q", got)
	}
	if got := c.Text("de", locales.Message{ID: "app.only_fr", Default: "Only French."}); got != "Only French." {
		t.Fatalf("French-only key in German: %q", got)
	}
	if err := c.AddMessages("not a language!", nil); err == nil {
		t.Fatal("AddMessages accepted a bad language tag")
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
