package restauth_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		alice := e.user("alice", "Alice@Example.com")
		off := e.user("olga", "olga@example.com")
		if err := db.Model(&Customer{}).Where("id = ?", off.ID).Update("is_active", false).Error; err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			body  map[string]any
			code  int
			field string
			msg   string
		}{
			{"username", map[string]any{"username": "alice", "password": goodPass}, 200, "", ""},
			{"username any case", map[string]any{"username": "ALICE", "password": goodPass}, 200, "", ""},
			{"email", map[string]any{"email": "alice@example.com", "password": goodPass}, 200, "", ""},
			{"email any case", map[string]any{"email": "ALICE@EXAMPLE.COM", "password": goodPass}, 200, "", ""},
			{"email typed as username", map[string]any{"username": "alice@EXAMPLE.com", "password": goodPass}, 200, "", ""},
			{"email wins over username", map[string]any{"username": "nobody", "email": "alice@example.com", "password": goodPass}, 200, "", ""},
			{"padded fields are trimmed", map[string]any{"username": "  alice ", "password": " " + goodPass + " "}, 200, "", ""},
			{"wrong password", map[string]any{"username": "alice", "password": "nope-nope-nope"}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"unknown user", map[string]any{"username": "mallory", "password": goodPass}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"inactive, right password", map[string]any{"username": "olga", "password": goodPass}, 400, "non_field_errors", "User account is disabled."},
			{"inactive, wrong password", map[string]any{"username": "olga", "password": "x-wrong-x"}, 400, "non_field_errors", "Unable to log in with provided credentials."},
			{"missing password", map[string]any{"username": "alice"}, 400, "password", "This field is required."},
			{"blank password", map[string]any{"username": "alice", "password": ""}, 400, "password", "This field may not be blank."},
			{"missing username and email", map[string]any{"password": goodPass}, 400, "non_field_errors", `Must include either "username" or "email" and "password".`},
			{"bad email", map[string]any{"email": "not-an-email", "password": goodPass}, 400, "email", "Enter a valid email address."},
		}
		t.Run("cases", func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					r := e.on(t).do("POST", "/rest-auth/login/", tc.body)
					if tc.code == 200 {
						expect(t, r, 200)
						if len(r.Body) != 1 || !keyRe.MatchString(r.detailKey()) {
							t.Fatalf("body %s, want exactly {\"key\": 40 hex}", r.Raw)
						}
						return
					}
					expectField(t, r, tc.field, tc.msg)
					if len(r.Body) != 1 {
						t.Fatalf("body %s has more than the failing key", r.Raw)
					}
				})
			}
		})
		// last_login is updated and both slash forms work.
		e.clock.Advance(time.Hour)
		expect(t, e.do("POST", "/rest-auth/login", map[string]any{"username": "alice", "password": goodPass}), 200)
		got := e.reload(alice.ID)
		if got.LastLogin == nil || !got.LastLogin.Equal(e.clock.Now()) {
			t.Fatalf("last_login = %v, want %v", got.LastLogin, e.clock.Now())
		}
		// Tokens are stored as SHA-256 digests only.
		key := e.login("alice", goodPass)
		var n int64
		if err := db.Model(&models.Token{}).Where("digest = ?", key).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatal("a token row holds the raw key")
		}
	})
}

func TestLoginMethods(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		byName := newEnv(t, db, func(c *restauth.Config) { c.LoginMethods = []restauth.LoginMethod{restauth.LoginByUsername} })
		byName.user("bob", "bob@example.com")
		expectField(t, byName.do("POST", "/rest-auth/login/", map[string]any{"email": "bob@example.com", "password": goodPass}),
			"non_field_errors", `Must include "username" and "password".`)
		expectField(t, byName.do("POST", "/rest-auth/login/", map[string]any{"username": "bob@example.com", "password": goodPass}),
			"non_field_errors", "Unable to log in with provided credentials.")
		expect(t, byName.do("POST", "/rest-auth/login/", map[string]any{"username": "bob", "password": goodPass}), 200)

		byMail := newEnv(t, db, func(c *restauth.Config) { c.LoginMethods = []restauth.LoginMethod{restauth.LoginByEmail} })
		expectField(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"password": goodPass}),
			"non_field_errors", `Must include "email" and "password".`)
		expectField(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"username": "bob", "password": goodPass}),
			"non_field_errors", `Must include "email" and "password".`)
		expect(t, byMail.do("POST", "/rest-auth/login/", map[string]any{"email": "BOB@example.com", "password": goodPass}), 200)
	})
}

// TestRequestAuthentication covers the token key a login issues, as
// RequireAuth reads it on the app's own routes.
func TestRequestAuthentication(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, func(c *restauth.Config) { c.Token.TTL = time.Hour })
		u := e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		cases := []struct {
			name, header string
			code         int
			msg          string
		}{
			{"none", "", 401, "Authentication credentials were not provided."},
			{"other scheme", "Basic YTpi", 401, "Authentication credentials were not provided."},
			{"keyword only", "Token", 401, "Invalid token header. No credentials provided."},
			{"spaces", "Token " + key + " extra", 401, "Invalid token header. Token string should not contain spaces."},
			{"unknown", "Token 0123456789abcdef0123456789abcdef01234567", 401, "Invalid token."},
			{"valid", "Token " + key, 200, ""},
			{"keyword any case", "tOkEn " + key, 200, ""},
		}
		t.Run("headers", func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					var hdr []string
					if tc.header != "" {
						hdr = []string{"Authorization", tc.header}
					}
					r := e.on(t).do("GET", "/api/me", nil, hdr...)
					if tc.code == 200 {
						expect(t, r, 200)
						if r.Body["username"] != "alice" {
							t.Fatalf("CurrentUser gave %s", r.Raw)
						}
						return
					}
					expectDetail(t, r, tc.code, tc.msg)
					if r.Header.Get("WWW-Authenticate") != "Token" {
						t.Fatalf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
					}
				})
			}
		})
		// Deactivated users are refused.
		db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", false)
		expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401, "User inactive or deleted.")
		db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", true)
		// TokenTTL: the key dies after an hour.
		e.clock.Advance(59 * time.Minute)
		expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
		e.clock.Advance(2 * time.Minute)
		expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401, "Invalid token.")
		// Public endpoints ignore a bad credential instead of answering 401.
		r := e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}, "Authorization", "Token deadbeef")
		expect(t, r, 200)
	})
}

// TestFailedLoginLeavesNoTrace: when the token cannot be stored, login
// answers 503 and neither last_login nor a token row survives. The store
// really writes its row (in the login's transaction) before it fails, so
// a login that did not roll back would leave that row behind.
func TestFailedLoginLeavesNoTrace(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		store := &writeThenFailStore{}
		e := newEnv(t, db, func(c *restauth.Config) {
			store.inner = tokens.NewGORMStore(db, c.Now)
			c.Token.Store = store
		})
		u := e.user("alice", "alice@example.com")
		expect(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}), 503)
		if store.wrote != 1 {
			t.Fatalf("the store wrote %d rows before failing, want 1", store.wrote)
		}
		if e.reload(u.ID).LastLogin != nil {
			t.Fatal("last_login moved on a failed login")
		}
		if n := e.count(&models.Token{}); n != 0 {
			t.Fatalf("%d token rows left behind", n)
		}
	})
}

// writeThenFailStore stores a key with the default GORM store (joining
// the caller's transaction), then reports a failure, as a store whose
// commit or bookkeeping fails after the write would. Only Create is used.
type writeThenFailStore struct {
	inner *tokens.GORMStore
	wrote int // rows the inner store created; requests are sequential
}

func (s *writeThenFailStore) Create(ctx context.Context, userID uint, exp timeT) (string, error) {
	if _, err := s.inner.Create(ctx, userID, exp); err != nil {
		return "", err
	}
	s.wrote++
	return "", errBroken
}
func (s *writeThenFailStore) User(context.Context, string) (uint, error)        { return 0, errBroken }
func (s *writeThenFailStore) Delete(context.Context, string) error              { return errBroken }
func (s *writeThenFailStore) DeleteUser(context.Context, uint, ...string) error { return errBroken }

func TestDatabaseDownIs503(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := newEnv(t, db, nil)
	e.user("alice", "alice@example.com")
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	_ = sqlDB.Close()
	expectDetail(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}), 503, "Service temporarily unavailable.")
	expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(strings.Repeat("a", 40))...), 503, "Service temporarily unavailable.")
}

// djangoPBKDF2 builds a hash the way Django's PBKDF2PasswordHasher does:
// pbkdf2_sha256$<iterations>$<salt>$<base64(sha256 PBKDF2, 32 bytes)>.
func djangoPBKDF2(pw, salt string, iterations int) (string, error) {
	dk, err := pbkdf2.Key(sha256.New, pw, []byte(salt), iterations, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(dk)), nil
}

// legacyHash is an imported Django 4.2 hash (870,000 iterations), built
// once for both databases.
var legacyHash = sync.OnceValues(func() (string, error) {
	return djangoPBKDF2("django-era-pass", "Yp8Q3cFzVb2n", 870000)
})

// TestDjangoHashLogsInAndIsRehashed is about hashing: it keeps the
// default hasher and Django's real iteration count.
func TestDjangoHashLogsInAndIsRehashed(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, func(c *restauth.Config) { c.Password.Hasher = password.Default() })
		hash, err := legacyHash()
		if err != nil {
			t.Fatal(err)
		}
		imported := &Customer{User: models.User{Username: "legacy", Email: "legacy@example.com", IsActive: true, Password: hash}}
		if err := db.Create(imported).Error; err != nil {
			t.Fatal(err)
		}
		expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "legacy", "password": "wrong-pass"}),
			"non_field_errors", "Unable to log in with provided credentials.")
		if !strings.HasPrefix(e.reload(imported.ID).Password, "pbkdf2_sha256$") {
			t.Fatal("a failed login re-hashed the password")
		}
		e.login("legacy", "django-era-pass")
		h := e.reload(imported.ID).Password
		if !strings.HasPrefix(h, "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash after login %q, want Argon2id", h)
		}
		e.login("legacy", "django-era-pass") // the new hash works
	})
}

// TestTokenExpiryAcrossOffsets: a key's expiry is compared as an instant
// whatever offset it was written in (SQLite keeps times as text).
func TestTokenExpiryAcrossOffsets(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		e.user("zoe", "zoe@example.com")
		key := e.login("zoe", goodPass)
		now := e.clock.Now()
		set := func(at time.Time) {
			t.Helper()
			if err := db.Model(&models.Token{}).Where("user_id > 0").Update("expires_at", at).Error; err != nil {
				t.Fatal(err)
			}
		}
		west, east := time.FixedZone("west", -10*3600), time.FixedZone("east", 13*3600)
		// Later than now, written in a zone whose text sorts earlier.
		set(now.Add(30 * time.Minute).In(west))
		expect(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 200)
		// Earlier than now, written in a zone whose text sorts later.
		set(now.Add(-30 * time.Minute).In(east))
		expectDetail(t, e.do("GET", "/api/me", nil, tokenHeader(key)...), 401, "Invalid token.")
		expectDetail(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...), 401, "Invalid token.")
	})
}
