package restauth_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/contract"
)

// The contract check: every env's engine (newEnv) runs each request to
// /rest-auth/ through a contract.Checker built from the document the
// plugin itself serves at openapi.json: an answer whose status or body the
// document does not describe, a success to a request the document calls
// invalid, or a route the document lacks fails the test that sent it.

// covered records, over the whole package run, which documented
// operations answered with a success, so TestMain can tell an endpoint
// no test reaches.
var covered = struct {
	sync.Mutex
	documented map[string]bool // "METHOD /path/" -> answered 2xx/3xx
}{documented: map[string]bool{}}

// contractChecker is a contract.Checker reporting to one test.
type contractChecker struct {
	*contract.Checker
}

// newContract loads the document e's plugin serves (or, when the route
// is off, the one Plugin.OpenAPI builds) and registers its operations
// for the coverage check; failures are reported when t ends.
func newContract(t testing.TB, e *env) *contractChecker {
	t.Helper()
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/rest-auth/openapi.json", nil))
	raw := w.Body.Bytes()
	switch {
	case w.Code == http.StatusNotFound:
		// Config.OpenAPI.Disabled: the same document, not served.
		var err error
		if raw, err = e.auth.OpenAPI("/rest-auth"); err != nil {
			t.Fatalf("Plugin.OpenAPI: %v", err)
		}
	case w.Code != http.StatusOK:
		t.Fatalf("openapi.json: %d %s", w.Code, w.Body)
	}
	c, err := contract.New(raw, "/rest-auth")
	if err != nil {
		t.Fatal(err)
	}
	c.OnSuccess = func(op string) {
		covered.Lock()
		covered.documented[op] = true
		covered.Unlock()
	}
	covered.Lock()
	covered.documented["GET /openapi.json"] = true // just served and validated
	for _, op := range c.Operations() {
		if _, seen := covered.documented[op]; !seen {
			covered.documented[op] = false
		}
	}
	covered.Unlock()
	t.Cleanup(func() {
		for _, p := range c.Problems() {
			t.Errorf("OpenAPI contract: %s", p)
		}
	})
	return &contractChecker{c}
}

// teeWriter keeps a copy of the body written through it.
type teeWriter struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// middleware checks each answer the checker covers, after the handlers
// ran.
func (c *contractChecker) middleware(ctx *gin.Context) {
	if !c.Covers(ctx.Request) {
		ctx.Next()
		return
	}
	sent, reqBody := contract.Keep(ctx.Request)
	tw := &teeWriter{ResponseWriter: ctx.Writer}
	ctx.Writer = tw
	ctx.Next()
	_ = c.Check(sent, reqBody, tw.Status(), tw.Header(), tw.buf.Bytes())
}

// checkCoverage fails when a documented operation never answered with
// a success in the whole run.
func checkCoverage() error {
	covered.Lock()
	defer covered.Unlock()
	var missing []string
	for k, ok := range covered.documented {
		if !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("OpenAPI coverage: no test got a successful answer from %d documented operations:\n  %s",
		len(missing), strings.Join(missing, "\n  "))
}

func TestMain(m *testing.M) {
	code := m.Run()
	// The coverage check needs the whole suite: skip it under -run, -skip, -short
	// or a failure already reported.
	if code == 0 && !testing.Short() && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		if err := checkCoverage(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
