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
}
