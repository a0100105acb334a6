package restauth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// jwtEnv is newEnv in JWT mode, with an unsafe app route for CSRF tests
// and a route that reads only the claims.
func jwtEnv(t testing.TB, db *gorm.DB, mutate func(*restauth.Config), opts ...restauth.Option[Customer]) *env {
	t.Helper()
	e := newEnv(t, db, func(c *restauth.Config) {
		c.JWT.Enabled = true
		if mutate != nil {
			mutate(c)
		}
	}, opts...)
	e.r.POST("/api/action", e.auth.RequireAuth(), func(c *gin.Context) {
		u, ok := restauth.CurrentUser[Customer](c)
		if !ok {
			c.JSON(500, gin.H{"detail": "no user"})
			return
		}
		c.JSON(200, gin.H{"username": u.Username})
	})
	e.r.GET("/api/claims", e.auth.RequireAuth(), func(c *gin.Context) {
		cl, ok := restauth.CurrentClaims(c)
		if !ok {
			c.JSON(500, gin.H{"detail": "no claims"})
			return
		}
		c.JSON(200, cl)
	})
	return e
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// loginJWT logs in and returns the 200 body.
func (e *env) loginJWT(username string) resp {
	e.t.Helper()
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": username, "password": goodPass})
	if r.Code != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.Code, r.Raw)
	}
	return r
}

func (r resp) str(key string) string { s, _ := r.Body[key].(string); return s }

// payload decodes a JWT's claims without verifying it.
func payload(t testing.TB, tok string) map[string]any { return segment(t, tok, 1) }

// header decodes a JWT's header.
func header(t testing.TB, tok string) map[string]any { return segment(t, tok, 0) }

func segment(t testing.TB, tok string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

var jtiRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

func expectTokenInvalid(t testing.TB, r resp, detail string) {
	t.Helper()
	expectDetail(t, r, 401, detail)
	if r.Body["code"] != "token_not_valid" {
		t.Fatalf("code %v, want token_not_valid: %s", r.Body["code"], r.Raw)
	}
	if got := r.Header.Get("WWW-Authenticate"); got != `Bearer realm="api"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
}

func TestJWTResponseShapes(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		claims := restauth.WithJWTClaims[Customer](func(_ context.Context, u *Customer) map[string]any {
			return map[string]any{"company": u.CompanyName, "user_id": "999", "token_type": "refresh"}
		})
		e := jwtEnv(t, db, nil, restauth.WithUserSerializer[Customer](customerSerializer{}), claims)
		u := e.user("alice", "alice@example.com")
		e.db.Model(u).Update("company_name", "Acme Ltd")

		r := e.loginJWT("alice")
		for _, k := range []string{"access", "refresh", "user"} {
			if _, ok := r.Body[k]; !ok {
				t.Fatalf("login body lacks %q: %s", k, r.Raw)
			}
		}
		if len(r.Body) != 3 {
			t.Fatalf("login body has extra keys: %s", r.Raw)
		}
		user, _ := r.Body["user"].(map[string]any)
		if user["username"] != "alice" || user["company_name"] != "Acme Ltd" || user["pk"] != float64(u.ID) {
			t.Fatalf("user object %v lacks the app's field or pk", user)
		}
		now := e.clock.Now().Unix()
		ac, rc := payload(t, r.str("access")), payload(t, r.str("refresh"))
		want := strconv.FormatUint(uint64(u.ID), 10)
		for name, c := range map[string]map[string]any{"access": ac, "refresh": rc} {
			if c["token_type"] != name || c["user_id"] != want || !jtiRe.MatchString(c["jti"].(string)) || c["iat"] != float64(now) {
				t.Fatalf("%s claims %v", name, c)
			}
		}
		if ac["exp"] != float64(now+300) || rc["exp"] != float64(now+86400) {
			t.Fatalf("lifetimes: access exp %v refresh exp %v (now %d)", ac["exp"], rc["exp"], now)
		}
		if ac["company"] != "Acme Ltd" || ac["jti"] == rc["jti"] || ac["sid"] != rc["sid"] {
			t.Fatalf("app claim missing or ids wrong: access %v refresh %v", ac, rc)
		}
		if _, ok := header(t, r.str("access"))["kid"]; ok {
			t.Fatal("default HS256 key should not name a kid")
		}
		// The access token authenticates; the claims route needs no user.
		me := e.do("GET", "/api/me", nil, bearer(r.str("access"))...)
		expect(t, me, 200)
		if me.Body["company_name"] != "Acme Ltd" {
			t.Fatalf("/api/me %s", me.Raw)
		}
		cl := e.do("GET", "/api/claims", nil, bearer(r.str("access"))...)
		if cl.Body["company"] != "Acme Ltd" || cl.Body["user_id"] != want {
			t.Fatalf("/api/claims %s", cl.Raw)
		}
		expect(t, e.do("GET", "/rest-auth/user/", nil, bearer(r.str("access"))...), 200)

		// Registration answers the same shape with 201.
		reg := e.do("POST", "/rest-auth/registration/", map[string]any{
			"username": "bob", "email": "bob@example.com", "password1": goodPass, "password2": goodPass,
		})
		expect(t, reg, 201)
		if reg.str("access") == "" || reg.str("refresh") == "" || reg.Body["user"].(map[string]any)["username"] != "bob" {
			t.Fatalf("registration body %s", reg.Raw)
		}
		if _, ok := reg.Body["key"]; ok {
			t.Fatal("JWT registration also returned a token key")
		}
		if n := e.count(&models.Token{}); n != 0 {
			t.Fatalf("JWT mode created %d token keys", n)
		}
	})

	t.Run("mandatory verification issues nothing at sign-up", func(t *testing.T) {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationMandatory })
		reg := e.do("POST", "/rest-auth/registration/", map[string]any{
			"username": "bob", "email": "bob@example.com", "password1": goodPass, "password2": goodPass,
		})
		expectDetail(t, reg, 201, "Verification e-mail sent.")
		if n := e.count(&models.OutstandingToken{}); n != 0 || len(setCookies(reg)) != 0 {
			t.Fatalf("sign-up under mandatory verification issued %d refresh tokens, cookies %v", n, setCookies(reg))
		}
	})
	t.Run("expiration fields", func(t *testing.T) {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.JWT.ReturnExpiration = true
			c.JWT.AccessLifetime = 10 * time.Minute
			c.JWT.RefreshLifetime = 48 * time.Hour
		})
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		now := e.clock.Now().UTC()
		if got, want := r.str("access_expiration"), now.Add(10*time.Minute).Format(time.RFC3339); got != want {
			t.Fatalf("access_expiration %q, want %q", got, want)
		}
		if got, want := r.str("refresh_expiration"), now.Add(48*time.Hour).Format(time.RFC3339); got != want {
			t.Fatalf("refresh_expiration %q, want %q", got, want)
		}
		if !strings.HasSuffix(r.str("access_expiration"), "Z") {
			t.Fatal("expiration not in UTC")
		}
	})

	t.Run("v0.9 style", func(t *testing.T) {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.JWT.ResponseStyle = "v0.9" },
			restauth.WithUserSerializer[Customer](customerSerializer{}))
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		if len(r.Body) != 2 || r.str("token") == "" || r.Body["user"].(map[string]any)["company_name"] != "" {
			t.Fatalf("v0.9 body %s", r.Raw)
		}
		if payload(t, r.str("token"))["token_type"] != "access" {
			t.Fatal("v0.9 token is not an access token")
		}
		expect(t, e.do("GET", "/api/me", nil, bearer(r.str("token"))...), 200)
	})

	t.Run("token auth off", func(t *testing.T) {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Token.Disabled = true })
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		if r.str("access") == "" {
			t.Fatal(r.Raw)
		}
		// A Token header is not a scheme this server speaks.
		none := e.do("GET", "/api/me", nil, tokenHeader(strings.Repeat("a", 40))...)
		expectDetail(t, none, 401, "Authentication credentials were not provided.")
		if got := none.Header.Get("WWW-Authenticate"); got != `Bearer realm="api"` {
			t.Fatalf("WWW-Authenticate %q", got)
		}
	})
}

// testKeys holds an RSA and an Ed25519 key and their PEM forms.
type testKeys struct {
	rsa       *rsa.PrivateKey
	rsaPubPEM []byte
	ed        ed25519.PrivateKey
}

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{rsa: rk, rsaPubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), ed: ek}
}

func signRaw(t testing.TB, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWTTampering(t *testing.T) {
	keys := newTestKeys(t)
	e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.JWT.Keys = []restauth.JWTKey{{ID: "k1", Algorithm: "RS256", PrivateKey: keys.rsa}}
	})
	u := e.user("alice", "alice@example.com")
	login := e.loginJWT("alice")
	access, refresh := login.str("access"), login.str("refresh")
	if header(t, access)["kid"] != "k1" || header(t, access)["alg"] != "RS256" {
		t.Fatalf("header %v", header(t, access))
	}
	good := payload(t, access)
	claims := func(change map[string]any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	now := e.clock.Now().Unix()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	noneTok := func() string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"k1"}`))
		return h + "." + strings.Split(access, ".")[1] + "."
	}
	flipped := []byte(access)
	flipped[len(flipped)-5] ^= 0x01
	if flipped[len(flipped)-5] == '.' || string(flipped) == access {
		t.Fatal("bad flip")
	}
	cases := []struct{ name, token string }{
		{"alg none", noneTok()},
		{"alg none without kid", strings.Replace(noneTok(), strings.Split(noneTok(), ".")[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)), 1)},
		{"HS256 with the RSA public key as secret", signRaw(t, jwt.SigningMethodHS256, "k1", keys.rsaPubPEM, claims(nil))},
		{"HS256 public key secret, no kid", signRaw(t, jwt.SigningMethodHS256, "", keys.rsaPubPEM, claims(nil))},
		{"flipped signature byte", string(flipped)},
		{"signed by another key, same kid", signRaw(t, jwt.SigningMethodRS256, "k1", other, claims(nil))},
		{"unknown kid", signRaw(t, jwt.SigningMethodRS256, "k2", other, claims(nil))},
		{"no kid", signRaw(t, jwt.SigningMethodRS256, "", keys.rsa, claims(nil))},
		{"PS256 with the right key", signRaw(t, jwt.SigningMethodPS256, "k1", keys.rsa, claims(nil))},
		{"expired", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"exp": now - 1, "iat": now - 301}))},
		{"no exp", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"exp": nil}))},
		{"not yet valid", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"nbf": now + 60}))},
		{"issued in the future", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"iat": now + 60}))},
		{"refresh used as access", refresh},
		{"no token_type", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"token_type": nil}))},
		{"numeric user_id", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"user_id": float64(u.ID)}))},
		{"garbage", "not.a.jwt"},
		{"huge", strings.Repeat("a", 9000)},
	}
	// Control: the genuine token and a re-signed copy are accepted.
	expect(t, e.do("GET", "/api/me", nil, bearer(access)...), 200)
	expect(t, e.do("GET", "/api/me", nil, bearer(signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(nil)))...), 200)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", "/api/me", nil, bearer(tc.token)...)
			expectTokenInvalid(t, r, "Given token not valid for any token type")
			if r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
				t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
			}
			if tc.name != "refresh used as access" && tc.name != "huge" {
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": tc.token}), "Token is invalid or expired")
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": tc.token}), "Token is invalid or expired")
			}
		})
	}
	t.Run("access used as refresh", func(t *testing.T) {
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": access}), "Token is invalid or expired")
	})
	t.Run("malformed header", func(t *testing.T) {
		r := e.do("GET", "/api/me", nil, "Authorization", "Bearer")
		expectDetail(t, r, 401, "Authorization header must contain two space-delimited values")
		if r.Body["code"] != "bad_authorization_header" {
			t.Fatal(r.Raw)
		}
		expect(t, e.do("GET", "/api/me", nil, "Authorization", "Bearer a b"), 401)
	})
	t.Run("expired by the clock", func(t *testing.T) {
		e.clock.Advance(5*time.Minute + time.Second)
		expectTokenInvalid(t, e.do("GET", "/api/me", nil, bearer(access)...), "Given token not valid for any token type")
	})
}

func TestJWTKeyRotation(t *testing.T) {
	keys := newTestKeys(t)
	db := testdb.SQLite(t)
	oldKey := restauth.JWTKey{ID: "2026-01", Algorithm: "RS256", PrivateKey: keys.rsa}
	oldPublic, err := restauth.ParseJWTKey("2026-01", keys.rsaPubPEM)
	if err != nil || oldPublic.Algorithm != "RS256" || oldPublic.PrivateKey != nil {
		t.Fatalf("ParseJWTKey: %+v %v", oldPublic, err)
	}
	newKey := restauth.JWTKey{ID: "2026-06", Algorithm: "EdDSA", PrivateKey: keys.ed}
	withKeys := func(ks ...restauth.JWTKey) *env {
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.Keys = ks })
		return e
	}
	e1 := withKeys(oldKey)
	e1.user("alice", "alice@example.com")
	r := e1.loginJWT("alice")
	access, refresh := r.str("access"), r.str("refresh")

	// New key first, old one kept with its public half only.
	e2 := withKeys(newKey, oldPublic)
	expect(t, e2.do("GET", "/api/me", nil, bearer(access)...), 200)
	nr := e2.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": refresh})
	expect(t, nr, 200)
	if h := header(t, nr.str("access")); h["kid"] != "2026-06" || h["alg"] != "EdDSA" {
		t.Fatalf("new tokens signed with %v", h)
	}
	expect(t, e2.do("GET", "/api/me", nil, bearer(nr.str("access"))...), 200)
	fresh := e2.loginJWT("alice")

	// Old key removed: its tokens are refused, the new ones still work.
	e3 := withKeys(newKey)
	expectTokenInvalid(t, e3.do("GET", "/api/me", nil, bearer(access)...), "Given token not valid for any token type")
	expectTokenInvalid(t, e3.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": refresh}), "Token is invalid or expired")
	expect(t, e3.do("GET", "/api/me", nil, bearer(fresh.str("access"))...), 200)

	// Rotating away from the default key: DefaultJWTKey keeps it verifying.
	eDefault := jwtEnv(t, db, nil)
	old := eDefault.loginJWT("alice")
	eNext := withKeys(newKey, restauth.DefaultJWTKey(testSecret))
	expect(t, eNext.do("GET", "/api/me", nil, bearer(old.str("access"))...), 200)
	expect(t, eNext.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": old.str("refresh")}), 200)
	expectTokenInvalid(t, e3.do("GET", "/api/me", nil, bearer(old.str("access"))...), "Given token not valid for any token type")

	if _, err := restauth.ParseJWTKey("x", []byte("not pem")); err == nil {
		t.Fatal("ParseJWTKey accepted garbage")
	}
	// A verify-only key set cannot sign.
	_, err = restauth.New[Customer](db, restauth.Config{SecretKey: testSecret, Logger: quietLogger(), JWT: restauth.JWTConfig{Enabled: true, Keys: []restauth.JWTKey{oldPublic}}})
	if err == nil || !strings.Contains(err.Error(), "sign") {
		t.Fatalf("public-only key set: %v", err)
	}
}

func TestJWTRefresh(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Run("without rotation", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			e.user("alice", "alice@example.com")
			r := e.loginJWT("alice")
			e.clock.Advance(time.Minute)
			nr := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			expect(t, nr, 200)
			if _, ok := nr.Body["refresh"]; ok {
				t.Fatalf("refresh without rotation returned a refresh: %s", nr.Raw)
			}
			if nr.str("access") == r.str("access") || nr.str("access_expiration") != e.clock.Now().UTC().Add(5*time.Minute).Format(time.RFC3339) {
				t.Fatalf("refresh body %s", nr.Raw)
			}
			expect(t, e.do("GET", "/api/me", nil, bearer(nr.str("access"))...), 200)
			// The same refresh token keeps working without rotation.
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), 200)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{}), "No valid refresh token found.")
			e.clock.Advance(24 * time.Hour)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
		})
		t.Run("rotation and reuse", func(t *testing.T) {
			e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
			e.user("bob", "bob@example.com")
			first := e.loginJWT("bob")
			other := e.loginJWT("bob") // another device: another family
			r1 := first.str("refresh")
			n1 := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1})
			expect(t, n1, 200)
			r2 := n1.str("refresh")
			if r2 == "" || r2 == r1 || n1.str("refresh_expiration") == "" {
				t.Fatalf("rotation body %s", n1.Raw)
			}
			if payload(t, r2)["sid"] != payload(t, r1)["sid"] {
				t.Fatal("rotated token left its family")
			}
			// The rotated-out token is rejected...
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1}), "Token is invalid or expired")
			// ...and its reuse revoked the family: the newest one is dead too.
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r2}), "Token is invalid or expired")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r2}), "Token is invalid or expired")
			// The other device is untouched.
			n2 := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": other.str("refresh")})
			expect(t, n2, 200)
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": n2.str("refresh")}), 200)
		})
		t.Run("logout blacklists", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			e.user("carol", "carol@example.com")
			r := e.loginJWT("carol")
			out := e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r.str("refresh")})
			expectDetail(t, out, 200, "Successfully logged out.")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r.str("refresh")}), "Token is invalid or expired")
			// Logout is idempotent: a spent, bad or missing token gets 200.
			for _, body := range []any{map[string]any{"refresh": r.str("refresh")}, map[string]any{"refresh": "junk"}, nil} {
				r := e.do("POST", "/rest-auth/logout/", body)
				expectDetail(t, r, 200, "Successfully logged out.")
			}
			expectField(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": strings.Repeat("r", 9000)}), "refresh", "Ensure this field has no more than 8192 characters.")
			// Without a refresh token, a valid access token ends its session.
			r2 := e.loginJWT("carol")
			expect(t, e.do("POST", "/rest-auth/logout/", nil, bearer(r2.str("access"))...), 200)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r2.str("refresh")}), "Token is invalid or expired")
		})
		t.Run("stale token at logout revokes the family", func(t *testing.T) {
			e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
			e.user("stale", "stale@example.com")
			r1 := e.loginJWT("stale").str("refresh")
			n := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r1})
			expect(t, n, 200)
			expectDetail(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r1}), 200, "Successfully logged out.")
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": n.str("refresh")}), "Token is invalid or expired")
		})
		t.Run("verify", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			e.user("dave", "dave@example.com")
			r := e.loginJWT("dave")
			for _, k := range []string{"access", "refresh"} {
				v := e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r.str(k)})
				expect(t, v, 200)
				if v.Raw != "{}" {
					t.Fatalf("verify body %s", v.Raw)
				}
			}
			expectField(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{}), "token", "This field is required.")
			expect(t, e.do("GET", "/rest-auth/token/verify/", nil), 405)
		})
		t.Run("inactive user", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			u := e.user("erin", "erin@example.com")
			r := e.loginJWT("erin")
			e.db.Model(u).Update("is_active", false)
			nr := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			expectDetail(t, nr, 401, "No active account found for the given token.")
			// A still-valid access token no longer yields the user.
			expectDetail(t, e.do("GET", "/rest-auth/user/", nil, bearer(r.str("access"))...), 401, "User inactive or deleted.")
		})
	})
}

func TestJWTPasswordChangesRevoke(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		for _, logoutAll := range []bool{false, true} {
			t.Run("LogoutOnPasswordChange="+strconv.FormatBool(logoutAll), func(t *testing.T) {
				e := jwtEnv(t, db, func(c *restauth.Config) { c.PasswordChange.LogoutOnPasswordChange = logoutAll })
				name := "pw" + strconv.FormatBool(logoutAll)
				e.user(name, name+"@example.com")
				here, there := e.loginJWT(name), e.loginJWT(name)
				ch := e.do("POST", "/rest-auth/password/change/", map[string]any{
					"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
				}, bearer(here.str("access"))...)
				expect(t, ch, 200)
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": there.str("refresh")}), "Token is invalid or expired")
				cur := e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": here.str("refresh")})
				if logoutAll {
					expect(t, cur, 401)
				} else {
					expect(t, cur, 200)
				}
			})
		}
		t.Run("reset", func(t *testing.T) {
			e := jwtEnv(t, db, nil)
			u := e.user("resetme", "resetme@example.com")
			a, b := e.loginJWT("resetme"), e.loginJWT("resetme")
			fresh := e.reload(u.ID)
			uid, tok := e.auth.PasswordResetToken(&fresh)
			expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{
				"uid": uid, "token": tok, "new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
			}), 200)
			for _, r := range []resp{a, b} {
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
			}
		})
	})
}

// queryCounter counts the SQL statements run on db from now on.
func queryCounter(t testing.TB, db *gorm.DB) *int {
	t.Helper()
	n := new(int)
	inc := func(*gorm.DB) { *n++ }
	for name, cb := range map[string]interface {
		Register(string, func(*gorm.DB)) error
	}{
		"query": db.Callback().Query(), "row": db.Callback().Row(), "raw": db.Callback().Raw(),
		"create": db.Callback().Create(), "update": db.Callback().Update(), "delete": db.Callback().Delete(),
	} {
		if err := cb.Register("test:count_"+name, inc); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestJWTAccessCostsNoQuery(t *testing.T) {
	db := testdb.SQLite(t)
	e := jwtEnv(t, db, nil)
	e.user("alice", "alice@example.com")
	access := e.loginJWT("alice").str("access")
	n := queryCounter(t, db)
	expect(t, e.do("GET", "/api/claims", nil, bearer(access)...), 200)
	if *n != 0 {
		t.Fatalf("a valid access token cost %d queries", *n)
	}
	expect(t, e.do("GET", "/api/me", nil, bearer(access)...), 200)
	if *n != 1 {
		t.Fatalf("loading the user cost %d queries, want 1", *n)
	}

	t.Run("JWTCheckRevoked", func(t *testing.T) {
		db := testdb.SQLite(t)
		strict := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.CheckRevoked = true })
		u := strict.user("bob", "bob@example.com")
		r := strict.loginJWT("bob")
		expect(t, strict.do("GET", "/api/claims", nil, bearer(r.str("access"))...), 200)
		expect(t, strict.do("POST", "/rest-auth/logout/", map[string]any{"refresh": r.str("refresh")}), 200)
		expectTokenInvalid(t, strict.do("GET", "/api/claims", nil, bearer(r.str("access"))...), "Given token not valid for any token type")
		expectTokenInvalid(t, strict.do("POST", "/rest-auth/token/verify/", map[string]any{"token": r.str("access")}), "Token is invalid or expired")
		r2 := strict.loginJWT("bob")
		strict.db.Model(u).Update("is_active", false)
		expectDetail(t, strict.do("GET", "/api/claims", nil, bearer(r2.str("access"))...), 401, "User inactive or deleted.")

		// An access token issued just before its refresh token expired
		// stays valid to its own end, and no longer.
		strict.user("frank", "frank@example.com")
		r3 := strict.loginJWT("frank")
		strict.clock.Advance(24*time.Hour - time.Minute)
		late := strict.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r3.str("refresh")})
		expect(t, late, 200)
		strict.clock.Advance(2 * time.Minute) // the refresh token has expired
		expect(t, strict.do("GET", "/api/claims", nil, bearer(late.str("access"))...), 200)
		strict.clock.Advance(4 * time.Minute)
		expect(t, strict.do("GET", "/api/claims", nil, bearer(late.str("access"))...), 401)
		// Without the check the logged-out access token lives on until
		// it expires (documented).
		loose := jwtEnv(t, testdb.SQLite(t), nil)
		loose.user("carol", "carol@example.com")
		lr := loose.loginJWT("carol")
		expect(t, loose.do("POST", "/rest-auth/logout/", map[string]any{"refresh": lr.str("refresh")}), 200)
		expect(t, loose.do("GET", "/api/claims", nil, bearer(lr.str("access"))...), 200)
	})
}

func TestJWTPruneExpired(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), 200)
		if e.count(&models.OutstandingToken{}) != 2 || e.count(&models.BlacklistedToken{}) != 1 {
			t.Fatalf("rows: %d outstanding, %d blacklisted", e.count(&models.OutstandingToken{}), e.count(&models.BlacklistedToken{}))
		}
		n, err := e.auth.PruneExpired(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("prune of live rows: %d %v", n, err)
		}
		// Rows stay an access lifetime (5 min) past expiry.
		e.clock.Advance(24*time.Hour + time.Minute)
		if n, err := e.auth.PruneExpired(context.Background()); err != nil || n != 0 {
			t.Fatalf("prune inside the grace period: %d %v", n, err)
		}
		e.clock.Advance(5 * time.Minute)
		keep := e.loginJWT("alice")
		n, err = e.auth.PruneExpired(context.Background())
		if err != nil || n != 3 {
			t.Fatalf("PruneExpired = %d, %v; want 3 rows", n, err)
		}
		if e.count(&models.OutstandingToken{}) != 1 || e.count(&models.BlacklistedToken{}) != 0 {
			t.Fatal("expired rows left or live row pruned")
		}
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": keep.str("refresh")}), 200)
	})
}

// setCookies returns the response's Set-Cookie lines by cookie name.
func setCookies(r resp) map[string]string {
	out := map[string]string{}
	for _, line := range r.Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(line, "=")
		out[name] = line
	}
	return out
}

func cookieValue(line string) string {
	v, _, _ := strings.Cut(line, ";")
	_, v, _ = strings.Cut(v, "=")
	return v
}

func TestJWTCookies(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := jwtEnv(t, db, func(c *restauth.Config) {
			c.JWT.Cookie = "app-auth"
			c.JWT.RefreshCookie = "app-refresh"
			c.JWT.RefreshCookiePath = "/rest-auth/"
			c.JWT.Secure = true
			c.JWT.SameSite = http.SameSiteStrictMode
			c.JWT.CookieDomain = "app.example"
		})
		e.user("alice", "alice@example.com")
		e.user("bob", "bob@example.com")
		r := e.loginJWT("alice")
		ck := setCookies(r)
		access := cookieValue(ck["app-auth"])
		if access == "" || access != r.str("access") {
			t.Fatalf("access cookie %q vs body %q", ck["app-auth"], r.str("access"))
		}
		exp := e.clock.Now().UTC()
		wantAccess := "app-auth=" + access + "; Path=/; Domain=app.example; Expires=" +
			exp.Add(5*time.Minute).Format(http.TimeFormat) + "; Max-Age=300; HttpOnly; Secure; SameSite=Strict"
		if ck["app-auth"] != wantAccess {
			t.Fatalf("access Set-Cookie\n got %s\nwant %s", ck["app-auth"], wantAccess)
		}
		refresh := cookieValue(ck["app-refresh"])
		wantRefresh := "app-refresh=" + refresh + "; Path=/rest-auth/; Domain=app.example; Expires=" +
			exp.Add(24*time.Hour).Format(http.TimeFormat) + "; Max-Age=86400; HttpOnly; Secure; SameSite=Strict"
		if ck["app-refresh"] != wantRefresh || payload(t, refresh)["token_type"] != "refresh" {
			t.Fatalf("refresh Set-Cookie\n got %s\nwant %s", ck["app-refresh"], wantRefresh)
		}
		if v, ok := r.Body["refresh"]; !ok || v != "" {
			t.Fatalf("body refresh should be blank with an HttpOnly refresh cookie: %s", r.Raw)
		}
		if _, ok := ck["csrftoken"]; ok {
			t.Fatal("CSRF cookie set although CSRF is off")
		}

		// The cookie alone authenticates, also for unsafe methods (CSRF off).
		me := e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access)
		expect(t, me, 200)
		expect(t, e.do("POST", "/api/action", nil, "Cookie", "app-auth="+access), 200)
		// The header wins over the cookie, both ways.
		bob := e.loginJWT("bob")
		both := e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access, "Authorization", "Bearer "+bob.str("access"))
		if both.Body["username"] != "bob" {
			t.Fatalf("header did not win: %s", both.Raw)
		}
		expect(t, e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access, "Authorization", "Bearer broken"), 401)
		// token/refresh/ reads the refresh cookie and renews the access cookie.
		nr := e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+refresh)
		expect(t, nr, 200)
		if cookieValue(setCookies(nr)["app-auth"]) != nr.str("access") {
			t.Fatalf("refresh did not set the access cookie: %v", nr.Header.Values("Set-Cookie"))
		}
		// logout/ reads the refresh cookie, blacklists it and clears both.
		out := e.do("POST", "/rest-auth/logout/", nil, "Cookie", "app-auth="+access+"; app-refresh="+refresh)
		expect(t, out, 200)
		oc := setCookies(out)
		for name, path := range map[string]string{"app-auth": "/", "app-refresh": "/rest-auth/"} {
			want := name + "=; Path=" + path + "; Domain=app.example; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
			if oc[name] != want {
				t.Fatalf("logout Set-Cookie\n got %s\nwant %s", oc[name], want)
			}
		}
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+refresh), "Token is invalid or expired")
		// With only the access cookie, logout ends that login.
		again := e.loginJWT("alice")
		ac, rf := cookieValue(setCookies(again)["app-auth"]), cookieValue(setCookies(again)["app-refresh"])
		expect(t, e.do("POST", "/rest-auth/logout/", nil, "Cookie", "app-auth="+ac), 200)
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", "app-refresh="+rf), "Token is invalid or expired")
	})

	t.Run("refresh kept in body", func(t *testing.T) {
		for name, mutate := range map[string]func(*restauth.Config){
			"no refresh cookie": func(c *restauth.Config) { c.JWT.Cookie = "app-auth" },
			"not HttpOnly": func(c *restauth.Config) {
				c.JWT.Cookie, c.JWT.RefreshCookie, c.JWT.HTTPOnly = "app-auth", "app-refresh", restauth.Bool(false)
			},
		} {
			t.Run(name, func(t *testing.T) {
				e := jwtEnv(t, testdb.SQLite(t), mutate)
				e.user("alice", "alice@example.com")
				r := e.loginJWT("alice")
				if r.str("refresh") == "" || payload(t, r.str("refresh"))["token_type"] != "refresh" {
					t.Fatalf("refresh lost from the body: %s", r.Raw)
				}
				if strings.Contains(setCookies(r)["app-auth"], "HttpOnly") == (name == "not HttpOnly") {
					t.Fatalf("HttpOnly attribute wrong: %s", setCookies(r)["app-auth"])
				}
			})
		}
	})
}

func TestJWTCSRF(t *testing.T) {
	cookieEnv := func(t *testing.T, enforce bool) *env {
		e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.JWT.Cookie = "app-auth"
			c.JWT.CookieUseCSRF = true
			c.JWT.EnforceCSRFOnUnauthenticated = enforce
		})
		e.user("alice", "alice@example.com")
		return e
	}
	t.Run("cookie-authenticated requests", func(t *testing.T) {
		e := cookieEnv(t, false)
		// No access cookie yet: login needs no CSRF token.
		r := e.loginJWT("alice")
		ck := setCookies(r)
		access, csrf := cookieValue(ck["app-auth"]), cookieValue(ck["csrftoken"])
		if len(csrf) != 64 || strings.Contains(ck["csrftoken"], "HttpOnly") {
			t.Fatalf("csrftoken cookie %q must be readable by scripts", ck["csrftoken"])
		}
		cookies := "app-auth=" + access + "; csrftoken=" + csrf
		cases := []struct {
			name   string
			hdr    []string
			status int
			detail string
		}{
			{"no CSRF cookie", []string{"Cookie", "app-auth=" + access, "X-CSRFToken", csrf}, 403, "CSRF Failed: CSRF cookie not set."},
			{"no header", []string{"Cookie", cookies}, 403, "CSRF Failed: CSRF token missing."},
			{"wrong header", []string{"Cookie", cookies, "X-CSRFToken", strings.Repeat("0", 64)}, 403, "CSRF Failed: CSRF token incorrect."},
			{"matching", []string{"Cookie", cookies, "X-CSRFToken", csrf}, 200, ""},
			{"header-authenticated", bearer(access), 200, ""},
			{"header wins over cookie", append(bearer(access), "Cookie", cookies), 200, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := e.do("POST", "/api/action", nil, tc.hdr...)
				if tc.detail != "" {
					expectDetail(t, r, tc.status, tc.detail)
				} else {
					expect(t, r, tc.status)
				}
			})
		}
		// A refresh cookie alone also needs the token: no other site may
		// log the user out or refresh with it.
		re := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
			c.JWT.RefreshCookie = "app-refresh"
			c.JWT.CookieUseCSRF = true
		})
		re.user("alice", "alice@example.com")
		lr := re.loginJWT("alice")
		rc, rcsrf := cookieValue(setCookies(lr)["app-refresh"]), cookieValue(setCookies(lr)["csrftoken"])
		both := "app-refresh=" + rc + "; csrftoken=" + rcsrf
		expectDetail(t, re.do("POST", "/rest-auth/logout/", nil, "Cookie", both), 403, "CSRF Failed: CSRF token missing.")
		expectDetail(t, re.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", both), 403, "CSRF Failed: CSRF token missing.")
		expect(t, re.do("POST", "/rest-auth/token/refresh/", nil, "Cookie", both, "X-CSRFToken", rcsrf), 200)
		expect(t, re.do("POST", "/rest-auth/logout/", nil, "Cookie", both, "X-CSRFToken", rcsrf), 200)
		// A header of another scheme (a browser adds cached Basic
		// credentials by itself) does not make a request header-borne:
		// restauth's endpoints still check, for every unsafe method, and
		// RequireAuth does not fall back to the cookie.
		basic := []string{"Cookie", cookies, "Authorization", "Basic YTpi"}
		for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
			expectDetail(t, e.do(m, "/rest-auth/user/", nil, basic...), 403, "CSRF Failed: CSRF token missing.")
		}
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, basic...), 403, "CSRF Failed: CSRF token missing.")
		expectDetail(t, e.do("POST", "/api/action", nil, basic...), 401, "Authentication credentials were not provided.")
		// Safe methods need no token.
		expect(t, e.do("GET", "/api/me", nil, "Cookie", "app-auth="+access), 200)
		// restauth's own unsafe endpoints follow the same rule.
		expectDetail(t, e.do("POST", "/rest-auth/password/change/", map[string]any{
			"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
		}, "Cookie", cookies), 403, "CSRF Failed: CSRF token missing.")
		expect(t, e.do("POST", "/rest-auth/password/change/", map[string]any{
			"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
		}, "Cookie", cookies, "X-CSRFToken", csrf), 200)
	})
	t.Run("enforced on unauthenticated", func(t *testing.T) {
		e := cookieEnv(t, true)
		body := map[string]any{"username": "alice", "password": goodPass}
		first := e.do("POST", "/rest-auth/login/", body)
		expectDetail(t, first, 403, "CSRF Failed: CSRF cookie not set.")
		csrf := cookieValue(setCookies(first)["csrftoken"])
		if csrf == "" {
			t.Fatal("the refusal did not hand out a CSRF cookie")
		}
		expectDetail(t, e.do("POST", "/rest-auth/login/", body, "Cookie", "csrftoken="+csrf), 403, "CSRF Failed: CSRF token missing.")
		ok := e.do("POST", "/rest-auth/login/", body, "Cookie", "csrftoken="+csrf, "X-CSRFToken", csrf)
		expect(t, ok, 200)
		// Login rotates the CSRF token.
		if next := cookieValue(setCookies(ok)["csrftoken"]); next == "" || next == csrf {
			t.Fatalf("CSRF token not rotated at login: %q", next)
		}
		// A request with an Authorization header needs none.
		expect(t, e.do("POST", "/api/action", nil, bearer(ok.str("access"))...), 200)
		expect(t, e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": ok.str("refresh")}, bearer(ok.str("access"))...), 200)
	})
}

func TestJWTConcurrentRefresh(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		r := e.loginJWT("alice")
		const n = 8
		codes := make(chan resp, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")})
			}()
		}
		wg.Wait()
		close(codes)
		var winners []resp
		for c := range codes {
			switch c.Code {
			case 200:
				winners = append(winners, c)
			case 401:
			default:
				t.Fatalf("concurrent refresh answered %d: %s", c.Code, c.Raw)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d of %d concurrent uses of one refresh token succeeded, want 1", len(winners), n)
		}
		// The losers were reuse: the winner's new token died with its family.
		expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": winners[0].str("refresh")}), "Token is invalid or expired")
	})
}

func TestJWTBadInput(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		live := e.loginJWT("alice")
		rows := func() string {
			var out, bl []map[string]any
			e.db.Model(&models.OutstandingToken{}).Order("id").Find(&out)
			e.db.Model(&models.BlacklistedToken{}).Order("id").Find(&bl)
			b, _ := json.Marshal([]any{out, bl})
			return string(b)
		}
		for _, path := range []string{"/rest-auth/token/refresh/", "/rest-auth/token/verify/", "/rest-auth/logout/"} {
			for _, tc := range badCases {
				t.Run(path+"/"+tc.name, func(t *testing.T) {
					before := rows()
					r := e.do("POST", path, tc.body, "Content-Type", tc.contentType)
					if path == "/rest-auth/logout/" && tc.fieldsOnly && r.Code == 200 {
						// Logout reads only refresh and is idempotent:
						// other fields are ignored.
						return
					}
					if r.Code < 400 || r.Code > 499 {
						t.Fatalf("status %d, want 4xx; body %s", r.Code, r.Raw)
					}
					if tc.code == 413 || tc.code == 415 || (tc.code == 400 && tc.detail != "") {
						expect(t, r, tc.code)
					}
					checkShape(t, r)
					if after := rows(); after != before {
						t.Fatalf("refresh-token rows changed:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
		// The live session survived all of it.
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": live.str("refresh")}), 200)
	})
}

// TestJWTRevocationWaitsForRotation revokes a login while a rotation of
// it is in flight (held open inside its transaction): the token that
// rotation mints must die with the rest.
func TestJWTRevocationWaitsForRotation(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		for _, variant := range []string{"password change", "logout with the access token"} {
			t.Run(variant, func(t *testing.T) {
				var armed atomic.Bool
				paused, release := make(chan struct{}), make(chan struct{})
				name := "test:pause_" + strings.ReplaceAll(variant, " ", "_")
				err := db.Callback().Create().After("gorm:create").Register(name, func(tx *gorm.DB) {
					if tx.Statement.Table == "restauth_jwt_outstanding" && armed.CompareAndSwap(true, false) {
						close(paused)
						<-release
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Callback().Create().Remove(name)
				e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
				user := strings.ReplaceAll(variant, " ", "")
				e.user(user, user+"@example.com")
				stolen, current := e.loginJWT(user), e.loginJWT(user)

				armed.Store(true)
				var rot, rev resp
				var wg sync.WaitGroup
				wg.Add(1)
				go func() {
					defer wg.Done()
					rot = e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": stolen.str("refresh")})
				}()
				<-paused // the rotation has written its new token, uncommitted
				wg.Add(1)
				go func() {
					defer wg.Done()
					if variant == "password change" {
						rev = e.do("POST", "/rest-auth/password/change/", map[string]any{
							"new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
						}, bearer(current.str("access"))...)
					} else {
						rev = e.do("POST", "/rest-auth/logout/", nil, bearer(stolen.str("access"))...)
					}
				}()
				time.Sleep(300 * time.Millisecond) // the revocation is now waiting
				close(release)
				wg.Wait()
				expect(t, rot, 200)
				expect(t, rev, 200)
				expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": rot.str("refresh")}), "Token is invalid or expired")
			})
		}
	})
}

func TestJWTPluginLoginKeepsRefresh(t *testing.T) {
	e := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.JWT.Cookie, c.JWT.RefreshCookie = "a", "r" })
	u := e.user("alice", "alice@example.com")
	res, err := e.auth.Login(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(res.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	ref, _ := out["refresh"].(string)
	if ref == "" || payload(t, ref)["token_type"] != "refresh" {
		t.Fatalf("Login without a request set no cookie, so the body must keep refresh: %s", raw)
	}
	if res.Refresh != ref || res.Access != out["access"] || res.Key != "" {
		t.Fatalf("LoginResult fields %+v disagree with the body %s", res, raw)
	}
	expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": ref}), 200)
}

func TestHeadDoesNotLogOut(t *testing.T) {
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Logout.OnGet = true })
	e.user("alice", "alice@example.com")
	key := e.login("alice", goodPass)
	req := httptest.NewRequest("HEAD", "/rest-auth/logout/", nil)
	req.Header.Set("Authorization", "Token "+key)
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	if w.Code != 200 {
		t.Fatalf("HEAD logout/ %d", w.Code)
	}
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/rest-auth/logout/", nil, tokenHeader(key)...), 200)
	expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401)
}
