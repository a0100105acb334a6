package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/restauth/restauth/internal/testdb"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func call(t *testing.T, method, url, body, token string) (int, map[string]any) {
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
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not JSON", method, url, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// walkthrough is the README's curl session: login, user (with the
// profile field), the app's own protected route, logout.
func walkthrough(t *testing.T, base string) {
	code, body := call(t, "POST", base+"/rest-auth/login/", `{"username":"demo","password":"Sunny-Meadow-42"}`, "")
	key, _ := body["key"].(string)
	if code != 200 || len(key) != 40 {
		t.Fatalf("login: %d %v", code, body)
	}
	code, body = call(t, "GET", base+"/rest-auth/user/", "", key)
	if code != 200 || body["username"] != "demo" || body["email"] != "demo@example.com" {
		t.Fatalf("user: %d %v", code, body)
	}
	if _, ok := body["nickname"]; !ok {
		t.Fatalf("user/ lacks the profile field: %v", body)
	}
	code, body = call(t, "PATCH", base+"/rest-auth/user/", `{"nickname":"Dee"}`, key)
	if code != 200 || body["nickname"] != "Dee" {
		t.Fatalf("patch: %d %v", code, body)
	}
	code, body = call(t, "GET", base+"/api/profile", "", key)
	if code != 200 || body["nickname"] != "Dee" {
		t.Fatalf("profile: %d %v", code, body)
	}
	code, body = call(t, "POST", base+"/rest-auth/logout/", "", key)
	if code != 200 || body["detail"] != "Successfully logged out." {
		t.Fatalf("logout: %d %v", code, body)
	}
	code, _ = call(t, "GET", base+"/api/profile", "", key)
	if code != 401 {
		t.Fatalf("profile after logout: %d", code)
	}
}

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestWalkthrough(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"SECRET_KEY": strings.Repeat("s", 40), "SITE_URL": "https://front.example"}
			if db == "sqlite" {
				vars["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "ex.db")
			} else {
				vars["DATABASE_URL"] = testdb.PostgresURL(t)
			}
			var out lockedBuffer
			if err := run(context.Background(), []string{"createuser", "demo", "demo@example.com", "Sunny-Meadow-42"}, getenv(vars), &out); err != nil {
				t.Fatal(err)
			}
			a, err := newApp(getenv(vars), &out)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewServer(checked(t, a))
			defer srv.Close()
			walkthrough(t, srv.URL)

			// The console mailer prints the reset email with a SITE_URL link
			// to the demo page.
			code, _ := call(t, "POST", srv.URL+"/rest-auth/password/reset/", `{"email":"demo@example.com"}`, "")
			a.auth.Shutdown(context.Background())
			if code != 200 || !regexp.MustCompile(`https://front\.example/reset/[A-Za-z0-9_-]+/[0-9a-z]+-[0-9a-f]{64}/`).MatchString(out.String()) {
				t.Fatalf("reset: %d; console:\n%s", code, out.String())
			}
		})
	}
}

func TestBadEnvironment(t *testing.T) {
	t.Parallel()
	for _, vars := range []map[string]string{
		{"DATABASE_URL": "mysql://x"},
		{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "a.db"), "LOGOUT_ON_PASSWORD_CHANGE": "maybe"},
		{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "b.db"), "SITE_URL": "not a url"},
	} {
		if _, err := newApp(getenv(vars), io.Discard); err == nil {
			t.Errorf("newApp(%v) succeeded", vars)
		}
	}
}

// runMainEnv makes the test binary run the example's main instead of
// the tests, so TestDefaults starts the real program without building it.
const runMainEnv = "RESTAUTH_EXAMPLE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDefaults runs the built example with an empty environment, as
// `go run ./example` does, and checks it serves on 127.0.0.1:8000 with a
// SQLite file example.db in its working directory.
func TestDefaults(t *testing.T) {
	t.Parallel() // the only test on 127.0.0.1:8000
	if c, err := net.DialTimeout("tcp", "127.0.0.1:8000", 200*time.Millisecond); err == nil {
		c.Close()
		t.Fatal("127.0.0.1:8000 is taken by another program; free it to run this test")
	}
	dir := t.TempDir()
	// The test binary runs main itself (see TestMain): the real program,
	// its real environment handling, without a second build.
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, runMainEnv + "=1"}
	create := exec.Command(bin, "createuser", "demo", "demo@example.com", "Sunny-Meadow-42")
	create.Dir, create.Env = dir, base
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("createuser: %v\n%s", err, out)
	}
	srv := exec.Command(bin)
	srv.Dir, srv.Env = dir, base
	var logs lockedBuffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:8000", 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("example did not listen on 127.0.0.1:8000:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(dir, "example.db")); err != nil {
		t.Fatalf("no example.db: %v", err)
	}
	walkthrough(t, "http://127.0.0.1:8000")
}

// TestRegistrationFlow is the README's "Registration" section under
// mandatory verification: register, read the link from the console,
// verify, log in.
func TestRegistrationFlow(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"DATABASE_URL":               "sqlite://" + filepath.Join(t.TempDir(), "reg.db"),
		"SECRET_KEY":                 strings.Repeat("r", 40),
		"ACCOUNT_EMAIL_VERIFICATION": "mandatory",
	}
	var out lockedBuffer
	a, err := newApp(getenv(vars), &out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	srv := httptest.NewServer(checked(t, a))
	defer srv.Close()
	code, body := call(t, "POST", srv.URL+"/rest-auth/registration/",
		`{"username":"newbie","email":"newbie@example.com","password1":"Quiet-Harbor-58","password2":"Quiet-Harbor-58"}`, "")
	if code != 201 || body["detail"] != "Verification e-mail sent." {
		t.Fatalf("register: %d %v", code, body)
	}
	code, body = call(t, "POST", srv.URL+"/rest-auth/login/", `{"username":"newbie","password":"Quiet-Harbor-58"}`, "")
	if code != 400 {
		t.Fatalf("login before verification: %d %v", code, body)
	}
	a.auth.Shutdown(context.Background())
	m := regexp.MustCompile(`http://127\.0\.0\.1:8000/confirm-email/([0-9a-f-]+)/`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no link on the console:\n%s", out.String())
	}
	code, body = call(t, "POST", srv.URL+"/rest-auth/registration/verify-email/", `{"key":"`+m[1]+`"}`, "")
	if code != 200 || body["detail"] != "ok" {
		t.Fatalf("verify: %d %v", code, body)
	}
	code, body = call(t, "POST", srv.URL+"/rest-auth/login/", `{"username":"newbie","password":"Quiet-Harbor-58"}`, "")
	if code != 200 || len(body["key"].(string)) != 40 {
		t.Fatalf("login: %d %v", code, body)
	}
}

// TestCreateUser: under mandatory verification a user made by createuser
// logs in at once; one made with --unverified is refused until it
// confirms the address that resend-email sends it.
func TestCreateUser(t *testing.T) {
	t.Parallel()
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"SECRET_KEY": strings.Repeat("u", 40), "ACCOUNT_EMAIL_VERIFICATION": "mandatory"}
			if db == "sqlite" {
				vars["DATABASE_URL"] = "sqlite://" + filepath.Join(t.TempDir(), "cu.db")
			} else {
				vars["DATABASE_URL"] = testdb.PostgresURL(t)
			}
			var out lockedBuffer
			for _, args := range [][]string{
				{"createuser", "demo", "demo@example.com", "Sunny-Meadow-42"},
				{"createuser", "--unverified", "late", "late@example.com", "Quiet-Harbor-58"},
			} {
				if err := run(context.Background(), args, getenv(vars), &out); err != nil {
					t.Fatalf("%v: %v", args, err)
				}
			}
			if want := "created user \"demo\" (pk 1), e-mail verified\ncreated user \"late\" (pk 2), e-mail unverified\n"; out.String() != want {
				t.Fatalf("createuser printed %q, want %q", out.String(), want)
			}
			var mail lockedBuffer // the console mailer
			a, err := newApp(getenv(vars), &mail)
			if err != nil {
				t.Fatal(err)
			}
			defer a.close()
			srv := httptest.NewServer(checked(t, a))
			defer srv.Close()
			base := srv.URL + "/rest-auth/"

			code, body := call(t, "POST", base+"login/", `{"username":"demo","password":"Sunny-Meadow-42"}`, "")
			if key, _ := body["key"].(string); code != 200 || len(key) != 40 {
				t.Fatalf("login of the verified user: %d %v", code, body)
			}
			lateLogin := `{"username":"late","password":"Quiet-Harbor-58"}`
			code, body = call(t, "POST", base+"login/", lateLogin, "")
			if errs, _ := body["non_field_errors"].([]any); code != 400 || len(errs) != 1 || errs[0] != "E-mail is not verified." {
				t.Fatalf("login of the unverified user: %d %v", code, body)
			}
			a.auth.Shutdown(context.Background())
			if mail.String() != "" {
				t.Fatalf("mail before resend-email:\n%s", mail.String())
			}
			code, body = call(t, "POST", base+"registration/resend-email/", `{"email":"late@example.com"}`, "")
			if code != 200 || body["detail"] != "ok" {
				t.Fatalf("resend-email: %d %v", code, body)
			}
			a.auth.Shutdown(context.Background())
			m := regexp.MustCompile(`(?s)^To: late@example\.com\n.*http://127\.0\.0\.1:8000/confirm-email/([0-9a-f-]+)/`).FindStringSubmatch(mail.String())
			if m == nil {
				t.Fatalf("no confirmation for late@example.com on the console:\n%s", mail.String())
			}
			code, body = call(t, "POST", base+"registration/verify-email/", `{"key":"`+m[1]+`"}`, "")
			if code != 200 || body["detail"] != "ok" {
				t.Fatalf("verify: %d %v", code, body)
			}
			code, body = call(t, "POST", base+"login/", lateLogin, "")
			if key, _ := body["key"].(string); code != 200 || len(key) != 40 {
				t.Fatalf("login after confirming: %d %v", code, body)
			}
		})
	}
}

// TestCreateUserUsage: a malformed command is refused before the
// database is opened; a user without an e-mail address is made as is.
func TestCreateUserUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SECRET_KEY": strings.Repeat("u", 40), "DATABASE_URL": "sqlite://" + filepath.Join(dir, "usage.db")}
	for _, args := range [][]string{
		{"serve"},
		{"createuser", "demo", "demo@example.com"},
		{"createuser", "demo", "demo@example.com", "pw", "extra"},
		{"createuser", "--verified", "demo", "demo@example.com", "pw"},
		{"createuser", "demo", "demo@example.com", "pw", "--unverified"},
		{"openapi", "extra"},
	} {
		err := run(context.Background(), args, getenv(vars), io.Discard)
		if err == nil || err.Error() != usage {
			t.Errorf("run(%q) = %v, want the usage", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "usage.db")); err == nil {
		t.Fatal("a usage error opened the database")
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"createuser", "nomail", "", "Sunny-Meadow-42"}, getenv(vars), &out); err != nil {
		t.Fatal(err)
	}
	if want := "created user \"nomail\" (pk 1), e-mail none\n"; out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}

// TestOpenAPICommand: "example openapi" prints the document the server
// serves, and only it: valid OpenAPI with the example's own user field.
func TestOpenAPICommand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SECRET_KEY": strings.Repeat("o", 40), "DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "oa.db"),
		"REST_USE_JWT": "true", "JWT_AUTH_COOKIE": "auth"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"openapi"}, getenv(vars), &out); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(out.Bytes())
	if err != nil {
		t.Fatalf("output is not an OpenAPI document: %v\n%.300s", err, out.String())
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if doc.Servers[0].URL != "/rest-auth" || doc.Paths.Find("/token/refresh/") == nil || doc.Components.SecuritySchemes["CookieAuth"] == nil {
		t.Fatalf("document of another configuration: %v", doc.Servers[0].URL)
	}
	patch := doc.Paths.Find("/user/").Patch.RequestBody.Value.Content.Get("application/json").Schema.Value
	user := doc.Paths.Find("/user/").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
	if patch.Properties["nickname"] == nil || user.Properties["nickname"] == nil {
		t.Fatalf("nickname missing: PATCH body %v", patch.Properties)
	}
}
