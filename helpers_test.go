package restauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

func init() { gin.SetMode(gin.TestMode) }

// Customer is an app's own user type: the base user plus a column.
type Customer struct {
	models.User
	CompanyName string `gorm:"size:100;not null;default:''" json:"company_name"`
}

// clock is an injectable, advanceable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const (
	testSecret = "test-secret-key-0123456789-abcdefghijklmnop"
	siteURL    = "https://app.example"
	goodPass   = "Tr1cky-Sunflower-42"
)

// cheapHasher is a real Argon2id at the smallest cost its bounds allow
// (8 KiB, one pass). newEnv uses it unless a test sets its own hasher, so
// only the tests about hashing pay for password.Default() (19 MiB, two
// passes, also hashed once per plugin for the login timing equaliser).
var cheapHasher = password.Argon2id{Memory: 8, Time: 1, Threads: 1}

// envMigrated holds, per test database, the tables AutoMigrate made there:
// a further plugin on the same database skips a migration it would not
// change (on PostgreSQL a repeated one costs 100 ms of introspection).
// TestAutoMigrateTwice runs it again on purpose. Keys are *gorm.DB.
var (
	envMigrated   sync.Map
	envMigratedMu sync.Mutex
)

// Migration levels, as bits.
const (
	migratedTokens = 1 // the user, token and email tables
	migratedJWT    = 2 // the refresh-token tables
	migratedSocial = 4 // the social tables
)

type env struct {
	t     testing.TB
	db    *gorm.DB
	auth  *restauth.Plugin[Customer]
	r     *gin.Engine
	out   *emails.Outbox
	clock *clock
}

// on returns a copy of e that reports to t: parallel subtests sharing one
// env must fail themselves, not the parent whose function has returned.
func (e *env) on(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds a plugin on db with test defaults (cheapHasher unless
// mutate sets a hasher), mounted at /rest-auth, plus an app route /api/me
// behind RequireAuth.
func newEnv(t testing.TB, db *gorm.DB, mutate func(*restauth.Config), opts ...restauth.Option[Customer]) *env {
	t.Helper()
	e := &env{t: t, db: db, out: &emails.Outbox{}, clock: newClock()}
	cfg := restauth.Config{
		SecretKey: testSecret,
		SiteURL:   siteURL,
		Mailer:    e.out,
		Now:       e.clock.Now,
		Logger:    quietLogger(),
		// Limits count every request from httptest's one address; the
		// tests of rate limits turn them back on.
		RateLimits: restauth.RateLimitConfig{Disabled: true},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if cfg.Password.Hasher == nil {
		cfg.Password.Hasher = cheapHasher
	}
	auth, err := restauth.New[Customer](db, cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	level := migratedTokens
	if cfg.JWT.Enabled {
		level |= migratedJWT
	}
	if len(cfg.Social.Providers) > 0 {
		level |= migratedSocial
	}
	done, _ := envMigrated.Load(db)
	if d, _ := done.(int); d&level != level {
		if err := auth.AutoMigrate(); err != nil {
			t.Fatalf("AutoMigrate: %v", err)
		}
		// Plugins on one database may migrate at once; record the union.
		envMigratedMu.Lock()
		old, _ := envMigrated.Load(db)
		o, _ := old.(int)
		envMigrated.Store(db, o|level)
		envMigratedMu.Unlock()
	}
	e.auth = auth
	e.r = gin.New()
	// Every answer of restauth's routes is checked against the document
	// the plugin serves (contract_test.go); the middleware goes in before
	// the routes, the document is read after.
	var ct *contractChecker
	e.r.Use(func(c *gin.Context) {
		if ct == nil {
			c.Next()
			return
		}
		ct.middleware(c)
	})
	auth.Register(e.r.Group("/rest-auth"))
	if _, bench := t.(*testing.B); !bench {
		// Benchmarks measure restauth, not the checker.
		ct = newContract(t, e)
	}
	e.r.GET("/api/me", auth.RequireAuth(), func(c *gin.Context) {
		u, ok := restauth.CurrentUser[Customer](c)
		if !ok {
			c.JSON(500, gin.H{"detail": "no user"})
			return
		}
		c.JSON(200, gin.H{"username": u.Username, "company_name": u.CompanyName})
	})
	return e
}

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

// user creates an active user with goodPass.
func (e *env) user(username, email string) *Customer {
	e.t.Helper()
	u := &Customer{User: models.User{Username: username, Email: email, IsActive: true}}
	if err := e.auth.CreateUser(context.Background(), u, goodPass); err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
	return u
}

type resp struct {
	Code   int
	Raw    string
	Body   map[string]any
	Header http.Header
}

// do sends a request. body is nil, a string (sent as is) or a value
// marshalled to JSON. hdr holds name/value pairs; Content-Type defaults to
// application/json when there is a body.
func (e *env) do(method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	return e.doCtx(context.Background(), method, path, body, hdr...)
}

// doCtx is do with a request context (which reaches GORM's callbacks).
func (e *env) doCtx(ctx context.Context, method, path string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequestWithContext(ctx, method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	out := resp{Code: w.Code, Raw: w.Body.String(), Header: w.Header()}
	// A JSON array (a list endpoint) and a redirect's HTML are left to
	// the caller, in Raw.
	if w.Body.Len() > 0 && w.Body.Bytes()[0] != '[' && (w.Code < 300 || w.Code > 399) {
		if err := json.Unmarshal(w.Body.Bytes(), &out.Body); err != nil {
			e.t.Fatalf("%s %s: %d answer is not a JSON object: %q", method, path, w.Code, out.Raw)
		}
	}
	return out
}

type rawResp struct {
	Code   int
	Body   string
	Header http.Header
}

// raw sends a bodiless request and keeps the answer as text.
func (e *env) raw(method, path string) rawResp {
	e.t.Helper()
	req, _ := http.NewRequest(method, path, nil)
	w := newRecorder()
	e.r.ServeHTTP(w, req)
	return rawResp{w.Code, w.Body.String(), w.Header()}
}

// rawAuth is raw with a token key.
func (e *env) rawAuth(method, path, key string) rawResp {
	e.t.Helper()
	req, _ := http.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Token "+key)
	w := newRecorder()
	e.r.ServeHTTP(w, req)
	return rawResp{w.Code, w.Body.String(), w.Header()}
}

func tokenHeader(key string) []string { return []string{"Authorization", "Token " + key} }

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

var keyRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// login logs in and returns the token key, failing the test otherwise.
func (e *env) login(username, pw string) string {
	e.t.Helper()
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": username, "password": pw})
	if r.Code != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.Code, r.Raw)
	}
	key, _ := r.Body["key"].(string)
	if !keyRe.MatchString(key) {
		e.t.Fatalf("login key %q is not 40 hex", key)
	}
	return key
}

// loginJWT logs in and returns the 200 body.
func (e *env) loginJWT(username string) resp {
	e.t.Helper()
	r := e.do("POST", "/rest-auth/login/", map[string]any{"username": username, "password": goodPass})
	if r.Code != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.Code, r.Raw)
	}
	return r
}

// field returns the messages under key of a 400 body.
func (r resp) field(key string) []string {
	v, ok := r.Body[key].([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(v))
	for i, s := range v {
		out[i], _ = s.(string)
	}
	return out
}

func (r resp) detail() string { s, _ := r.Body["detail"].(string); return s }

func (r resp) detailKey() string { s, _ := r.Body["key"].(string); return s }

func (r resp) str(key string) string { s, _ := r.Body[key].(string); return s }

func expect(t testing.TB, r resp, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("status %d, want %d; body %s", r.Code, code, r.Raw)
	}
}

func expectField(t testing.TB, r resp, field string, msgs ...string) {
	t.Helper()
	expect(t, r, 400)
	got := r.field(field)
	if strings.Join(got, "|") != strings.Join(msgs, "|") {
		t.Fatalf("%s = %q, want %q (body %s)", field, got, msgs, r.Raw)
	}
}

func expectDetail(t testing.TB, r resp, code int, msg string) {
	t.Helper()
	expect(t, r, code)
	if r.detail() != msg {
		t.Fatalf("detail %q, want %q (body %s)", r.detail(), msg, r.Raw)
	}
}

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

// count returns the number of rows of model.
func (e *env) count(model any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.Model(model).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// reload reads the user from the database.
func (e *env) reload(id uint) Customer {
	e.t.Helper()
	var u Customer
	if err := e.db.Where("id = ?", id).Take(&u).Error; err != nil {
		e.t.Fatal(err)
	}
	return u
}

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

func signup(name, email string) map[string]any {
	return map[string]any{"username": name, "email": email, "password1": goodPass, "password2": goodPass}
}

var confirmLinkRe = regexp.MustCompile(regexp.QuoteMeta(siteURL) + `/rest-auth/registration/account-confirm-email/([0-9a-f]{32}-[0-9a-f]{64})/`)

// confirmKey waits for exactly one confirmation email to `to` and returns
// its key.
func (e *env) confirmKey(to string) string {
	e.t.Helper()
	e.auth.Shutdown(context.Background())
	msgs := e.out.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != to {
		e.t.Fatalf("want one email to %s, have %d: %+v", to, len(msgs), msgs)
	}
	m := confirmLinkRe.FindStringSubmatch(msgs[0].Text)
	if m == nil || !strings.Contains(msgs[0].HTML, m[0]) {
		e.t.Fatalf("no confirmation link in:\n%s", msgs[0].Text)
	}
	e.out.Reset()
	return m[1]
}

var resetLinkRe = regexp.MustCompile(regexp.QuoteMeta(siteURL) + `/password/reset/confirm/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]{64})/`)

// resetLink waits for the one reset email and returns its uid and token.
func (e *env) resetLink(to string) (uid, token string) {
	e.t.Helper()
	e.auth.Shutdown(context.Background())
	m, ok := e.out.Last()
	if !ok || e.out.Len() != 1 {
		e.t.Fatalf("want 1 email, have %d", e.out.Len())
	}
	if len(m.To) != 1 || m.To[0] != to {
		e.t.Fatalf("email to %v, want %s", m.To, to)
	}
	mt := resetLinkRe.FindStringSubmatch(m.Text)
	if mt == nil || !strings.Contains(m.HTML, mt[0]) {
		e.t.Fatalf("no reset link in the email text/HTML:\n%s", m.Text)
	}
	e.out.Reset()
	return mt[1], mt[2]
}

// customerSerializer is the seed's UserProfile FAQ case: user/ reads and
// writes company_name besides the default fields.
type customerSerializer struct {
	handlers.DefaultUserSerializer[Customer]
}

type customerDetails struct {
	PK          uint   `json:"pk"`
	Username    string `json:"username"`
	Email       string `json:"email"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	CompanyName string `json:"company_name"`
}

func (s customerSerializer) Represent(u *Customer) any {
	d := s.Details(u)
	return customerDetails{d.PK, d.Username, d.Email, d.FirstName, d.LastName, u.CompanyName}
}

// customerUpdate declares the body Update reads, for the OpenAPI
// document.
type customerUpdate struct {
	dto.UserDetailsUpdate
	CompanyName *string `json:"company_name" binding:"max=100"`
}

func (customerSerializer) UpdateBody() any { return customerUpdate{} }

func (s customerSerializer) Update(ctx context.Context, u *Customer, in *handlers.Input, partial bool) error {
	var extra struct {
		CompanyName *string `json:"company_name" binding:"max=100"`
	}
	err := handlers.JoinFieldErrors(s.DefaultUserSerializer.Update(ctx, u, in, partial), in.Bind(&extra, partial))
	if err != nil {
		return err
	}
	if extra.CompanyName != nil {
		u.CompanyName = *extra.CompanyName
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func itoa(i int) string { return strconv.Itoa(i) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

type timeT = time.Time

var errBroken = errors.New("store is down")
