package restauth_test

// Tests for the correctness items found in the architecture review: each
// failed before its fix.

import (
	"bytes"
	"context"
	"log"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

// Tagged is an app user with columns a shallow copy shares: a slice
// stored as JSON and a pointer.
type Tagged struct {
	models.User
	Tags []string `gorm:"serializer:json" json:"tags"`
	Nick *string  `gorm:"size:50" json:"nick"`
}

// taggedSerializer changes the slice and the pointee in place, as a
// careless serializer may.
type taggedSerializer struct {
	handlers.DefaultUserSerializer[Tagged]
}

func (taggedSerializer) Represent(u *Tagged) any {
	return map[string]any{"username": u.Username, "tags": u.Tags, "nick": u.Nick}
}

func (taggedSerializer) Update(_ context.Context, u *Tagged, in *handlers.Input, _ bool) error {
	var req struct {
		First string `json:"first_tag" binding:"max=20"`
		Nick  string `json:"nick" binding:"max=50"`
	}
	if err := in.Bind(&req, true); err != nil {
		return err
	}
	if req.First != "" && len(u.Tags) > 0 {
		u.Tags[0] = req.First // in place: the loaded user's array changes too
	}
	if req.Nick != "" && u.Nick != nil {
		*u.Nick = req.Nick // in place through the shared pointer
	}
	return nil
}

// TestUserUpdateDeepColumns: user/ saves slice and pointer columns that a
// serializer changed in place.
func TestUserUpdateDeepColumns(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		auth, err := restauth.New[Tagged](db, restauth.Config{SecretKey: testSecret, SiteURL: siteURL, Logger: quietLogger(),
			Mailer: &emails.Outbox{}, Password: restauth.PasswordConfig{Hasher: reviewHasher}},
			restauth.WithUserSerializer[Tagged](taggedSerializer{}))
		if err != nil {
			t.Fatal(err)
		}
		if err := auth.AutoMigrate(); err != nil {
			t.Fatal(err)
		}
		nick := "al"
		u := &Tagged{User: models.User{Username: "alice", Email: "a@example.com", IsActive: true}, Tags: []string{"a", "b"}, Nick: &nick}
		if err := auth.CreateUser(context.Background(), u, goodPass); err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, db: db, r: gin.New()}
		auth.Register(e.r.Group("/rest-auth"))
		key := e.login("alice", goodPass)
		expect(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"first_tag": "z", "nick": "ally"}, tokenHeader(key)...), 200)
		var got Tagged
		if err := db.Take(&got, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.Tags, ",") != "z,b" || got.Nick == nil || *got.Nick != "ally" {
			t.Fatalf("saved tags %q nick %v: in-place changes were lost", got.Tags, got.Nick)
		}
	})
}

// failingStore is a TokenStore whose Delete can be made to fail.
type failingStore struct {
	mu      sync.Mutex
	keys    map[string]uint
	n       int
	failDel bool
}

func (s *failingStore) Create(_ context.Context, id uint, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	k := strings.Repeat("0", 39) + string(rune('a'+s.n%6))
	if s.keys == nil {
		s.keys = map[string]uint{}
	}
	s.keys[k] = id
	return k, nil
}

func (s *failingStore) User(_ context.Context, k string) (uint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.keys[k]
	if !ok {
		return 0, restauth.ErrTokenNotFound
	}
	return id, nil
}

func (s *failingStore) Delete(_ context.Context, k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDel {
		return errBroken
	}
	delete(s.keys, k)
	return nil
}

func (s *failingStore) DeleteUser(context.Context, uint, ...string) error { return nil }

// TestLogoutFailureIs503: a logout that could not revoke its credential
// answers 503, not "Successfully logged out.", and the credential still
// works (so the client knows to retry).
func TestLogoutFailureIs503(t *testing.T) {
	t.Parallel()
	t.Run("token", func(t *testing.T) {
		t.Parallel()
		store := &failingStore{}
		e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Token.Store = store })
		e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		store.failDel = true
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(key)...), 503, "Service temporarily unavailable.")
		expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
		store.failDel = false
		expectDetail(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(key)...), 200, "Successfully logged out.")
		expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401)
	})
	for _, tc := range []struct {
		name string
		send func(e *env, access, refresh string) resp
	}{
		{"jwt refresh in body", func(e *env, _, refresh string) resp {
			return e.do("POST", "/rest-auth/logout/", map[string]any{"refresh": refresh})
		}},
		{"jwt access token only", func(e *env, access, _ string) resp {
			return e.do("POST", "/rest-auth/logout/", nil, "Authorization", "Bearer "+access)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.SQLite(t)
			e := jwtEnv(t, db, nil)
			e.user("alice", "alice@example.com")
			r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass})
			expect(t, r, 200)
			access, refresh := r.Body["access"].(string), r.Body["refresh"].(string)
			// The blacklist cannot be written: nothing can be revoked.
			if err := db.Exec("ALTER TABLE restauth_jwt_blacklist RENAME TO blacklist_away").Error; err != nil {
				t.Fatal(err)
			}
			expectDetail(t, tc.send(e, access, refresh), 503, "Service temporarily unavailable.")
			if err := db.Exec("ALTER TABLE blacklist_away RENAME TO restauth_jwt_blacklist").Error; err != nil {
				t.Fatal(err)
			}
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": refresh}), 200)
			expectDetail(t, tc.send(e, access, refresh), 200, "Successfully logged out.")
			expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": refresh}), 401)
		})
	}
}

// PtrUser embeds *models.User: every new(PtrUser) has a nil base.
type PtrUser struct {
	*models.User
	Extra string
}

// TestPointerEmbeddingRefused: New refuses a user type that embeds
// *models.User, with an error saying what to do.
func TestPointerEmbeddingRefused(t *testing.T) {
	t.Parallel()
	_, err := restauth.New[PtrUser](testdb.SQLite(t), restauth.Config{SecretKey: testSecret, Logger: quietLogger()})
	if err == nil || !strings.Contains(err.Error(), "embeds *models.User; embed models.User (not a pointer)") {
		t.Fatalf("New[PtrUser] error %v", err)
	}
}

type panickySerializer struct {
	handlers.DefaultUserSerializer[Customer]
}

func (panickySerializer) Represent(*Customer) any { panic("serializer bug") }

// TestPanicAnswersJSON: a panic in an app's code under restauth's
// endpoints answers the documented 503 JSON, mounted either way.
func TestPanicAnswersJSON(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil, restauth.WithUserSerializer[Customer](panickySerializer{}))
	e.user("alice", "alice@example.com")
	key := e.login("alice", goodPass)
	e.r.GET("/me", e.auth.Handlers().User)
	for _, path := range []string{"/rest-auth/user/", "/me"} {
		expectDetail(t, e.do("GET", path, nil, tokenHeader(key)...), 503, "Service temporarily unavailable.")
	}
}

// TestCreateUserUnderMandatoryVerification: CreateUser's users have an
// address, so resend-email reaches them, and MarkEmailVerified lets them
// log in.
func TestCreateUserUnderMandatoryVerification(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationMandatory })
		u := e.user("alice", "alice@example.com")
		body := map[string]any{"username": "alice", "password": goodPass}
		expectField(t, e.do("POST", "/rest-auth/login/", body), "non_field_errors", "E-mail is not verified.")
		expect(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "alice@example.com"}), 200)
		if err := e.auth.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if m, ok := e.out.Last(); !ok || m.To[0] != "alice@example.com" || !strings.Contains(m.Text, "/registration/account-confirm-email/") {
			t.Fatalf("resend sent %+v", m)
		}
		if err := e.auth.MarkEmailVerified(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		e.login("alice", goodPass)
	})
}

// TestConfirmLinkFollowsGroup: mounted under /api/auth, the emailed link
// points at /api/auth's confirmation page, which exists.
func TestConfirmLinkFollowsGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	e.r = gin.New()
	e.auth.Register(e.r.Group("/api/auth"))
	r := e.do("POST", "/api/auth/registration/", map[string]any{
		"username": "alice", "email": "alice@example.com", "password1": goodPass, "password2": goodPass,
	})
	expect(t, r, 201)
	if err := e.auth.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, ok := e.out.Last()
	prefix := siteURL + "/api/auth/registration/account-confirm-email/"
	i := strings.Index(m.Text, prefix)
	if !ok || i < 0 {
		t.Fatalf("confirmation mail lacks %s: %q", prefix, m.Text)
	}
	link := strings.Fields(m.Text[i:])[0]
	w := newRecorder()
	e.r.ServeHTTP(w, mustRequest(t, "GET", strings.TrimPrefix(link, siteURL)))
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<form") {
		t.Fatalf("GET %s: %d", link, w.Code)
	}
}

// TestSiteURLWarning: New warns when SiteURL is left unset, and only then.
func TestSiteURLWarning(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	for _, site := range []string{"", siteURL} {
		var buf bytes.Buffer
		_, err := restauth.New[Customer](db, restauth.Config{SecretKey: testSecret, SiteURL: site, Mailer: &emails.Outbox{},
			Logger: slog.New(slog.NewTextHandler(&buf, nil)), Password: restauth.PasswordConfig{Hasher: reviewHasher}})
		if err != nil {
			t.Fatal(err)
		}
		if warned := strings.Contains(buf.String(), "Config.SiteURL is not set"); warned != (site == "") {
			t.Fatalf("SiteURL %q: warned=%v, log %q", site, warned, buf.String())
		}
	}
}

// lockedBuffer is a log sink safe for concurrent writes.
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

// TestNoSecretsInGORMLog runs a whole scenario with the app's GORM logger
// at Info level, a sign-up race included, and finds no password hash,
// token key or digest, e-mail or username in it, and no "record not
// found" for an ordinary miss.
func TestNoSecretsInGORMLog(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		var buf lockedBuffer
		db = db.Session(&gorm.Session{Logger: logger.New(log.New(&buf, "", 0),
			logger.Config{LogLevel: logger.Info, Colorful: false, SlowThreshold: time.Hour})})
		e := newEnv(t, db, nil)
		// A racer takes the name between registration's check and its
		// insert: the insert fails on the unique index.
		raced := false
		if err := db.Callback().Create().Before("gorm:create").Register("test:race", func(tx *gorm.DB) {
			if c, ok := tx.Statement.Dest.(*Customer); ok && c.Username == "racer" && !raced {
				raced = true
				other := Customer{User: models.User{Username: "RACER", Email: "other-racer@example.com", Password: "x", IsActive: true}}
				if err := tx.Session(&gorm.Session{NewDB: true, SkipHooks: true}).Create(&other).Error; err != nil {
					t.Errorf("racer insert: %v", err)
				}
			}
		}); err != nil {
			t.Fatal(err)
		}
		e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		e.do("POST", "/rest-auth/login/", map[string]any{"email": "alice@example.com", "password": goodPass})
		e.do("POST", "/rest-auth/login/", map[string]any{"username": "nobody-here", "password": "Wrong-pass-123"})
		e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": "Wrong-pass-123"})
		e.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...)
		e.do("PATCH", "/rest-auth/user/", map[string]any{"first_name": "Alicia"}, tokenHeader(key)...)
		e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"})
		e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "ghost@example.com"})
		reg := e.do("POST", "/rest-auth/registration/", map[string]any{
			"username": "racer", "email": "racer@example.com", "password1": goodPass, "password2": goodPass,
		})
		expectField(t, reg, "username", "A user with that username already exists.")
		e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "alice@example.com"})
		expect(t, e.do("POST", "/rest-auth/logout/", nil, tokenHeader(key)...), 200)
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...), 401)
		if err := e.auth.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !raced {
			t.Fatal("the race callback never ran")
		}
		logText := buf.String()
		if !strings.Contains(logText, "INSERT INTO") || !strings.Contains(logText, "restauth_tokens") ||
			!strings.Contains(logText, "UNIQUE") && !strings.Contains(logText, "23505") {
			t.Fatalf("the log does not show restauth's queries and the failed insert; the check would be vacuous:\n%s", logText)
		}
		var hashes []string
		if err := e.db.Model(&Customer{}).Pluck("password", &hashes).Error; err != nil {
			t.Fatal(err)
		}
		secrets := append(hashes, key, "alice@example.com", "ghost@example.com", "racer@example.com", "nobody-here", "Alicia", goodPass)
		for _, s := range secrets {
			if s != "" && strings.Contains(logText, s) {
				t.Errorf("GORM log contains %q", s)
			}
		}
		for _, word := range []string{"record not found", "'alice'", "\"alice\""} {
			if strings.Contains(logText, word) {
				t.Errorf("GORM log contains %q", word)
			}
		}
	})
}

// reviewHasher is a cheap Argon2id for tests that are not about hashing.
var reviewHasher = password.Argon2id{Memory: 8, Time: 1, Threads: 1}
