package socialauth_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/markbates/goth"

	"github.com/restauth/restauth/socialauth"
)

func TestProfileVerifiedEmail(t *testing.T) {
	t.Parallel()
	const email = "a@example.com"
	tests := []struct {
		name     string
		provider string
		email    string
		raw      map[string]any
		want     bool
	}{
		{"google verified_email true", "google", email, map[string]any{"verified_email": true}, true},
		{"google verified_email false", "google", email, map[string]any{"verified_email": false}, false},
		{"google verified_email string is not a bool", "google", email, map[string]any{"verified_email": "true"}, false},
		{"oidc email_verified true", "corp", email, map[string]any{"email_verified": true}, true},
		{"oidc email_verified \"true\"", "corp", email, map[string]any{"email_verified": "true"}, true},
		{"oidc email_verified false", "corp", email, map[string]any{"email_verified": false}, false},
		{"oidc email_verified \"false\"", "corp", email, map[string]any{"email_verified": "false"}, false},
		{"oidc email_verified \"yes\"", "corp", email, map[string]any{"email_verified": "yes"}, false},
		{"oidc email_verified 1", "corp", email, map[string]any{"email_verified": float64(1)}, false},
		{"no claim", "corp", email, map[string]any{"email": email}, false},
		{"nil RawData", "google", email, nil, false},
		{"verified but no email", "google", "", map[string]any{"verified_email": true, "email_verified": true}, false},
		{"discord verified", "discord", email, map[string]any{"verified": true}, true},
		{"discord unverified", "discord", email, map[string]any{"verified": false}, false},
		{"discord verified string", "discord", email, map[string]any{"verified": "true"}, false},
		{"verified flag outside discord", "someprovider", email, map[string]any{"verified": true}, false},
		{"twitter badge", "twitter", email, map[string]any{"verified": true}, false},
		{"github", "github", email, map[string]any{"verified": true}, false},
		{"facebook never", "facebook", email, map[string]any{"email_verified": true, "verified_email": true}, false},
		{"microsoft never", "microsoft", email, map[string]any{"email_verified": true}, false},
		{"microsoftonline never", "microsoftonline", email, map[string]any{"email_verified": true}, false},
		{"azureadv2 never", "azureadv2", email, map[string]any{"email_verified": true}, false},
		{"gitlab never", "gitlab", email, map[string]any{"email_verified": true, "verified": true}, false},
		{"twitter never", "twitter", email, map[string]any{"email_verified": true}, false},
		{"twitterv2 never", "twitterv2", email, map[string]any{"email_verified": "true"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := goth.User{Provider: tt.provider, Email: tt.email, RawData: tt.raw}
			if got := socialauth.ProfileVerifiedEmail(u); got != tt.want {
				t.Errorf("ProfileVerifiedEmail(%s %v) = %v, want %v", tt.provider, tt.raw, got, tt.want)
			}
		})
	}
}

func TestGitHubVerifiedEmail(t *testing.T) {
	t.Parallel()
	const route = "api.github.com/user/emails"
	user := goth.User{Provider: "github", Email: "Me@Example.com", AccessToken: "tok"}
	tests := []struct {
		name     string
		user     goth.User
		handler  func(t *testing.T) http.HandlerFunc
		timeout  time.Duration
		want     bool
		wantErr  bool
		requests int
	}{
		{name: "listed verified", user: user, handler: answer(200, `[{"email":"me@example.com","verified":true}]`), want: true, requests: 1},
		{name: "listed unverified", user: user, handler: answer(200, `[{"email":"me@example.com","verified":false}]`), requests: 1},
		{name: "other address verified", user: user, handler: answer(200, `[{"email":"me@example.org","verified":true}]`), requests: 1},
		{name: "empty list", user: user, handler: answer(200, `[]`), requests: 1},
		{name: "missing scope 404", user: user, handler: answer(404, `{"message":"Not Found"}`), requests: 1},
		{name: "missing scope 403", user: user, handler: answer(403, `{}`), requests: 1},
		{name: "bad token 401", user: user, handler: answer(401, `{}`), wantErr: true, requests: 1},
		{name: "5xx", user: user, handler: answer(500, `{}`), wantErr: true, requests: 1},
		{name: "malformed JSON", user: user, handler: answer(200, `[{"email":`), wantErr: true, requests: 1},
		{name: "timeout", user: user, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true, requests: 1},
		{name: "no email: no call", user: goth.User{Provider: "github", AccessToken: "tok"}, handler: answer(200, `[]`)},
		{name: "no access token", user: goth.User{Provider: "github", Email: "me@example.com"}, handler: answer(200, `[]`), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, map[string]http.HandlerFunc{route: tt.handler(t)})
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Second
			}
			got, err := socialauth.GitHubVerifiedEmail(context.Background(), api.client(timeout), tt.user)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("verified = %v, want %v", got, tt.want)
			}
			reqs := api.requests()
			if len(reqs) != tt.requests {
				t.Fatalf("got %d requests, want %d", len(reqs), tt.requests)
			}
			for _, r := range reqs {
				if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("request = %s Authorization %q, want GET with Bearer tok", r.Method, r.Header.Get("Authorization"))
				}
			}
		})
	}
}
