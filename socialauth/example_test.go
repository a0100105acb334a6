package socialauth_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/restauth/restauth/socialauth"
)

// The usual providers of an app: each constructor wires the goth
// provider, restauth's own code exchange, id_token verification and the
// access-token audience check where the provider has one.
func Example() {
	providers := []socialauth.Provider{
		socialauth.Google(os.Getenv("GOOGLE_CLIENT_ID"), os.Getenv("GOOGLE_CLIENT_SECRET"),
			"https://app.example.com/auth/google/callback"),
		socialauth.GitHub(os.Getenv("GITHUB_CLIENT_ID"), os.Getenv("GITHUB_CLIENT_SECRET"),
			"https://app.example.com/auth/github/callback"),
		socialauth.GitLab(os.Getenv("GITLAB_CLIENT_ID"), os.Getenv("GITLAB_CLIENT_SECRET"), "https://git.example.org",
			"https://app.example.com/auth/gitlab/callback"),
	}
	_ = providers // Config.Social.Providers
}

// Sign in with Apple for a website (services id) and its iOS app (bundle
// id), with the key downloaded from the Apple developer portal.
func ExampleApple() {
	p8, err := os.ReadFile("AuthKey_KEY1234567.p8")
	if err != nil {
		log.Fatal(err)
	}
	apple, err := socialauth.Apple(socialauth.AppleConfig{
		TeamID:       "TEAM123456",
		KeyID:        "KEY1234567",
		PrivateKey:   p8,
		ClientIDs:    []string{"com.example.web", "com.example.ios"},
		RedirectURIs: []string{"https://app.example.com/auth/apple/callback"},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = apple
}

// A generic OpenID Connect provider found by discovery, through the app's
// own HTTP client.
func ExampleOIDC() {
	client := &http.Client{Timeout: 5 * time.Second}
	ctx := oidc.ClientContext(context.Background(), client)
	corp, err := socialauth.OIDC(ctx, "corp", "https://login.example.com", "client-id", "client-secret",
		"https://app.example.com/auth/corp/callback")
	if err != nil {
		log.Fatal(err)
	}
	_ = corp
}
