package socialauth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/markbates/goth"

	"github.com/restauth/restauth/socialauth"
)

// originalHost is the header carrying the host a request was meant for.
const originalHost = "X-Original-Host"

// rewriter sends every request to target (scheme and host replaced, path
// and query kept), with the original host in the X-Original-Host header.
type rewriter struct {
	target *url.URL
	base   http.RoundTripper // never http.DefaultTransport's current value
}

func (rw rewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set(originalHost, req.URL.Host)
	out.URL.Scheme = rw.target.Scheme
	out.URL.Host = rw.target.Host
	out.Host = ""
	return rw.base.RoundTrip(out)
}

// recorded is one request the fake API received.
type recorded struct {
	Method string
	Host   string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// fakeAPI is one loopback server standing in for every provider host; it
// routes by original host + path.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	routes map[string]http.HandlerFunc

	mu   sync.Mutex
	reqs []recorded
}

// newFakeAPI starts a fake API with routes keyed "host/path", e.g.
// "api.github.com/user". An unknown route fails the test and answers 404.
func newFakeAPI(t *testing.T, routes map[string]http.HandlerFunc) *fakeAPI {
	t.Helper()
	f := &fakeAPI{t: t, routes: routes}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Header.Get(originalHost) + r.URL.Path
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, Host: r.Header.Get(originalHost), Path: r.URL.Path,
		Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
	})
	f.mu.Unlock()
	h, ok := f.routes[key]
	if !ok {
		f.t.Errorf("fake API: unexpected request %s %s", r.Method, key)
		http.NotFound(w, r)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h(w, r)
}

// transport is the rewriting transport to this fake API.
func (f *fakeAPI) transport() http.RoundTripper {
	u, err := url.Parse(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	return rewriter{target: u, base: f.srv.Client().Transport}
}

// client is an HTTP client whose requests all reach this fake API.
func (f *fakeAPI) client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: f.transport(), Timeout: timeout}
}

// requests returns the requests received so far.
func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// only returns the single request received, failing the test otherwise.
func (f *fakeAPI) only() recorded {
	f.t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		f.t.Fatalf("fake API got %d requests, want 1: %+v", len(reqs), reqs)
	}
	return reqs[0]
}

// jsonHandler answers status with body as JSON.
func jsonHandler(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// blockingHandler answers only when release is closed or the client gives
// up; release is closed when the test ends.
func blockingHandler(t *testing.T) http.HandlerFunc {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	}
}

// gothClient returns the HTTPClient field of a goth provider (every
// ready-made provider has one).
func gothClient(t *testing.T, gp goth.Provider) *http.Client {
	t.Helper()
	f := reflect.ValueOf(gp).Elem().FieldByName("HTTPClient")
	if !f.IsValid() {
		t.Fatalf("%T has no HTTPClient field", gp)
	}
	c, _ := f.Interface().(*http.Client)
	if c == nil {
		t.Fatalf("%T.HTTPClient is nil", gp)
	}
	return c
}

// gothCallback returns the CallbackURL field of a goth provider.
func gothCallback(t *testing.T, gp goth.Provider) string {
	t.Helper()
	f := reflect.ValueOf(gp).Elem().FieldByName("CallbackURL")
	if !f.IsValid() {
		t.Fatalf("%T has no CallbackURL field", gp)
	}
	return f.String()
}

// fetch runs goth's FetchUser for a session given as JSON (OAuth1).
func fetch(t *testing.T, p socialauth.Provider, session string) (goth.User, error) {
	t.Helper()
	s, err := p.Goth.UnmarshalSession(session)
	if err != nil {
		t.Fatalf("UnmarshalSession: %v", err)
	}
	return p.Goth.FetchUser(s)
}

// fetchToken runs goth's FetchUser for an OAuth2 access token.
func fetchToken(t *testing.T, p socialauth.Provider, token string) (goth.User, error) {
	t.Helper()
	s, err := accessTokenSession(p.Goth, token, "")
	if err != nil {
		t.Fatalf("AccessTokenSession: %v", err)
	}
	return p.Goth.FetchUser(s)
}

// accessTokenSession returns (as internal/identity builds it) a goth session of gp holding an OAuth2
// access token (and an id_token, which only google and openidConnect
// sessions keep; pass "" otherwise), ready for gp.FetchUser. Use it
// rather than gp.UnmarshalSession(`{"AccessToken":…}`): most goth
// sessions have no JSON tags, but some do (azureadv2, behind Microsoft,
// stores the access token as "at"; reddit as "access_token"), and their
// FetchUser would then see no token.
func accessTokenSession(gp goth.Provider, accessToken, idToken string) (goth.Session, error) {
	if gp == nil {
		return nil, errors.New("socialauth: accessTokenSession: nil goth provider")
	}
	fields := map[string]string{
		"AccessToken":  accessToken,
		"at":           accessToken,
		"access_token": accessToken,
	}
	if idToken != "" {
		fields["IDToken"] = idToken
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("socialauth: accessTokenSession: %w", err)
	}
	s, err := gp.UnmarshalSession(string(data))
	if err != nil {
		return nil, fmt.Errorf("socialauth: accessTokenSession %s: %w", gp.Name(), err)
	}
	return s, nil
}
