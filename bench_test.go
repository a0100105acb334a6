package restauth_test

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/password"
)

// plainHasher costs nothing, so a login benchmark with it measures
// everything but the password hash. Never use it outside benchmarks.
type plainHasher struct{}

func (plainHasher) Hash(pw string) (string, error) { return "plain$" + pw, nil }
func (plainHasher) Verify(pw, enc string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte("plain$"+pw), []byte(enc)) == 1, nil
}
func (plainHasher) NeedsRehash(string) bool { return false }

// benchEnv is newEnv on SQLite with hasher (nil: the tests' cheap one).
func benchEnv(b *testing.B, hasher password.Hasher) *env {
	e := newEnv(b, testdb.SQLite(b), func(c *restauth.Config) { c.Password.Hasher = hasher })
	e.user("bench", "bench@example.com")
	e.r.GET("/baseline", func(c *gin.Context) { c.JSON(200, gin.H{"pk": 1, "username": "bench"}) })
	return e
}

func serve(b *testing.B, h http.Handler, req func() *http.Request, want int) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req())
		if w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkUserGet is a token-authenticated GET user/: header parse,
// digest, token lookup, user load, serialisation.
func BenchmarkUserGet(b *testing.B) {
	e := benchEnv(b, nil)
	key := e.login("bench", goodPass)
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("GET", "/rest-auth/user/", nil)
		r.Header.Set("Authorization", "Token "+key)
		return r
	}, 200)
}

// BenchmarkBaselineRoute is the same engine answering a route with no
// auth and no database: the denominator of the ratios in the notes.
func BenchmarkBaselineRoute(b *testing.B) {
	e := benchEnv(b, nil)
	serve(b, e.r, func() *http.Request { return httptest.NewRequest("GET", "/baseline", nil) }, 200)
}

// BenchmarkLoginNoHash is login/ with a free hasher: binding, user
// lookup, last_login update, token insert, response.
func BenchmarkLoginNoHash(b *testing.B) { benchLogin(b, plainHasher{}) }

// BenchmarkLoginArgon2id is login/ with the default hasher, for the share
// of the hash in a real login.
func BenchmarkLoginArgon2id(b *testing.B) { benchLogin(b, password.Default()) }

func benchLogin(b *testing.B, hasher password.Hasher) {
	e := benchEnv(b, hasher)
	body := `{"username":"bench","password":"` + goodPass + `"}`
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("POST", "/rest-auth/login/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		return r
	}, 200)
}

// jwtBenchEnv mounts one handler twice: behind RequireAuth and open.
func jwtBenchEnv(b *testing.B, mutate ...func(*restauth.Config)) (*env, string) {
	var m func(*restauth.Config)
	if len(mutate) > 0 {
		m = mutate[0]
	}
	e := jwtEnv(b, testdb.SQLite(b), m)
	e.user("bench", "bench@example.com")
	access := e.loginJWT("bench").str("access")
	h := func(c *gin.Context) { c.JSON(200, gin.H{"pk": 1, "username": "bench"}) }
	e.r.GET("/bench/jwt", e.auth.RequireAuth(), h)
	e.r.GET("/bench/open", h)
	return e, access
}

// BenchmarkJWTRequireAuth is an app route behind RequireAuth with a
// Bearer access token (HS256): header parse, signature and claims check,
// no database.
func BenchmarkJWTRequireAuth(b *testing.B) {
	e, access := jwtBenchEnv(b)
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("GET", "/bench/jwt", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		return r
	}, 200)
}

// BenchmarkJWTRequireAuthNoRevocationSet is BenchmarkJWTRequireAuth
// without the in-memory revoked-login check (JWT.RevocationInterval < 0):
// the ratio of the two is the check's cost.
func BenchmarkJWTRequireAuthNoRevocationSet(b *testing.B) {
	e, access := jwtBenchEnv(b, func(c *restauth.Config) { c.JWT.RevocationInterval = -1 })
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("GET", "/bench/jwt", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		return r
	}, 200)
}

// BenchmarkJWTNoAuth is the same handler on the same engine without
// RequireAuth: the denominator of the JWT ratio.
func BenchmarkJWTNoAuth(b *testing.B) {
	e, access := jwtBenchEnv(b)
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("GET", "/bench/open", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		return r
	}, 200)
}

// BenchmarkUserGetJWT is a Bearer-authenticated GET user/ (HS256, the
// revoked-login set on, the user by primary key): the path of
// ratio.sh jwt.
func BenchmarkUserGetJWT(b *testing.B) {
	e, access := jwtBenchEnv(b)
	serve(b, e.r, func() *http.Request {
		r := httptest.NewRequest("GET", "/rest-auth/user/", nil)
		r.Header.Set("Authorization", "Bearer "+access)
		return r
	}, 200)
}
