package restauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"
)

// The contract check: every env's engine (newEnv) runs each request to
// /rest-auth/ through checkContract, which validates the answer against
// the OpenAPI document the plugin itself serves at openapi.json, with
// kin-openapi's openapi3filter: a status the document does not list for
// that operation, a body that does not match its schema, or a route the
// document lacks fails the test that sent it. Only what no document can
// describe is left out: OPTIONS and HEAD (answered by the router for
// every route), 405 for a method the path does not have, and paths
// outside the API (404 from gin).

// covered records, over the whole package run, which documented
// operations answered with a success, so TestMain can tell an endpoint
// no test reaches.
var covered = struct {
	sync.Mutex
	documented map[string]bool // "METHOD /path/" -> answered 2xx/3xx
}{documented: map[string]bool{}}

// contract validates answers against one plugin's document.
type contract struct {
	router routers.Router
	mu     sync.Mutex
	errs   []string
}

// newContract loads the document e's plugin serves and registers every
// operation in it for the coverage check.
func newContract(t testing.TB, e *env) *contract {
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
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("openapi.json routes: %v", err)
	}
	covered.Lock()
	covered.documented["GET /openapi.json"] = true // just served and validated
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			k := method + " " + path
			if _, seen := covered.documented[k]; !seen {
				covered.documented[k] = false
			}
		}
	}
	covered.Unlock()
	c := &contract{router: router}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range c.errs {
			t.Errorf("OpenAPI contract: %s", e)
		}
	})
	return c
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

// middleware checks each answer under /rest-auth/ after the handlers ran.
func (c *contract) middleware(ctx *gin.Context) {
	path := ctx.Request.URL.Path
	if !strings.HasPrefix(path, "/rest-auth/") || ctx.Request.Method == http.MethodOptions || ctx.Request.Method == http.MethodHead {
		ctx.Next()
		return
	}
	// Keep the request body (the handler consumes it) to check the
	// request too; oversized ones are answered 413 and left alone.
	var reqBody []byte
	if b := ctx.Request.Body; b != nil && b != http.NoBody {
		raw, err := io.ReadAll(io.LimitReader(b, 1<<21))
		if err != nil {
			raw = nil
		}
		reqBody = raw
		ctx.Request.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), b))
	}
	sent := ctx.Request.Clone(context.Background())
	tw := &teeWriter{ResponseWriter: ctx.Writer}
	ctx.Writer = tw
	ctx.Next()
	if err := c.check(sent, reqBody, tw.Status(), tw.Header(), tw.buf.Bytes()); err != nil {
		c.mu.Lock()
		c.errs = append(c.errs, err.Error())
		c.mu.Unlock()
	}
}

// check validates one answer and, when it is a success, the request
// too: a request the document calls invalid must not succeed.
func (c *contract) check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	u := *r.URL
	if !strings.HasSuffix(u.Path, "/") && !strings.HasSuffix(u.Path, ".json") {
		u.Path += "/" // restauth answers with and without the slash
	}
	u.RawPath = ""
	req := r.Clone(context.Background())
	req.URL = &u
	route, params, err := c.router.FindRoute(req)
	switch {
	case errors.Is(err, routers.ErrMethodNotAllowed) && (status == http.StatusMethodNotAllowed || status == http.StatusForbidden):
		// A method the path lacks: 405, or 403 when the CSRF guard
		// refused the unsafe request before the method was looked at.
		return nil
	case errors.Is(err, routers.ErrPathNotFound) && status == http.StatusNotFound && !documentedPrefix(u.Path):
		return nil
	case err != nil:
		return fmt.Errorf("%s %s answered %d but the document has no such operation: %v", r.Method, r.URL.Path, status, err)
	}
	if status < 300 {
		req.Body = io.NopCloser(bytes.NewReader(asRead(req, reqBody)))
		rin := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
		if err := openapi3filter.ValidateRequest(context.Background(), rin); err != nil {
			return fmt.Errorf("%s %s answered %d to a request the document calls invalid (%.300s): %v", r.Method, r.URL.Path, status, reqBody, err)
		}
		req.Body = http.NoBody
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		b := string(body)
		if len(b) > 300 {
			b = b[:300] + "…"
		}
		return fmt.Errorf("%s %s answered %d %s, which the document does not describe: %v", r.Method, r.URL.Path, status, b, err)
	}
	if status < 400 {
		covered.Lock()
		covered.documented[r.Method+" "+route.Path] = true
		covered.Unlock()
	}
	return nil
}

// documentedPrefix reports whether a 404 path looks like one of the API's
// own (a mistyped id is a documented 404, a mistyped route is not).
func documentedPrefix(p string) bool {
	return strings.HasPrefix(p, "/rest-auth/sessions/") && strings.Count(p, "/") > 3
}

// checkCoverage fails when a documented operation never answered with
// a success in the whole run (only when every test ran).
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
	// The confirmation page is HTML: checked as a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	code := m.Run()
	// The coverage check needs the whole suite: skip it under -run, -short
	// or a failure already reported.
	if code == 0 && !testing.Short() && flag.Lookup("test.run").Value.String() == "" {
		if err := checkCoverage(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// asRead returns a JSON body with numbers turned into strings, as the
// server reads them (DRF's CharField takes 12.5 as "12.5"; README,
// "Request bodies and errors"), so the request is checked as understood.
func asRead(r *http.Request, body []byte) []byte {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if dec.Decode(&v) != nil {
		return body
	}
	for k, x := range v {
		if n, ok := x.(json.Number); ok {
			v[k] = n.String()
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return out
}
