package login_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

type member struct {
	models.User
	Company string `gorm:"size:100"`
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func now() time.Time { return t0 }

// cheap is the test hasher: one PBKDF2 iteration.
var cheap = password.PBKDF2{Iterations: 1}

func migrate(t testing.TB, db *gorm.DB) {
	t.Helper()
	err := db.AutoMigrate(&models.Token{}, &models.EmailAddress{}, &models.EmailConfirmation{},
		&models.OutstandingToken{}, &models.BlacklistedToken{})
	if err != nil {
		t.Fatal(err)
	}
	us, err := users.New[member](db, now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	if err := us.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type env struct {
	db    *gorm.DB
	users *users.Users[member]
	keys  *tokens.Keys
	conf  *confirm.Confirmations
}

func setup(t *testing.T, db *gorm.DB) *env {
	t.Helper()
	migrate(t, db)
	us, err := users.New[member](db, now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	return &env{
		db:    db,
		users: us,
		keys:  &tokens.Keys{Store: tokens.NewGORMStore(db, now), Now: now},
		conf:  &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: time.Hour, Now: now},
	}
}

func (e *env) user(t *testing.T, username, email, hash string, active bool) *member {
	t.Helper()
	u := &member{User: models.User{Username: username, Email: email, Password: hash, IsActive: active}}
	if err := e.users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func hash(t testing.TB, h password.Hasher, pw string) string {
	t.Helper()
	s, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func count(t *testing.T, db *gorm.DB, model any) int64 {
	t.Helper()
	var n int64
	if err := db.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func reload(t *testing.T, db *gorm.DB, id uint) member {
	t.Helper()
	var m member
	if err := db.Take(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m
}

// messageID is the one non-field message of err, or "".
func messageID(err error) string {
	var v *verr.Error
	if !errors.As(err, &v) || len(v.Fields) != 1 || len(v.Fields[verr.NonField]) != 1 {
		return ""
	}
	return v.Fields[verr.NonField][0].ID
}

// checkFunc adapts a function to login.Check.
type checkFunc func(ctx context.Context, u *member) error

func (f checkFunc) Check(ctx context.Context, u *member) error { return f(ctx, u) }

func TestPipelineCheckOrder(t *testing.T) {
	t.Parallel()
	first := errors.New("first")
	second := errors.New("second")
	tests := []struct {
		name   string
		errs   []error
		want   error
		called int
	}{
		{"none", nil, nil, 0},
		{"all pass", []error{nil, nil, nil}, nil, 3},
		{"first refuses", []error{first, second, nil}, first, 1},
		{"second refuses", []error{nil, second, first}, second, 2},
		{"last refuses", []error{nil, nil, second}, second, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var calls []int
			p := &login.Pipeline[member]{}
			for i, err := range tc.errs {
				p.Checks = append(p.Checks, checkFunc(func(_ context.Context, u *member) error {
					if u.Username != "alice" {
						t.Errorf("check %d got user %q", i, u.Username)
					}
					calls = append(calls, i)
					return err
				}))
			}
			err := p.Check(context.Background(), &member{User: models.User{Username: "alice"}})
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			want := make([]int, tc.called)
			for i := range want {
				want[i] = i
			}
			if !slices.Equal(calls, want) {
				t.Fatalf("checks called %v, want %v", calls, want)
			}
		})
	}
}

func TestActiveAndVerified(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		active := e.user(t, "active", "a@example.com", "", true)
		inactive := e.user(t, "inactive", "i@example.com", "", false)
		unverified := e.user(t, "unverified", "u@example.com", "", true)
		if _, err := e.conf.AddAddress(ctx, models.EmailAddress{UserID: active.ID, Email: "a@example.com", Primary: true, Verified: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.conf.AddAddress(ctx, models.EmailAddress{UserID: unverified.ID, Email: "u@example.com", Primary: true, Verified: false}); err != nil {
			t.Fatal(err)
		}
		noAddress := e.user(t, "noaddress", "", "", true)
		verified := login.Verified[member]{Confirmations: e.conf}
		tests := []struct {
			name  string
			check login.Check[member]
			u     *member
			want  error
		}{
			{"active", login.Active[member]{}, active, nil},
			{"inactive", login.Active[member]{}, inactive, login.ErrInactive},
			{"verified", verified, active, nil},
			{"unverified", verified, unverified, login.ErrUnverified},
			{"no address", verified, noAddress, login.ErrUnverified},
		}
		for _, tc := range tests {
			if err := tc.check.Check(ctx, tc.u); err != tc.want { //nolint:errorlint // the exact value
				t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
			}
		}
		if messageID(login.ErrInactive) != "login.disabled" || messageID(login.ErrUnverified) != "login.email_not_verified" {
			t.Fatal("refusal messages changed")
		}
		if !login.IsRefusal(login.ErrInactive) || !login.IsRefusal(fmt.Errorf("x: %w", login.ErrUnverified)) || login.IsRefusal(errors.New("db down")) || login.IsRefusal(nil) {
			t.Fatal("IsRefusal wrong")
		}
	})
}

type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) hook(name string) func(context.Context, *member) {
	return func(_ context.Context, u *member) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, name+":"+u.Username)
	}
}

func (r *recorder) got() []string { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.calls) }

func TestLogin(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		rec := &recorder{}
		p := &login.Pipeline[member]{
			DB: db, Users: e.users, Checks: []login.Check[member]{login.Active[member]{}},
			Issuer: login.TokenIssuer[member]{Keys: e.keys},
			Hooks:  &hooks.Hooks[member]{OnLogin: []func(context.Context, *member){rec.hook("one"), rec.hook("two")}},
		}
		alice := e.user(t, "alice", "", "", true)
		cred, err := p.Login(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := e.keys.User(ctx, cred.Key); err != nil || id != alice.ID {
			t.Fatalf("issued key resolves to %d, %v", id, err)
		}
		if cred.Access != "" || cred.Refresh != "" {
			t.Fatalf("token mode issued a JWT pair: %+v", cred)
		}
		if alice.LastLogin == nil || !alice.LastLogin.Equal(t0) {
			t.Fatalf("struct last_login %v, want %v", alice.LastLogin, t0)
		}
		if got := reload(t, db, alice.ID).LastLogin; got == nil || !got.Equal(t0) {
			t.Fatalf("stored last_login %v", got)
		}
		if got := rec.got(); !slices.Equal(got, []string{"one:alice", "two:alice"}) {
			t.Fatalf("hooks %v", got)
		}

		bob := e.user(t, "bob", "", "", false)
		if _, err := p.Login(ctx, bob); err != login.ErrInactive { //nolint:errorlint
			t.Fatalf("Login of an inactive user = %v", err)
		}
		if got := reload(t, db, bob.ID).LastLogin; got != nil || bob.LastLogin != nil {
			t.Fatal("a refused login recorded last_login")
		}
		if n := count(t, db, &models.Token{}); n != 1 {
			t.Fatalf("%d tokens, want 1 (none for the refusal)", n)
		}
		if got := rec.got(); len(got) != 2 {
			t.Fatalf("hooks ran for a refused login: %v", got)
		}
	})
}

// failingIssuer fails after the last_login update.
type failingIssuer struct{ err error }

func (f failingIssuer) Issue(context.Context, *member) (login.Credentials, error) {
	return login.Credentials{}, f.err
}

func TestLoginIssuerFailureRollsBack(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		rec := &recorder{}
		boom := errors.New("issuer down")
		p := &login.Pipeline[member]{DB: db, Users: e.users, Issuer: failingIssuer{boom},
			Hooks: &hooks.Hooks[member]{OnLogin: []func(context.Context, *member){rec.hook("login")}}}
		alice := e.user(t, "alice", "", "", true)
		if _, err := p.Login(context.Background(), alice); !errors.Is(err, boom) {
			t.Fatalf("Login = %v, want the issuer's error", err)
		}
		if got := reload(t, db, alice.ID).LastLogin; got != nil {
			t.Fatalf("last_login %v survived the failed login", got)
		}
		if len(rec.got()) != 0 {
			t.Fatal("hooks ran for a failed login")
		}
	})
}

func TestRecordInCallersTransaction(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		iss, err := jwtauth.New([]jwtauth.Key{{Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32))}},
			time.Minute, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		sess := &sessions.Sessions[member]{DB: db, Users: e.users, JWT: iss, Now: now, Log: slog.New(slog.DiscardHandler)}
		issuers := []struct {
			name   string
			issuer login.Issuer[member]
			valid  func(c login.Credentials) bool
		}{
			{"token", login.TokenIssuer[member]{Keys: e.keys}, func(c login.Credentials) bool {
				_, err := e.keys.User(ctx, c.Key)
				return err == nil
			}},
			{"jwt", login.JWTIssuer[member]{Sessions: sess}, func(c login.Credentials) bool {
				return c.Access != "" && sess.Verify(ctx, c.Refresh) == nil
			}},
		}
		for _, is := range issuers {
			rec := &recorder{}
			p := &login.Pipeline[member]{DB: db, Users: e.users, Issuer: is.issuer,
				Hooks: &hooks.Hooks[member]{OnLogin: []func(context.Context, *member){rec.hook("login")}}}
			u := e.user(t, "user-"+is.name, "", "", true)

			boom := errors.New("caller failed later")
			var cred login.Credentials
			err := dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
				var err error
				if cred, err = p.Record(ctx, u); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatal(err)
			}
			if is.valid(cred) {
				t.Errorf("%s: credentials of a rolled back transaction work", is.name)
			}
			if got := reload(t, db, u.ID).LastLogin; got != nil {
				t.Errorf("%s: rolled back last_login %v", is.name, got)
			}
			if len(rec.got()) != 0 {
				t.Errorf("%s: Record ran the hooks", is.name)
			}

			err = dbx.Transaction(ctx, db, func(ctx context.Context, _ *gorm.DB) error {
				var err error
				cred, err = p.Record(ctx, u)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !is.valid(cred) {
				t.Errorf("%s: committed credentials do not work: %+v", is.name, cred)
			}
			if got := reload(t, db, u.ID).LastLogin; got == nil || !got.Equal(t0) {
				t.Errorf("%s: last_login %v", is.name, got)
			}
			p.Finish(ctx, u)
			if got := rec.got(); !slices.Equal(got, []string{"login:" + u.Username}) {
				t.Errorf("%s: Finish ran %v", is.name, got)
			}
		}
	})
}

// countingHasher counts Verify calls.
type countingHasher struct {
	password.Hasher
	verifies atomic.Int64
}

func (c *countingHasher) Verify(pw, encoded string) (bool, error) {
	c.verifies.Add(1)
	return c.Hasher.Verify(pw, encoded)
}

func TestPasswordAuthenticate(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		alice := e.user(t, "alice", "alice@example.com", hash(t, cheap, "alice-pw"), true)
		bob := e.user(t, "bob@corp", "bob@example.com", hash(t, cheap, "bob-pw"), true)
		carol := e.user(t, "carol", "carol@example.com", hash(t, cheap, "carol-pw"), false)
		e.user(t, "dave", "dave@example.com", "!"+hash(t, cheap, "dave-pw"), true)
		e.user(t, "erin", "erin@example.com", "", true)
		e.user(t, "frank", "frank@example.com", "pbkdf2_sha256$x", true)
		e.user(t, "gina", "gina@example.com", "md5$$5f4dcc3b5aa765d61d8327deb882cf99", true)

		U := login.Methods{Username: true}
		E := login.Methods{Email: true}
		UE := login.Methods{Username: true, Email: true}
		const invalid = "login.invalid_credentials"
		tests := []struct {
			name                string
			m                   login.Methods
			username, email, pw string
			want                *member // nil: the error below
			msg                 string
		}{
			{"username", U, "alice", "", "alice-pw", alice, ""},
			{"username other case", U, "ALICE", "", "alice-pw", alice, ""},
			{"username, email ignored", U, "alice", "bob@example.com", "alice-pw", alice, ""},
			{"username with @", U, "bob@corp", "", "bob-pw", bob, ""},
			{"email given, username only", U, "", "alice@example.com", "alice-pw", nil, "login.need_username"},
			{"nothing, username only", U, "", "", "alice-pw", nil, "login.need_username"},
			{"email as username, username only", U, "alice@example.com", "", "alice-pw", nil, invalid},
			{"wrong password", U, "alice", "", "bob-pw", nil, invalid},
			{"empty password", U, "alice", "", "", nil, invalid},
			{"unknown user", U, "nobody", "", "alice-pw", nil, invalid},

			{"email", E, "", "alice@example.com", "alice-pw", alice, ""},
			{"email other case", E, "", "ALICE@Example.COM", "alice-pw", alice, ""},
			{"email in the username field", E, "alice@example.com", "", "alice-pw", alice, ""},
			{"username, email only", E, "alice", "", "alice-pw", nil, "login.need_email"},
			{"nothing, email only", E, "", "", "alice-pw", nil, "login.need_email"},
			{"email wrong password", E, "", "alice@example.com", "nope", nil, invalid},
			{"unknown email", E, "", "nobody@example.com", "alice-pw", nil, invalid},

			{"either: username", UE, "alice", "", "alice-pw", alice, ""},
			{"either: email", UE, "", "alice@example.com", "alice-pw", alice, ""},
			{"either: email wins over username", UE, "bob@corp", "alice@example.com", "alice-pw", alice, ""},
			{"either: username with @ is a username first", UE, "bob@corp", "", "bob-pw", bob, ""},
			{"either: email in the username field", UE, "alice@example.com", "", "alice-pw", alice, ""},
			{"either: unknown address in the username field", UE, "nobody@example.com", "", "alice-pw", nil, invalid},
			{"either: nothing", UE, "", "", "alice-pw", nil, "login.need_either"},
			{"neither enabled", login.Methods{}, "alice", "alice@example.com", "alice-pw", nil, "login.need_either"},

			{"inactive user still authenticates", UE, "carol", "", "carol-pw", carol, ""},
			{"unusable hash", UE, "dave", "", "dave-pw", nil, invalid},
			{"unusable hash, the hash itself", UE, "dave", "", "!", nil, invalid},
			{"empty hash, empty password", UE, "erin", "", "", nil, invalid},
			{"malformed hash", UE, "frank", "", "x", nil, invalid},
			{"unknown algorithm", UE, "gina", "", "password", nil, invalid},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				a, err := login.NewPassword(e.users, cheap, tc.m, slog.New(slog.DiscardHandler))
				if err != nil {
					t.Fatal(err)
				}
				u, err := a.Authenticate(context.Background(), tc.username, tc.email, tc.pw)
				if tc.want != nil {
					if err != nil || u == nil || u.ID != tc.want.ID {
						t.Fatalf("Authenticate = %v, %v; want user %s", u, err, tc.want.Username)
					}
					return
				}
				if u != nil {
					t.Fatalf("Authenticate = user %s, want refusal %s", u.Username, tc.msg)
				}
				if got := messageID(err); got != tc.msg {
					t.Fatalf("Authenticate error %v (%q), want %s", err, got, tc.msg)
				}
				if tc.msg == invalid && err != login.ErrInvalidCredentials { //nolint:errorlint
					t.Fatalf("error %v is not ErrInvalidCredentials", err)
				}
			})
		}
	})
}

// TestPasswordTiming: unknown users and unusable hashes cost a password
// verification like real accounts.
func TestPasswordTiming(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := setup(t, db)
	e.user(t, "alice", "", hash(t, cheap, "pw"), true)
	e.user(t, "dave", "", "!", true)
	e.user(t, "frank", "", "pbkdf2_sha256$x", true)
	tests := []struct {
		name     string
		username string
		verifies int64 // of real work; unusable strings answer at once
	}{
		{"known", "alice", 1},
		{"unknown", "nobody", 1},
		{"unusable", "dave", 2},
		{"malformed", "frank", 2},
	}
	for _, tc := range tests {
		h := &countingHasher{Hasher: cheap}
		a, err := login.NewPassword(e.users, h, login.Methods{Username: true}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = a.Authenticate(context.Background(), tc.username, "", "pw")
		if got := h.verifies.Load(); got != tc.verifies {
			t.Errorf("%s: %d Verify calls, want %d", tc.name, got, tc.verifies)
		}
	}
	if _, err := login.NewPassword(e.users, password.PBKDF2{Iterations: -1}, login.Methods{Username: true}, nil); err == nil {
		t.Fatal("NewPassword accepted a hasher that cannot hash")
	}
}

func TestPasswordRehash(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		current := password.PBKDF2{Iterations: 2}
		old := hash(t, cheap, "pw")
		fresh := hash(t, current, "pw")
		alice := e.user(t, "alice", "", old, true)
		bob := e.user(t, "bob", "", old, true)
		carol := e.user(t, "carol", "", fresh, true)
		a, err := login.NewPassword(e.users, current, login.Methods{Username: true}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		u, err := a.Authenticate(ctx, "alice", "", "pw")
		if err != nil {
			t.Fatal(err)
		}
		stored := reload(t, db, alice.ID).Password
		if !strings.HasPrefix(stored, "pbkdf2_sha256$2$") || current.NeedsRehash(stored) {
			t.Fatalf("stored hash %q was not upgraded", stored)
		}
		if ok, _ := current.Verify("pw", stored); !ok {
			t.Fatal("the new hash does not verify the password")
		}
		if u.Password != stored {
			t.Fatal("the returned user holds the old hash")
		}

		if _, err := a.Authenticate(ctx, "bob", "", "wrong"); err == nil {
			t.Fatal("wrong password accepted")
		}
		if got := reload(t, db, bob.ID).Password; got != old {
			t.Fatal("a failed login re-hashed the password")
		}
		if _, err := a.Authenticate(ctx, "carol", "", "pw"); err != nil {
			t.Fatal(err)
		}
		if got := reload(t, db, carol.ID).Password; got != fresh {
			t.Fatal("a current hash was replaced")
		}
	})
}
