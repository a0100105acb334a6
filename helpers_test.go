package restauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/models"
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

type env struct {
	t     testing.TB
	db    *gorm.DB
	auth  *restauth.Plugin[Customer]
	r     *gin.Engine
	out   *emails.Outbox
	clock *clock
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newEnv builds a plugin on db with test defaults, mounted at /rest-auth,
// plus an app route /api/me behind RequireAuth.
func newEnv(t testing.TB, db *gorm.DB, mutate func(*restauth.Config), opts ...restauth.Option[Customer]) *env {
	t.Helper()
	e := &env{t: t, db: db, out: &emails.Outbox{}, clock: newClock()}
	cfg := restauth.Config{
		SecretKey: testSecret,
		SiteURL:   siteURL,
		Mailer:    e.out,
		Now:       e.clock.Now,
		Logger:    quietLogger(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	auth, err := restauth.New[Customer](db, cfg, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := auth.AutoMigrate(); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	e.auth = auth
	e.r = gin.New()
	auth.Register(e.r.Group("/rest-auth"))
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
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	out := resp{Code: w.Code, Raw: w.Body.String(), Header: w.Header()}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &out.Body); err != nil {
			e.t.Fatalf("%s %s: %d answer is not a JSON object: %q", method, path, w.Code, out.Raw)
		}
	}
	return out
}

func tokenHeader(key string) []string { return []string{"Authorization", "Token " + key} }

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

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

type timeT = time.Time

var errBroken = errors.New("store is down")
