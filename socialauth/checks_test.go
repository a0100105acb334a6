package socialauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/restauth/restauth/socialauth"
)

type checkFunc = func(ctx context.Context, hc *http.Client, token string) error

// checkCase is one answer of a provider's token endpoint.
type checkCase struct {
	name     string
	check    checkFunc
	route    string // host + path
	handler  func(t *testing.T) http.HandlerFunc
	token    string
	timeout  time.Duration // client timeout; default 1s
	cancel   bool          // call with a cancelled context
	wantErr  bool
	rejected bool // error wraps ErrTokenRejected
	// request asserts the request the check sent.
	request func(t *testing.T, r recorded)
}

func runCheckCases(t *testing.T, tests []checkCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, map[string]http.HandlerFunc{tt.route: tt.handler(t)})
			timeout := tt.timeout
			if timeout == 0 {
				timeout = time.Second
			}
			ctx := context.Background()
			if tt.cancel {
				c, cancel := context.WithCancel(ctx)
				cancel()
				ctx = c
			}
			token := tt.token
			if token == "" {
				token = "tok"
			}
			err := tt.check(ctx, api.client(timeout), token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got := errors.Is(err, socialauth.ErrTokenRejected); got != tt.rejected {
				t.Errorf("errors.Is(%v, ErrTokenRejected) = %v, want %v", err, got, tt.rejected)
			}
			if tt.cancel {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("err = %v, want it to wrap context.Canceled", err)
				}
				if n := len(api.requests()); n != 0 {
					t.Errorf("%d requests sent with a cancelled context", n)
				}
				return
			}
			if tt.request != nil {
				tt.request(t, api.only())
			}
		})
	}
}

func answer(status int, body string) func(*testing.T) http.HandlerFunc {
	return func(*testing.T) http.HandlerFunc { return jsonHandler(status, body) }
}

func TestCheckGoogleToken(t *testing.T) {
	t.Parallel()
	const route = "oauth2.googleapis.com/tokeninfo"
	check := socialauth.CheckGoogleToken("web-id", "ios-id")
	req := func(token string) func(t *testing.T, r recorded) {
		return func(t *testing.T, r recorded) {
			if r.Method != http.MethodGet || r.Query.Get("access_token") != token || len(r.Query) != 1 {
				t.Errorf("request = %s %s?%v, want GET with access_token=%q only", r.Method, r.Path, r.Query, token)
			}
		}
	}
	runCheckCases(t, []checkCase{
		{name: "aud is ours", check: check, route: route, handler: answer(200, `{"aud":"web-id","azp":"web-id","sub":"1"}`), request: req("tok")},
		{name: "second client id", check: check, route: route, handler: answer(200, `{"aud":"ios-id","sub":"1"}`)},
		{name: "azp is ours", check: check, route: route, handler: answer(200, `{"aud":"other","azp":"web-id"}`)},
		{name: "token is escaped", check: check, route: route, token: "a b&c=d", handler: answer(200, `{"aud":"web-id"}`), request: req("a b&c=d")},
		{name: "other app", check: check, route: route, handler: answer(200, `{"aud":"other","azp":"other"}`), wantErr: true, rejected: true},
		{name: "no audience", check: check, route: route, handler: answer(200, `{}`), wantErr: true, rejected: true},
		{name: "invalid token 400", check: check, route: route, handler: answer(400, `{"error":"invalid_token"}`), wantErr: true, rejected: true},
		{name: "5xx", check: check, route: route, handler: answer(503, `{}`), wantErr: true},
		{name: "malformed JSON", check: check, route: route, handler: answer(200, `{"aud":`), wantErr: true},
		{name: "timeout", check: check, route: route, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true},
		{name: "cancelled", check: check, route: route, handler: answer(200, `{"aud":"web-id"}`), cancel: true, wantErr: true},
		{name: "no client ids", check: socialauth.CheckGoogleToken(), route: route, handler: answer(200, `{"aud":""}`), wantErr: true, rejected: true},
		{name: "Google() wires its client id", check: socialauth.Google("web-id", "s").CheckAccessToken, route: route,
			handler: answer(200, `{"aud":"web-id"}`)},
		{name: "Google() refuses another client id", check: socialauth.Google("web-id", "s").CheckAccessToken, route: route,
			handler: answer(200, `{"aud":"ios-id"}`), wantErr: true, rejected: true},
	})
}

func TestCheckGitHubToken(t *testing.T) {
	t.Parallel()
	const route = "api.github.com/applications/cid/token"
	check := socialauth.CheckGitHubToken("cid", "csecret")
	req := func(t *testing.T, r recorded) {
		if r.Method != http.MethodPost {
			t.Errorf("method = %s, want POST", r.Method)
		}
		auth := r.Header.Get("Authorization")
		hr, _ := http.NewRequest(http.MethodGet, "/", nil)
		hr.Header.Set("Authorization", auth)
		if u, p, ok := hr.BasicAuth(); !ok || u != "cid" || p != "csecret" {
			t.Errorf("basic auth = %q %q %v, want cid csecret", u, p, ok)
		}
		var body map[string]string
		if err := json.Unmarshal(r.Body, &body); err != nil || len(body) != 1 || body["access_token"] != "tok" {
			t.Errorf("body = %s (%v), want {\"access_token\":\"tok\"}", r.Body, err)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
	}
	runCheckCases(t, []checkCase{
		{name: "issued to us", check: check, route: route, handler: answer(200, `{"id":1,"token":"tok","app":{"client_id":"cid"}}`), request: req},
		{name: "200 without app", check: check, route: route, handler: answer(200, `{"id":1}`)},
		{name: "200 naming another app", check: check, route: route, handler: answer(200, `{"app":{"client_id":"other"}}`), wantErr: true, rejected: true},
		{name: "other app 404", check: check, route: route, handler: answer(404, `{"message":"Not Found"}`), wantErr: true, rejected: true, request: req},
		{name: "invalid 422", check: check, route: route, handler: answer(422, `{"message":"Validation Failed"}`), wantErr: true, rejected: true},
		{name: "bad app credentials 401", check: check, route: route, handler: answer(401, `{}`), wantErr: true},
		{name: "5xx", check: check, route: route, handler: answer(500, `{}`), wantErr: true},
		{name: "malformed JSON", check: check, route: route, handler: answer(200, `[`), wantErr: true},
		{name: "timeout", check: check, route: route, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true},
		{name: "cancelled", check: check, route: route, handler: answer(200, `{}`), cancel: true, wantErr: true},
		{name: "GitHub() wires its app", check: socialauth.GitHub("cid", "csecret").CheckAccessToken, route: route,
			handler: answer(200, `{"app":{"client_id":"cid"}}`), request: req},
		{name: "GitHub() of another app asks about its own id", check: socialauth.GitHub("zzz", "s").CheckAccessToken,
			route: "api.github.com/applications/zzz/token", handler: answer(404, `{}`), wantErr: true, rejected: true},
	})
}

func TestCheckFacebookToken(t *testing.T) {
	t.Parallel()
	const route = "graph.facebook.com/debug_token"
	check := socialauth.CheckFacebookToken("123", "fbsecret")
	req := func(t *testing.T, r recorded) {
		if r.Method != http.MethodGet || r.Query.Get("input_token") != "tok" || r.Query.Get("access_token") != "123|fbsecret" {
			t.Errorf("request = %s %s?%v, want GET input_token=tok access_token=123|fbsecret", r.Method, r.Path, r.Query)
		}
	}
	runCheckCases(t, []checkCase{
		{name: "issued to us", check: check, route: route, handler: answer(200, `{"data":{"app_id":"123","is_valid":true,"user_id":"9"}}`), request: req},
		{name: "numeric app id", check: check, route: route, handler: answer(200, `{"data":{"app_id":123,"is_valid":true}}`)},
		{name: "other app", check: check, route: route, handler: answer(200, `{"data":{"app_id":"456","is_valid":true}}`), wantErr: true, rejected: true},
		{name: "not valid", check: check, route: route, handler: answer(200, `{"data":{"app_id":"123","is_valid":false}}`), wantErr: true, rejected: true},
		{name: "no data", check: check, route: route, handler: answer(200, `{}`), wantErr: true, rejected: true},
		{name: "400", check: check, route: route, handler: answer(400, `{"error":{"type":"OAuthException"}}`), wantErr: true, rejected: true},
		{name: "5xx", check: check, route: route, handler: answer(502, ``), wantErr: true},
		{name: "malformed JSON", check: check, route: route, handler: answer(200, `{"data":`), wantErr: true},
		{name: "timeout", check: check, route: route, handler: blockingHandler, timeout: 50 * time.Millisecond, wantErr: true},
		{name: "cancelled", check: check, route: route, handler: answer(200, `{}`), cancel: true, wantErr: true},
		{name: "Facebook() wires its app", check: socialauth.Facebook("123", "fbsecret").CheckAccessToken, route: route,
			handler: answer(200, `{"data":{"app_id":"123","is_valid":true}}`), request: req},
		{name: "Facebook() refuses another app", check: socialauth.Facebook("123", "fbsecret").CheckAccessToken, route: route,
			handler: answer(200, `{"data":{"app_id":"456","is_valid":true}}`), wantErr: true, rejected: true},
	})
}

func TestCheckNilClient(t *testing.T) {
	t.Parallel()
	// A nil client means a default one: the check still runs (and fails
	// fast here because the context is cancelled, before any dial).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, check := range map[string]checkFunc{
		"google":   socialauth.CheckGoogleToken("id"),
		"github":   socialauth.CheckGitHubToken("id", "s"),
		"facebook": socialauth.CheckFacebookToken("id", "s"),
	} {
		if err := check(ctx, nil, "tok"); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", name, err)
		}
	}
}
