package restauth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// JWT mode: response shapes, keys, tampering and the cost of an access
// token. Refresh and verify are in jwt_refresh_test.go, cookies and CSRF
// in jwt_cookies_test.go.

func TestJWTResponseShapes(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
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
		t.Parallel()
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
		t.Parallel()
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
		t.Parallel()
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
		t.Parallel()
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

// The keys are generated once per test binary (an RSA key costs tens of
// milliseconds): the tests only read them.
var (
	sharedTestKeys = sync.OnceValues(func() (testKeys, error) {
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return testKeys{}, err
		}
		der, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
		if err != nil {
			return testKeys{}, err
		}
		_, ek, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return testKeys{}, err
		}
		return testKeys{rsa: rk, rsaPubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), ed: ek}, nil
	})
	// sharedOtherRSA is an RSA key no plugin knows.
	sharedOtherRSA = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

func newTestKeys(t testing.TB) testKeys {
	t.Helper()
	k, err := sharedTestKeys()
	if err != nil {
		t.Fatal(err)
	}
	return k
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
	t.Parallel()
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
	other, err := sharedOtherRSA()
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
	cases := []struct {
		name, token string
		// headerOnly: only RequireAuth must refuse it. As a body field a
		// refresh token is one, and 9000 characters fail the fields'
		// 8192 limit with a 400 (TestJWTLogout) before any check.
		headerOnly bool
	}{
		{"alg none", noneTok(), false},
		{"alg none without kid", strings.Replace(noneTok(), strings.Split(noneTok(), ".")[0], base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)), 1), false},
		{"HS256 with the RSA public key as secret", signRaw(t, jwt.SigningMethodHS256, "k1", keys.rsaPubPEM, claims(nil)), false},
		{"HS256 public key secret, no kid", signRaw(t, jwt.SigningMethodHS256, "", keys.rsaPubPEM, claims(nil)), false},
		{"flipped signature byte", string(flipped), false},
		{"signed by another key, same kid", signRaw(t, jwt.SigningMethodRS256, "k1", other, claims(nil)), false},
		{"unknown kid", signRaw(t, jwt.SigningMethodRS256, "k2", other, claims(nil)), false},
		{"no kid", signRaw(t, jwt.SigningMethodRS256, "", keys.rsa, claims(nil)), false},
		{"PS256 with the right key", signRaw(t, jwt.SigningMethodPS256, "k1", keys.rsa, claims(nil)), false},
		{"expired", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"exp": now - 1, "iat": now - 301})), false},
		{"no exp", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"exp": nil})), false},
		{"not yet valid", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"nbf": now + 60})), false},
		{"issued in the future", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"iat": now + 60})), false},
		{"refresh used as access", refresh, true},
		{"no token_type", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"token_type": nil})), false},
		{"numeric user_id", signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(map[string]any{"user_id": float64(u.ID)})), false},
		{"garbage", "not.a.jwt", false},
		{"huge", strings.Repeat("a", 9000), true},
	}
	// Control: the genuine token and a re-signed copy are accepted.
	expect(t, e.do("GET", "/api/me", nil, bearer(access)...), 200)
	expect(t, e.do("GET", "/api/me", nil, bearer(signRaw(t, jwt.SigningMethodRS256, "k1", keys.rsa, claims(nil)))...), 200)
	// The requests below change nothing, so they run in parallel; the
	// clock moves only after the group has finished.
	t.Run("forged", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				e := e.on(t)
				r := e.do("GET", "/api/me", nil, bearer(tc.token)...)
				expectTokenInvalid(t, r, "Given token not valid for any token type")
				if r.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
					t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
				if !tc.headerOnly {
					expectTokenInvalid(t, e.do("POST", "/rest-auth/token/verify/", map[string]any{"token": tc.token}), "Token is invalid or expired")
					expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": tc.token}), "Token is invalid or expired")
				}
			})
		}
		t.Run("access used as refresh", func(t *testing.T) {
			t.Parallel()
			e := e.on(t)
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": access}), "Token is invalid or expired")
		})
		t.Run("malformed header", func(t *testing.T) {
			t.Parallel()
			e := e.on(t)
			r := e.do("GET", "/api/me", nil, "Authorization", "Bearer")
			expectDetail(t, r, 401, "Authorization header must contain two space-delimited values")
			if r.Body["code"] != "bad_authorization_header" {
				t.Fatal(r.Raw)
			}
			expect(t, e.do("GET", "/api/me", nil, "Authorization", "Bearer a b"), 401)
		})
	})
	t.Run("expired by the clock", func(t *testing.T) {
		e := e.on(t)
		e.clock.Advance(5*time.Minute + time.Second)
		expectTokenInvalid(t, e.do("GET", "/api/me", nil, bearer(access)...), "Given token not valid for any token type")
	})
}

func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
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
	_, err = restauth.New[Customer](db, restauth.Config{SecretKey: testSecret, Logger: quietLogger(), Password: restauth.PasswordConfig{Hasher: cheapHasher}, JWT: restauth.JWTConfig{Enabled: true, Keys: []restauth.JWTKey{oldPublic}}})
	if err == nil || !strings.Contains(err.Error(), "sign") {
		t.Fatalf("public-only key set: %v", err)
	}
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
	t.Parallel()
	db := testdb.SQLite(t)
	e := jwtEnv(t, db, nil)
	e.user("alice", "alice@example.com")
	access := e.loginJWT("alice").str("access")
	n := queryCounter(t, db)
	// The set of revoked logins is read once per RevocationInterval (the
	// login made it stale); after that a request costs no query.
	expect(t, e.do("GET", "/api/claims", nil, bearer(access)...), 200)
	if *n != 1 {
		t.Fatalf("the first check after a login read the revoked set with %d queries, want 1", *n)
	}
	*n = 0
	for range 3 {
		expect(t, e.do("GET", "/api/claims", nil, bearer(access)...), 200)
	}
	if *n != 0 {
		t.Fatalf("a valid access token cost %d queries", *n)
	}
	expect(t, e.do("GET", "/api/me", nil, bearer(access)...), 200)
	if *n != 1 {
		t.Fatalf("loading the user cost %d queries, want 1", *n)
	}

	t.Run("JWTCheckRevoked", func(t *testing.T) {
		t.Parallel()
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
		// Without either check the logged-out access token lives on
		// until it expires (documented; TestJWTRevocationSet covers the
		// default in-memory check).
		loose := jwtEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.JWT.RevocationInterval = -1 })
		loose.user("carol", "carol@example.com")
		lr := loose.loginJWT("carol")
		expect(t, loose.do("POST", "/rest-auth/logout/", map[string]any{"refresh": lr.str("refresh")}), 200)
		expect(t, loose.do("GET", "/api/claims", nil, bearer(lr.str("access"))...), 200)
	})
}
