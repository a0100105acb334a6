package socialauth_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/socialauth"
)

func TestConstructors(t *testing.T) {
	t.Parallel()
	const cb = "https://app.example.com/cb"
	tests := []struct {
		name         string
		p            socialauth.Provider
		wantName     string
		gothName     string
		callback     string
		authURL      string
		tokenURL     string
		clientID     string
		clientSecret string
		scopes       []string
		oidc         *socialauth.OIDCConfig
		check        bool // CheckAccessToken set
		verified     bool // VerifiedEmail set
		redirects    []string
	}{
		{
			name: "google", p: socialauth.Google("gid", "gsecret", cb, "https://app.example.com/cb2"),
			wantName: "google", gothName: "google", callback: cb,
			authURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
			clientID: "gid", clientSecret: "gsecret", scopes: []string{"openid", "email", "profile"},
			oidc: &socialauth.OIDCConfig{
				Issuer: "https://accounts.google.com", JWKSURL: "https://www.googleapis.com/oauth2/v3/certs",
				Audiences: []string{"gid"}, AllowMissingNonce: true,
			},
			check: true, redirects: []string{cb, "https://app.example.com/cb2"},
		},
		{
			name: "github", p: socialauth.GitHub("hid", "hsecret", cb),
			wantName: "github", gothName: "github", callback: cb,
			authURL: "https://github.com/login/oauth/authorize", tokenURL: "https://github.com/login/oauth/access_token",
			clientID: "hid", clientSecret: "hsecret", scopes: []string{"read:user", "user:email"},
			check: true, verified: true, redirects: []string{cb},
		},
		{
			name: "facebook", p: socialauth.Facebook("fid", "fsecret", cb),
			wantName: "facebook", gothName: "facebook", callback: cb,
			authURL: "https://www.facebook.com/dialog/oauth", tokenURL: "https://graph.facebook.com/oauth/access_token",
			clientID: "fid", clientSecret: "fsecret", scopes: []string{"email"},
			check: true, verified: true, redirects: []string{cb},
		},
		{
			name: "microsoft default tenant", p: socialauth.Microsoft("mid", "msecret", "", cb),
			wantName: "microsoft", gothName: "microsoft", callback: cb,
			authURL:  "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
			tokenURL: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
			clientID: "mid", clientSecret: "msecret", scopes: []string{"openid", "profile", "email", "User.Read"},
			verified: true, redirects: []string{cb},
		},
		{
			name: "microsoft tenant", p: socialauth.Microsoft("mid", "msecret", "contoso.onmicrosoft.com"),
			wantName: "microsoft", gothName: "microsoft", callback: "",
			authURL:  "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize",
			tokenURL: "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
			clientID: "mid", clientSecret: "msecret", scopes: []string{"openid", "profile", "email", "User.Read"},
			verified: true,
		},
		{
			name: "gitlab.com", p: socialauth.GitLab("lid", "lsecret", "", cb),
			wantName: "gitlab", gothName: "gitlab", callback: cb,
			authURL: "https://gitlab.com/oauth/authorize", tokenURL: "https://gitlab.com/oauth/token",
			clientID: "lid", clientSecret: "lsecret", scopes: []string{"read_user"},
			check: true, verified: true, redirects: []string{cb},
		},
		{
			name: "gitlab self-hosted", p: socialauth.GitLab("lid", "lsecret", "https://git.example.org/", cb),
			wantName: "gitlab", gothName: "gitlab", callback: cb,
			authURL: "https://git.example.org/oauth/authorize", tokenURL: "https://git.example.org/oauth/token",
			clientID: "lid", clientSecret: "lsecret", scopes: []string{"read_user"},
			check: true, verified: true, redirects: []string{cb},
		},
		{
			name: "discord", p: socialauth.Discord("did", "dsecret", cb),
			wantName: "discord", gothName: "discord", callback: cb,
			authURL: "https://discord.com/api/oauth2/authorize", tokenURL: "https://discord.com/api/oauth2/token",
			clientID: "did", clientSecret: "dsecret", scopes: []string{"identify", "email"},
			check: true, verified: true, redirects: []string{cb},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := tt.p
			if p.Name != tt.wantName {
				t.Errorf("Name = %q, want %q", p.Name, tt.wantName)
			}
			if p.Goth == nil {
				t.Fatal("Goth is nil")
			}
			if got := p.Goth.Name(); got != tt.gothName {
				t.Errorf("Goth.Name() = %q, want %q", got, tt.gothName)
			}
			if got := gothCallback(t, p.Goth); got != tt.callback {
				t.Errorf("goth callback = %q, want %q", got, tt.callback)
			}
			if c := gothClient(t, p.Goth); c.Timeout != socialauth.DefaultHTTPTimeout {
				t.Errorf("goth HTTPClient.Timeout = %v, want %v", c.Timeout, socialauth.DefaultHTTPTimeout)
			}
			if p.OAuth2 == nil {
				t.Fatal("OAuth2 is nil")
			}
			want := oauth2.Config{
				ClientID: tt.clientID, ClientSecret: tt.clientSecret,
				Endpoint: oauth2.Endpoint{AuthURL: tt.authURL, TokenURL: tt.tokenURL},
				Scopes:   tt.scopes,
			}
			if !reflect.DeepEqual(*p.OAuth2, want) {
				t.Errorf("OAuth2 = %+v, want %+v", *p.OAuth2, want)
			}
			if !reflect.DeepEqual(p.OIDC, tt.oidc) {
				t.Errorf("OIDC = %+v, want %+v", p.OIDC, tt.oidc)
			}
			if !reflect.DeepEqual(p.RedirectURIs, tt.redirects) {
				t.Errorf("RedirectURIs = %q, want %q", p.RedirectURIs, tt.redirects)
			}
			if (p.CheckAccessToken != nil) != tt.check {
				t.Errorf("CheckAccessToken set = %v, want %v", p.CheckAccessToken != nil, tt.check)
			}
			if (p.VerifiedEmail != nil) != tt.verified {
				t.Errorf("VerifiedEmail set = %v, want %v", p.VerifiedEmail != nil, tt.verified)
			}
			if p.OAuth1 || p.AcceptNames || p.ClientSecret != nil || p.EmailAuthentication || p.EmailAuthenticationAutoConnect {
				t.Errorf("unexpected flags: OAuth1=%v AcceptNames=%v ClientSecret=%v EmailAuthentication=%v AutoConnect=%v",
					p.OAuth1, p.AcceptNames, p.ClientSecret != nil, p.EmailAuthentication, p.EmailAuthenticationAutoConnect)
			}
		})
	}
}

func TestTwitterConstructor(t *testing.T) {
	t.Parallel()
	p := socialauth.Twitter("ck", "cs", "https://app.example.com/tw")
	if p.Name != "twitter" || p.Goth == nil || p.Goth.Name() != "twitter" {
		t.Fatalf("Name = %q, Goth = %v", p.Name, p.Goth)
	}
	if !p.OAuth1 || p.OAuth2 != nil || p.OIDC != nil || p.CheckAccessToken != nil {
		t.Errorf("OAuth1 = %v, OAuth2 = %v, OIDC = %v, CheckAccessToken set = %v",
			p.OAuth1, p.OAuth2, p.OIDC, p.CheckAccessToken != nil)
	}
	if got := gothCallback(t, p.Goth); got != "https://app.example.com/tw" {
		t.Errorf("goth callback = %q", got)
	}
	if !reflect.DeepEqual(p.RedirectURIs, []string{"https://app.example.com/tw"}) {
		t.Errorf("RedirectURIs = %q", p.RedirectURIs)
	}
	if p.VerifiedEmail == nil {
		t.Fatal("VerifiedEmail is nil")
	}
	if v, err := p.VerifiedEmail(context.Background(), nil, goth.User{Provider: "twitter", Email: "t@example.com",
		RawData: map[string]any{"verified": true, "email_verified": true}}); v || err != nil {
		t.Errorf("VerifiedEmail = %v, %v; want false, nil", v, err)
	}
	if p := socialauth.Twitter("ck", "cs", ""); p.RedirectURIs != nil {
		t.Errorf("RedirectURIs without callback = %q, want nil", p.RedirectURIs)
	}
}

func TestConstructorsCopyRedirectURIs(t *testing.T) {
	t.Parallel()
	uris := []string{"https://a.example/cb", "https://b.example/cb"}
	p := socialauth.Google("id", "secret", uris...)
	uris[1] = "https://evil.example/cb"
	if p.RedirectURIs[1] != "https://b.example/cb" {
		t.Errorf("RedirectURIs shares the caller's slice: %q", p.RedirectURIs)
	}
}

// profileCase is one provider profile answer and what goth must make of it.
type profileCase struct {
	name     string
	provider func() socialauth.Provider
	routes   map[string]http.HandlerFunc
	want     goth.User // compared: Provider, UserID, Email, Name, FirstName, LastName, NickName
	raw      map[string]any
	verified bool
	// checkReqs inspects the requests the fake API received.
	checkReqs func(t *testing.T, reqs []recorded)
}

func TestFetchUser(t *testing.T) {
	t.Parallel()
	githubUser := `{"id":42,"login":"octo","name":"Octo Cat","email":"Octo@Example.com","bio":"b"}`
	tests := []profileCase{
		{
			name:     "google verified",
			provider: func() socialauth.Provider { return socialauth.Google("gid", "gsecret") },
			routes: map[string]http.HandlerFunc{
				"www.googleapis.com/oauth2/v2/userinfo": jsonHandler(200, `{"id":"1234","email":"ann@example.com","verified_email":true,
					"name":"Ann Lee","given_name":"Ann","family_name":"Lee","picture":"https://img/p.png","hd":"example.com"}`),
			},
			want: goth.User{Provider: "google", UserID: "1234", Email: "ann@example.com", Name: "Ann Lee",
				FirstName: "Ann", LastName: "Lee", NickName: "Ann Lee"},
			raw:      map[string]any{"hd": "example.com", "verified_email": true},
			verified: true,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 1 || reqs[0].Query.Get("access_token") != "tok" {
					t.Errorf("requests = %+v, want one with access_token=tok", reqs)
				}
			},
		},
		{
			name:     "google unverified",
			provider: func() socialauth.Provider { return socialauth.Google("gid", "gsecret") },
			routes: map[string]http.HandlerFunc{
				"www.googleapis.com/oauth2/v2/userinfo": jsonHandler(200, `{"id":"1235","email":"bob@example.com","verified_email":false,"name":"Bob"}`),
			},
			want:     goth.User{Provider: "google", UserID: "1235", Email: "bob@example.com", Name: "Bob", NickName: "Bob"},
			raw:      map[string]any{"verified_email": false},
			verified: false,
		},
		{
			name:     "github profile email listed verified (case-insensitive)",
			provider: func() socialauth.Provider { return socialauth.GitHub("hid", "hsecret") },
			routes: map[string]http.HandlerFunc{
				"api.github.com/user": jsonHandler(200, githubUser),
				"api.github.com/user/emails": jsonHandler(200, `[{"email":"other@example.com","verified":false,"primary":true},
					{"email":"octo@example.com","verified":true,"primary":false}]`),
			},
			want:     goth.User{Provider: "github", UserID: "42", Email: "Octo@Example.com", Name: "Octo Cat", NickName: "octo"},
			raw:      map[string]any{"login": "octo", "bio": "b"},
			verified: true,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 2 {
					t.Fatalf("requests = %+v, want /user then /user/emails", reqs)
				}
				for _, r := range reqs {
					if r.Header.Get("Authorization") != "Bearer tok" {
						t.Errorf("%s Authorization = %q", r.Path, r.Header.Get("Authorization"))
					}
				}
				if reqs[1].Path != "/user/emails" || reqs[1].Method != http.MethodGet {
					t.Errorf("second request = %s %s", reqs[1].Method, reqs[1].Path)
				}
			},
		},
		{
			name:     "github profile email listed unverified",
			provider: func() socialauth.Provider { return socialauth.GitHub("hid", "hsecret") },
			routes: map[string]http.HandlerFunc{
				"api.github.com/user":        jsonHandler(200, githubUser),
				"api.github.com/user/emails": jsonHandler(200, `[{"email":"octo@example.com","verified":false,"primary":true}]`),
			},
			want:     goth.User{Provider: "github", UserID: "42", Email: "Octo@Example.com", Name: "Octo Cat", NickName: "octo"},
			raw:      map[string]any{"login": "octo"},
			verified: false,
		},
		{
			name:     "github profile email not listed",
			provider: func() socialauth.Provider { return socialauth.GitHub("hid", "hsecret") },
			routes: map[string]http.HandlerFunc{
				"api.github.com/user":        jsonHandler(200, githubUser),
				"api.github.com/user/emails": jsonHandler(200, `[{"email":"someone@example.com","verified":true,"primary":true}]`),
			},
			want:     goth.User{Provider: "github", UserID: "42", Email: "Octo@Example.com", Name: "Octo Cat", NickName: "octo"},
			raw:      map[string]any{"login": "octo"},
			verified: false,
		},
		{
			name:     "github private email comes from the primary verified address",
			provider: func() socialauth.Provider { return socialauth.GitHub("hid", "hsecret") },
			routes: map[string]http.HandlerFunc{
				"api.github.com/user": jsonHandler(200, `{"id":43,"login":"priv","name":"Pri Vate","email":null}`),
				"api.github.com/user/emails": jsonHandler(200, `[{"email":"old@example.com","verified":true,"primary":false},
					{"email":"priv@example.com","verified":true,"primary":true}]`),
			},
			want:     goth.User{Provider: "github", UserID: "43", Email: "priv@example.com", Name: "Pri Vate", NickName: "priv"},
			raw:      map[string]any{"login": "priv", "email": nil},
			verified: true,
			checkReqs: func(t *testing.T, reqs []recorded) {
				// goth's own /user/emails call, then GitHubVerifiedEmail's.
				if len(reqs) != 3 {
					t.Errorf("got %d requests, want 3", len(reqs))
				}
			},
		},
		{
			name:     "facebook (never verified)",
			provider: func() socialauth.Provider { return socialauth.Facebook("fid", "fsecret") },
			routes: map[string]http.HandlerFunc{
				"graph.facebook.com/me": jsonHandler(200, `{"id":"99","name":"Fay Book","first_name":"Fay","last_name":"Book",
					"email":"fay@example.com","location":{"name":"Paris"}}`),
			},
			want: goth.User{Provider: "facebook", UserID: "99", Email: "fay@example.com", Name: "Fay Book",
				FirstName: "Fay", LastName: "Book", NickName: "Fay Book"},
			raw:      map[string]any{"first_name": "Fay"},
			verified: false,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 1 {
					t.Fatalf("requests = %+v", reqs)
				}
				mac := hmac.New(sha256.New, []byte("fsecret"))
				mac.Write([]byte("tok"))
				q := reqs[0].Query
				if q.Get("access_token") != "tok" || q.Get("appsecret_proof") != hex.EncodeToString(mac.Sum(nil)) {
					t.Errorf("query = %v, want access_token=tok and the appsecret_proof of fsecret", q)
				}
			},
		},
		{
			name:     "microsoft graph (never verified)",
			provider: func() socialauth.Provider { return socialauth.Microsoft("mid", "msecret", "") },
			routes: map[string]http.HandlerFunc{
				"graph.microsoft.com/v1.0/me": jsonHandler(200, `{"id":"ms-1","displayName":"Mia Soft","givenName":"Mia",
					"surname":"Soft","mail":"mia@example.com","userPrincipalName":"mia@contoso.com"}`),
			},
			want: goth.User{Provider: "microsoft", UserID: "ms-1", Email: "mia@example.com", Name: "Mia Soft",
				FirstName: "Mia", LastName: "Soft", NickName: "Mia Soft"},
			raw:      map[string]any{"userPrincipalName": "mia@contoso.com"},
			verified: false,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("requests = %+v, want one with Bearer tok", reqs)
				}
			},
		},
		{
			name:     "gitlab.com v4 (never verified)",
			provider: func() socialauth.Provider { return socialauth.GitLab("lid", "lsecret", "") },
			routes: map[string]http.HandlerFunc{
				"gitlab.com/api/v4/user": jsonHandler(200, `{"id":7,"username":"gl","name":"Git Lab","email":"gl@example.com",
					"avatar_url":"https://img/gl.png","confirmed_at":"2020-01-01T00:00:00Z"}`),
			},
			want:     goth.User{Provider: "gitlab", UserID: "7", Email: "gl@example.com", Name: "Git Lab", NickName: "gl"},
			raw:      map[string]any{"username": "gl"},
			verified: false,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 1 || reqs[0].Path != "/api/v4/user" || reqs[0].Query.Get("access_token") != "tok" {
					t.Errorf("requests = %+v, want /api/v4/user?access_token=tok", reqs)
				}
			},
		},
		{
			name:     "gitlab self-hosted v4",
			provider: func() socialauth.Provider { return socialauth.GitLab("lid", "lsecret", "https://git.example.org") },
			routes: map[string]http.HandlerFunc{
				"git.example.org/api/v4/user": jsonHandler(200, `{"id":8,"username":"sh","name":"Self Host","email":"sh@example.org"}`),
			},
			want:     goth.User{Provider: "gitlab", UserID: "8", Email: "sh@example.org", Name: "Self Host", NickName: "sh"},
			raw:      map[string]any{"username": "sh"},
			verified: false,
		},
		{
			name:     "discord verified",
			provider: func() socialauth.Provider { return socialauth.Discord("did", "dsecret") },
			routes: map[string]http.HandlerFunc{
				"discord.com/api/users/@me": jsonHandler(200, `{"id":"80","username":"disc","email":"d@example.com","verified":true,"avatar":"abc"}`),
			},
			want:     goth.User{Provider: "discord", UserID: "80", Email: "d@example.com", Name: "disc"},
			raw:      map[string]any{"verified": true},
			verified: true,
			checkReqs: func(t *testing.T, reqs []recorded) {
				if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer tok" {
					t.Errorf("requests = %+v, want one with Bearer tok", reqs)
				}
			},
		},
		{
			name:     "discord unverified",
			provider: func() socialauth.Provider { return socialauth.Discord("did", "dsecret") },
			routes: map[string]http.HandlerFunc{
				"discord.com/api/users/@me": jsonHandler(200, `{"id":"81","username":"nov","email":"n@example.com","verified":false}`),
			},
			want:     goth.User{Provider: "discord", UserID: "81", Email: "n@example.com", Name: "nov"},
			raw:      map[string]any{"verified": false},
			verified: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, tt.routes)
			p := tt.provider()
			gothClient(t, p.Goth).Transport = api.transport()

			u, err := fetchToken(t, p, "tok")
			if err != nil {
				t.Fatalf("FetchUser: %v", err)
			}
			got := goth.User{Provider: u.Provider, UserID: u.UserID, Email: u.Email, Name: u.Name,
				FirstName: u.FirstName, LastName: u.LastName, NickName: u.NickName}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("user = %+v\nwant   %+v", got, tt.want)
			}
			if u.AccessToken != "tok" {
				t.Errorf("AccessToken = %q", u.AccessToken)
			}
			for k, v := range tt.raw {
				if gv, ok := u.RawData[k]; !ok || !reflect.DeepEqual(gv, v) {
					t.Errorf("RawData[%q] = %#v (present %v), want %#v", k, gv, ok, v)
				}
			}

			var verified bool
			if p.VerifiedEmail != nil {
				verified, err = p.VerifiedEmail(context.Background(), api.client(time.Second), u)
				if err != nil {
					t.Fatalf("VerifiedEmail: %v", err)
				}
			} else {
				verified = socialauth.ProfileVerifiedEmail(u)
			}
			if verified != tt.verified {
				t.Errorf("verified = %v, want %v", verified, tt.verified)
			}
			if tt.checkReqs != nil {
				tt.checkReqs(t, api.requests())
			}
		})
	}
}

func TestFetchUserFailures(t *testing.T) {
	t.Parallel()
	providers := []struct {
		name    string
		new     func() socialauth.Provider
		profile string // host + path of the profile endpoint
	}{
		{"google", func() socialauth.Provider { return socialauth.Google("gid", "s") }, "www.googleapis.com/oauth2/v2/userinfo"},
		{"github", func() socialauth.Provider { return socialauth.GitHub("hid", "s") }, "api.github.com/user"},
		{"facebook", func() socialauth.Provider { return socialauth.Facebook("fid", "s") }, "graph.facebook.com/me"},
		{"microsoft", func() socialauth.Provider { return socialauth.Microsoft("mid", "s", "") }, "graph.microsoft.com/v1.0/me"},
		{"gitlab", func() socialauth.Provider { return socialauth.GitLab("lid", "s", "") }, "gitlab.com/api/v4/user"},
		{"discord", func() socialauth.Provider { return socialauth.Discord("did", "s") }, "discord.com/api/users/@me"},
	}
	failures := []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		timeout time.Duration
	}{
		{"401", func(*testing.T) http.HandlerFunc { return jsonHandler(401, `{"message":"Bad credentials"}`) }, time.Second},
		{"malformed JSON", func(*testing.T) http.HandlerFunc { return jsonHandler(200, `{"id":"1","email":`) }, time.Second},
		{"slow", blockingHandler, 50 * time.Millisecond},
	}
	for _, pr := range providers {
		for _, f := range failures {
			t.Run(pr.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				api := newFakeAPI(t, map[string]http.HandlerFunc{pr.profile: f.handler(t)})
				p := pr.new()
				c := gothClient(t, p.Goth)
				c.Transport = api.transport()
				c.Timeout = f.timeout
				u, err := fetchToken(t, p, "tok")
				if err == nil {
					t.Fatalf("FetchUser succeeded: %+v", u)
				}
				// Under load a 50 ms timeout may fire before the request
				// reaches the fake; never more than the profile call.
				if n := len(api.requests()); n > 1 || (n == 0 && f.name != "slow") {
					t.Errorf("got %d requests, want 1 (the profile)", n)
				}
			})
		}
	}
}

// TestTwitterFetchUser swaps http.DefaultTransport (goth's twitter package
// uses nothing else), so it must not run in parallel with anything.
func TestTwitterFetchUser(t *testing.T) {
	var missingName atomic.Bool
	api := newFakeAPI(t, map[string]http.HandlerFunc{
		"api.twitter.com/1.1/account/verify_credentials.json": func(w http.ResponseWriter, r *http.Request) {
			if missingName.Load() {
				jsonHandler(200, `{"id_str":"555","screen_name":"tweet"}`)(w, r)
				return
			}
			jsonHandler(200, `{"id_str":"555","name":"Tw Eet","screen_name":"tweet","description":"about",
				"profile_image_url":"https://img/t.png","location":"Rome","email":"t@example.com","verified":true}`)(w, r)
		},
	})
	orig := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = orig })
	u0 := api.transport().(rewriter)
	http.DefaultTransport = rewriter{target: u0.target, base: orig}

	p := socialauth.Twitter("ck", "cs", "")
	const session = `{"AccessToken":{"Token":"t","Secret":"s"}}`

	u, err := fetch(t, p, session)
	if err != nil {
		t.Fatalf("FetchUser: %v", err)
	}
	want := goth.User{Provider: "twitter", UserID: "555", Email: "t@example.com", Name: "Tw Eet", NickName: "tweet",
		Description: "about", AvatarURL: "https://img/t.png", Location: "Rome", AccessToken: "t", AccessTokenSecret: "s"}
	got := goth.User{Provider: u.Provider, UserID: u.UserID, Email: u.Email, Name: u.Name, NickName: u.NickName,
		Description: u.Description, AvatarURL: u.AvatarURL, Location: u.Location,
		AccessToken: u.AccessToken, AccessTokenSecret: u.AccessTokenSecret}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("user = %+v\nwant   %+v", got, want)
	}
	if u.RawData["verified"] != true {
		t.Errorf("RawData[verified] = %v", u.RawData["verified"])
	}
	// Twitter's "verified" is the account badge, not the email.
	if socialauth.ProfileVerifiedEmail(u) {
		t.Error("ProfileVerifiedEmail(twitter) = true")
	}
	r := api.only()
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "OAuth ") || !strings.Contains(auth, `oauth_token="t"`) || !strings.Contains(auth, `oauth_consumer_key="ck"`) {
		t.Errorf("Authorization = %q, want an OAuth1 header for token t and consumer ck", auth)
	}
	if r.Query.Get("include_email") != "true" {
		t.Errorf("query = %v", r.Query)
	}

	// A profile without "name" makes goth panic; restauth recovers it.
	missingName.Store(true)
	panicked := func() (p any) {
		defer func() { p = recover() }()
		_, _ = fetch(t, socialauth.Twitter("ck", "cs", ""), session)
		return nil
	}()
	if panicked == nil {
		t.Error("FetchUser without name did not panic")
	}
}

func TestAccessTokenSession(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		p       socialauth.Provider
		idToken string
	}{
		{"google", socialauth.Google("id", "s"), "idt"},
		{"github", socialauth.GitHub("id", "s"), ""},
		{"facebook", socialauth.Facebook("id", "s"), ""},
		{"microsoft", socialauth.Microsoft("id", "s", ""), ""},
		{"gitlab", socialauth.GitLab("id", "s", ""), ""},
		{"discord", socialauth.Discord("id", "s"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := accessTokenSession(tt.p.Goth, "tok", tt.idToken)
			if err != nil {
				t.Fatal(err)
			}
			v := reflect.ValueOf(s).Elem()
			if got := v.FieldByName("AccessToken").String(); got != "tok" {
				t.Errorf("session AccessToken = %q, want tok", got)
			}
			if tt.idToken != "" {
				if got := v.FieldByName("IDToken").String(); got != tt.idToken {
					t.Errorf("session IDToken = %q, want %q", got, tt.idToken)
				}
			}
		})
	}
	t.Run("nil provider", func(t *testing.T) {
		t.Parallel()
		if _, err := accessTokenSession(nil, "tok", ""); err == nil {
			t.Error("no error for a nil provider")
		}
	})
	// Why the helper exists: azureadv2's session tags its token "at".
	t.Run("plain JSON loses the microsoft token", func(t *testing.T) {
		t.Parallel()
		s, err := socialauth.Microsoft("id", "s", "").Goth.UnmarshalSession(`{"AccessToken":"tok"}`)
		if err != nil {
			t.Fatal(err)
		}
		if got := reflect.ValueOf(s).Elem().FieldByName("AccessToken").String(); got != "" {
			t.Errorf("azureadv2 now reads AccessToken (%q): AccessTokenSession's extra keys may be unneeded", got)
		}
	})
}
