package restauth_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering checks the import rules of the architecture (README,
// "Architecture"): the core services know nothing of HTTP, the public
// handlers package nothing of the database, the HTTP layer talks to the
// database only through the services, and only the root package wires
// the HTTP layer to the settings. One `go list` call reports every
// package's direct imports and all its dependencies.
func TestLayering(t *testing.T) {
	t.Parallel()
	const mod = "github.com/restauth/restauth"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports, all := map[string][]string{}, map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		imports[parts[0]], all[parts[0]] = strings.Fields(parts[1]), strings.Fields(parts[2])
	}
	find := func(list []string, prefix string) string {
		for _, p := range list {
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				return p
			}
		}
		return ""
	}
	core := []string{"users", "tokens", "sessions", "confirm", "resets", "mail", "login", "passwords",
		"signup", "hooks", "dbx", "secret", "verr", "jwtauth", "dblog", "dberr", "devices", "revoked", "ident", "hashlimit"}
	for _, name := range core {
		pkg := mod + "/internal/" + name
		if _, ok := all[pkg]; !ok {
			t.Fatalf("go list did not report %s", pkg)
		}
		for _, banned := range []string{"net/http", "github.com/gin-gonic/gin"} {
			if p := find(all[pkg], banned); p != "" {
				t.Errorf("internal/%s depends on %s", name, p)
			}
		}
	}
	// Social login's services reach providers over HTTP (goth, go-oidc),
	// but know nothing of gin; socialauth (public) no database.
	for _, name := range []string{"internal/social", "internal/identity", "socialauth"} {
		if p := find(all[mod+"/"+name], "github.com/gin-gonic/gin"); p != "" {
			t.Errorf("%s depends on %s", name, p)
		}
	}
	if p := find(all[mod+"/socialauth"], "gorm.io"); p != "" {
		t.Errorf("socialauth depends on %s", p)
	}
	// The OpenAPI builder describes; it serves nothing and stores nothing.
	for _, banned := range []string{"gorm.io", "github.com/gin-gonic/gin"} {
		if p := find(all[mod+"/internal/apidoc"], banned); p != "" {
			t.Errorf("internal/apidoc depends on %s", p)
		}
	}
	// The rate-limit stores are plain counters: no HTTP framework, no ORM.
	for _, banned := range []string{"gorm.io", "github.com/gin-gonic/gin", "net/http"} {
		if p := find(all[mod+"/ratelimit"], banned); p != "" {
			t.Errorf("ratelimit depends on %s", p)
		}
	}
	for _, pub := range []string{"handlers", "dto", "password", "locales", "emails"} {
		if p := find(all[mod+"/"+pub], "gorm.io"); p != "" {
			t.Errorf("%s depends on %s", pub, p)
		}
	}
	if p := find(imports[mod+"/internal/endpoints"], "gorm.io"); p != "" {
		t.Errorf("internal/endpoints imports %s: it must reach the database through the services", p)
	}
	for pkg, list := range imports {
		if pkg != mod && find(list, mod+"/internal/endpoints") != "" {
			t.Errorf("%s imports internal/endpoints; only the root package wires it", pkg)
		}
	}
}
