package socialauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/socialauth"
)

// bearerRequest asserts a GET to host+path carrying token as a Bearer
// credential, with no query and no body.
func bearerRequest(host, path, token string) func(t *testing.T, r recorded) {
	return func(t *testing.T, r recorded) {
		t.Helper()
		if r.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", r.Method)
		}
		if r.Host != host || r.Path != path {
			t.Errorf("request to %s%s, want %s%s", r.Host, r.Path, host, path)
		}
		if got, want := r.Header.Get("Authorization"), "Bearer "+token; got != want {
			t.Errorf("Authorization = %q, want %q", got, want)
		}
		if len(r.Query) != 0 || len(r.Body) != 0 {
			t.Errorf("query = %v, body = %q, want neither (the token goes in the header only)", r.Query, r.Body)
		}
	}
}

func TestCheckDiscordToken(t *testing.T) {
	t.Parallel()
	const (
		host  = "discord.com"
		path  = "/api/oauth2/@me"
		route = host + path
	)
	check := socialauth.CheckDiscordToken("did")
	req := bearerRequest(host, path, "tok")
	ours := `{"application":{"id":"did","name":"app"},"scopes":["identify","email"],"user":{"id":"9"}}`
	runCheckCases(t, []checkCase{
		{name: "issued to us", check: check, route: route, handler: answer(200, ours), request: req},
		{name: "token sent as is", check: check, route: route, token: "a b&c", handler: answer(200, ours),
			request: bearerRequest(host, path, "a b&c")},
		{name: "other application", check: check, route: route, handler: answer(200, `{"application":{"id":"other"}}`),
			wantErr: true, rejected: true, request: req},
		{name: "no application", check: check, route: route, handler: answer(200, `{"user":{"id":"9"}}`), wantErr: true, rejected: true},
		{name: "401", check: check, route: route, handler: answer(401, `{"message":"401: Unauthorized","code":0}`),
			wantErr: true, rejected: true, request: req},
		{name: "403", check: check, route: route, handler: answer(403, `{"message":"Missing Access"}`), wantErr: true, rejected: true},
		{name: "429 is not a rejection", check: check, route: route, handler: answer(429, `{"retry_after":1}`), wantErr: true},
		{name: "5xx", check: check, route: route, handler: answer(502, ``), wantErr: true},
		{name: "malformed JSON", check: check, route: route, handler: answer(200, `{"application":`), wantErr: true},
		{name: "timeout", check: check, route: route, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true},
		{name: "cancelled", check: check, route: route, handler: answer(200, ours), cancel: true, wantErr: true},
		{name: "empty client id", check: socialauth.CheckDiscordToken(""), route: route,
			handler: answer(200, `{"application":{"id":""}}`), wantErr: true, rejected: true},
		{name: "Discord() wires its client id", check: socialauth.Discord("did", "s").CheckAccessToken, route: route,
			handler: answer(200, ours), request: req},
		{name: "Discord() refuses another application", check: socialauth.Discord("zzz", "s").CheckAccessToken, route: route,
			handler: answer(200, ours), wantErr: true, rejected: true},
	})
}

func TestCheckDiscordTokenNumericID(t *testing.T) {
	t.Parallel()
	// Snowflakes are strings in Discord's API; a number is read too.
	api := newFakeAPI(t, map[string]http.HandlerFunc{
		"discord.com/api/oauth2/@me": jsonHandler(200, `{"application":{"id":123456789012345678}}`),
	})
	check := socialauth.CheckDiscordToken("123456789012345678")
	if err := check(context.Background(), api.client(time.Second), "tok"); err != nil {
		t.Fatalf("err = %v, want nil", err)
	}
}

func TestCheckGitLabToken(t *testing.T) {
	t.Parallel()
	const (
		host  = "gitlab.com"
		path  = "/oauth/token/info"
		route = host + path
	)
	check := socialauth.CheckGitLabToken("lid", "")
	req := bearerRequest(host, path, "tok")
	ours := `{"resource_owner_id":1,"scope":["read_user"],"expires_in":7200,"application":{"uid":"lid"},"created_at":1}`
	const selfHost, selfPath = "git.example.org", "/gitlab/oauth/token/info"
	runCheckCases(t, []checkCase{
		{name: "issued to us", check: check, route: route, handler: answer(200, ours), request: req},
		{name: "other application", check: check, route: route, handler: answer(200, `{"application":{"uid":"other"}}`),
			wantErr: true, rejected: true, request: req},
		{name: "personal access token (application null)", check: check, route: route,
			handler: answer(200, `{"resource_owner_id":1,"scope":["api"],"application":null}`), wantErr: true, rejected: true},
		{name: "no application", check: check, route: route, handler: answer(200, `{"resource_owner_id":1}`), wantErr: true, rejected: true},
		{name: "empty uid", check: check, route: route, handler: answer(200, `{"application":{}}`), wantErr: true, rejected: true},
		{name: "401", check: check, route: route, handler: answer(401, `{"error":"invalid_token"}`),
			wantErr: true, rejected: true, request: req},
		{name: "403 is not a rejection", check: check, route: route, handler: answer(403, `{}`), wantErr: true},
		{name: "5xx", check: check, route: route, handler: answer(500, `{}`), wantErr: true},
		{name: "malformed JSON", check: check, route: route, handler: answer(200, `{"application":{"uid":`), wantErr: true},
		{name: "timeout", check: check, route: route, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true},
		{name: "cancelled", check: check, route: route, handler: answer(200, ours), cancel: true, wantErr: true},
		{name: "empty client id", check: socialauth.CheckGitLabToken("", ""), route: route,
			handler: answer(200, `{"application":{"uid":""}}`), wantErr: true, rejected: true},
		{name: "self-hosted base URL", check: socialauth.CheckGitLabToken("lid", "https://git.example.org/gitlab/"),
			route: selfHost + selfPath, handler: answer(200, ours), request: bearerRequest(selfHost, selfPath, "tok")},
		{name: "GitLab() wires its client id", check: socialauth.GitLab("lid", "s", "").CheckAccessToken, route: route,
			handler: answer(200, ours), request: req},
		{name: "GitLab() asks its own instance", check: socialauth.GitLab("lid", "s", "https://git.example.org/gitlab").CheckAccessToken,
			route: selfHost + selfPath, handler: answer(200, ours), request: bearerRequest(selfHost, selfPath, "tok")},
		{name: "GitLab() refuses another application", check: socialauth.GitLab("zzz", "s", "").CheckAccessToken, route: route,
			handler: answer(200, ours), wantErr: true, rejected: true},
	})
}

func TestCheckBearerNilClientAndSecrets(t *testing.T) {
	t.Parallel()
	// A nil client means a default one: the check still runs (and fails
	// fast because the context is cancelled, before any dial); the error
	// does not quote the token.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const token = "s3cret-user-token"
	for name, check := range map[string]checkFunc{
		"discord": socialauth.CheckDiscordToken("id"),
		"gitlab":  socialauth.CheckGitLabToken("id", ""),
	} {
		err := check(ctx, nil, token)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
		if errors.Is(err, socialauth.ErrTokenRejected) {
			t.Errorf("%s: err = %v wraps ErrTokenRejected", name, err)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("%s: err = %v quotes the token", name, err)
		}
	}
}

func TestCheckGitLabTokenBadBaseURL(t *testing.T) {
	t.Parallel()
	err := socialauth.CheckGitLabToken("lid", "://not a url")(context.Background(), nil, "tok")
	if err == nil || errors.Is(err, socialauth.ErrTokenRejected) {
		t.Fatalf("err = %v, want a plain error", err)
	}
}
