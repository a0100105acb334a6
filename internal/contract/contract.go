// Package contract checks HTTP exchanges against an OpenAPI document with
// kin-openapi's openapi3filter: the test suites run every request to
// restauth's routes through it, so an answer whose status or body shape
// the document does not describe, or a request the document calls invalid
// that the server accepted, fails the test that sent it.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// The confirmation page is HTML: checked as a string.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// Checker validates exchanges against one document.
type Checker struct {
	doc    *openapi3.T
	prefix string
	router routers.Router
	// OnSuccess, when set, is told of each operation ("METHOD /path/" as
	// the document writes it) that answered a success.
	OnSuccess func(op string)

	mu       sync.Mutex
	problems []string
}

// New loads and validates raw, a document whose server is prefix (the
// mount point, e.g. "/rest-auth").
func New(raw []byte, prefix string) (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("contract: load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("contract: invalid OpenAPI: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("contract: routes: %w", err)
	}
	return &Checker{doc: doc, prefix: strings.TrimSuffix(prefix, "/") + "/", router: router}, nil
}

// Operations lists the document's operations as "METHOD /path/".
func (c *Checker) Operations() []string {
	var ops []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	return ops
}

// Problems returns what failed so far.
func (c *Checker) Problems() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

func (c *Checker) record(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	c.problems = append(c.problems, err.Error())
	c.mu.Unlock()
}

// Covers reports whether the checker looks at a request: under the
// prefix, and neither OPTIONS nor HEAD (which the router answers for
// every route, and no document describes).
func (c *Checker) Covers(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, c.prefix) && r.Method != http.MethodOptions && r.Method != http.MethodHead
}

// Keep reads r's body for Check (at most 2 MiB) and puts an equivalent
// one back for the handler; it returns a copy of the request as sent.
func Keep(r *http.Request) (sent *http.Request, body []byte) {
	if b := r.Body; b != nil && b != http.NoBody {
		raw, err := io.ReadAll(io.LimitReader(b, 1<<21))
		if err != nil {
			raw = nil
		}
		body = raw
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), b))
	}
	return r.Clone(context.Background()), body
}

// Check validates one answer and, when it is a success, the request too
// (a request the document calls invalid must not succeed), and records a
// failure for Problems.
func (c *Checker) Check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	err := c.check(r, reqBody, status, header, body)
	c.record(err)
	return err
}

func (c *Checker) check(r *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
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
	case errors.Is(err, routers.ErrPathNotFound) && status == http.StatusNotFound:
		// Not one of the API's routes: gin's 404.
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
		return fmt.Errorf("%s %s answered %d %.300s, which the document does not describe: %v", r.Method, r.URL.Path, status, body, err)
	}
	if status < 400 && c.OnSuccess != nil {
		c.OnSuccess(r.Method + " " + route.Path)
	}
	return nil
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

// recorder passes an answer through while keeping its status and body.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Handler wraps next so that every exchange it covers is checked.
func (c *Checker) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.Covers(r) {
			next.ServeHTTP(w, r)
			return
		}
		sent, reqBody := Keep(r)
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		_ = c.Check(sent, reqBody, status, rec.Header(), rec.body.Bytes())
	})
}
