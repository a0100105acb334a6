package restauth_test

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

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
	serve(b, e.r, authGet("/rest-auth/user/", "Token "+key), 200)
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
	serve(b, e.r, postJSON("/rest-auth/login/", func() string { return body }), 200)
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
	serve(b, e.r, authGet("/bench/jwt", "Bearer "+access), 200)
}

// BenchmarkJWTRequireAuthNoRevocationSet is BenchmarkJWTRequireAuth
// without the in-memory revoked-login check (JWT.RevocationInterval < 0):
// the ratio of the two is the check's cost.
func BenchmarkJWTRequireAuthNoRevocationSet(b *testing.B) {
	e, access := jwtBenchEnv(b, func(c *restauth.Config) { c.JWT.RevocationInterval = -1 })
	serve(b, e.r, authGet("/bench/jwt", "Bearer "+access), 200)
}

// BenchmarkJWTNoAuth is the same handler on the same engine without
// RequireAuth: the denominator of the JWT ratio.
func BenchmarkJWTNoAuth(b *testing.B) {
	e, access := jwtBenchEnv(b)
	serve(b, e.r, authGet("/bench/open", "Bearer "+access), 200)
}

// BenchmarkUserGetJWT is a Bearer-authenticated GET user/ (HS256, the
// revoked-login set on, the user by primary key): the path of
// ratio.sh jwt.
func BenchmarkUserGetJWT(b *testing.B) {
	e, access := jwtBenchEnv(b)
	serve(b, e.r, authGet("/rest-auth/user/", "Bearer "+access), 200)
}

// BenchmarkTokenRefresh is token/refresh/ (no rotation): refresh token
// verified, its record and blacklist checked, a new access token signed.
func BenchmarkTokenRefresh(b *testing.B) {
	e, _ := jwtBenchEnv(b)
	refresh := e.loginJWT("bench").str("refresh")
	body := `{"refresh":"` + refresh + `"}`
	serve(b, e.r, postJSON("/rest-auth/token/refresh/", func() string { return body }), 200)
}

// BenchmarkRegisterNoHash is registration/ with a free hasher (no
// verification e-mail): binding, validators, the uniqueness checks, the
// user, e-mail address and token rows in one transaction.
func BenchmarkRegisterNoHash(b *testing.B) {
	e := newEnv(b, testdb.SQLite(b), func(c *restauth.Config) {
		c.Password.Hasher = plainHasher{}
		c.Registration.EmailVerification = restauth.VerificationNone
	})
	i := 0
	serve(b, e.r, postJSON("/rest-auth/registration/", func() string {
		i++
		return `{"username":"new` + itoa(i) + `","email":"new` + itoa(i) + `@example.com","password1":"` + goodPass + `","password2":"` + goodPass + `"}`
	}), 201)
}

// BenchmarkUserGetRateLimited is BenchmarkUserGet with the default rate
// limits on (in memory): GET user/ has no limit of its own, so this
// shows the limits cost nothing on the authenticated path.
func BenchmarkUserGetRateLimited(b *testing.B) {
	e := newEnv(b, testdb.SQLite(b), func(c *restauth.Config) { c.RateLimits = restauth.RateLimitConfig{} })
	e.user("bench", "bench@example.com")
	key := e.login("bench", goodPass)
	serve(b, e.r, authGet("/rest-auth/user/", "Token "+key), 200)
}

// BenchmarkLoginRateLimitCheck is login/ with a free hasher and the
// default rate limits on: the per-IP and per-account checks on top of
// BenchmarkLoginNoHash. The limits are raised so the benchmark is
// never throttled.
func BenchmarkLoginRateLimitCheck(b *testing.B) {
	e := newEnv(b, testdb.SQLite(b), func(c *restauth.Config) {
		c.Password.Hasher = plainHasher{}
		limits := restauth.DefaultRateLimits()
		for a, l := range limits {
			l.Count, l.Window = 1<<20, time.Hour
			limits[a] = l
		}
		c.RateLimits = restauth.RateLimitConfig{Limits: limits}
	})
	e.user("bench", "bench@example.com")
	body := `{"username":"bench","password":"` + goodPass + `"}`
	serve(b, e.r, postJSON("/rest-auth/login/", func() string { return body }), 200)
}

// authGet builds GET path requests with the Authorization header auth.
func authGet(path, auth string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", auth)
		return r
	}
}

// postJSON builds POST path requests with the JSON body body() gives.
func postJSON(path string, body func() string) func() *http.Request {
	return func() *http.Request {
		r := httptest.NewRequest("POST", path, strings.NewReader(body()))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
}
