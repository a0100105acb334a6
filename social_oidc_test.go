package restauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// counting counts the requests a client sends to 127.0.0.1 (the
// provider) before passing them on.
type counting struct {
	n    atomic.Int64
	base http.RoundTripper
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// TestSocialAuthorize: restauth's authorize/ and callback/ flow
// (SOCIAL.md §4.7.2) against mockoidc.
func TestSocialAuthorize(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		t.Run("authorization URL", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, true, nil)
			// A redirect_uri outside the provider's RedirectURIs starts no
			// flow.
			r := s.do("GET", "/rest-auth/oidc/authorize/?redirect_uri=https://evil.example/", nil, "Accept", "application/json")
			expectField(t, r, "redirect_uri", "This redirect URI is not registered for this provider.")
			if len(setCookies(r)) != 0 || s.count(&models.SocialAuthorization{}) != 0 {
				t.Fatalf("refused authorize set %v", setCookies(r))
			}
			// Another registered one is used as asked.
			r = s.do("GET", "/rest-auth/oidc/authorize/?redirect_uri=com.example.app:/cb", nil, "Accept", "application/json")
			expect(t, r, 200)
			if au, _ := url.Parse(r.str("authorization_url")); au == nil || au.Query().Get("redirect_uri") != "com.example.app:/cb" {
				t.Fatalf("authorization_url %q", r.str("authorization_url"))
			}
			r = s.do("GET", "/rest-auth/oidc/authorize/?state=attacker&next=https://evil.example/", nil, "Accept", "application/json")
			expect(t, r, 200)
			if r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("Cache-Control %q", r.Header.Get("Cache-Control"))
			}
			au, err := url.Parse(r.str("authorization_url"))
			if err != nil || !strings.HasPrefix(r.str("authorization_url"), s.m.AuthorizationEndpoint()) {
				t.Fatalf("authorization_url %q", r.str("authorization_url"))
			}
			q := au.Query()
			state := r.str("state")
			if q.Get("state") != state || len(state) < 32 || state == "attacker" {
				t.Fatalf("state %q in %v", state, q)
			}
			if q.Get("redirect_uri") != oidcRedirect || q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 ||
				q.Get("nonce") == "" || q.Get("client_id") != s.m.ClientID || !strings.Contains(q.Get("scope"), "openid") {
				t.Fatalf("authorization parameters %v", q)
			}
			line := setCookies(r)["__Host-restauth_social_flow"]
			if !strings.Contains(line, "HttpOnly") || !strings.Contains(line, "SameSite=Lax") || !strings.Contains(line, "Secure") {
				t.Fatalf("flow cookie %q", line)
			}
			// Each flow has its own state; the browser keeps its cookie.
			r2 := s.do("GET", "/rest-auth/oidc/authorize/", nil, "Accept", "application/json", "Cookie", "__Host-restauth_social_flow="+cookieValue(line))
			if r2.str("state") == state || cookieValue(setCookies(r2)["__Host-restauth_social_flow"]) != cookieValue(line) {
				t.Fatalf("second flow: state %q, cookie %q", r2.str("state"), setCookies(r2)["__Host-restauth_social_flow"])
			}
			// Without Accept: JSON, a redirect to the provider.
			raw := s.do("GET", "/rest-auth/oidc/authorize", nil)
			if raw.Code != http.StatusFound || !strings.HasPrefix(raw.Header.Get("Location"), s.m.AuthorizationEndpoint()) {
				t.Fatalf("redirect %d %q", raw.Code, raw.Header.Get("Location"))
			}
		})
		t.Run("state", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, true, nil)
			code, state, cookie := s.oidcFlow(t, mockUser("sub-1", "one@example.com", true))
			post := func(body map[string]any, cookieVal string) resp {
				hdr := []string{}
				if cookieVal != "" {
					hdr = append(hdr, "Cookie", "__Host-restauth_social_flow="+cookieVal)
				}
				return s.do("POST", "/rest-auth/oidc/", body, hdr...)
			}
			other := strings.Repeat("ab", 32)
			const bad = "Invalid or expired authorization state."
			// Another browser, no cookie, a made-up state: 400, no key.
			expectField(t, post(map[string]any{"code": code, "state": "x" + state}, cookie), "non_field_errors", bad)
			expectField(t, post(map[string]any{"code": code, "state": state}, other), "non_field_errors", bad)
			// The flow was consumed by the wrong browser's attempt.
			expectField(t, post(map[string]any{"code": code, "state": state}, cookie), "non_field_errors", bad)
			if n := s.count(&Customer{}); n != 0 {
				t.Fatalf("%d users", n)
			}
			code, state, cookie = s.oidcFlow(t, mockUser("sub-1", "one@example.com", true))
			expectField(t, post(map[string]any{"code": code, "state": state}, ""), "non_field_errors", bad)
			code, state, cookie = s.oidcFlow(t, mockUser("sub-1", "one@example.com", true))
			r := post(map[string]any{"code": code, "state": state, "code_verifier": "ignored", "redirect_uri": "https://evil.example/"}, cookie)
			expect(t, r, 200)
			acct := s.account("oidc", "sub-1")
			if acct == nil || acct.ExtraData["email"] != "one@example.com" {
				t.Fatalf("account %+v", acct)
			}
			var addr models.EmailAddress
			if err := s.db.Where("user_id = ?", acct.UserID).First(&addr).Error; err != nil || !addr.Verified {
				t.Fatalf("address %+v %v", addr, err)
			}
			// Used once.
			expectField(t, post(map[string]any{"code": code, "state": state}, cookie), "non_field_errors", bad)
			// A state without a code is no input.
			expectField(t, post(map[string]any{"state": state}, cookie), "non_field_errors", msgIncorrectInput)
		})
		t.Run("callback, token mode", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, true, nil)
			code, state, cookie := s.oidcFlow(t, mockUser("sub-2", "two@example.com", true))
			r := s.do("GET", "/rest-auth/oidc/callback?code="+code+"&state="+state, nil, "Cookie", "__Host-restauth_social_flow="+cookie)
			expect(t, r, 200)
			if r.str("key") == "" {
				t.Fatalf("callback body %s", r.Raw)
			}
			r = s.do("GET", "/rest-auth/oidc/callback/?code="+code+"&state="+state, nil, "Cookie", "__Host-restauth_social_flow="+cookie)
			expectField(t, r, "non_field_errors", "Invalid or expired authorization state.")
			r = s.do("GET", "/rest-auth/oidc/callback/?error=access_denied", nil)
			expect(t, r, 400)
		})
		t.Run("callback, JWT cookies", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), true, true, func(c *restauth.Config) {
				c.JWT.Cookie = "app-auth"
				c.JWT.Secure = true
				c.Social.LoginRedirectURL = "https://app.example/welcome"
			})
			code, state, cookie := s.oidcFlow(t, mockUser("sub-3", "three@example.com", true))
			r := s.do("GET", "/rest-auth/oidc/callback/?code="+code+"&state="+state+"&next=https://evil.example/", nil, "Cookie", "__Host-restauth_social_flow="+cookie)
			if r.Code != http.StatusFound || r.Header.Get("Location") != "https://app.example/welcome" {
				t.Fatalf("callback %d to %q", r.Code, r.Header.Get("Location"))
			}
			access := cookieValue(setCookies(r)["app-auth"])
			if access == "" {
				t.Fatalf("no access cookie: %v", r.Header.Values("Set-Cookie"))
			}
			me := s.do("GET", "/rest-auth/user/", nil, "Cookie", "app-auth="+access)
			if me.str("email") != "three@example.com" {
				t.Fatalf("user/ with the cookie: %s", me.Raw)
			}
			// Errors go to the same fixed URL, with a code.
			r = s.do("GET", "/rest-auth/oidc/callback/?code="+code+"&state="+state+"&next=https://evil.example/", nil, "Cookie", "__Host-restauth_social_flow="+cookie)
			if r.Code != http.StatusFound || r.Header.Get("Location") != "https://app.example/welcome?error=invalid_state" {
				t.Fatalf("failed callback %d to %q", r.Code, r.Header.Get("Location"))
			}
			if setCookies(r)["app-auth"] != "" {
				t.Fatal("failed callback set the access cookie")
			}
		})
	})
}

// TestSocialOIDCClientFlows: codes the client obtained itself (with its
// own PKCE) and id_tokens, against mockoidc.
func TestSocialOIDCClientFlows(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		calls := &counting{}
		s := newSocialEnv(t, db, false, true, func(c *restauth.Config) {
			calls.base = c.Social.HTTPClient.Transport
			c.Social.HTTPClient = &http.Client{Transport: calls}
		})
		oc := *s.oidc.OAuth2
		oc.RedirectURL = oidcRedirect
		// clientCode runs the authorization as a client app would, with
		// its own verifier and nonce.
		clientCode := func(user *mockoidc.MockUser, verifier, nonce string) string {
			s.m.QueueUser(user)
			code, _, _ := authorizeAtProvider(t, oc.AuthCodeURL("client-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce)))
			return code
		}
		post := func(body map[string]any) resp { return s.do("POST", "/rest-auth/oidc/", body) }
		verifier := oauth2.GenerateVerifier()

		code := clientCode(mockUser("c-1", "c1@example.com", true), verifier, "n-1")
		r := post(map[string]any{"code": code, "code_verifier": verifier, "redirect_uri": oidcRedirect, "nonce": "n-1"})
		expect(t, r, 200)
		if s.account("oidc", "c-1") == nil {
			t.Fatal("no account")
		}
		// Replayed code.
		expectField(t, post(map[string]any{"code": code, "code_verifier": verifier, "redirect_uri": oidcRedirect}), "non_field_errors", msgExchange)
		// Wrong verifier burns the code.
		code = clientCode(mockUser("c-2", "c2@example.com", true), verifier, "n-2")
		expectField(t, post(map[string]any{"code": code, "code_verifier": oauth2.GenerateVerifier()}), "non_field_errors", msgExchange)
		expectField(t, post(map[string]any{"code": code, "code_verifier": verifier}), "non_field_errors", msgExchange)
		// Missing verifier when a challenge was sent.
		code = clientCode(mockUser("c-3", "c3@example.com", true), verifier, "n-3")
		expectField(t, post(map[string]any{"code": code}), "non_field_errors", msgExchange)
		// A redirect_uri outside the allow-list: no call at all.
		before := calls.n.Load()
		expectField(t, post(map[string]any{"code": "anything", "redirect_uri": "https://evil.example/cb"}), "non_field_errors", msgExchange)
		if calls.n.Load() != before {
			t.Fatal("restauth called the provider for a redirect_uri outside the allow-list")
		}
		// The second allowed redirect URI (a native app's) is accepted.
		oc2 := oc
		oc2.RedirectURL = "com.example.app:/cb"
		s.m.QueueUser(mockUser("c-4", "c4@example.com", true))
		code, _, _ = authorizeAtProvider(t, oc2.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
		expect(t, post(map[string]any{"code": code, "code_verifier": verifier, "redirect_uri": "com.example.app:/cb"}), 200)
		// Token endpoint error: E2; userinfo error: E3.
		code = clientCode(mockUser("c-5", "c5@example.com", true), verifier, "n-5")
		s.m.QueueError(&mockoidc.ServerError{Code: http.StatusInternalServerError, Error: "server_error", Description: "down"})
		expectField(t, post(map[string]any{"code": code, "code_verifier": verifier}), "non_field_errors", msgExchange)

		// id_token alone, with its nonce: obtained by the test as a
		// native app would.
		idToken := func(sub, nonce string) (string, string) {
			c := clientCode(mockUser(sub, sub+"@example.com", true), verifier, nonce)
			tok, err := oc.Exchange(context.Background(), c, oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			it, _ := tok.Extra("id_token").(string)
			return it, tok.AccessToken
		}
		it, at := idToken("i-1", "nonce-1")
		expect(t, post(map[string]any{"id_token": it, "nonce": "nonce-1"}), 200)
		if s.account("oidc", "i-1") == nil {
			t.Fatal("no account for the id_token login")
		}
		// The same id_token again: replay.
		expectField(t, post(map[string]any{"id_token": it, "nonce": "nonce-1"}), "non_field_errors", msgIncorrectValue)
		it, at = idToken("i-2", "nonce-2")
		for _, body := range []map[string]any{
			{"id_token": it},                     // nonce required for OIDC id_token logins
			{"id_token": it, "nonce": "nonce-x"}, // wrong nonce
			{"id_token": at, "nonce": "nonce-2"}, // the access token is no id_token
		} {
			expectField(t, post(body), "non_field_errors", msgIncorrectValue)
		}
		if s.account("oidc", "i-2") != nil {
			t.Fatal("a refused id_token created an account")
		}
		// access_token + id_token: the id_token decides.
		expect(t, post(map[string]any{"access_token": at, "id_token": it, "nonce": "nonce-2"}), 200)
		if s.account("oidc", "i-2") == nil {
			t.Fatal("no account for the access_token + id_token login")
		}
	})
}

// TestSocialFormPostCallback: a provider that answers with a form POST
// (Apple's response_mode=form_post, here mockoidc marked FormPost): the
// authorization URL asks for it, the flow cookie is sent cross-site, the
// callback takes the POST (past the CSRF guard: its state and cookie
// protect it) and Apple's user field names the new user.
func TestSocialFormPostCallback(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, true, true, func(c *restauth.Config) {
			c.JWT.Cookie = "app-auth"
			c.JWT.Secure = true
			c.JWT.EnforceCSRFOnUnauthenticated = true
			c.Social.LoginRedirectURL = "/welcome"
			c.Social.Providers[1].FormPost = true
			c.Social.Providers[1].AcceptNames = true
		})
		r := s.do("GET", "/rest-auth/oidc/authorize/", nil, "Accept", "application/json")
		expect(t, r, 200)
		if !strings.Contains(r.str("authorization_url"), "response_mode=form_post") {
			t.Fatalf("authorization_url %q", r.str("authorization_url"))
		}
		line := setCookies(r)["__Host-restauth_social_flow"]
		if !strings.Contains(line, "SameSite=None") || !strings.Contains(line, "Secure") {
			t.Fatalf("flow cookie %q", line)
		}
		s.m.QueueUser(mockUser("apple-1", "", false))
		code, state, _ := authorizeAtProvider(t, r.str("authorization_url"))
		form := url.Values{"code": {code}, "state": {state}, "user": {`{"name":{"firstName":"Ada","lastName":"Lovelace"}}`}}
		res := s.do("POST", "/rest-auth/oidc/callback/", form.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "Cookie", "__Host-restauth_social_flow="+cookieValue(line))
		if res.Code != http.StatusFound || res.Header.Get("Location") != "/welcome" || setCookies(res)["app-auth"] == "" {
			t.Fatalf("form POST callback %d to %q, cookies %v: %s", res.Code, res.Header.Get("Location"), res.Header.Values("Set-Cookie"), res.Raw)
		}
		acct := s.account("oidc", "apple-1")
		if acct == nil {
			t.Fatal("no account")
		}
		if u := s.reload(acct.UserID); u.FirstName != "Ada" || u.LastName != "Lovelace" {
			t.Fatalf("names %q %q", u.FirstName, u.LastName)
		}
		// Other unsafe routes still need the CSRF header.
		expect(t, s.do("POST", "/rest-auth/github/", map[string]any{"access_token": "x"}), 403)
		// A provider without FormPost takes no POST at its callback.
		expect(t, s.do("POST", "/rest-auth/github/callback/", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"), 405)
	})
}
