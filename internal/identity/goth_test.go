package identity_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/github"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// fakeGoth is a test double of a goth provider: it records the sessions
// it is asked to decode and answers FetchUser and Authorize with funcs.
type fakeGoth struct {
	mu        sync.Mutex
	sessions  []string
	fetches   int
	unmarshal func(data string) (goth.Session, error)
	fetch     func(s *fakeSession) (goth.User, error)
	authorize func(params goth.Params) (string, error)
}

func (f *fakeGoth) Name() string                               { return "fake" }
func (f *fakeGoth) SetName(string)                             {}
func (f *fakeGoth) BeginAuth(string) (goth.Session, error)     { return nil, errors.New("not used") }
func (f *fakeGoth) Debug(bool)                                 {}
func (f *fakeGoth) RefreshTokenAvailable() bool                { return false }
func (f *fakeGoth) RefreshToken(string) (*oauth2.Token, error) { return nil, errors.New("not used") }

func (f *fakeGoth) UnmarshalSession(data string) (goth.Session, error) {
	f.mu.Lock()
	f.sessions = append(f.sessions, data)
	f.mu.Unlock()
	if f.unmarshal != nil {
		return f.unmarshal(data)
	}
	s := &fakeSession{f: f}
	return s, json.Unmarshal([]byte(data), &s.Data)
}

func (f *fakeGoth) FetchUser(s goth.Session) (goth.User, error) {
	f.mu.Lock()
	f.fetches++
	f.mu.Unlock()
	return f.fetch(s.(*fakeSession))
}

func (f *fakeGoth) sessionsSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sessions...)
}

func (f *fakeGoth) fetchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches
}

type fakeSession struct {
	f          *fakeGoth
	Data       map[string]any
	Authorized string
}

func (s *fakeSession) GetAuthURL() (string, error) { return "", errors.New("not used") }
func (s *fakeSession) Marshal() string             { return "" }
func (s *fakeSession) Authorize(_ goth.Provider, params goth.Params) (string, error) {
	tok, err := s.f.authorize(params)
	s.Authorized = tok
	return tok, err
}

func userOK(u goth.User) func(*fakeSession) (goth.User, error) {
	return func(s *fakeSession) (goth.User, error) {
		if at, ok := s.Data["AccessToken"].(string); ok {
			u.AccessToken = at
		}
		return u, nil
	}
}

// TestAccessTokenGoth covers the access_token flow through goth: the
// session shape, CheckAccessToken, recovered panics, uid limits and the
// verified-email rule.
func TestAccessTokenGoth(t *testing.T) {
	t.Parallel()
	profile := goth.User{
		UserID: "u-1", Email: "ann@example.com", NickName: "ann", Name: "Ann Marie Lee", Provider: "google",
		RawData: map[string]any{"id": "u-1", "verified_email": true},
	}
	with := func(mod func(*goth.User)) goth.User {
		u := profile
		u.RawData = map[string]any{}
		for k, v := range profile.RawData {
			u.RawData[k] = v
		}
		mod(&u)
		return u
	}
	errCheck := errors.New("token issued to another app")
	cases := []struct {
		name      string
		fg        *fakeGoth
		check     func(ctx context.Context, hc *http.Client, tok string) error
		verified  func(ctx context.Context, hc *http.Client, u goth.User) (bool, error)
		want      error
		fetches   int
		inspectID func(t *testing.T, id social.Identity)
		logHas    string
	}{
		{name: "profile", fg: &fakeGoth{fetch: userOK(profile)}, fetches: 1, inspectID: func(t *testing.T, id social.Identity) {
			if id.UID != "u-1" || id.Email != "ann@example.com" || !id.EmailVerified || id.Username != "ann" ||
				id.FirstName != "Ann" || id.LastName != "Marie Lee" || id.Token != "at-1" || id.User.AccessToken != "at-1" {
				t.Fatalf("identity = %+v", id)
			}
			if !reflect.DeepEqual(id.ExtraData, profile.RawData) {
				t.Fatalf("ExtraData = %v", id.ExtraData)
			}
		}},
		{name: "first and last name win over Name", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.FirstName, u.LastName = "A", "L" }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if id.FirstName != "A" || id.LastName != "L" {
					t.Fatalf("names = %q %q", id.FirstName, id.LastName)
				}
			}},
		{name: "RawData nil gives empty ExtraData", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.RawData = nil }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if id.ExtraData == nil || len(id.ExtraData) != 0 || id.EmailVerified {
					t.Fatalf("ExtraData = %#v verified=%v", id.ExtraData, id.EmailVerified)
				}
			}},
		{name: "email_verified \"true\"", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.RawData = map[string]any{"email_verified": "true"} }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if !id.EmailVerified {
					t.Fatal("not verified")
				}
			}},
		{name: "discord verified", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.Provider = "discord"; u.RawData = map[string]any{"verified": true} }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if !id.EmailVerified {
					t.Fatal("not verified")
				}
			}},
		{name: "no verification in RawData", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.RawData = map[string]any{"verified": true} }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if id.EmailVerified {
					t.Fatal("verified without a verification flag of the provider")
				}
			}},
		{name: "verified flag but no email", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.Email = "" }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if id.EmailVerified || id.Email != "" {
					t.Fatal("an empty email is verified")
				}
			}},
		{name: "Provider.VerifiedEmail decides", fetches: 1, fg: &fakeGoth{fetch: userOK(profile)},
			verified: func(context.Context, *http.Client, goth.User) (bool, error) { return false, nil },
			inspectID: func(t *testing.T, id social.Identity) {
				if id.EmailVerified {
					t.Fatal("VerifiedEmail ignored")
				}
			}},
		{name: "Provider.VerifiedEmail error", fetches: 1, fg: &fakeGoth{fetch: userOK(profile)},
			verified: func(context.Context, *http.Client, goth.User) (bool, error) {
				return false, errors.New("emails API down")
			},
			want: social.ErrIncorrectValue},
		{name: "Provider.VerifiedEmail panics", fetches: 1, fg: &fakeGoth{fetch: userOK(profile)},
			verified: func(context.Context, *http.Client, goth.User) (bool, error) { panic("boom") },
			want:     social.ErrIncorrectValue, logHas: "panicked"},
		{name: "FetchUser panics", fetches: 1, want: social.ErrIncorrectValue, logHas: "level=ERROR",
			fg: &fakeGoth{fetch: func(*fakeSession) (goth.User, error) {
				var m map[string]any
				return goth.User{Name: m["name"].(string)}, nil
			}}},
		{name: "FetchUser error quoting the token in a URL", fetches: 1, want: social.ErrIncorrectValue, logHas: "[redacted]",
			fg: &fakeGoth{fetch: func(*fakeSession) (goth.User, error) {
				return goth.User{}, errors.New(`Get "https://www.googleapis.com/oauth2/v2/userinfo?access_token=at-1": timeout`)
			}}},
		{name: "CheckAccessToken error quoting the token", want: social.ErrIncorrectValue, logHas: "[redacted]",
			fg: &fakeGoth{fetch: userOK(profile)},
			check: func(_ context.Context, _ *http.Client, tok string) error {
				return errors.New("tokeninfo?access_token=" + tok + ": 400")
			}},
		{name: "FetchUser error", fetches: 1, want: social.ErrIncorrectValue,
			fg: &fakeGoth{fetch: func(*fakeSession) (goth.User, error) { return goth.User{}, errors.New("401 from profile API") }}},
		{name: "UnmarshalSession panics", want: social.ErrIncorrectValue, logHas: "UnmarshalSession",
			fg: &fakeGoth{unmarshal: func(string) (goth.Session, error) { panic("bad session") }, fetch: userOK(profile)}},
		{name: "UnmarshalSession error", want: social.ErrIncorrectValue,
			fg: &fakeGoth{unmarshal: func(string) (goth.Session, error) { return nil, errors.New("bad json") }, fetch: userOK(profile)}},
		{name: "uid empty", fetches: 1, want: social.ErrIncorrectValue,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.UserID = "" }))}},
		{name: "uid 192 characters", fetches: 1, want: social.ErrIncorrectValue,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.UserID = strings.Repeat("9", 192) }))}},
		{name: "uid 191 characters", fetches: 1,
			fg: &fakeGoth{fetch: userOK(with(func(u *goth.User) { u.UserID = strings.Repeat("9", 191) }))},
			inspectID: func(t *testing.T, id social.Identity) {
				if len(id.UID) != 191 {
					t.Fatal("uid changed")
				}
			}},
		{name: "CheckAccessToken refuses: FetchUser not called", want: social.ErrIncorrectValue,
			fg:    &fakeGoth{fetch: userOK(profile)},
			check: func(context.Context, *http.Client, string) error { return errCheck }},
		{name: "CheckAccessToken panics", want: social.ErrIncorrectValue, logHas: "CheckAccessToken",
			fg:    &fakeGoth{fetch: userOK(profile)},
			check: func(context.Context, *http.Client, string) error { panic("nil map") }},
		{name: "CheckAccessToken accepts", fetches: 1,
			fg:    &fakeGoth{fetch: userOK(profile)},
			check: func(context.Context, *http.Client, string) error { return nil }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			p := &socialauth.Provider{Name: "fake-p", Goth: c.fg, VerifiedEmail: c.verified}
			var checked atomic.Int32
			if c.check != nil {
				p.CheckAccessToken = func(ctx context.Context, hc *http.Client, tok string) error {
					checked.Add(1)
					if hc != e.client || tok != "at-1" {
						t.Errorf("CheckAccessToken got client %p token %q", hc, tok)
					}
					return c.check(ctx, hc, tok)
				}
			}
			id, err := e.v.Resolve(context.Background(), p, identity.Request{AccessToken: "at-1"})
			if c.want != nil {
				wantRefusal(t, err, c.want)
			} else if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if n := c.fg.fetchCount(); n != c.fetches {
				t.Fatalf("FetchUser called %d times, want %d", n, c.fetches)
			}
			if c.check != nil && checked.Load() != 1 {
				t.Fatalf("CheckAccessToken called %d times", checked.Load())
			}
			if s := c.fg.sessionsSeen(); len(s) > 0 && s[0] != `{"AccessToken":"at-1","access_token":"at-1","at":"at-1"}` {
				t.Fatalf("session JSON = %s", s[0])
			}
			logs := e.log.String()
			if c.logHas != "" && (!strings.Contains(logs, c.logHas) || !strings.Contains(logs, "provider=fake-p")) {
				t.Fatalf("log lacks %q and the provider name:\n%s", c.logHas, logs)
			}
			if strings.Contains(logs, "at-1") {
				t.Fatal("access token logged")
			}
			if c.inspectID != nil {
				c.inspectID(t, id)
			}
		})
	}
}

func TestOAuth1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var got map[string]any
	fg := &fakeGoth{
		unmarshal: func(data string) (goth.Session, error) {
			s := &fakeSession{}
			err := json.Unmarshal([]byte(data), &got)
			return s, err
		},
		fetch: func(*fakeSession) (goth.User, error) {
			return goth.User{UserID: "tw-1", NickName: "jack", Name: "Jack D", Provider: "twitter"}, nil
		},
	}
	p := &socialauth.Provider{Name: "twitter", Goth: fg, OAuth1: true}
	e := newEnv(t)
	id := mustResolve(t, e.v, ctx, p, identity.Request{AccessToken: "tok", TokenSecret: "sec"})
	want := map[string]any{"AccessToken": map[string]any{"Token": "tok", "Secret": "sec"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("session = %v, want %v", got, want)
	}
	if id.UID != "tw-1" || id.Token != "tok" || id.Secret != "sec" || id.Username != "jack" || id.EmailVerified {
		t.Fatalf("identity = %+v", id)
	}
	for name, r := range map[string]identity.Request{
		"secret missing": {AccessToken: "tok"},
		"code":           {Code: "c"},
		"id_token":       {IDToken: "x.y.z"},
	} {
		if _, err := e.v.Resolve(ctx, p, r); !errors.Is(err, social.ErrIncorrectInput) {
			t.Errorf("%s: err = %v, want E1", name, err)
		}
	}
	if fg.fetchCount() != 1 {
		t.Fatalf("FetchUser called %d times, want 1", fg.fetchCount())
	}
}

// TestIncorrectInput: requests without a usable credential for the
// provider answer E1 without calling anything.
func TestIncorrectInput(t *testing.T) {
	t.Parallel()
	fg := &fakeGoth{fetch: userOK(goth.User{UserID: "x"})}
	oidcOnly := &socialauth.Provider{Name: "apple", OIDC: &socialauth.OIDCConfig{Issuer: "http://127.0.0.1:1/none", Audiences: []string{"a"}}}
	gothOnly := &socialauth.Provider{Name: "gh", Goth: fg}
	cases := []struct {
		name string
		p    *socialauth.Provider
		r    identity.Request
	}{
		{"empty request", gothOnly, identity.Request{}},
		{"only a nonce and verifier", gothOnly, identity.Request{Nonce: "n", CodeVerifier: "v", RedirectURI: redirectWeb}},
		{"access_token without Goth", oidcOnly, identity.Request{AccessToken: "at"}},
		{"access_token without Goth, no OIDC either", &socialauth.Provider{Name: "x"}, identity.Request{AccessToken: "at"}},
		{"id_token without OIDC", gothOnly, identity.Request{IDToken: "a.b.c"}},
		{"code without OAuth2 nor Goth", &socialauth.Provider{Name: "x", RedirectURIs: []string{redirectWeb}}, identity.Request{Code: "c"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			_, err := e.v.Resolve(context.Background(), c.p, c.r)
			wantRefusal(t, err, social.ErrIncorrectInput)
		})
	}
	t.Cleanup(func() {
		if fg.fetchCount() != 0 || len(fg.sessionsSeen()) != 0 {
			t.Error("goth was called for a refused request")
		}
	})
	if _, err := identity.New(nil, nil, nil, nil).Resolve(context.Background(), nil, identity.Request{AccessToken: "x"}); err == nil || isVerr(err) {
		t.Errorf("nil provider: err = %v, want a plain error", err)
	}
}

// TestCodeThroughGothAuthorize: without OAuth2, codes go through goth's
// Session.Authorize, guarded like the other goth calls.
func TestCodeThroughGothAuthorize(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("fake provider", func(t *testing.T) {
		t.Parallel()
		var params goth.Params
		fg := &fakeGoth{
			authorize: func(p goth.Params) (string, error) { params = p; return "exchanged", nil },
			fetch: func(s *fakeSession) (goth.User, error) {
				if s.Authorized != "exchanged" {
					return goth.User{}, errors.New("FetchUser before Authorize")
				}
				return goth.User{UserID: "f-1", AccessToken: s.Authorized, RefreshToken: "rt"}, nil
			},
		}
		p := &socialauth.Provider{Name: "fake-p", Goth: fg, RedirectURIs: []string{redirectWeb, redirectNative}}
		e := newEnv(t)
		id := mustResolve(t, e.v, ctx, p, identity.Request{Code: "the-code", CodeVerifier: "ver", RedirectURI: redirectNative})
		if id.UID != "f-1" || id.Token != "exchanged" || id.Secret != "rt" {
			t.Fatalf("identity = %+v", id)
		}
		if params.Get("code") != "the-code" || params.Get("code_verifier") != "ver" || params.Get("redirect_uri") != redirectNative {
			t.Fatalf("Authorize params = %v", params)
		}
		if s := fg.sessionsSeen(); len(s) != 1 || s[0] != "{}" {
			t.Fatalf("sessions = %v", s)
		}
	})
	for _, c := range []struct {
		name      string
		authorize func(goth.Params) (string, error)
		redirect  string
	}{
		{"Authorize panics", func(goth.Params) (string, error) { panic("type assertion") }, ""},
		{"Authorize fails", func(goth.Params) (string, error) { return "", errors.New("bad code") }, ""},
		{"redirect_uri not registered", func(goth.Params) (string, error) { return "x", nil }, "https://evil.example.com/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			fg := &fakeGoth{
				authorize: func(p goth.Params) (string, error) { calls.Add(1); return c.authorize(p) },
				fetch:     userOK(goth.User{UserID: "f-1"}),
			}
			p := &socialauth.Provider{Name: "fake-p", Goth: fg, RedirectURIs: []string{redirectWeb}}
			e := newEnv(t)
			_, err := e.v.Resolve(ctx, p, identity.Request{Code: "c", RedirectURI: c.redirect})
			wantRefusal(t, err, social.ErrExchange)
			if fg.fetchCount() != 0 {
				t.Fatal("FetchUser called after a failed exchange")
			}
			if c.redirect != "" && calls.Load() != 0 {
				t.Fatal("Authorize called with an unregistered redirect_uri")
			}
		})
	}

	t.Run("goth github against a loopback GitHub", func(t *testing.T) {
		t.Parallel()
		var tokenCalls atomic.Int32
		gh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/login/oauth/access_token":
				tokenCalls.Add(1)
				_ = r.ParseForm()
				if r.Form.Get("code") != "gh-code" {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = w.Write([]byte(`{"error":"bad_verification_code"}`))
					return
				}
				_, _ = w.Write([]byte(`{"access_token":"gh-at","token_type":"bearer","scope":"read:user"}`))
			case "/user":
				if r.Header.Get("Authorization") != "Bearer gh-at" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_, _ = w.Write([]byte(`{"id":4242,"login":"octo","name":"Octo Cat","email":"octo@example.com"}`))
			default:
				w.WriteHeader(http.StatusNotFound)
			}
		}))
		t.Cleanup(gh.Close)
		gp := github.NewCustomisedURL("gh-id", "gh-secret", redirectWeb,
			gh.URL+"/login/oauth/authorize", gh.URL+"/login/oauth/access_token", gh.URL+"/user", gh.URL+"/user/emails")
		p := &socialauth.Provider{Name: "github", Goth: gp, RedirectURIs: []string{redirectWeb}}
		e := newEnv(t)
		id := mustResolve(t, e.v, ctx, p, identity.Request{Code: "gh-code"})
		if id.UID != "4242" || id.Username != "octo" || id.FirstName != "Octo" || id.LastName != "Cat" ||
			id.Email != "octo@example.com" || id.EmailVerified || id.Token != "gh-at" || id.ExtraData["login"] != "octo" {
			t.Fatalf("identity = %+v", id)
		}
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: "other-code"})
		wantRefusal(t, err, social.ErrExchange)
		if tokenCalls.Load() < 2 {
			t.Fatalf("token endpoint calls = %d", tokenCalls.Load())
		}
	})
}
