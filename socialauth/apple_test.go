package socialauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/socialauth"
)

func pemPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func newAppleKey(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key, pemPKCS8(t, key)
}

func appleConfig(p8 []byte) socialauth.AppleConfig {
	return socialauth.AppleConfig{
		TeamID:       "TEAM123456",
		KeyID:        "KEY1234567",
		PrivateKey:   p8,
		ClientIDs:    []string{"com.example.web", "com.example.ios"},
		RedirectURIs: []string{"https://app.example.com/apple/cb"},
	}
}

func TestApple(t *testing.T) {
	t.Parallel()
	_, p8 := newAppleKey(t)
	cfg := appleConfig(p8)
	p, err := socialauth.Apple(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "apple" || p.Goth != nil || p.OAuth1 || !p.AcceptNames || p.CheckAccessToken != nil || p.VerifiedEmail != nil {
		t.Errorf("Name=%q Goth=%v OAuth1=%v AcceptNames=%v CheckAccessToken set=%v VerifiedEmail set=%v",
			p.Name, p.Goth, p.OAuth1, p.AcceptNames, p.CheckAccessToken != nil, p.VerifiedEmail != nil)
	}
	want := oauth2.Config{
		ClientID: "com.example.web",
		Endpoint: oauth2.Endpoint{
			AuthURL:   "https://appleid.apple.com/auth/authorize",
			TokenURL:  "https://appleid.apple.com/auth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"name", "email"},
	}
	if p.OAuth2 == nil || !reflect.DeepEqual(*p.OAuth2, want) {
		t.Errorf("OAuth2 = %+v, want %+v", p.OAuth2, want)
	}
	wantOIDC := &socialauth.OIDCConfig{
		Issuer:    "https://appleid.apple.com",
		JWKSURL:   "https://appleid.apple.com/auth/keys",
		Audiences: []string{"com.example.web", "com.example.ios"},
		// Apple's access tokens are not JWTs.
		AllowMissingNonce: true,
	}
	if !reflect.DeepEqual(p.OIDC, wantOIDC) {
		t.Errorf("OIDC = %+v, want %+v", p.OIDC, wantOIDC)
	}
	if !reflect.DeepEqual(p.RedirectURIs, cfg.RedirectURIs) {
		t.Errorf("RedirectURIs = %q", p.RedirectURIs)
	}
	if p.ClientSecret == nil {
		t.Fatal("ClientSecret is nil")
	}
	// The provider keeps its own copies.
	cfg.ClientIDs[1] = "com.evil.app"
	if p.OIDC.Audiences[1] != "com.example.ios" {
		t.Errorf("Audiences share the config's slice: %q", p.OIDC.Audiences)
	}
}

func TestAppleClientSecret(t *testing.T) {
	t.Parallel()
	key, p8 := newAppleKey(t)
	p, err := socialauth.Apple(appleConfig(p8))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	secret, err := p.ClientSecret(now)
	if err != nil {
		t.Fatal(err)
	}

	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(secret, claims, func(tok *jwt.Token) (any, error) {
		return &key.PublicKey, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithIssuer("TEAM123456"), jwt.WithSubject("com.example.web"), jwt.WithAudience("https://appleid.apple.com"))
	if err != nil {
		t.Fatalf("client secret does not verify: %v", err)
	}
	if tok.Header["alg"] != "ES256" || tok.Header["kid"] != "KEY1234567" {
		t.Errorf("header = %v, want alg ES256 and kid KEY1234567", tok.Header)
	}
	if aud, ok := claims["aud"].(string); !ok || aud != "https://appleid.apple.com" {
		t.Errorf("aud = %#v, want the string https://appleid.apple.com", claims["aud"])
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if iat == nil || exp == nil {
		t.Fatalf("iat = %v, exp = %v", iat, exp)
	}
	if d := now.Sub(iat.Time); d < 0 || d >= time.Second {
		t.Errorf("iat = %v, want now (%v)", iat.Time, now)
	}
	const sixMonths = 15777000 * time.Second // Apple's limit
	if life := exp.Sub(iat.Time); life <= 30*24*time.Hour || life > sixMonths {
		t.Errorf("lifetime = %v, want more than a month and at most 6 months", life)
	}

	// Cached within its window, replaced when close to expiry, after it,
	// or when the clock goes back before its iat.
	steps := []struct {
		at    time.Time
		reuse bool
	}{
		{now.Add(time.Minute), true},
		{now.Add(100 * 24 * time.Hour), true},
		{exp.Add(-time.Hour), false},
		{exp.Add(-time.Hour + time.Minute), true},
		{now.Add(-time.Hour), false},
		{now.Add(200 * 24 * time.Hour), false},
	}
	for _, st := range steps {
		got, err := p.ClientSecret(st.at)
		if err != nil {
			t.Fatal(err)
		}
		if (got == secret) != st.reuse {
			t.Fatalf("ClientSecret(%v): reused = %v, want %v", st.at, got == secret, st.reuse)
		}
		if st.reuse {
			continue
		}
		c := jwt.MapClaims{}
		if _, err := jwt.ParseWithClaims(got, c, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
			jwt.WithValidMethods([]string{"ES256"}), jwt.WithTimeFunc(func() time.Time { return st.at })); err != nil {
			t.Errorf("secret minted at %v is not valid then: %v", st.at, err)
		}
		if fiat, _ := c.GetIssuedAt(); fiat == nil || fiat.Unix() != st.at.Unix() {
			t.Errorf("iat = %v, want %v", fiat, st.at)
		}
		secret = got
	}
}

func TestAppleClientSecretConcurrent(t *testing.T) {
	t.Parallel()
	_, p8 := newAppleKey(t)
	p, err := socialauth.Apple(appleConfig(p8))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	const n = 16
	secrets := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s, err := p.ClientSecret(now)
			if err != nil {
				t.Error(err)
			}
			secrets[i] = s
		})
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if secrets[i] != secrets[0] || secrets[i] == "" {
			t.Fatalf("concurrent calls got different secrets: %q vs %q", secrets[i], secrets[0])
		}
	}
}

func TestAppleErrors(t *testing.T) {
	t.Parallel()
	_, p8 := newAppleKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certLike := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})
	garbage := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not der")})
	tests := []struct {
		name   string
		modify func(c *socialauth.AppleConfig)
		field  string // the error must name it
	}{
		{"no PEM", func(c *socialauth.AppleConfig) { c.PrivateKey = []byte("hello") }, "PrivateKey"},
		{"empty key", func(c *socialauth.AppleConfig) { c.PrivateKey = nil }, "PrivateKey"},
		{"bad DER", func(c *socialauth.AppleConfig) { c.PrivateKey = garbage }, "PrivateKey"},
		{"wrong PEM type", func(c *socialauth.AppleConfig) { c.PrivateKey = certLike }, "PrivateKey"},
		{"RSA key", func(c *socialauth.AppleConfig) { c.PrivateKey = pemPKCS8(t, rsaKey) }, "PrivateKey"},
		{"P-384 key", func(c *socialauth.AppleConfig) { c.PrivateKey = pemPKCS8(t, p384) }, "PrivateKey"},
		{"no ClientIDs", func(c *socialauth.AppleConfig) { c.ClientIDs = nil }, "ClientIDs"},
		{"empty ClientID", func(c *socialauth.AppleConfig) { c.ClientIDs = []string{"com.example.web", ""} }, "ClientIDs"},
		{"no TeamID", func(c *socialauth.AppleConfig) { c.TeamID = "" }, "TeamID"},
		{"no KeyID", func(c *socialauth.AppleConfig) { c.KeyID = "" }, "KeyID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := appleConfig(p8)
			tt.modify(&cfg)
			p, err := socialauth.Apple(cfg)
			if err == nil {
				t.Fatalf("Apple accepted the config: %+v", p)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}
