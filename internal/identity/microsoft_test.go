package identity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/markbates/goth/providers/azureadv2"

	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/socialauth"
)

// TestMicrosoftAccessToken runs goth's real azureadv2 provider (whose
// session keeps the token under the JSON key "at") through Resolve: the
// access token must reach Graph's /me.
func TestMicrosoftAccessToken(t *testing.T) {
	t.Parallel()
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1.0/me" {
			http.NotFound(w, r)
			return
		}
		gotAuth = r.Header.Get("Authorization")
		if gotAuth != "Bearer ms-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"ms-1","displayName":"Mia Soft","givenName":"Mia","surname":"Soft","mail":"mia@example.com","userPrincipalName":"mia@example.com"}`))
	}))
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	p := socialauth.Microsoft("ms-client", "ms-secret", "", "https://app.example/cb")
	p.Goth.(*azureadv2.Provider).HTTPClient = &http.Client{Transport: rewrite{target}}
	v := identity.New(nil, newReplay(), nil, nil)
	id, err := v.Resolve(context.Background(), &p, identity.Request{AccessToken: "ms-token"})
	if err != nil {
		t.Fatalf("Resolve: %v (Graph saw Authorization %q)", err, gotAuth)
	}
	if id.UID != "ms-1" || id.Email != "mia@example.com" || id.EmailVerified || id.FirstName != "Mia" || id.LastName != "Soft" {
		t.Fatalf("identity %+v", id)
	}
}

// rewrite sends every request to target, keeping the path.
type rewrite struct{ target *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host, req.Host = r.target.Scheme, r.target.Host, r.target.Host
	return http.DefaultTransport.RoundTrip(req)
}
