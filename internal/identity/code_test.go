package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/markbates/goth"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// userinfoOverride answers /oidc/userinfo with body (status 200) when
// set; with queueError it queues a mockoidc error for that call instead.
type userinfoOverride struct {
	m          atomic.Pointer[mockoidc.MockOIDC]
	body       string
	queueError bool
}

func (o *userinfoOverride) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.UserinfoEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		if o.queueError {
			o.m.Load().QueueError(&mockoidc.ServerError{Code: http.StatusInternalServerError, Error: "server_error", Description: "userinfo down"})
			next.ServeHTTP(w, r)
			return
		}
		if o.body != "" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(o.body))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestCodeFlow covers SOCIAL.md §4.6.3 a–f against mockoidc.
func TestCodeFlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("a: code with S256 PKCE through restauth's authorize URL", func(t *testing.T) {
		t.Parallel()
		m, cnt := startMock(t)
		m.QueueUser(&mockoidc.MockUser{Subject: "sub-a", Email: "alice@example.com", EmailVerified: true, PreferredUsername: "alice"})
		p := oidcProvider(m)
		e := newEnv(t)
		verifier, nonce := oauth2.GenerateVerifier(), randomString(t)
		code := authorize(t, e.v, p, verifier, nonce, "")
		before := time.Now()
		id := mustResolve(t, e.v, ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: nonce, FromAuthorization: true})
		if id.UID != "sub-a" || id.Email != "alice@example.com" || !id.EmailVerified || id.Username != "alice" {
			t.Fatalf("identity = %+v", id)
		}
		if id.ExtraData["nonce"] != nonce || id.User.IDToken == "" || id.User.Provider != "oidc" {
			t.Fatalf("claims not kept: %v / %+v", id.ExtraData, id.User)
		}
		if id.Token == "" || id.Secret == "" || id.ExpiresAt == nil {
			t.Fatalf("tokens of the exchange not kept: token=%t secret=%t expires=%v", id.Token != "", id.Secret != "", id.ExpiresAt)
		}
		// mockoidc sends expires_in in nanoseconds, so only the
		// direction can be checked.
		if !id.ExpiresAt.After(before) || !id.User.ExpiresAt.Equal(*id.ExpiresAt) {
			t.Fatalf("ExpiresAt = %v, goth user's %v", id.ExpiresAt, id.User.ExpiresAt)
		}
		if id.User.AccessToken != id.Token || id.User.RefreshToken != id.Secret {
			t.Fatalf("goth user tokens differ from the identity's")
		}
		if cnt.get(mockoidc.TokenEndpoint) != 1 || cnt.get(mockoidc.UserinfoEndpoint) != 1 {
			t.Fatalf("token calls %d, userinfo calls %d, want 1 and 1", cnt.get(mockoidc.TokenEndpoint), cnt.get(mockoidc.UserinfoEndpoint))
		}
		if n := len(e.replay.entries()); n != 0 {
			t.Fatalf("an id_token from the token endpoint went to the replay store (%d)", n)
		}
		if strings.Contains(e.log.String(), id.Token) {
			t.Fatal("access token logged")
		}
	})

	t.Run("a: client-posted code, native redirect, no nonce, the nonce requirement does not apply", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		p.OIDC.AllowMissingNonce = false
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "app-nonce", redirectNative)
		id := mustResolve(t, e.v, ctx, p, identity.Request{Code: code, CodeVerifier: verifier, RedirectURI: redirectNative})
		if id.UID != mockoidc.DefaultUser().Subject {
			t.Fatalf("UID = %q", id.UID)
		}
	})

	t.Run("b: replayed code", func(t *testing.T) {
		t.Parallel()
		m, cnt := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		verifier, nonce := oauth2.GenerateVerifier(), randomString(t)
		code := authorize(t, e.v, p, verifier, nonce, "")
		r := identity.Request{Code: code, CodeVerifier: verifier, Nonce: nonce, FromAuthorization: true}
		mustResolve(t, e.v, ctx, p, r)
		_, err := e.v.Resolve(ctx, p, r)
		wantRefusal(t, err, social.ErrExchange)
		if cnt.get(mockoidc.TokenEndpoint) != 2 {
			t.Fatalf("token calls = %d, want 2", cnt.get(mockoidc.TokenEndpoint))
		}
		if !strings.Contains(e.log.String(), "invalid_grant") {
			t.Fatalf("RetrieveError code not logged:\n%s", e.log.String())
		}
	})

	t.Run("c: wrong verifier burns the code", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "n", "")
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: oauth2.GenerateVerifier(), Nonce: "n"})
		wantRefusal(t, err, social.ErrExchange)
		_, err = e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "n"})
		wantRefusal(t, err, social.ErrExchange)
	})

	t.Run("d: verifier missing after a challenge", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		code := authorize(t, e.v, p, oauth2.GenerateVerifier(), "n", "")
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, Nonce: "n"})
		wantRefusal(t, err, social.ErrExchange)
	})

	t.Run("e: token endpoint error", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "n", "")
		m.QueueError(&mockoidc.ServerError{Code: http.StatusBadRequest, Error: "redirect_uri_mismatch", Description: "bad redirect"})
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "n"})
		wantRefusal(t, err, social.ErrExchange)
		if logs := e.log.String(); !strings.Contains(logs, "redirect_uri_mismatch") || !strings.Contains(logs, "level=WARN") {
			t.Fatalf("RetrieveError not logged at Warn:\n%s", logs)
		}
	})

	userinfoCases := []struct {
		name string
		o    *userinfoOverride
		ok   bool
	}{
		{name: "e: userinfo error", o: &userinfoOverride{queueError: true}},
		{name: "userinfo sub differs", o: &userinfoOverride{body: `{"sub":"someone-else","email":"x@example.com"}`}},
		{name: "userinfo not JSON", o: &userinfoOverride{body: `<html>`}},
		{name: "userinfo JSON array", o: &userinfoOverride{body: `[1]`}},
		{name: "userinfo completes the claims (control)", o: &userinfoOverride{body: `{"sub":"sub-u","website":"https://w.example.com","email":"other@example.com"}`}, ok: true},
	}
	for _, c := range userinfoCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, cnt := startMock(t, c.o.middleware)
			c.o.m.Store(m)
			m.QueueUser(&mockoidc.MockUser{Subject: "sub-u", Email: "u@example.com", EmailVerified: true})
			p := oidcProvider(m)
			e := newEnv(t)
			verifier := oauth2.GenerateVerifier()
			code := authorize(t, e.v, p, verifier, "n", "")
			id, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "n", FromAuthorization: true})
			if cnt.get(mockoidc.UserinfoEndpoint) != 1 {
				t.Fatalf("userinfo calls = %d, want 1", cnt.get(mockoidc.UserinfoEndpoint))
			}
			if !c.ok {
				wantRefusal(t, err, social.ErrIncorrectValue)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.ExtraData["website"] != "https://w.example.com" {
				t.Fatalf("userinfo claim not merged: %v", id.ExtraData)
			}
			if id.Email != "u@example.com" || !id.EmailVerified {
				t.Fatalf("userinfo overrode the signed email: %q %v", id.Email, id.EmailVerified)
			}
		})
	}

	redirectCases := []struct {
		name, redirect string
		uris           []string
	}{
		{name: "f: redirect_uri outside RedirectURIs", redirect: "https://evil.example.com/cb"},
		{name: "f: redirect_uri with a trailing slash", redirect: redirectWeb + "/"},
		{name: "f: no RedirectURIs registered", uris: []string{}},
	}
	for _, c := range redirectCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, cnt := startMock(t)
			p := oidcProvider(m)
			e := newEnv(t)
			verifier := oauth2.GenerateVerifier()
			code := authorize(t, e.v, p, verifier, "n", "")
			if c.uris != nil {
				p.RedirectURIs = c.uris
			}
			_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, RedirectURI: c.redirect, Nonce: "n"})
			wantRefusal(t, err, social.ErrExchange)
			if n := cnt.get(mockoidc.TokenEndpoint); n != 0 {
				t.Fatalf("%d requests reached the token endpoint, want 0", n)
			}
		})
	}

	t.Run("token response without id_token for an OIDC provider", func(t *testing.T) {
		t.Parallel()
		m, cnt := startMock(t)
		p := oidcProvider(m)
		p.OAuth2.Scopes = []string{"email", "profile"}
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "n", "")
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier})
		wantRefusal(t, err, social.ErrIncorrectValue)
		if cnt.get(mockoidc.TokenEndpoint) != 1 {
			t.Fatal("the exchange did not happen")
		}
	})

	t.Run("nonce of the flow must match", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "nonce-a", "")
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "nonce-b", FromAuthorization: true})
		wantRefusal(t, err, social.ErrIncorrectValue)
	})

	t.Run("hashed nonce: accepted for client-posted codes, not for restauth's flow", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		e := newEnv(t)
		for _, fromAuth := range []bool{true, false} {
			verifier := oauth2.GenerateVerifier()
			code := authorize(t, e.v, p, verifier, sha256Hex("raw-nonce"), "")
			_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "raw-nonce", FromAuthorization: fromAuth})
			if fromAuth {
				wantRefusal(t, err, social.ErrIncorrectValue)
			} else if err != nil {
				t.Fatalf("client-posted code with hashed nonce: %v", err)
			}
		}
	})

	t.Run("ClientSecret func supplies the secret", func(t *testing.T) {
		t.Parallel()
		m, cnt := startMock(t)
		p := oidcProvider(m)
		p.OAuth2.ClientSecret = "stale"
		var mu sync.Mutex
		var calls int
		p.ClientSecret = func(now time.Time) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if time.Since(now) > time.Minute {
				return "", errors.New("not the Verifier's clock")
			}
			return m.ClientSecret, nil
		}
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "n", "")
		mustResolve(t, e.v, ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "n"})
		if calls != 1 {
			t.Fatalf("ClientSecret called %d times", calls)
		}
		if p.OAuth2.ClientSecret != "stale" {
			t.Fatal("the provider's config was modified")
		}
		p.ClientSecret = func(time.Time) (string, error) { return "", errors.New("key unreadable") }
		code = authorize(t, e.v, p, verifier, "n", "")
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: code, CodeVerifier: verifier, Nonce: "n"})
		wantRefusal(t, err, social.ErrExchange)
		if cnt.get(mockoidc.TokenEndpoint) != 1 {
			t.Fatalf("token calls = %d, want 1", cnt.get(mockoidc.TokenEndpoint))
		}
	})

	t.Run("OAuth2 without OIDC: goth profile with the exchanged token, no CheckAccessToken", func(t *testing.T) {
		t.Parallel()
		m, _ := startMock(t)
		p := oidcProvider(m)
		p.OIDC = nil
		var checks atomic.Int32
		p.CheckAccessToken = func(context.Context, *http.Client, string) error {
			checks.Add(1)
			return errors.New("would refuse")
		}
		fg := &fakeGoth{fetch: func(s *fakeSession) (goth.User, error) {
			at, _ := s.Data["AccessToken"].(string)
			return goth.User{UserID: "g-1", Email: "g@example.com", AccessToken: at, Provider: "fake"}, nil
		}}
		p.Goth = fg
		e := newEnv(t)
		verifier := oauth2.GenerateVerifier()
		code := authorize(t, e.v, p, verifier, "", "")
		id := mustResolve(t, e.v, ctx, p, identity.Request{Code: code, CodeVerifier: verifier})
		if id.UID != "g-1" || id.Token == "" || id.User.AccessToken != id.Token || id.Secret == "" || id.ExpiresAt == nil {
			t.Fatalf("identity = %+v", id)
		}
		if checks.Load() != 0 {
			t.Fatal("CheckAccessToken ran on a token restauth exchanged itself")
		}
		if s := fg.sessionsSeen(); len(s) != 1 || s[0] != `{"AccessToken":"`+id.Token+`","access_token":"`+id.Token+`","at":"`+id.Token+`"}` {
			t.Fatalf("sessions = %v", s)
		}
	})

	t.Run("OAuth2 without OIDC nor Goth", func(t *testing.T) {
		t.Parallel()
		m, cnt := startMock(t)
		p := oidcProvider(m)
		p.OIDC = nil
		e := newEnv(t)
		_, err := e.v.Resolve(ctx, p, identity.Request{Code: "c"})
		wantRefusal(t, err, social.ErrIncorrectInput)
		if cnt.get(mockoidc.TokenEndpoint) != 0 {
			t.Fatal("a code was exchanged for nothing")
		}
	})
}

// TestIDTokenFromTestSideExchange is §4.6.3 g: a real id_token posted
// alone with its nonce logs in once.
func TestIDTokenFromTestSideExchange(t *testing.T) {
	t.Parallel()
	m, _ := startMock(t)
	m.QueueUser(&mockoidc.MockUser{Subject: "sub-g", Email: "g@example.com", EmailVerified: true})
	p := oidcProvider(m)
	p.OIDC.AllowMissingNonce = false
	e := newEnv(t)
	raw := idTokenOf(t, exchangeInTest(t, p, "g-nonce"))
	id := mustResolve(t, e.v, context.Background(), p, identity.Request{IDToken: raw, Nonce: "g-nonce"})
	if id.UID != "sub-g" || !id.EmailVerified {
		t.Fatalf("identity = %+v", id)
	}
	_, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: raw, Nonce: "g-nonce"})
	wantRefusal(t, err, social.ErrIncorrectValue)
}

func TestAuthCodeURL(t *testing.T) {
	t.Parallel()
	m, _ := startMock(t)
	v := identity.New(nil, nil, nil, nil)
	verifier := oauth2.GenerateVerifier()

	p := oidcProvider(m)
	u, err := v.AuthCodeURL(p, "st-1", verifier, "no-1", redirectNative)
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	want := map[string]string{
		"client_id":             m.ClientID,
		"response_type":         "code",
		"state":                 "st-1",
		"redirect_uri":          redirectNative,
		"code_challenge":        oauth2.S256ChallengeFromVerifier(verifier),
		"code_challenge_method": "S256",
		"nonce":                 "no-1",
		"scope":                 "openid email profile",
	}
	for k, w := range want {
		if q.Get(k) != w {
			t.Errorf("%s = %q, want %q", k, q.Get(k), w)
		}
	}
	if q.Has("code_verifier") || strings.Contains(u, verifier) {
		t.Error("the verifier itself leaked into the URL")
	}
	if pu.Scheme+"://"+pu.Host+pu.Path != m.AuthorizationEndpoint() {
		t.Errorf("URL %s is not the authorization endpoint", u)
	}
	if p.OAuth2.RedirectURL != "" {
		t.Error("the provider's config was modified")
	}

	u, err = v.AuthCodeURL(p, "st-2", verifier, "no-2", "")
	if err != nil {
		t.Fatal(err)
	}
	if pu, _ := url.Parse(u); pu.Query().Get("redirect_uri") != redirectWeb {
		t.Errorf("default redirect_uri = %q, want the first RedirectURIs entry", pu.Query().Get("redirect_uri"))
	}

	plain := oidcProvider(m)
	plain.OIDC = nil
	u, err = v.AuthCodeURL(plain, "st", verifier, "ignored", "")
	if err != nil {
		t.Fatal(err)
	}
	if pu, _ := url.Parse(u); pu.Query().Has("nonce") {
		t.Error("nonce sent for a provider without OIDC")
	}

	noOAuth2 := oidcProvider(m)
	noOAuth2.OAuth2 = nil
	bad := []struct {
		name                             string
		p                                *socialauth.Provider
		state, verifier, nonce, redirect string
	}{
		{"no OAuth2", noOAuth2, "s", verifier, "n", ""},
		{"nil provider", nil, "s", verifier, "n", ""},
		{"redirect not registered", p, "s", verifier, "n", "https://evil.example.com/"},
		{"no state", p, "", verifier, "n", ""},
		{"no verifier", p, "s", "", "n", ""},
		{"OIDC without nonce", p, "s", verifier, "", ""},
	}
	for _, b := range bad {
		if _, err := v.AuthCodeURL(b.p, b.state, b.verifier, b.nonce, b.redirect); err == nil {
			t.Errorf("%s: no error", b.name)
		}
	}
}

func TestRedirectURI(t *testing.T) {
	t.Parallel()
	v := identity.New(nil, nil, nil, nil)
	p := &socialauth.Provider{RedirectURIs: []string{redirectWeb, redirectNative}}
	cases := []struct {
		p         *socialauth.Provider
		requested string
		want      string
		ok        bool
	}{
		{p, "", redirectWeb, true},
		{p, redirectWeb, redirectWeb, true},
		{p, redirectNative, redirectNative, true},
		{p, redirectWeb + "/", "", false},
		{p, strings.ToUpper(redirectWeb), "", false},
		{p, "https://evil.example.com/auth/callback", "", false},
		{&socialauth.Provider{}, "", "", false},
		{&socialauth.Provider{}, redirectWeb, "", false},
		{nil, "", "", false},
	}
	for _, c := range cases {
		got, ok := v.RedirectURI(c.p, c.requested)
		if got != c.want || ok != c.ok {
			t.Errorf("RedirectURI(%q) = %q, %v; want %q, %v", c.requested, got, ok, c.want, c.ok)
		}
	}
}
