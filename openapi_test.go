package restauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/contract"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/socialauth"
)

// served loads and validates the document e serves.
func served(t *testing.T, e *env) *openapi3.T {
	t.Helper()
	r := e.raw("GET", "/rest-auth/openapi.json")
	if r.Code != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("openapi.json: %d %q", r.Code, r.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

// operations lists "METHOD /path" of a document, sorted.
func operations(doc *openapi3.T) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// TestOpenAPIDocument: the document lists exactly the endpoints each
// configuration mounts, with its credentials and the app's user fields.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	core := []string{
		"GET /openapi.json", "GET /registration/account-confirm-email/{key}/", "GET /sessions/", "GET /user/",
		"PATCH /user/", "POST /login/", "POST /logout/", "POST /password/change/", "POST /password/reset/",
		"POST /password/reset/confirm/", "POST /registration/", "POST /registration/resend-email/",
		"POST /registration/verify-email/", "POST /sessions/revoke-others/", "POST /sessions/{id}/revoke/", "PUT /user/",
	}
	with := func(extra ...string) []string {
		out := append(slices.Clone(core), extra...)
		slices.Sort(out)
		return out
	}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(core), func(s string) bool { return slices.Contains(drop, s) })
	}
	t.Run("token mode", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, db, nil, restauth.WithUserSerializer[Customer](customerSerializer{}))
		doc := served(t, e)
		if got, want := operations(doc), with(); !slices.Equal(got, want) {
			t.Fatalf("operations\n got %v\nwant %v", got, want)
		}
		if doc.OpenAPI != "3.0.3" || len(doc.Servers) != 1 || doc.Servers[0].URL != "/rest-auth" || doc.Info.Title != "app.example API" {
			t.Fatalf("header %s %v %q", doc.OpenAPI, doc.Servers, doc.Info.Title)
		}
		schemes := doc.Components.SecuritySchemes
		if len(schemes) != 1 || schemes["TokenAuth"] == nil || schemes["TokenAuth"].Value.In != "header" {
			t.Fatalf("security schemes %v", schemes)
		}
		user := doc.Paths.Find("/user/").Get
		if sec := *user.Security; len(sec) != 1 || sec[0]["TokenAuth"] == nil {
			t.Fatalf("user/ security %v", sec)
		}
		if sec := doc.Paths.Find("/login/").Post.Security; sec == nil || len(*sec) != 0 {
			t.Fatalf("login/ must need no credentials: %v", sec)
		}
		// The app's serializer: shown and accepted fields.
		shown := user.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if shown.Properties["company_name"] == nil || shown.Properties["pk"] == nil || !slices.Contains(shown.Required, "company_name") {
			t.Fatalf("user schema %v", keys(shown.Properties))
		}
		put := doc.Paths.Find("/user/").Put.RequestBody.Value.Content.Get("application/json").Schema.Value
		cn := put.Properties["company_name"]
		if cn == nil || cn.Value.MaxLength == nil || *cn.Value.MaxLength != 100 || !slices.Contains(put.Required, "username") {
			t.Fatalf("PUT user/ body %v required %v", keys(put.Properties), put.Required)
		}
		patch := doc.Paths.Find("/user/").Patch.RequestBody.Value.Content.Get("application/json").Schema.Value
		if len(patch.Required) != 0 || patch.Properties["company_name"] == nil {
			t.Fatalf("PATCH user/ body required %v", patch.Required)
		}
		// Shapes of DRF's errors and the login body.
		login := doc.Paths.Find("/login/").Post
		for _, status := range []int{200, 400, 413, 415, 503} {
			if login.Responses.Status(status) == nil {
				t.Errorf("login/ lacks %d", status)
			}
		}
		if login.Responses.Status(401) != nil || login.Responses.Status(429) != nil {
			t.Errorf("login/ documents 401 or 429 it cannot answer here")
		}
		// Languages: the request header and the answer's Content-Language.
		if p := login.Parameters.GetByInAndName("header", "Accept-Language"); p == nil || p.Required {
			t.Errorf("login/ lacks an optional Accept-Language header parameter")
		}
		if h := login.Responses.Status(400).Value.Headers["Content-Language"]; h == nil {
			t.Errorf("login/'s 400 does not name Content-Language")
		}
		body := login.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if !slices.Equal(body.Required, []string{"key"}) {
			t.Errorf("login body %v", body.Required)
		}
		req := login.RequestBody.Value.Content.Get("application/json").Schema.Value
		if !slices.Equal(req.Required, []string{"password"}) || req.Properties["email"].Value.Format != "email" {
			t.Errorf("login request %v", req.Required)
		}
	})
	t.Run("JWT cookies, mandatory verification, limits", func(t *testing.T) {
		t.Parallel()
		e := jwtEnv(t, db, func(c *restauth.Config) {
			c.JWT.Cookie, c.JWT.RefreshCookie, c.JWT.CookieUseCSRF = "auth", "auth-refresh", true
			c.Registration.EmailVerification = restauth.VerificationMandatory
			c.RateLimits = restauth.RateLimitConfig{}
		})
		doc := served(t, e)
		if got, want := operations(doc), with("POST /token/refresh/", "POST /token/verify/"); !slices.Equal(got, want) {
			t.Fatalf("operations\n got %v\nwant %v", got, want)
		}
		s := doc.Components.SecuritySchemes
		if len(s) != 4 || s["BearerAuth"] == nil || s["CookieAuth"].Value.Name != "auth" || s["CSRFHeader"].Value.Name != "X-CSRFToken" {
			t.Fatalf("security schemes %v", keys(s))
		}
		// Unsafe authenticated requests by cookie also need the header.
		sec := *doc.Paths.Find("/password/change/").Post.Security
		if len(sec) != 3 || len(sec[2]) != 2 {
			t.Fatalf("password/change/ security %v", sec)
		}
		login := doc.Paths.Find("/login/").Post
		if login.Responses.Status(429) == nil || login.Responses.Status(403) == nil {
			t.Fatal("login/ lacks 429 or 403")
		}
		body := login.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if body.Properties["user"].Value.Properties["username"] == nil || *body.Properties["refresh"].Value.MaxLength != 0 {
			t.Fatalf("JWT login body %v", keys(body.Properties))
		}
		reg := doc.Paths.Find("/registration/").Post.Responses.Status(201).Value.Content.Get("application/json").Schema.Value
		if reg.Properties["detail"] == nil {
			t.Fatalf("registration under mandatory verification answers a detail, not %v", keys(reg.Properties))
		}
	})
	t.Run("registration off, social, document off", func(t *testing.T) {
		t.Parallel()
		gh := newFakeGitHub(t)
		e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.Registration.Disabled = true
			c.Social.Providers = []socialauth.Provider{gh.provider()}
		})
		doc := served(t, e)
		want := without("GET /registration/account-confirm-email/{key}/", "POST /registration/", "POST /registration/resend-email/", "POST /registration/verify-email/")
		want = append(want, "GET /github/authorize/", "GET /github/callback/", "GET /socialaccounts/", "POST /github/", "POST /github/connect/", "POST /socialaccounts/{id}/disconnect/")
		slices.Sort(want)
		if got := operations(doc); !slices.Equal(got, want) {
			t.Fatalf("operations\n got %v\nwant %v", got, want)
		}
		off := newEnv(t, db, func(c *restauth.Config) { c.OpenAPI.Disabled = true })
		if r := off.raw("GET", "/rest-auth/openapi.json"); r.Code != http.StatusNotFound {
			t.Fatalf("disabled openapi.json: %d", r.Code)
		}
		raw, err := off.auth.OpenAPI("https://api.example/rest-auth")
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Servers []struct{ URL string }
			Paths   map[string]any
		}
		if err := json.Unmarshal(raw, &d); err != nil || d.Servers[0].URL != "https://api.example/rest-auth" || d.Paths["/login/"] == nil || d.Paths["/openapi.json"] != nil {
			t.Fatalf("Plugin.OpenAPI: %v %+v", err, d.Servers)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIContractCatches: the contract check refuses an answer whose
// shape or status the document does not describe (the checker used on
// every test request can fail).
func TestOpenAPIContractCatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	raw, err := e.auth.OpenAPI("/rest-auth")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.New(raw, "/rest-auth") // a checker of its own: its failures are expected
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, path, nil)
		return r
	}
	post := func(path string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, path, nil)
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	json := http.Header{"Content-Type": {"application/json"}}
	for _, tc := range []struct {
		name   string
		req    *http.Request
		sent   string // the request body
		status int
		body   string
		ok     bool
	}{
		// A success to a request the document calls invalid means the
		// document is wrong. dj-rest-auth clients send a blank email.
		{"login request", post("/rest-auth/login/"), `{"username":"u","email":"","password":"p"}`, 200, `{"key":"abc"}`, true},
		{"login request, password as a number (read as a string)", post("/rest-auth/login/"), `{"username":"u","password":12345678}`, 200, `{"key":"abc"}`, true},
		{"login request without password", post("/rest-auth/login/"), `{"username":"u"}`, 200, `{"key":"abc"}`, false},
		{"login request with a too long username", post("/rest-auth/login/"), `{"username":"` + strings.Repeat("u", 4097) + `","password":"p"}`, 200, `{"key":"abc"}`, false},
		{"refused request", post("/rest-auth/login/"), `{"username":"u"}`, 400, `{"password":["This field is required."]}`, true},
		{"login body", post("/rest-auth/login/"), "", 200, `{"key":"abc"}`, true},
		{"login body renamed", post("/rest-auth/login/"), "", 200, `{"token":"abc"}`, false},
		{"login body with an added field", post("/rest-auth/login/"), "", 200, `{"key":"abc","password_hash":"x"}`, false},
		{"login key of the wrong type", post("/rest-auth/login/"), "", 200, `{"key":42}`, false},
		{"field errors", post("/rest-auth/login/"), "", 400, `{"password":["This field is required."]}`, true},
		{"field errors not a list", post("/rest-auth/login/"), "", 400, `{"password":"This field is required."}`, false},
		{"undocumented status", post("/rest-auth/login/"), "", 418, `{"detail":"teapot"}`, false},
		{"401 where no user is needed", post("/rest-auth/password/reset/"), "", 401, `{"detail":"x"}`, false},
		{"user without username", get("/rest-auth/user/"), "", 200, `{"pk":1,"email":"","first_name":"","last_name":""}`, false},
		{"user", get("/rest-auth/user/"), "", 200, `{"pk":1,"username":"u","email":"","first_name":"","last_name":""}`, true},
		{"path without slash", get("/rest-auth/user"), "", 401, `{"detail":"Authentication credentials were not provided."}`, true},
		{"undocumented route answered", get("/rest-auth/token/refresh/"), "", 200, `{}`, false},
	} {
		err := c.Check(tc.req, []byte(tc.sent), tc.status, json, []byte(tc.body))
		if (err == nil) != tc.ok {
			t.Errorf("%s: check error %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// appLogin is an app's login body; its User type happens to share the
// name of the document's user schema; tokenStamp encodes itself.
type appLogin struct {
	Key string `json:"key"`
	Who User   `json:"who"`
}

type User struct {
	Stamp   tokenStamp       `json:"stamp"`
	Extra   json.RawMessage  `json:"extra"`
	Tags    []string         `json:"tags"`
	Profile *customerDetails `json:"profile"`
}

type tokenStamp struct{ n int }

func (s tokenStamp) MarshalText() ([]byte, error) { return []byte("stamp-" + strconv.Itoa(s.n)), nil }

// TestOpenAPIAppTypes: the app's own types in the document — a name that
// collides with one of restauth's, a type with its own text encoding, raw
// JSON, a nil slice and a nil pointer — are described as Go writes them
// (the contract check of newEnv validates the answers below).
func TestOpenAPIAppTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil,
		restauth.WithUserSerializer[Customer](customerSerializer{}),
		restauth.WithTokenResponse(func(key string, u *Customer) any {
			return appLogin{Key: key, Who: User{Stamp: tokenStamp{7}, Extra: json.RawMessage(`{"any":[1,"x"]}`)}}
		}))
	e.user("typed", "typed@example.com")
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "typed", "password": goodPass})
	expect(t, r, 200)
	who, _ := r.Body["who"].(map[string]any)
	if who["stamp"] != "stamp-7" || who["tags"] != nil || who["profile"] != nil {
		t.Fatalf("login body %s", r.Raw)
	}
	expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(r.str("key"))...), 200)
	doc := served(t, e)
	login := doc.Paths.Find("/login/").Post.Responses.Status(200).Value.Content.Get("application/json").Schema
	user := doc.Paths.Find("/user/").Get.Responses.Status(200).Value.Content.Get("application/json").Schema
	appUser := login.Value.Properties["who"]
	if appUser.Ref == user.Ref || user.Value.Properties["company_name"] == nil || appUser.Value.Properties["stamp"].Value.Type.Slice()[0] != "string" {
		t.Fatalf("the app's User is %s, the user schema %s", appUser.Ref, user.Ref)
	}
}
