package passwords_test

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/resets"
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

var cheap = password.PBKDF2{Iterations: 1}

const resetURL = "https://app.example/reset/{uid}/{token}/"

// migrate makes the tables and the username index. The email index is
// left out on purpose: users migrated from Django may share an address,
// and a reset goes to each of them.
func migrate(t testing.TB, db *gorm.DB) {
	t.Helper()
	err := db.AutoMigrate(&member{}, &models.Token{}, &models.OutstandingToken{}, &models.BlacklistedToken{})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Exec("CREATE UNIQUE INDEX IF NOT EXISTS members_username_ci ON ? (lower(username))", clause.Table{Name: "members"}).Error
	if err != nil {
		t.Fatal(err)
	}
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

type env struct {
	db  *gorm.DB
	p   *passwords.Passwords[member]
	out *emails.Outbox
	rec *recorder
}

func setup(t *testing.T, db *gorm.DB) *env {
	t.Helper()
	migrate(t, db)
	us, err := users.New[member](db, now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := jwtauth.New([]jwtauth.Key{{Algorithm: "HS256", Secret: []byte(strings.Repeat("k", 32))}},
		time.Minute, time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	out := &emails.Outbox{}
	rec := &recorder{}
	sender, err := mail.New(out, nil, nil, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Shutdown(context.Background()) })
	return &env{db: db, out: out, rec: rec, p: &passwords.Passwords[member]{
		DB: db, Users: us, Hasher: cheap,
		Validators: []password.Validator{password.MinimumLength{Min: 8}, password.NumericPassword{}},
		Keys:       &tokens.Keys{Store: tokens.NewGORMStore(db, now), Now: now},
		Sessions:   &sessions.Sessions[member]{DB: db, Users: us, JWT: iss, Now: now, Log: slog.New(slog.DiscardHandler)},
		Resets:     resets.Tokens{Key: []byte("reset key"), Timeout: time.Hour, Now: now},
		Mail:       sender,
		ResetURL:   resetURL, SiteName: "Example", SiteURL: "https://app.example",
		Hooks: &hooks.Hooks[member]{
			OnPasswordChanged: []func(context.Context, *member){rec.hook("changed")},
			OnPasswordReset:   []func(context.Context, *member){rec.hook("reset")},
		},
	}}
}

func (e *env) user(t *testing.T, username, email, pw string, active bool) *member {
	t.Helper()
	h, err := cheap.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	u := &member{User: models.User{Username: username, Email: email, Password: h, IsActive: active}}
	if err := e.p.Users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *env) stored(t *testing.T, id uint) string {
	t.Helper()
	var m member
	if err := e.db.Take(&m, id).Error; err != nil {
		t.Fatal(err)
	}
	return m.Password
}

func (e *env) verifies(t *testing.T, id uint, pw string) bool {
	t.Helper()
	ok, _ := cheap.Verify(pw, e.stored(t, id))
	return ok
}

// logins gives u two token keys and two JWT logins.
func (e *env) logins(t *testing.T, u *member) (keys []string, families []string) {
	t.Helper()
	for range 2 {
		k, err := e.p.Keys.Issue(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		p, err := e.p.Sessions.Issue(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		families = append(families, p.Family)
	}
	return keys, families
}

// alive reports which of keys and families still work.
func (e *env) alive(t *testing.T, keys, families []string) []bool {
	t.Helper()
	var out []bool
	for _, k := range keys {
		_, err := e.p.Keys.User(context.Background(), k)
		if err != nil && !errors.Is(err, tokens.ErrNotFound) {
			t.Fatal(err)
		}
		out = append(out, err == nil)
	}
	for _, f := range families {
		ok, err := e.p.Sessions.Live(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ok)
	}
	return out
}

// fieldErrors lists the message IDs per field of a *verr.Error.
func fieldErrors(err error) map[string][]string {
	var v *verr.Error
	if !errors.As(err, &v) {
		return nil
	}
	out := map[string][]string{}
	for k, ms := range v.Fields {
		for _, m := range ms {
			out[k] = append(out[k], m.ID)
		}
	}
	return out
}

func sameFields(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func ptr[T any](v T) *T { return &v }

func TestChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		old    *string
		p1, p2 string
		want   map[string][]string // nil: success
	}{
		{"without old password", nil, "brand-new-pw", "brand-new-pw", nil},
		{"with old password", ptr("old-password"), "brand-new-pw", "brand-new-pw", nil},
		{"old password wrong", ptr("old-passwort"), "brand-new-pw", "brand-new-pw",
			map[string][]string{"old_password": {"password.old_incorrect"}}},
		{"old password empty", ptr(""), "brand-new-pw", "brand-new-pw",
			map[string][]string{"old_password": {"password.old_incorrect"}}},
		{"old checked before the match", ptr("nope"), "brand-new-pw", "other",
			map[string][]string{"old_password": {"password.old_incorrect"}}},
		{"mismatch", nil, "brand-new-pw", "brand-new-pX",
			map[string][]string{"new_password2": {"password.mismatch"}}},
		{"validators", nil, "1234", "1234",
			map[string][]string{"new_password2": {"password.too_short", "password.entirely_numeric"}}},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		for i, tc := range tests {
			u := e.user(t, "user"+string(rune('a'+i)), "", "old-password", true)
			before := u.Password
			keys, fams := e.logins(t, u)
			hooksBefore := len(e.rec.got())
			err := e.p.Change(ctx, u, passwords.Current{Key: keys[0], Family: fams[0]}, tc.old, tc.p1, tc.p2)
			if tc.want == nil {
				if err != nil {
					t.Errorf("%s: Change = %v", tc.name, err)
					continue
				}
				if !e.verifies(t, u.ID, tc.p1) || e.verifies(t, u.ID, "old-password") {
					t.Errorf("%s: the stored hash is not the new password's", tc.name)
				}
				if u.Password != e.stored(t, u.ID) {
					t.Errorf("%s: the user struct kept the old hash", tc.name)
				}
				if got := e.rec.got()[hooksBefore:]; !slices.Equal(got, []string{"changed:" + u.Username}) {
					t.Errorf("%s: hooks %v", tc.name, got)
				}
				continue
			}
			if got := fieldErrors(err); !sameFields(got, tc.want) {
				t.Errorf("%s: Change = %v (%v), want %v", tc.name, err, got, tc.want)
			}
			if e.stored(t, u.ID) != before || u.Password != before {
				t.Errorf("%s: a refused change changed the password", tc.name)
			}
			if got := e.alive(t, keys, fams); !slices.Equal(got, []bool{true, true, true, true}) {
				t.Errorf("%s: a refused change revoked logins: %v", tc.name, got)
			}
			if len(e.rec.got()) != hooksBefore {
				t.Errorf("%s: hooks ran for a refused change", tc.name)
			}
		}
	})
}

func TestChangeRevokesOtherLogins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		logout   bool
		noJWT    bool
		cur      func(keys, fams []string) passwords.Current
		want     []bool // keys[0], keys[1], fams[0], fams[1]
		wantOthr []bool
	}{
		{"keeps the current key and login", false, false,
			func(k, f []string) passwords.Current { return passwords.Current{Key: k[0], Family: f[1]} },
			[]bool{true, false, false, true}, []bool{true, true, true, true}},
		{"no current credential", false, false,
			func(k, f []string) passwords.Current { return passwords.Current{} },
			[]bool{false, false, false, false}, []bool{true, true, true, true}},
		{"LogoutOnChange", true, false,
			func(k, f []string) passwords.Current { return passwords.Current{Key: k[0], Family: f[1]} },
			[]bool{false, false, false, false}, []bool{true, true, true, true}},
		{"token mode only", false, true,
			func(k, f []string) passwords.Current { return passwords.Current{Key: k[1]} },
			[]bool{false, true, true, true}, []bool{true, true, true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				e := setup(t, db)
				alice := e.user(t, "alice", "", "old-password", true)
				bob := e.user(t, "bob", "", "old-password", true)
				keys, fams := e.logins(t, alice)
				bobKeys, bobFams := e.logins(t, bob)
				e.p.LogoutOnChange = tc.logout
				sess := e.p.Sessions
				if tc.noJWT {
					e.p.Sessions = nil
				}
				if err := e.p.Change(context.Background(), alice, tc.cur(keys, fams), nil, "brand-new-pw", "brand-new-pw"); err != nil {
					t.Fatal(err)
				}
				e.p.Sessions = sess // to look at the logins
				if got := e.alive(t, keys, fams); !slices.Equal(got, tc.want) {
					t.Errorf("alice's logins alive %v, want %v", got, tc.want)
				}
				if got := e.alive(t, bobKeys, bobFams); !slices.Equal(got, tc.wantOthr) {
					t.Errorf("bob's logins alive %v, want %v", got, tc.wantOthr)
				}
			})
		})
	}
}

// TestChangeStale: a change checked against a hash that another change
// replaced meanwhile loses.
func TestChangeStale(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		alice := e.user(t, "alice", "", "old-password", true)
		keys, fams := e.logins(t, alice)
		stale, err := e.p.Users.ByID(ctx, alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The other change wins first.
		if err := e.p.Change(ctx, alice, passwords.Current{Key: keys[0], Family: fams[0]}, ptr("old-password"), "winner-password", "winner-password"); err != nil {
			t.Fatal(err)
		}
		hooks := len(e.rec.got())
		err = e.p.Change(ctx, stale, passwords.Current{Key: keys[0], Family: fams[0]}, ptr("old-password"), "loser-password", "loser-password")
		if got := fieldErrors(err); !sameFields(got, map[string][]string{"old_password": {"password.old_incorrect"}}) {
			t.Fatalf("stale change = %v, want old_password refused", err)
		}
		if !e.verifies(t, alice.ID, "winner-password") {
			t.Fatal("the stale change overwrote the winner")
		}
		if got := e.alive(t, keys, fams); !slices.Equal(got, []bool{true, false, true, false}) {
			t.Fatalf("logins alive %v", got)
		}
		if len(e.rec.got()) != hooks {
			t.Fatal("hooks ran for the stale change")
		}
	})
}

var linkRe = regexp.MustCompile(`https://app\.example/reset/([^/\s]+)/([^/\s]+)/`)

func TestSendReset(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		a := e.user(t, "alice", "Shared@Example.com", "old-password", true)
		b := e.user(t, "bob", "shared@example.com", "old-password", true)
		e.user(t, "carol", "shared@example.com", "old-password", false)
		e.user(t, "dave", "dave@example.com", "old-password", true)

		if err := e.p.SendReset(ctx, "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := e.p.SendReset(ctx, "SHARED@example.COM"); err != nil {
			t.Fatal(err)
		}
		if err := e.p.Mail.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := e.out.Messages()
		var to []string
		for _, m := range msgs {
			to = append(to, strings.Join(m.To, ","))
		}
		sort.Strings(to)
		// Alice's address is stored with its domain lower-cased.
		if want := []string{"Shared@example.com", "shared@example.com"}; !slices.Equal(to, want) {
			t.Fatalf("reset mails to %v, want %v (active users with the address)", to, want)
		}
		// Each link resets its own user's password.
		for _, m := range msgs {
			match := linkRe.FindStringSubmatch(m.Text)
			if match == nil {
				t.Fatalf("no reset link in:\n%s", m.Text)
			}
			uid, token := match[1], match[2]
			u, err := e.p.ConfirmReset(ctx, uid, token, "reset-password-"+uid, "reset-password-"+uid, nil)
			if err != nil {
				t.Fatalf("link %s: %v", match[0], err)
			}
			wantUser := map[string]uint{"Shared@example.com": a.ID, "shared@example.com": b.ID}[m.To[0]]
			if u.ID != wantUser {
				t.Fatalf("link in the mail to %s resets user %d, want %d", m.To[0], u.ID, wantUser)
			}
			if !strings.Contains(m.Text, u.Username) {
				t.Errorf("mail lacks the username %s", u.Username)
			}
		}
	})
}

func TestToken(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := setup(t, db)
	alice := e.user(t, "alice", "", "old-password", true)
	uid, token := e.p.Token(alice)
	if id, ok := resets.DecodeUID(uid); !ok || id != alice.ID {
		t.Fatalf("uid %q decodes to %d, %v", uid, id, ok)
	}
	if !e.p.Resets.Check(&alice.User, token) {
		t.Fatal("token does not check")
	}
}

func TestConfirmReset(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		alice := e.user(t, "alice", "alice@example.com", "old-password", true)
		carol := e.user(t, "carol", "carol@example.com", "old-password", false)
		uid, token := e.p.Token(alice)
		carolUID, carolToken := e.p.Token(carol)
		bobUID := resets.EncodeUID(alice.ID + 100)
		keys, fams := e.logins(t, alice)
		appErr := errors.New("app says no")
		pw := "reset-password"

		refusals := []struct {
			name        string
			uid, token  string
			p1, p2      string
			extra       func(*member) error
			want        map[string][]string
			wantErrLike error
		}{
			{"junk uid", "!!", token, pw, pw, nil, map[string][]string{"uid": {"field.invalid"}}, nil},
			{"empty uid", "", token, pw, pw, nil, map[string][]string{"uid": {"field.invalid"}}, nil},
			{"unknown user", bobUID, token, pw, pw, nil, map[string][]string{"uid": {"field.invalid"}}, nil},
			{"inactive user", carolUID, carolToken, pw, pw, nil, map[string][]string{"uid": {"field.invalid"}}, nil},
			{"bad token", uid, token[:len(token)-1] + "x", pw, pw, nil, map[string][]string{"token": {"field.invalid"}}, nil},
			{"another user's token", uid, carolToken, pw, pw, nil, map[string][]string{"token": {"field.invalid"}}, nil},
			{"empty token", uid, "", pw, pw, nil, map[string][]string{"token": {"field.invalid"}}, nil},
			{"mismatch", uid, token, pw, pw + "x", nil, map[string][]string{"new_password2": {"password.mismatch"}}, nil},
			{"validators", uid, token, "1234", "1234", nil, map[string][]string{"new_password2": {"password.too_short", "password.entirely_numeric"}}, nil},
			{"extra check", uid, token, pw, pw, func(u *member) error {
				if u.ID != alice.ID {
					t.Errorf("extra got user %d", u.ID)
				}
				return appErr
			}, nil, appErr},
		}
		for _, tc := range refusals {
			u, err := e.p.ConfirmReset(ctx, tc.uid, tc.token, tc.p1, tc.p2, tc.extra)
			if u != nil {
				t.Errorf("%s: returned a user", tc.name)
			}
			if tc.wantErrLike != nil {
				if !errors.Is(err, tc.wantErrLike) {
					t.Errorf("%s: ConfirmReset = %v, want %v", tc.name, err, tc.wantErrLike)
				}
			} else if got := fieldErrors(err); !sameFields(got, tc.want) {
				t.Errorf("%s: ConfirmReset = %v (%v), want %v", tc.name, err, got, tc.want)
			}
			if !e.verifies(t, alice.ID, "old-password") {
				t.Fatalf("%s: the password changed", tc.name)
			}
		}
		if got := e.alive(t, keys, fams); !slices.Equal(got, []bool{true, true, true, true}) {
			t.Fatalf("refusals revoked logins: %v", got)
		}
		if len(e.rec.got()) != 0 {
			t.Fatalf("hooks ran: %v", e.rec.got())
		}

		var extraCalls int
		u, err := e.p.ConfirmReset(ctx, uid, token, pw, pw, func(*member) error { extraCalls++; return nil })
		if err != nil || u == nil || u.ID != alice.ID || extraCalls != 1 {
			t.Fatalf("ConfirmReset = %v, %v (extra called %d times)", u, err, extraCalls)
		}
		if !e.verifies(t, alice.ID, pw) || u.Password != e.stored(t, alice.ID) {
			t.Fatal("the new password was not saved")
		}
		if got := e.alive(t, keys, fams); !slices.Equal(got, []bool{false, false, false, false}) {
			t.Fatalf("a reset must revoke every login: %v", got)
		}
		if got := e.rec.got(); !slices.Equal(got, []string{"reset:alice"}) {
			t.Fatalf("hooks %v", got)
		}
		// Single use: the password it was made for is gone.
		if _, err := e.p.ConfirmReset(ctx, uid, token, "another-password", "another-password", nil); !sameFields(fieldErrors(err), map[string][]string{"token": {"field.invalid"}}) {
			t.Fatalf("second use = %v", err)
		}
		if !e.verifies(t, alice.ID, pw) {
			t.Fatal("the second use changed the password")
		}
	})
}

// TestConfirmResetStale: a reset racing another password change (here
// made from the app's extra check) loses and says the token is invalid.
func TestConfirmResetStale(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		alice := e.user(t, "alice", "", "old-password", true)
		uid, token := e.p.Token(alice)
		other, _ := cheap.Hash("concurrent-password")
		_, err := e.p.ConfirmReset(ctx, uid, token, "reset-password", "reset-password", func(u *member) error {
			ok, err := e.p.Users.ReplacePassword(ctx, u.ID, u.Password, other)
			if err != nil || !ok {
				t.Errorf("concurrent change: %v, %v", ok, err)
			}
			return nil
		})
		if got := fieldErrors(err); !sameFields(got, map[string][]string{"token": {"field.invalid"}}) {
			t.Fatalf("ConfirmReset = %v, want token invalid", err)
		}
		if !e.verifies(t, alice.ID, "concurrent-password") {
			t.Fatal("the stale reset overwrote the concurrent change")
		}
		if len(e.rec.got()) != 0 {
			t.Fatal("hooks ran for a lost reset")
		}
	})
}
