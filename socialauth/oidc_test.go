package socialauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/oauth2-proxy/mockoidc"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/socialauth"
)

func startMockOIDC(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}

func TestOIDCDiscovery(t *testing.T) {
	t.Parallel()
	m := startMockOIDC(t)
	cfg := m.Config()
	p, err := socialauth.OIDC(context.Background(), "corp", m.Issuer(), cfg.ClientID, cfg.ClientSecret,
		"https://app.example.com/cb", "https://app.example.com/cb2")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "corp" || p.Goth == nil || p.Goth.Name() != "corp" {
		t.Fatalf("Name = %q, Goth = %v", p.Name, p.Goth)
	}
	wantOAuth2 := oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{AuthURL: m.AuthorizationEndpoint(), TokenURL: m.TokenEndpoint(),
			AuthStyle: oauth2.AuthStyleAutoDetect},
		Scopes: []string{"openid", "email", "profile"},
	}
	if p.OAuth2 == nil || !reflect.DeepEqual(*p.OAuth2, wantOAuth2) {
		t.Errorf("OAuth2 = %+v\nwant     %+v", p.OAuth2, wantOAuth2)
	}
	wantOIDC := &socialauth.OIDCConfig{
		Issuer: m.Issuer(), JWKSURL: m.JWKSEndpoint(), Audiences: []string{cfg.ClientID},
		UserInfoURL: m.UserinfoEndpoint(),
	}
	if !reflect.DeepEqual(p.OIDC, wantOIDC) {
		t.Errorf("OIDC = %+v\nwant   %+v", p.OIDC, wantOIDC)
	}
	if !reflect.DeepEqual(p.RedirectURIs, []string{"https://app.example.com/cb", "https://app.example.com/cb2"}) {
		t.Errorf("RedirectURIs = %q", p.RedirectURIs)
	}
	if got := gothCallback(t, p.Goth); got != "https://app.example.com/cb" {
		t.Errorf("goth callback = %q", got)
	}
	if c := gothClient(t, p.Goth); c.Timeout != socialauth.DefaultHTTPTimeout {
		t.Errorf("goth client timeout = %v", c.Timeout)
	}
	// The goth provider was built from the discovered endpoints (no
	// second discovery).
	cfgField := reflect.ValueOf(p.Goth).Elem().FieldByName("OpenIDConfig").Elem()
	for field, want := range map[string]string{
		"AuthEndpoint": m.AuthorizationEndpoint(), "TokenEndpoint": m.TokenEndpoint(),
		"UserInfoEndpoint": m.UserinfoEndpoint(), "Issuer": m.Issuer(),
	} {
		if got := cfgField.FieldByName(field).String(); got != want {
			t.Errorf("goth OpenIDConfig.%s = %q, want %q", field, got, want)
		}
	}
	if p.CheckAccessToken != nil || p.VerifiedEmail != nil || p.OAuth1 || p.AcceptNames || p.ClientSecret != nil {
		t.Errorf("unexpected fields set: %+v", p)
	}
}

// countingTransport counts the requests it forwards.
type countingTransport struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func TestOIDCUsesContextClient(t *testing.T) {
	t.Parallel()
	m := startMockOIDC(t)
	ct := &countingTransport{base: &http.Transport{}}
	client := &http.Client{Transport: ct}
	ctx := oidc.ClientContext(context.Background(), client)
	p, err := socialauth.OIDC(ctx, "corp", m.Issuer(), m.Config().ClientID, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if ct.n.Load() != 1 {
		t.Errorf("the context's client made %d requests, want 1 (discovery)", ct.n.Load())
	}
	if got := gothClient(t, p.Goth); got != client {
		t.Errorf("goth client = %p, want the context's client %p", got, client)
	}
	if p.RedirectURIs != nil || gothCallback(t, p.Goth) != "" {
		t.Errorf("RedirectURIs = %q, callback = %q; want none", p.RedirectURIs, gothCallback(t, p.Goth))
	}
}

func TestOIDCErrors(t *testing.T) {
	t.Parallel()
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	noJWKS := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		iss := "http://" + r.Host
		_, _ = w.Write([]byte(`{"issuer":"` + iss + `","authorization_endpoint":"` + iss + `/auth","token_endpoint":"` + iss + `/token"}`))
	}))
	t.Cleanup(noJWKS.Close)
	m := startMockOIDC(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name     string
		ctx      context.Context
		provider string
		issuer   string
		clientID string
		want     string // in the error
	}{
		{"discovery 404", context.Background(), "corp", notFound.URL, "id", "404"},
		{"issuer mismatch", context.Background(), "corp", m.Issuer() + "/", "id", "issuer"},
		{"no jwks_uri", context.Background(), "corp", noJWKS.URL, "id", "jwks_uri"},
		{"cancelled context", cancelled, "corp", m.Issuer(), "id", "canceled"},
		{"empty name", context.Background(), "", m.Issuer(), "id", "name"},
		{"upper-case name", context.Background(), "Corp", m.Issuer(), "id", "name"},
		{"name with a slash", context.Background(), "corp/x", m.Issuer(), "id", "name"},
		{"empty issuer", context.Background(), "corp", "", "id", "issuer"},
		{"empty client id", context.Background(), "corp", m.Issuer(), "", "clientID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := socialauth.OIDC(tt.ctx, tt.provider, tt.issuer, tt.clientID, "secret")
			if err == nil {
				t.Fatalf("OIDC succeeded: %+v", p)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
