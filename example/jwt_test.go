package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/restauth/restauth/internal/testdb"
)

// send makes one request with the given headers (and client, for
// cookies) and decodes the JSON answer.
func send(t *testing.T, client *http.Client, method, url, body string, hdr map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, url, res.StatusCode, raw)
	}
	return res, out
}

func bearer(access string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + access}
}

// jwtServer serves the example with vars (plus a secret and a SQLite file
// unless given) and a user demo / Sunny-Meadow-42.
func jwtServer(t *testing.T, vars map[string]string) (*app, *httptest.Server) {
	t.Helper()
	if vars["SECRET_KEY"] == "" {
		vars["SECRET_KEY"] = strings.Repeat("j", 40)
	}
	if vars["DATABASE_URL"] == "" {
		vars["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "jwt.db")
	}
	if err := run(context.Background(), []string{"createuser", "demo", "demo@example.com", "Sunny-Meadow-42"}, getenv(vars), io.Discard); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(getenv(vars), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	srv := httptest.NewServer(checked(t, a))
	t.Cleanup(srv.Close)
	return a, srv
}

const demoLogin = `{"username":"demo","password":"Sunny-Meadow-42"}`

// TestJWTWalkthrough is the README's JWT curl session: login, user/ and
// the app's route with a Bearer token, verify, refresh, logout with the
// refresh token.
func TestJWTWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"REST_USE_JWT": "true"}
			if db == "postgres" {
				vars["DATABASE_URL"] = testdb.PostgresURL(t)
			}
			_, srv := jwtServer(t, vars)
			base := srv.URL + "/rest-auth/"

			res, body := send(t, nil, "POST", base+"login/", demoLogin, nil)
			access, _ := body["access"].(string)
			refresh, _ := body["refresh"].(string)
			user, _ := body["user"].(map[string]any)
			if res.StatusCode != 200 || strings.Count(access, ".") != 2 || strings.Count(refresh, ".") != 2 || user["username"] != "demo" {
				t.Fatalf("login: %d %v", res.StatusCode, body)
			}
			if _, ok := body["key"]; ok {
				t.Fatalf("JWT login answered a token key: %v", body)
			}
			if _, ok := body["access_expiration"]; ok {
				t.Fatalf("expirations without JWT_AUTH_RETURN_EXPIRATION: %v", body)
			}

			res, body = send(t, nil, "GET", base+"user/", "", bearer(access))
			if res.StatusCode != 200 || body["username"] != "demo" {
				t.Fatalf("user: %d %v", res.StatusCode, body)
			}
			res, body = send(t, nil, "PATCH", base+"user/", `{"nickname":"Dee"}`, bearer(access))
			if res.StatusCode != 200 || body["nickname"] != "Dee" {
				t.Fatalf("patch: %d %v", res.StatusCode, body)
			}
			res, body = send(t, nil, "GET", srv.URL+"/api/profile", "", bearer(access))
			if res.StatusCode != 200 || body["nickname"] != "Dee" {
				t.Fatalf("profile: %d %v", res.StatusCode, body)
			}
			res, body = send(t, nil, "GET", srv.URL+"/api/profile", "", bearer(access+"x"))
			if res.StatusCode != 401 || body["code"] != "token_not_valid" || body["detail"] != "Given token not valid for any token type" ||
				res.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Fatalf("bad bearer: %d %v %v", res.StatusCode, body, res.Header)
			}

			res, body = send(t, nil, "POST", base+"token/verify/", `{"token":"`+access+`"}`, nil)
			if res.StatusCode != 200 || len(body) != 0 {
				t.Fatalf("verify: %d %v", res.StatusCode, body)
			}

			res, body = send(t, nil, "POST", base+"token/refresh/", `{"refresh":"`+refresh+`"}`, nil)
			access2, _ := body["access"].(string)
			if res.StatusCode != 200 || access2 == "" || access2 == access || body["access_expiration"] == nil {
				t.Fatalf("refresh: %d %v", res.StatusCode, body)
			}
			if _, ok := body["refresh"]; ok {
				t.Fatalf("refresh rotated without ROTATE_REFRESH_TOKENS: %v", body)
			}
			res, body = send(t, nil, "GET", base+"user/", "", bearer(access2))
			if res.StatusCode != 200 || body["username"] != "demo" {
				t.Fatalf("user with the refreshed access: %d %v", res.StatusCode, body)
			}

			// Logout is idempotent: without a token it still answers 200.
			res, body = send(t, nil, "POST", base+"logout/", "", nil)
			if res.StatusCode != 200 || body["detail"] != "Successfully logged out." {
				t.Fatalf("logout without a token: %d %v", res.StatusCode, body)
			}
			res, body = send(t, nil, "POST", base+"logout/", `{"refresh":"`+refresh+`"}`, nil)
			if res.StatusCode != 200 || body["detail"] != "Successfully logged out." {
				t.Fatalf("logout: %d %v", res.StatusCode, body)
			}
			res, body = send(t, nil, "POST", base+"token/refresh/", `{"refresh":"`+refresh+`"}`, nil)
			if res.StatusCode != 401 || body["detail"] != "Token is invalid or expired" || body["code"] != "token_not_valid" {
				t.Fatalf("refresh after logout: %d %v", res.StatusCode, body)
			}
			// The logged-out login's access token is refused too (the
			// in-memory set of revoked logins).
			res, body = send(t, nil, "GET", base+"user/", "", bearer(access))
			if res.StatusCode != 401 || body["code"] != "token_not_valid" {
				t.Fatalf("access token after logout: %d %v", res.StatusCode, body)
			}
		})
	}
}

// TestJWTRotation: ROTATE_REFRESH_TOKENS hands out a new refresh token, and
// presenting the old one again revokes the new one too;
// JWT_AUTH_RETURN_EXPIRATION adds the expirations to the login body.
func TestJWTRotation(t *testing.T) {
	t.Parallel()
	_, srv := jwtServer(t, map[string]string{"REST_USE_JWT": "1", "ROTATE_REFRESH_TOKENS": "yes", "JWT_AUTH_RETURN_EXPIRATION": "true"})
	base := srv.URL + "/rest-auth/"
	res, body := send(t, nil, "POST", base+"login/", demoLogin, nil)
	old, _ := body["refresh"].(string)
	if res.StatusCode != 200 || old == "" || body["access_expiration"] == nil || body["refresh_expiration"] == nil {
		t.Fatalf("login: %d %v", res.StatusCode, body)
	}
	res, body = send(t, nil, "POST", base+"token/refresh/", `{"refresh":"`+old+`"}`, nil)
	next, _ := body["refresh"].(string)
	if res.StatusCode != 200 || next == "" || next == old || body["refresh_expiration"] == nil {
		t.Fatalf("refresh: %d %v", res.StatusCode, body)
	}
	res, body = send(t, nil, "POST", base+"token/refresh/", `{"refresh":"`+old+`"}`, nil)
	if res.StatusCode != 401 || body["code"] != "token_not_valid" {
		t.Fatalf("reused refresh: %d %v", res.StatusCode, body)
	}
	res, body = send(t, nil, "POST", base+"token/refresh/", `{"refresh":"`+next+`"}`, nil)
	if res.StatusCode != 401 {
		t.Fatalf("the family survived a reuse: %d %v", res.StatusCode, body)
	}
}

func cookieNamed(t *testing.T, res *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", name, res.Header["Set-Cookie"])
	return nil
}

// TestJWTCookies: JWT_AUTH_COOKIE and JWT_AUTH_REFRESH_COOKIE carry the
// tokens (HttpOnly by default, so the body's refresh is blank), and
// JWT_AUTH_COOKIE_USE_CSRF guards cookie-authenticated writes.
func TestJWTCookies(t *testing.T) {
	t.Parallel()
	_, srv := jwtServer(t, map[string]string{
		"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "my-app-auth", "JWT_AUTH_REFRESH_COOKIE": "my-refresh",
		"JWT_AUTH_SAMESITE": "strict", "JWT_AUTH_COOKIE_USE_CSRF": "true",
	})
	base := srv.URL + "/rest-auth/"
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}

	res, body := send(t, client, "POST", base+"login/", demoLogin, nil)
	if res.StatusCode != 200 || body["access"] == "" || body["refresh"] != "" {
		t.Fatalf("login: %d %v", res.StatusCode, body)
	}
	for _, name := range []string{"my-app-auth", "my-refresh"} {
		c := cookieNamed(t, res, name)
		if !c.HttpOnly || c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge <= 0 {
			t.Fatalf("%s cookie: %+v", name, c)
		}
	}
	csrf := cookieNamed(t, res, "csrftoken")
	if csrf.HttpOnly || csrf.Value == "" {
		t.Fatalf("csrftoken cookie: %+v", csrf)
	}

	res, body = send(t, client, "GET", srv.URL+"/api/profile", "", nil)
	if res.StatusCode != 200 || body["username"] != "demo" {
		t.Fatalf("profile by cookie: %d %v", res.StatusCode, body)
	}
	res, body = send(t, client, "PATCH", base+"user/", `{"nickname":"Dee"}`, nil)
	if res.StatusCode != 403 || body["detail"] != "CSRF Failed: CSRF token missing." {
		t.Fatalf("patch without CSRF header: %d %v", res.StatusCode, body)
	}
	res, body = send(t, client, "PATCH", base+"user/", `{"nickname":"Dee"}`, map[string]string{"X-CSRFToken": "nope"})
	if res.StatusCode != 403 || body["detail"] != "CSRF Failed: CSRF token incorrect." {
		t.Fatalf("patch with a wrong CSRF header: %d %v", res.StatusCode, body)
	}
	res, body = send(t, client, "PATCH", base+"user/", `{"nickname":"Dee"}`, map[string]string{"X-CSRFToken": csrf.Value})
	if res.StatusCode != 200 || body["nickname"] != "Dee" {
		t.Fatalf("patch with CSRF header: %d %v", res.StatusCode, body)
	}

	// The refresh token comes from its cookie; the access cookie is renewed.
	res, body = send(t, client, "POST", base+"token/refresh/", "", map[string]string{"X-CSRFToken": csrf.Value})
	if res.StatusCode != 200 || body["access"] == "" || cookieNamed(t, res, "my-app-auth").Value != body["access"] {
		t.Fatalf("refresh by cookie: %d %v", res.StatusCode, body)
	}

	res, body = send(t, client, "POST", base+"logout/", "", map[string]string{"X-CSRFToken": csrf.Value})
	if res.StatusCode != 200 || cookieNamed(t, res, "my-app-auth").MaxAge >= 0 || cookieNamed(t, res, "my-refresh").MaxAge >= 0 {
		t.Fatalf("logout: %d %v %v", res.StatusCode, body, res.Header["Set-Cookie"])
	}
	res, body = send(t, client, "GET", srv.URL+"/api/profile", "", nil)
	if res.StatusCode != 401 {
		t.Fatalf("profile after logout: %d %v", res.StatusCode, body)
	}
}

// TestJWTEnforceCSRF: with JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED
// even a login needs the CSRF token, which any restauth answer hands out.
// JWT_AUTH_HTTPONLY=false keeps the refresh token in the body.
func TestJWTEnforceCSRF(t *testing.T) {
	t.Parallel()
	_, srv := jwtServer(t, map[string]string{
		"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "auth", "JWT_AUTH_REFRESH_COOKIE": "refresh",
		"JWT_AUTH_HTTPONLY": "false", "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED": "true",
	})
	base := srv.URL + "/rest-auth/"
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, body := send(t, client, "POST", base+"login/", demoLogin, nil)
	if res.StatusCode != 403 || body["detail"] != "CSRF Failed: CSRF cookie not set." {
		t.Fatalf("login without CSRF cookie: %d %v", res.StatusCode, body)
	}
	csrf := cookieNamed(t, res, "csrftoken") // handed out with the refusal
	res, body = send(t, client, "POST", base+"login/", demoLogin, map[string]string{"X-CSRFToken": csrf.Value})
	if res.StatusCode != 200 || body["refresh"] == "" || cookieNamed(t, res, "auth").HttpOnly {
		t.Fatalf("login with CSRF token: %d %v", res.StatusCode, body)
	}
}

// TestJWTPrivateKey: JWT_PRIVATE_KEY_FILE and JWT_KEY_ID sign with an
// Ed25519 key named in the kid header.
func TestJWTPrivateKey(t *testing.T) {
	t.Parallel()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "jwt.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, srv := jwtServer(t, map[string]string{"REST_USE_JWT": "true", "JWT_PRIVATE_KEY_FILE": file, "JWT_KEY_ID": "2026-01"})
	res, body := send(t, nil, "POST", srv.URL+"/rest-auth/login/", demoLogin, nil)
	access, _ := body["access"].(string)
	parts := strings.Split(access, ".")
	if res.StatusCode != 200 || len(parts) != 3 {
		t.Fatalf("login: %d %v", res.StatusCode, body)
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(raw, dst) != nil {
			t.Fatalf("part %d of %q", i, access)
		}
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if header["alg"] != "EdDSA" || header["kid"] != "2026-01" || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatalf("header %v, or not signed by the key file", header)
	}
	if claims["token_type"] != "access" || claims["user_id"] != "1" || claims["sid"] == "" || claims["jti"] == "" {
		t.Fatalf("claims: %v", claims)
	}
	res, body = send(t, nil, "GET", srv.URL+"/rest-auth/user/", "", bearer(access))
	if res.StatusCode != 200 {
		t.Fatalf("user: %d %v", res.StatusCode, body)
	}
}

// TestBadJWTEnvironment: a wrong JWT variable stops the server with an
// error naming it, before the database is touched.
func TestBadJWTEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	pubDER, _ := x509.MarshalPKIXPublicKey(priv.Public())
	pubFile, junkFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600)
	_ = os.WriteFile(junkFile, []byte("not a key"), 0o600)
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"REST_USE_JWT": "maybe"}, "REST_USE_JWT"},
		{map[string]string{"JWT_AUTH_COOKIE": "auth"}, "JWT_AUTH_COOKIE is set but REST_USE_JWT is not true"},
		{map[string]string{"REST_USE_JWT": "false", "ROTATE_REFRESH_TOKENS": "true"}, "ROTATE_REFRESH_TOKENS"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_HTTPONLY": "sometimes"}, "JWT_AUTH_HTTPONLY"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_SECURE": "2"}, "JWT_AUTH_SECURE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_RETURN_EXPIRATION": "x"}, "JWT_AUTH_RETURN_EXPIRATION"},
		{map[string]string{"REST_USE_JWT": "true", "ROTATE_REFRESH_TOKENS": "x"}, "ROTATE_REFRESH_TOKENS"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "a", "JWT_AUTH_COOKIE_USE_CSRF": "x"}, "JWT_AUTH_COOKIE_USE_CSRF"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "a", "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED": "x"}, "JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_SAMESITE": "Sideways"}, "JWT_AUTH_SAMESITE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_SAMESITE": "None"}, "JWT_AUTH_SECURE=true"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "my auth"}, "JWT_AUTH_COOKIE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_REFRESH_COOKIE": "a;b"}, "JWT_AUTH_REFRESH_COOKIE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "csrftoken"}, "JWT_AUTH_COOKIE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "t", "JWT_AUTH_REFRESH_COOKIE": "t"}, "must name different cookies"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_AUTH_COOKIE_USE_CSRF": "true"}, "need JWT_AUTH_COOKIE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_KEY_ID": "k1"}, "JWT_KEY_ID needs JWT_PRIVATE_KEY_FILE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_PRIVATE_KEY_FILE": filepath.Join(dir, "missing.pem")}, "JWT_PRIVATE_KEY_FILE"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_PRIVATE_KEY_FILE": junkFile}, "not a PEM"},
		{map[string]string{"REST_USE_JWT": "true", "JWT_PRIVATE_KEY_FILE": pubFile}, "holds a public key"},
	} {
		db := filepath.Join(dir, "bad.db")
		tc.vars["DATABASE_URL"] = "sqlite://" + db
		_, err := newApp(getenv(tc.vars), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("newApp(%v) = %v, want an error with %q", tc.vars, err, tc.want)
		}
		if _, err := os.Stat(db); err == nil {
			t.Fatalf("newApp(%v) created the database before failing", tc.vars)
		}
	}
}
