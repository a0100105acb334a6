package main

import (
	"context"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/testdb"
)

// instance is one example server of a pair sharing PostgreSQL and Redis.
type instance struct {
	a   *app
	url string
	out *lockedBuffer
}

// twoInstances starts two example servers on one PostgreSQL schema and
// one Redis, as two processes behind a load balancer would run.
func twoInstances(t *testing.T, extra map[string]string) (x, y instance, user string) {
	t.Helper()
	redisURL := os.Getenv("RESTAUTH_TEST_REDIS")
	if redisURL == "" {
		t.Skip("two-instance tests skipped: set RESTAUTH_TEST_REDIS (e.g. redis://127.0.0.1:6379/0)")
	}
	vars := map[string]string{
		"SECRET_KEY": strings.Repeat("i", 40), "SITE_URL": "https://front.example",
		"DATABASE_URL": testdb.PostgresURL(t), "REDIS_URL": redisURL,
		// Low limits, shared through Redis; a fresh key space per test.
		"RATE_LIMITS": "login_failed=2/5m",
	}
	for k, v := range extra {
		vars[k] = v
	}
	// Redis outlives the test: a name of its own keeps this run's counts
	// apart from other runs'.
	user = "demo" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := run(context.Background(), []string{"createuser", user, user + "@example.com", "Sunny-Meadow-42"}, getenv(vars), &lockedBuffer{}); err != nil {
		t.Fatal(err)
	}
	start := func() instance {
		out := &lockedBuffer{}
		a, err := newApp(getenv(vars), out)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.close)
		srv := httptest.NewServer(checked(t, a))
		t.Cleanup(srv.Close)
		return instance{a: a, url: srv.URL + "/rest-auth/", out: out}
	}
	return start(), start(), user
}

// TestTwoInstances: two example servers share the rate-limit counts
// (Redis), see each other's logouts at once in token mode, and take each
// other's password reset links.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	x, y, user := twoInstances(t, nil)
	login := `{"username":"` + user + `","password":"Sunny-Meadow-42"}`

	code, body := call(t, "POST", x.url+"login/", login, "")
	key, _ := body["key"].(string)
	if code != 200 || key == "" {
		t.Fatalf("login on x: %d %v", code, body)
	}
	if code, _ := call(t, "GET", y.url+"user/", "", key); code != 200 {
		t.Fatalf("y with x's key: %d", code)
	}
	if code, _ := call(t, "POST", x.url+"logout/", "", key); code != 200 {
		t.Fatalf("logout on x: %d", code)
	}
	if code, _ := call(t, "GET", y.url+"user/", "", key); code != 401 {
		t.Fatalf("y after x's logout: %d", code)
	}

	// The lockout is counted across both: one failure on each, then
	// the right password is refused on either.
	bad := `{"username":"` + user + `","password":"wrong-wrong-wrong"}`
	call(t, "POST", x.url+"login/", bad, "")
	call(t, "POST", y.url+"login/", bad, "")
	for _, in := range []instance{x, y} {
		if code, body := call(t, "POST", in.url+"login/", login, ""); code != 429 {
			t.Fatalf("locked account: %d %v", code, body)
		}
	}

	// A reset link mailed by x works on y, and ends the lockout.
	if code, _ := call(t, "POST", x.url+"password/reset/", `{"email":"`+user+`@example.com"}`, ""); code != 200 {
		t.Fatalf("reset on x: %d", code)
	}
	_ = x.a.auth.Shutdown(context.Background())
	m := regexp.MustCompile(`https://front\.example/reset/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]{64})/`).FindStringSubmatch(x.out.String())
	if m == nil {
		t.Fatalf("no reset link in x's console:\n%s", x.out.String())
	}
	confirm := `{"uid":"` + m[1] + `","token":"` + m[2] + `","new_password1":"Fresh-Meadow-77","new_password2":"Fresh-Meadow-77"}`
	if code, body := call(t, "POST", y.url+"password/reset/confirm/", confirm, ""); code != 200 {
		t.Fatalf("confirm on y: %d %v", code, body)
	}
	if code, body := call(t, "POST", x.url+"login/", `{"username":"`+user+`","password":"Fresh-Meadow-77"}`, ""); code != 200 {
		t.Fatalf("login with the new password on x: %d %v", code, body)
	}
}

// TestTwoInstancesJWT: a JWT logout on one instance ends the access token
// on the other within JWT.RevocationInterval (1 s).
func TestTwoInstancesJWT(t *testing.T) {
	t.Parallel()
	x, y, user := twoInstances(t, map[string]string{"REST_USE_JWT": "true"})
	res, body := send(t, nil, "POST", x.url+"login/", `{"username":"`+user+`","password":"Sunny-Meadow-42"}`, nil)
	access, _ := body["access"].(string)
	refresh, _ := body["refresh"].(string)
	if res.StatusCode != 200 || access == "" {
		t.Fatalf("login on x: %d %v", res.StatusCode, body)
	}
	if res, _ := send(t, nil, "GET", y.url+"user/", "", bearer(access)); res.StatusCode != 200 {
		t.Fatalf("y with x's access token: %d", res.StatusCode)
	}
	if res, _ := send(t, nil, "POST", x.url+"logout/", `{"refresh":"`+refresh+`"}`, nil); res.StatusCode != 200 {
		t.Fatalf("logout on x: %d", res.StatusCode)
	}
	// y may accept the token until its set is a second old: measure how
	// long it takes to refuse it.
	start := time.Now()
	for {
		res, _ := send(t, nil, "GET", y.url+"user/", "", bearer(access))
		if res.StatusCode == 401 {
			break
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("y still accepts the logged-out access token after %v", time.Since(start))
		}
		time.Sleep(50 * time.Millisecond) // measuring a deadline of real time
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("y refused the token only after %v, want within about a second", d)
	}
}
