package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	"github.com/golang-jwt/jwt/v5"
	"github.com/markbates/goth"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

var (
	otherKeyOnce sync.Once
	otherKey     *rsa.PrivateKey
)

// anotherKey is an RSA key that is not mockoidc's.
func anotherKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	otherKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		otherKey = k
	})
	return otherKey
}

func kidOf(t *testing.T, m *mockoidc.MockOIDC) string {
	t.Helper()
	kid, err := m.Keypair.KeyID()
	if err != nil {
		t.Fatal(err)
	}
	return kid
}

func claimsJSON(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestIDTokenChecks covers SOCIAL.md §4.6.4: every forged, foreign,
// stale or mismatched id_token is refused with E3 (each next to a valid
// control), no token reaches the logs and refused tokens are not
// recorded as used.
func TestIDTokenChecks(t *testing.T) {
	t.Parallel()
	type tokenFunc func(t *testing.T, m *mockoidc.MockOIDC) (idToken, accessToken string)
	signed := func(mod func(c jwt.MapClaims)) tokenFunc {
		return func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			c := baseClaims(t, m)
			if mod != nil {
				mod(c)
			}
			return sign(t, m, c), ""
		}
	}
	withAT := func(mod func(c jwt.MapClaims), at string) tokenFunc {
		return func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			raw, _ := signed(mod)(t, m)
			return raw, at
		}
	}
	mockAccessToken := func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
		return exchangeInTest(t, oidcProvider(m), "flow-nonce").AccessToken, ""
	}
	requireNonce := func(p *socialauth.Provider) { p.OIDC.AllowMissingNonce = false }

	cases := []struct {
		name    string
		mockCfg func(*mockoidc.MockOIDC)
		mod     func(*socialauth.Provider)
		token   tokenFunc
		nonce   string
		ok      bool
	}{
		{name: "valid token (control)", token: signed(nil), ok: true},
		{name: "signature flipped", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			raw, _ := signed(nil)(t, m)
			parts := strings.Split(raw, ".")
			sig := []byte(parts[2])
			i := len(sig) / 2
			if sig[i] == 'A' {
				sig[i] = 'B'
			} else {
				sig[i] = 'A'
			}
			return parts[0] + "." + parts[1] + "." + string(sig), ""
		}},
		{name: "signed by another key with mockoidc's kid", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return oidctest.SignIDToken(anotherKey(t), kidOf(t, m), oidc.RS256, claimsJSON(t, baseClaims(t, m))), ""
		}},
		{name: "signed by another key with an unknown kid", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return oidctest.SignIDToken(anotherKey(t), "unknown-kid", oidc.RS256, claimsJSON(t, baseClaims(t, m))), ""
		}},
		{name: "alg none", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(claimsJSON(t, baseClaims(t, m))) + ".", ""
		}},
		{name: "HS256 keyed with the public key (PEM)", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			der, err := x509.MarshalPKIXPublicKey(m.Keypair.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, baseClaims(t, m))
			tok.Header["kid"] = kidOf(t, m)
			s, err := tok.SignedString(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
			if err != nil {
				t.Fatal(err)
			}
			return s, ""
		}},
		{name: "HS256 keyed with the public JWKS", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			jwks, err := m.Keypair.JWKS()
			if err != nil {
				t.Fatal(err)
			}
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, baseClaims(t, m))
			tok.Header["kid"] = kidOf(t, m)
			s, err := tok.SignedString(jwks)
			if err != nil {
				t.Fatal(err)
			}
			return s, ""
		}},
		{name: "unsigned forged token with correct iss, aud, exp", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			h := b64(`{"alg":"RS256","kid":"` + kidOf(t, m) + `"}`)
			return h + "." + b64(claimsJSON(t, baseClaims(t, m))) + ".Z2FyYmFnZQ", ""
		}},
		{name: "forged token with an empty signature", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			h := b64(`{"alg":"RS256","kid":"` + kidOf(t, m) + `"}`)
			return h + "." + b64(claimsJSON(t, baseClaims(t, m))) + ".", ""
		}},
		{name: "not a JWT", token: func(*testing.T, *mockoidc.MockOIDC) (string, string) { return "not-a-jwt", "" }},
		{name: "aud another client", token: signed(func(c jwt.MapClaims) { c["aud"] = "another-client" })},
		{name: "several aud without azp", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return signed(func(c jwt.MapClaims) { c["aud"] = []string{m.ClientID, "another-client"} })(t, m)
		}},
		{name: "several aud with azp another client", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return signed(func(c jwt.MapClaims) {
				c["aud"] = []string{m.ClientID, "another-client"}
				c["azp"] = "another-client"
			})(t, m)
		}},
		{name: "several aud with azp ours (control)", ok: true, token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			return signed(func(c jwt.MapClaims) {
				c["aud"] = []string{"another-client", m.ClientID}
				c["azp"] = m.ClientID
			})(t, m)
		}},
		{name: "explicit Audiences without OAuth2 (control)", ok: true,
			mod:   func(p *socialauth.Provider) { p.OIDC.Audiences = []string{"ios-bundle-id", "web-id"}; p.OAuth2 = nil },
			token: signed(func(c jwt.MapClaims) { c["aud"] = "ios-bundle-id" })},
		{name: "aud not in explicit Audiences",
			mod:   func(p *socialauth.Provider) { p.OIDC.Audiences = []string{"ios-bundle-id"} },
			token: signed(nil)},
		{name: "no audiences configured",
			mod:   func(p *socialauth.Provider) { p.OAuth2 = nil },
			token: signed(nil)},
		{name: "iss of a second mockoidc (same signing key)", token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
			m2, _ := startMock(t)
			c := baseClaims(t, m)
			c["iss"] = m2.Issuer()
			return sign(t, m2, c), ""
		}},
		{name: "expired", token: signed(func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-time.Minute).Unix()
			c["iat"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-time.Hour).Unix()
		})},
		{name: "expired by mockoidc AccessTTL", mockCfg: func(m *mockoidc.MockOIDC) { m.AccessTTL = -time.Minute },
			token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
				return idTokenOf(t, exchangeInTest(t, oidcProvider(m), "n")), ""
			}, nonce: "n"},
		{name: "exp missing", token: signed(func(c jwt.MapClaims) { delete(c, "exp") })},
		{name: "nbf 10 minutes ahead", token: signed(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() })},
		{name: "nbf 2 minutes ahead, within leeway (control)", ok: true,
			token: signed(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(2 * time.Minute).Unix() })},
		{name: "nonce mismatch", nonce: "nonce-2", token: signed(func(c jwt.MapClaims) { c["nonce"] = "nonce-1" })},
		{name: "request nonce, token without nonce", nonce: "nonce-1", token: signed(nil)},
		{name: "nonce missing, nonce required", mod: requireNonce, token: signed(func(c jwt.MapClaims) { c["nonce"] = "nonce-1" })},
		{name: "token nonce, request none, AllowMissingNonce (control)", ok: true, token: signed(func(c jwt.MapClaims) { c["nonce"] = "nonce-1" })},
		{name: "nonce plain", ok: true, mod: requireNonce, nonce: "nonce-1", token: signed(func(c jwt.MapClaims) { c["nonce"] = "nonce-1" })},
		{name: "nonce as sha256 hex", ok: true, mod: requireNonce, nonce: "nonce-1", token: signed(func(c jwt.MapClaims) { c["nonce"] = sha256Hex("nonce-1") })},
		{name: "nonce as sha256 base64url", ok: true, mod: requireNonce, nonce: "nonce-1", token: signed(func(c jwt.MapClaims) { c["nonce"] = sha256B64("nonce-1") })},
		{name: "nonce as sha256 of another value", nonce: "nonce-1", token: signed(func(c jwt.MapClaims) { c["nonce"] = sha256Hex("nonce-2") })},
		{name: "mockoidc access token as id_token, with request nonce", nonce: "flow-nonce", token: mockAccessToken},
		{name: "mockoidc access token as id_token, nonce required", mod: requireNonce, token: mockAccessToken},
		{name: "mockoidc access token as id_token without nonce rules (go-oidc alone accepts it)", ok: true, token: mockAccessToken},
		{name: "real mockoidc id_token with its nonce (control)", ok: true, mod: requireNonce, nonce: "flow-nonce",
			token: func(t *testing.T, m *mockoidc.MockOIDC) (string, string) {
				return idTokenOf(t, exchangeInTest(t, oidcProvider(m), "flow-nonce")), ""
			}},
		{name: "at_hash mismatch with a wrong access_token",
			token: withAT(func(c jwt.MapClaims) { c["at_hash"] = atHash("the-right-access-token") }, "a-wrong-access-token")},
		{name: "at_hash matching (control)", ok: true,
			token: withAT(func(c jwt.MapClaims) { c["at_hash"] = atHash("the-right-access-token") }, "the-right-access-token")},
		{name: "sub empty", token: signed(func(c jwt.MapClaims) { c["sub"] = "" })},
		{name: "sub missing", token: signed(func(c jwt.MapClaims) { delete(c, "sub") })},
		{name: "sub 192 characters", token: signed(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("s", 192) })},
		{name: "sub 191 characters (control)", ok: true, token: signed(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("é", 191) })},
		{name: "HS256 configured in Algorithms", mod: func(p *socialauth.Provider) { p.OIDC.Algorithms = []string{"HS256", "RS256"} }, token: signed(nil)},
		{name: "none configured in Algorithms", mod: func(p *socialauth.Provider) { p.OIDC.Algorithms = []string{"RS256", "none"} }, token: signed(nil)},
		{name: "RS256 token, only ES256 accepted", mod: func(p *socialauth.Provider) { p.OIDC.Algorithms = []string{"ES256"} }, token: signed(nil)},
		{name: "issuer empty in config", mod: func(p *socialauth.Provider) { p.OIDC.Issuer = "" }, token: signed(nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, _ := startMockCfg(t, c.mockCfg)
			p := oidcProvider(m)
			if c.mod != nil {
				c.mod(p)
			}
			e := newEnv(t)
			raw, at := c.token(t, m)
			id, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: raw, AccessToken: at, Nonce: c.nonce})
			logs := e.log.String()
			if strings.Contains(logs, raw) || (at != "" && strings.Contains(logs, at)) {
				t.Fatalf("a token reached the logs:\n%s", logs)
			}
			if c.ok {
				wantOK(t, id, err)
				if id.UID == "" {
					t.Fatal("empty UID")
				}
				if len(e.replay.entries()) != 1 {
					t.Fatalf("replay store has %d entries, want 1", len(e.replay.entries()))
				}
				return
			}
			wantRefusal(t, err, social.ErrIncorrectValue)
			if !strings.Contains(logs, "refused") {
				t.Fatalf("the refusal's reason was not logged:\n%s", logs)
			}
			if n := len(e.replay.entries()); n != 0 {
				t.Fatalf("a refused token was recorded as used (%d entries)", n)
			}
		})
	}
}

// TestIDTokenIdentity checks the identity made of a verified id_token.
func TestIDTokenIdentity(t *testing.T) {
	t.Parallel()
	m, _ := startMock(t)
	p := oidcProvider(m)
	e := newEnv(t)
	c := baseClaims(t, m)
	c["preferred_username"] = "janed"
	c["name"] = "Jane Q Doe"
	c["picture"] = "https://img.example.com/j.png"
	raw := sign(t, m, c)
	id := mustResolve(t, e.v, context.Background(), p, identity.Request{IDToken: raw})
	if id.UID != "user-42" || id.Email != "jane@example.com" || !id.EmailVerified || id.Username != "janed" {
		t.Fatalf("identity = %+v", id)
	}
	if id.FirstName != "Jane" || id.LastName != "Q Doe" {
		t.Fatalf("names = %q %q, want name split at the first space", id.FirstName, id.LastName)
	}
	if id.ExtraData["picture"] != "https://img.example.com/j.png" || id.ExtraData["sub"] != "user-42" {
		t.Fatalf("ExtraData = %v", id.ExtraData)
	}
	u := id.User
	if u.Provider != "oidc" || u.UserID != "user-42" || u.IDToken != raw || u.NickName != "janed" ||
		u.Name != "Jane Q Doe" || u.AvatarURL != "https://img.example.com/j.png" || u.RawData["email"] != "jane@example.com" {
		t.Fatalf("goth user = %+v", u)
	}
	if id.Token != "" || id.ExpiresAt != nil {
		t.Fatalf("id_token alone stored tokens: %q %v", id.Token, id.ExpiresAt)
	}

	// given_name/family_name win over name; email_verified "true" counts;
	// access_token + id_token without at_hash keeps the access token.
	c = baseClaims(t, m)
	c["given_name"], c["family_name"], c["name"] = "Ann", "Lee", "Somebody Else"
	c["email_verified"] = "true"
	id = mustResolve(t, e.v, context.Background(), p, identity.Request{IDToken: sign(t, m, c), AccessToken: "opaque-at"})
	if id.FirstName != "Ann" || id.LastName != "Lee" || !id.EmailVerified || id.Token != "opaque-at" {
		t.Fatalf("identity = %+v", id)
	}

	// email_verified false or absent, or no email: not verified.
	for _, mod := range []func(jwt.MapClaims){
		func(c jwt.MapClaims) { c["email_verified"] = false },
		func(c jwt.MapClaims) { delete(c, "email_verified") },
		func(c jwt.MapClaims) { c["email_verified"] = "yes" },
		func(c jwt.MapClaims) { delete(c, "email") },
	} {
		c := baseClaims(t, m)
		mod(c)
		id := mustResolve(t, e.v, context.Background(), p, identity.Request{IDToken: sign(t, m, c)})
		if id.EmailVerified {
			t.Fatalf("claims %v gave a verified email", c)
		}
	}

	// Provider.VerifiedEmail overrides the claim, and its error refuses.
	p2 := oidcProvider(m)
	var seen string
	p2.VerifiedEmail = func(_ context.Context, hc *http.Client, u goth.User) (bool, error) {
		if hc != e.client {
			t.Error("VerifiedEmail did not get the Verifier's client")
		}
		seen = u.Email
		return strings.HasSuffix(u.Email, "@corp.example.com"), nil
	}
	c = baseClaims(t, m)
	c["email"] = "boss@corp.example.com"
	c["email_verified"] = false
	id = mustResolve(t, e.v, context.Background(), p2, identity.Request{IDToken: sign(t, m, c)})
	if !id.EmailVerified || seen != "boss@corp.example.com" {
		t.Fatalf("VerifiedEmail not applied: %+v", id)
	}
	p2.VerifiedEmail = func(context.Context, *http.Client, goth.User) (bool, error) { return false, errors.New("down") }
	_, err := e.v.Resolve(context.Background(), p2, identity.Request{IDToken: sign(t, m, baseClaims(t, m))})
	wantRefusal(t, err, social.ErrIncorrectValue)
}

// TestIDTokenReplay: a client-posted id_token is usable once (digest of
// provider name and jti, or of the whole token), until its exp.
func TestIDTokenReplay(t *testing.T) {
	t.Parallel()
	m, _ := startMock(t)
	p := oidcProvider(m)
	e := newEnv(t)
	ctx := context.Background()

	c := baseClaims(t, m)
	raw := sign(t, m, c)
	mustResolve(t, e.v, ctx, p, identity.Request{IDToken: raw})
	entries := e.replay.entries()
	if len(entries) != 1 {
		t.Fatalf("replay entries = %d, want 1", len(entries))
	}
	for _, until := range entries {
		if want := time.Unix(c["exp"].(int64), 0); !until.Equal(want) {
			t.Fatalf("remembered until %v, want exp %v", until, want)
		}
	}
	_, err := e.v.Resolve(ctx, p, identity.Request{IDToken: raw})
	wantRefusal(t, err, social.ErrIncorrectValue)
	// With an access token too (at_hash path), still a replay.
	_, err = e.v.Resolve(ctx, p, identity.Request{IDToken: raw, AccessToken: "x"})
	wantRefusal(t, err, social.ErrIncorrectValue)

	// Another token with the same jti is the same token for the store.
	c2 := baseClaims(t, m)
	c2["jti"] = c["jti"]
	c2["iat"] = c["iat"].(int64) - 1
	_, err = e.v.Resolve(ctx, p, identity.Request{IDToken: sign(t, m, c2)})
	wantRefusal(t, err, social.ErrIncorrectValue)

	// The same jti at another provider is another token.
	other := *p
	other.Name = "oidc-other"
	mustResolve(t, e.v, ctx, &other, identity.Request{IDToken: raw})

	// Without jti the whole token is the key: two tokens pass once each.
	n1, n2 := baseClaims(t, m), baseClaims(t, m)
	delete(n1, "jti")
	delete(n2, "jti")
	n2["iat"] = n1["iat"].(int64) - 1
	t1, t2 := sign(t, m, n1), sign(t, m, n2)
	mustResolve(t, e.v, ctx, p, identity.Request{IDToken: t1})
	mustResolve(t, e.v, ctx, p, identity.Request{IDToken: t2})
	_, err = e.v.Resolve(ctx, p, identity.Request{IDToken: t1})
	wantRefusal(t, err, social.ErrIncorrectValue)

	// A Verifier without a store does not check replays.
	nv := identity.New(nil, nil, nil, nil)
	mustResolve(t, nv, ctx, p, identity.Request{IDToken: raw})
	mustResolve(t, nv, ctx, p, identity.Request{IDToken: raw})
}

// TestIDTokenReplayStoreError: a failing store is a server failure, not a
// refusal.
func TestIDTokenReplayStoreError(t *testing.T) {
	t.Parallel()
	m, _ := startMock(t)
	p := oidcProvider(m)
	e := newEnv(t)
	storeErr := errors.New("database is locked")
	e.replay.err = storeErr
	_, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: sign(t, m, baseClaims(t, m))})
	if err == nil || !errors.Is(err, storeErr) {
		t.Fatalf("err = %v, want the store's error", err)
	}
	if isVerr(err) {
		t.Fatalf("store failure returned as a refusal: %v", err)
	}
}

// oidctestServer serves discovery and keys for an ES256 key; failing
// makes discovery answer 500; discoveries counts discovery requests.
type oidctestServer struct {
	srv         *httptest.Server
	key         *ecdsa.PrivateKey
	failing     flag
	mu          sync.Mutex
	discoveries int
}

func startOIDCTest(t *testing.T) *oidctestServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	o := &oidctestServer{key: key}
	s := &oidctest.Server{
		PublicKeys: []oidctest.PublicKey{{PublicKey: key.Public(), KeyID: "ec-1", Algorithm: oidc.ES256}},
		Algorithms: []string{oidc.ES256},
	}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/openid-configuration" {
			o.mu.Lock()
			o.discoveries++
			o.mu.Unlock()
			if o.failing.Load() {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
		}
		s.ServeHTTP(w, r)
	}))
	o.srv.Start()
	s.SetIssuer(o.srv.URL)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oidctestServer) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.discoveries
}

func (o *oidctestServer) provider() *socialauth.Provider {
	return &socialauth.Provider{
		Name: "es",
		OIDC: &socialauth.OIDCConfig{Issuer: o.srv.URL, Audiences: []string{"es-client"}, AllowMissingNonce: true},
	}
}

func (o *oidctestServer) token(t *testing.T, sub string) string {
	t.Helper()
	c := jwt.MapClaims{
		"iss": o.srv.URL, "aud": "es-client", "sub": sub, "jti": randomString(t),
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
	}
	return oidctest.SignIDToken(o.key, "ec-1", oidc.ES256, claimsJSON(t, c))
}

// TestDiscovery: JWKSURL "" uses discovery, once per provider even under
// concurrent logins, and retries after a failed discovery.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	t.Run("concurrent logins discover once", func(t *testing.T) {
		t.Parallel()
		o := startOIDCTest(t)
		e := newEnv(t)
		p := o.provider()
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: o.token(t, "es-user")})
				if err == nil && id.UID != "es-user" {
					err = errors.New("wrong uid " + id.UID)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Resolve: %v", err)
		}
		if n := o.count(); n != 1 {
			t.Fatalf("discovery ran %d times, want 1", n)
		}
	})
	t.Run("failed discovery is retried", func(t *testing.T) {
		t.Parallel()
		o := startOIDCTest(t)
		o.failing.Store(true)
		e := newEnv(t)
		p := o.provider()
		_, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: o.token(t, "es-user")})
		wantRefusal(t, err, social.ErrIncorrectValue)
		o.failing.Store(false)
		id := mustResolve(t, e.v, context.Background(), p, identity.Request{IDToken: o.token(t, "es-user")})
		if id.UID != "es-user" {
			t.Fatalf("UID = %q", id.UID)
		}
		if n := o.count(); n != 2 {
			t.Fatalf("discovery ran %d times, want 2", n)
		}
	})
	t.Run("issuer mismatch in discovery", func(t *testing.T) {
		t.Parallel()
		o := startOIDCTest(t)
		e := newEnv(t)
		p := o.provider()
		p.OIDC.Issuer = o.srv.URL + "/"
		_, err := e.v.Resolve(context.Background(), p, identity.Request{IDToken: o.token(t, "es-user")})
		wantRefusal(t, err, social.ErrIncorrectValue)
	})
}
