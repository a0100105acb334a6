package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/socialauth"
)

// logSink collects a test's log output.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// memReplay is a map-backed identity.Replay.
type memReplay struct {
	mu   sync.Mutex
	used map[string]time.Time
	err  error
}

func newReplay() *memReplay { return &memReplay{used: map[string]time.Time{}} }

func (r *memReplay) Use(_ context.Context, digest string, until time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if u, ok := r.used[digest]; ok && time.Now().Before(u) {
		return false, nil
	}
	r.used[digest] = until
	return true, nil
}

func (r *memReplay) entries() map[string]time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]time.Time, len(r.used))
	for k, v := range r.used {
		out[k] = v
	}
	return out
}

// env is one test's verifier with its log and replay store.
type env struct {
	v      *identity.Verifier
	log    *logSink
	replay *memReplay
	client *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{log: &logSink{}, replay: newReplay(), client: &http.Client{Timeout: 5 * time.Second}}
	e.v = identity.New(e.client, e.replay, nil, slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	return e
}

// counter counts requests per path.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

func (c *counter) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[r.URL.Path]++
		c.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// startMock starts a mockoidc on loopback with the given middleware and
// a request counter.
func startMock(t *testing.T, mws ...func(http.Handler) http.Handler) (*mockoidc.MockOIDC, *counter) {
	t.Helper()
	return startMockCfg(t, nil, mws...)
}

// startMockCfg is startMock with cfg applied before the server starts.
func startMockCfg(t *testing.T, cfg func(*mockoidc.MockOIDC), mws ...func(http.Handler) http.Handler) (*mockoidc.MockOIDC, *counter) {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg(m)
	}
	// KeyID caches lazily; compute it before the server's goroutines do.
	if _, err := m.Keypair.KeyID(); err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	if err := m.AddMiddleware(c.middleware); err != nil {
		t.Fatal(err)
	}
	for _, mw := range mws {
		if err := m.AddMiddleware(mw); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m, c
}

const (
	redirectWeb    = "https://app.example.com/auth/callback"
	redirectNative = "com.example.app:/oauth2redirect"
)

// oidcProvider is a generic OIDC provider on m.
func oidcProvider(m *mockoidc.MockOIDC) *socialauth.Provider {
	cfg := m.Config()
	return &socialauth.Provider{
		Name: "oidc",
		OAuth2: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   m.AuthorizationEndpoint(),
				TokenURL:  m.TokenEndpoint(),
				AuthStyle: oauth2.AuthStyleInParams,
			},
			Scopes: []string{"openid", "email", "profile"},
		},
		RedirectURIs: []string{redirectWeb, redirectNative},
		OIDC: &socialauth.OIDCConfig{
			Issuer:      m.Issuer(),
			JWKSURL:     m.JWKSEndpoint(),
			UserInfoURL: m.UserinfoEndpoint(),
			// The tests of nonce rules opt in with requireNonce.
			AllowMissingNonce: true,
		},
	}
}

// noRedirect reads a 302's Location instead of following it.
var noRedirect = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// authorize runs the authorize step of the URL that v.AuthCodeURL builds
// and returns the code of the redirect.
func authorize(t *testing.T, v *identity.Verifier, p *socialauth.Provider, verifier, nonce, redirect string) string {
	t.Helper()
	state := randomString(t)
	u, err := v.AuthCodeURL(p, state, verifier, nonce, redirect)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	return followAuthorize(t, u, state, redirect, p)
}

func followAuthorize(t *testing.T, authURL, state, redirect string, p *socialauth.Provider) string {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if redirect == "" {
		redirect = p.RedirectURIs[0]
	}
	q := loc.Query()
	loc.RawQuery = ""
	if loc.String() != redirect {
		t.Fatalf("redirected to %q, want %q", loc.String(), redirect)
	}
	if q.Get("state") != state {
		t.Fatalf("state %q, want %q", q.Get("state"), state)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatal("no code in redirect")
	}
	return code
}

// exchangeInTest runs a full authorization with nonce outside the
// Verifier and returns the token response (a real id_token and access
// token for id_token tests).
func exchangeInTest(t *testing.T, p *socialauth.Provider, nonce string) *oauth2.Token {
	t.Helper()
	cfg := *p.OAuth2
	cfg.RedirectURL = p.RedirectURIs[0]
	state := randomString(t)
	code := followAuthorize(t, cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("nonce", nonce)), state, "", p)
	tok, err := cfg.Exchange(context.Background(), code)
	if err != nil {
		t.Fatalf("test-side exchange: %v", err)
	}
	return tok
}

func idTokenOf(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		t.Fatal("token response without id_token")
	}
	return raw
}

func randomString(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// baseClaims are valid id_token claims for m's client.
func baseClaims(t *testing.T, m *mockoidc.MockOIDC) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":            m.Issuer(),
		"aud":            m.ClientID,
		"sub":            "user-42",
		"iat":            now.Unix(),
		"nbf":            now.Unix(),
		"exp":            now.Add(10 * time.Minute).Unix(),
		"jti":            randomString(t),
		"email":          "jane@example.com",
		"email_verified": true,
	}
}

func sign(t *testing.T, m *mockoidc.MockOIDC, c jwt.MapClaims) string {
	t.Helper()
	s, err := m.Keypair.SignJWT(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sha256B64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// atHash is OIDC's at_hash of an access token for RS256.
func atHash(at string) string {
	sum := sha256.Sum256([]byte(at))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// wantRefusal fails unless err is the refusal want.
func wantRefusal(t *testing.T, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
}

func wantOK(t *testing.T, id social.Identity, err error) social.Identity {
	t.Helper()
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return id
}

// mustResolve resolves r and fails the test on an error.
func mustResolve(t *testing.T, v *identity.Verifier, ctx context.Context, p *socialauth.Provider, r identity.Request) social.Identity {
	t.Helper()
	id, err := v.Resolve(ctx, p, r)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return id
}

func isVerr(err error) bool {
	var e *verr.Error
	return errors.As(err, &e)
}

// flag is a concurrency-safe switch for test servers.
type flag struct{ atomic.Bool }
