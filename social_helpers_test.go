package restauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/markbates/goth/providers/github"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/socialauth"
)

// loopback sends every request for a public host to target, keeping the path: goth's real
// provider code and restauth's calls to api.github.com reach a local
// fake. The original host goes in X-Original-Host.
type loopback struct{ target *url.URL }

func (l loopback) RoundTrip(r *http.Request) (*http.Response, error) {
	if h := r.URL.Hostname(); h == "127.0.0.1" || h == "localhost" {
		// Local servers (mockoidc) are reached as they are.
		return http.DefaultTransport.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("X-Original-Host", r.URL.Host)
	r.URL.Scheme, r.URL.Host, r.Host = l.target.Scheme, l.target.Host, l.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

// ghUser is a GitHub account of the fake API.
type ghUser struct {
	ID       int
	Login    string
	Name     string
	Email    string
	Verified bool
}

// fakeGitHub is GitHub's API and OAuth endpoints on loopback: access
// tokens map to users; codes map to tokens; tokens of "other" were issued
// to another OAuth app.
type fakeGitHub struct {
	srv     *httptest.Server
	client  *http.Client
	mu      sync.Mutex
	tokens  map[string]ghUser
	codes   map[string]string
	other   map[string]bool
	calls   atomic.Int64 // requests of any kind
	profile atomic.Int64 // GET /user
	down    atomic.Bool  // every API call answers 500
}

func newFakeGitHub(t testing.TB) *fakeGitHub {
	f := &fakeGitHub{tokens: map[string]ghUser{}, codes: map[string]string{}, other: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	u, _ := url.Parse(f.srv.URL)
	f.client = &http.Client{Transport: loopback{target: u}}
	return f
}

// add makes token log in as gu.
func (f *fakeGitHub) add(token string, gu ghUser) {
	f.mu.Lock()
	f.tokens[token] = gu
	f.mu.Unlock()
}

// code makes code exchange to token.
func (f *fakeGitHub) code(code, token string) {
	f.mu.Lock()
	f.codes[code] = token
	f.mu.Unlock()
}

func (f *fakeGitHub) user(r *http.Request) (ghUser, bool) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	defer f.mu.Unlock()
	gu, ok := f.tokens[tok]
	return gu, ok
}

func (f *fakeGitHub) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if f.down.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/user":
		f.profile.Add(1)
		gu, ok := f.user(r)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": gu.ID, "login": gu.Login, "name": gu.Name, "email": gu.Email})
	case r.Method == http.MethodGet && r.URL.Path == "/user/emails":
		gu, ok := f.user(r)
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_ = json.NewEncoder(w).Encode([]map[string]any{{"email": gu.Email, "verified": gu.Verified, "primary": true}})
	case r.Method == http.MethodPost && r.URL.Path == "/applications/cid/token":
		var body struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		id, sec, _ := r.BasicAuth()
		f.mu.Lock()
		_, known := f.tokens[body.AccessToken]
		foreign := f.other[body.AccessToken]
		f.mu.Unlock()
		if id != "cid" || sec != "csecret" || !known || foreign {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(`{"app":{"client_id":"cid"}}`))
	case r.Method == http.MethodPost && r.URL.Path == "/login/oauth/access_token":
		_ = r.ParseForm()
		f.mu.Lock()
		tok, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"` + tok + `","token_type":"bearer","scope":"read:user,user:email"}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

const ghRedirect = siteURL + "/rest-auth/github/callback/"

// provider is socialauth.GitHub wired to the fake.
func (f *fakeGitHub) provider() socialauth.Provider {
	p := socialauth.GitHub("cid", "csecret", ghRedirect)
	p.Goth.(*github.Provider).HTTPClient = f.client
	return p
}

// socialEnv is an env with the GitHub fake (route github) and, when
// withOIDC, a mockoidc provider (route oidc).
type socialEnv struct {
	*env
	gh   *fakeGitHub
	m    *mockoidc.MockOIDC
	oidc socialauth.Provider
}

// newSocialEnv builds the env: jwt selects JWT mode; mutate runs after
// the providers are set.
func newSocialEnv(t testing.TB, db *gorm.DB, jwt, withOIDC bool, mutate func(*restauth.Config), opts ...restauth.Option[Customer]) *socialEnv {
	t.Helper()
	s := &socialEnv{gh: newFakeGitHub(t)}
	if withOIDC {
		s.m, s.oidc = newMockOIDC(t)
	}
	build := newEnv
	if jwt {
		build = jwtEnv
	}
	s.env = build(t, db, func(c *restauth.Config) {
		c.Social.HTTPClient = s.gh.client
		c.Social.Providers = []socialauth.Provider{s.gh.provider()}
		if withOIDC {
			c.Social.Providers = append(c.Social.Providers, s.oidc)
		}
		if mutate != nil {
			mutate(c)
		}
	}, opts...)
	if withOIDC {
		// mockoidc signs with its own clock: move it to the test clock.
		s.m.FastForward(s.clock.Now().Sub(time.Now()))
	}
	return s
}

// advance moves the test clock and the provider's clock.
func (s *socialEnv) advance(d time.Duration) {
	s.clock.Advance(d)
	if s.m != nil {
		s.m.FastForward(d)
	}
}

const oidcRedirect = siteURL + "/rest-auth/oidc/callback/"

// newMockOIDC starts a mockoidc server and returns it with the
// restauth provider built by discovery.
func newMockOIDC(t testing.TB) (*mockoidc.MockOIDC, socialauth.Provider) {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatalf("mockoidc: %v", err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	cfg := m.Config()
	p, err := socialauth.OIDC(context.Background(), "oidc", m.Issuer(), cfg.ClientID, cfg.ClientSecret, oidcRedirect, "com.example.app:/cb")
	if err != nil {
		t.Fatalf("socialauth.OIDC: %v", err)
	}
	p.OAuth2.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	return m, p
}

// ghLogin posts an access token to github/.
func (s *socialEnv) ghLogin(token string, hdr ...string) resp {
	s.t.Helper()
	return s.do("POST", "/rest-auth/github/", map[string]any{"access_token": token}, hdr...)
}

// account returns the SocialAccount of (provider, uid), or nil.
func (s *socialEnv) account(provider, uid string) *models.SocialAccount {
	s.t.Helper()
	var rows []models.SocialAccount
	if err := s.db.Where("provider = ? AND uid = ?", provider, uid).Find(&rows).Error; err != nil {
		s.t.Fatal(err)
	}
	if len(rows) == 0 {
		return nil
	}
	return &rows[0]
}

// noRedirect is a client that returns redirects instead of following
// them (to read the code from the provider's redirect).
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorizeAtProvider follows an authorization URL at mockoidc and
// returns the code and state it redirects back with.
func authorizeAtProvider(t testing.TB, authURL string) (code, state string, redirect *url.URL) {
	t.Helper()
	res, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("code"), loc.Query().Get("state"), loc
}

// list returns socialaccounts/ decoded.
func (s *socialEnv) list(key string) []map[string]any {
	s.t.Helper()
	r := s.do("GET", "/rest-auth/socialaccounts/", nil, tokenHeader(key)...)
	expect(s.t, r, 200)
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		s.t.Fatalf("list: %v (%s)", err, r.Raw)
	}
	return out
}

func idOf(m map[string]any) string { return strconv.Itoa(int(m["id"].(float64))) }

// mockUser is a mockoidc user.
func mockUser(sub, email string, verified bool) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: sub, Email: email, EmailVerified: verified, PreferredUsername: sub}
}

// oidcFlow runs authorize/ (JSON), the provider's authorization as user,
// and returns the code, the state and the flow cookie.
func (s *socialEnv) oidcFlow(t testing.TB, user *mockoidc.MockUser) (code, state, cookie string) {
	t.Helper()
	r := s.do("GET", "/rest-auth/oidc/authorize/", nil, "Accept", "application/json")
	expect(t, r, 200)
	cookie = cookieValue(setCookies(r)["__Host-restauth_social_flow"])
	if cookie == "" {
		t.Fatalf("no flow cookie: %v", r.Header)
	}
	s.m.QueueUser(user)
	code, state, _ = authorizeAtProvider(t, r.str("authorization_url"))
	if state != r.str("state") {
		t.Fatalf("state %q came back as %q", r.str("state"), state)
	}
	return code, state, cookie
}

// oidcLogin logs user in through the OIDC provider (authorize flow, then
// POST oidc/ with code and state).
func (s *socialEnv) oidcLogin(t testing.TB, user *mockoidc.MockUser) resp {
	t.Helper()
	code, state, cookie := s.oidcFlow(t, user)
	return s.do("POST", "/rest-auth/oidc/", map[string]any{"code": code, "state": state}, "Cookie", "__Host-restauth_social_flow="+cookie)
}

// oidcConnect connects user's OIDC identity to the caller (auth header).
func (s *socialEnv) oidcConnect(t testing.TB, auth []string, user *mockoidc.MockUser) resp {
	t.Helper()
	code, state, cookie := s.oidcFlow(t, user)
	return s.do("POST", "/rest-auth/oidc/connect/", map[string]any{"code": code, "state": state}, append(auth, "Cookie", "__Host-restauth_social_flow="+cookie)...)
}

// listWith returns socialaccounts/ for the auth header.
func (s *socialEnv) listWith(auth []string) []map[string]any {
	s.t.Helper()
	r := s.do("GET", "/rest-auth/socialaccounts/", nil, auth...)
	expect(s.t, r, 200)
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.Raw), &out); err != nil {
		s.t.Fatalf("list: %v (%s)", err, r.Raw)
	}
	return out
}
