package social

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/markbates/goth"
	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

type member struct{ models.User }

// usableHash is a usable encoded password (never verified here).
const usableHash = "pbkdf2_sha256$1$salt$aGFzaA=="

// calls records the social hooks' calls.
type calls struct {
	mu      sync.Mutex
	signUp  []models.SocialAccount
	signUpU []uint
	gothIDs []string
	added   []models.SocialAccount
	addedU  []uint
	removed []models.SocialAccount
	remU    []uint
	joined  []uint // OnUserSignedUp
}

type fixture struct {
	db    *gorm.DB
	users *users.Users[member]
	conf  *confirm.Confirmations
	acc   *Accounts[member]
	calls *calls
}

func newFixture(t *testing.T, db *gorm.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	now := newClock().Now
	us, err := users.New[member](db, now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	if err := us.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conf := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: 72 * time.Hour, Now: now}
	if err := conf.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.AutoMigrate(&models.Token{}); err != nil {
		t.Fatal(err)
	}
	migrateSocial(t, db)
	keys := &tokens.Keys{Store: tokens.NewGORMStore(db, now), Now: now}
	c := &calls{}
	h := &hooks.Hooks[member]{OnUserSignedUp: []func(context.Context, *member){func(_ context.Context, u *member) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.joined = append(c.joined, u.ID)
	}}}
	pipeline := &login.Pipeline[member]{DB: db, Users: us, Checks: []login.Check[member]{login.Active[member]{}},
		Issuer: login.TokenIssuer[member]{Keys: keys}, Hooks: h}
	box, err := NewBox(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	soc := &Hooks[member]{
		OnSignUp: []func(context.Context, *member, *models.SocialAccount, goth.User){
			func(_ context.Context, u *member, a *models.SocialAccount, gu goth.User) {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.signUp, c.signUpU, c.gothIDs = append(c.signUp, *a), append(c.signUpU, u.ID), append(c.gothIDs, gu.UserID)
			}},
		OnAdded: []func(context.Context, *member, *models.SocialAccount){
			func(_ context.Context, u *member, a *models.SocialAccount) {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.added, c.addedU = append(c.added, *a), append(c.addedU, u.ID)
			}},
		OnRemoved: []func(context.Context, *member, *models.SocialAccount){
			func(_ context.Context, u *member, a *models.SocialAccount) {
				c.mu.Lock()
				defer c.mu.Unlock()
				c.removed, c.remU = append(c.removed, *a), append(c.remU, u.ID)
			}},
	}
	acc := &Accounts[member]{
		DB: db, Users: us, Confirmations: conf, Pipeline: pipeline,
		Revoke:     func(ctx context.Context, id uint) error { return keys.RevokeUser(ctx, id, "") },
		AutoSignup: true, Box: box, Hooks: h, Social: soc,
	}
	return &fixture{db: db, users: us, conf: conf, acc: acc, calls: c}
}

func (f *fixture) user(t *testing.T, username, hash string) *member {
	t.Helper()
	u := &member{models.User{Username: username, Email: username + "@example.com", Password: hash, IsActive: true}}
	if err := f.users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// account links a new account (with a stored token) to u directly.
func (f *fixture) account(t *testing.T, u *member, provider, uid string) *models.SocialAccount {
	t.Helper()
	a, err := f.acc.insert(context.Background(), provider, u.ID, Identity{UID: uid, Token: "token-" + uid, Secret: "refresh-" + uid})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) address(t *testing.T, u *member, verified bool) {
	t.Helper()
	_, err := f.conf.AddAddress(context.Background(), models.EmailAddress{UserID: u.ID, Email: u.Email, Primary: true, Verified: verified})
	if err != nil {
		t.Fatal(err)
	}
}

func accountIDs(t *testing.T, db *gorm.DB, userID uint) []uint {
	t.Helper()
	var ids []uint
	if err := db.Model(&models.SocialAccount{}).Where("user_id = ?", userID).Order("id").Pluck("id", &ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestDisconnectLastAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		hash      string
		mandatory bool
		address   string // "", "unverified", "verified"
		wantErr   error
	}{
		{name: "usable password", hash: usableHash},
		{name: "unusable password", hash: password.UnusablePrefix + "abc", wantErr: ErrNoPassword},
		{name: "empty password", hash: "", wantErr: ErrNoPassword},
		{name: "unusable password with a verified address", hash: password.UnusablePrefix + "abc", address: "verified", wantErr: ErrNoPassword},
		{name: "mandatory, no address", hash: usableHash, mandatory: true, wantErr: ErrNoVerifiedEmail},
		{name: "mandatory, unverified address", hash: usableHash, mandatory: true, address: "unverified", wantErr: ErrNoVerifiedEmail},
		{name: "mandatory, verified address", hash: usableHash, mandatory: true, address: "verified"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				f := newFixture(t, db)
				f.acc.Mandatory = tc.mandatory
				u := f.user(t, "alice", tc.hash)
				if tc.address != "" {
					f.address(t, u, tc.address == "verified")
				}
				acct := f.account(t, u, "google", "g-1")

				err := f.acc.Disconnect(context.Background(), u, acct.ID)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Disconnect error = %v, want %v", err, tc.wantErr)
				}
				wantRows := int64(0)
				if tc.wantErr != nil {
					wantRows = 1
				}
				if n := count(t, db, &models.SocialAccount{}, "id = ?", acct.ID); n != wantRows {
					t.Errorf("%d account rows, want %d", n, wantRows)
				}
				if n := count(t, db, &models.SocialToken{}, "social_account_id = ?", acct.ID); n != wantRows {
					t.Errorf("%d token rows, want %d", n, wantRows)
				}
				if tc.wantErr != nil {
					if len(f.calls.removed) != 0 {
						t.Errorf("OnRemoved ran for a refused disconnect: %+v", f.calls.removed)
					}
					return
				}
				if len(f.calls.removed) != 1 || f.calls.removed[0].ID != acct.ID || f.calls.removed[0].Provider != "google" ||
					f.calls.removed[0].UID != "g-1" || f.calls.removed[0].UserID != u.ID || f.calls.remU[0] != u.ID {
					t.Errorf("OnRemoved calls %+v for users %v, want account %d of user %d", f.calls.removed, f.calls.remU, acct.ID, u.ID)
				}
			})
		})
	}
}

func TestDisconnectTwoAccountsWithoutPassword(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		ctx := context.Background()
		u := f.user(t, "alice", password.UnusablePrefix+"abc")
		first := f.account(t, u, "google", "g-1")
		second := f.account(t, u, "github", "gh-1")

		if err := f.acc.Disconnect(ctx, u, first.ID); err != nil {
			t.Fatalf("first Disconnect: %v", err)
		}
		if err := f.acc.Disconnect(ctx, u, second.ID); !errors.Is(err, ErrNoPassword) {
			t.Fatalf("second Disconnect error = %v, want ErrNoPassword", err)
		}
		if ids := accountIDs(t, db, u.ID); len(ids) != 1 || ids[0] != second.ID {
			t.Errorf("accounts left %v, want [%d]", ids, second.ID)
		}
		if len(f.calls.removed) != 1 || f.calls.removed[0].ID != first.ID {
			t.Errorf("OnRemoved calls %+v, want only account %d", f.calls.removed, first.ID)
		}
	})
}

func TestDisconnectNotOwn(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		ctx := context.Background()
		alice := f.user(t, "alice", usableHash)
		bob := f.user(t, "bob", usableHash)
		aliceAcct := f.account(t, alice, "google", "g-alice")
		bobAcct := f.account(t, bob, "google", "g-bob")

		for _, id := range []uint{aliceAcct.ID, bobAcct.ID + 1000, 0} {
			if err := f.acc.Disconnect(ctx, bob, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("Disconnect(bob, %d) error = %v, want ErrNotFound", id, err)
			}
		}
		if n := count(t, db, &models.SocialAccount{}); n != 2 {
			t.Errorf("%d account rows, want 2", n)
		}
		if n := count(t, db, &models.SocialToken{}); n != 2 {
			t.Errorf("%d token rows, want 2", n)
		}
		if len(f.calls.removed) != 0 {
			t.Errorf("OnRemoved ran: %+v", f.calls.removed)
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		ctx := context.Background()
		alice := f.user(t, "alice", usableHash)
		bob := f.user(t, "bob", usableHash)
		// Inserted out of id order, so that only an ORDER BY sorts them.
		rows := []models.SocialAccount{
			{ID: 30, UserID: alice.ID, Provider: "google", UID: "a-30"},
			{ID: 10, UserID: alice.ID, Provider: "github", UID: "a-10"},
			{ID: 25, UserID: bob.ID, Provider: "github", UID: "b-25"},
			{ID: 20, UserID: alice.ID, Provider: "apple", UID: "a-20"},
		}
		for i := range rows {
			rows[i].LastLogin, rows[i].DateJoined, rows[i].ExtraData = t0, t0, map[string]any{"i": i}
			if err := db.Create(&rows[i]).Error; err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name    string
			userID  uint
			wantIDs []uint
			wantUID []string
		}{
			{"alice", alice.ID, []uint{10, 20, 30}, []string{"a-10", "a-20", "a-30"}},
			{"bob", bob.ID, []uint{25}, []string{"b-25"}},
			{"no accounts", bob.ID + 100, []uint{}, []string{}},
		}
		for _, tc := range tests {
			got, err := f.acc.List(ctx, tc.userID)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Errorf("%s: List = nil, want an empty slice", tc.name)
			}
			if len(got) != len(tc.wantIDs) {
				t.Fatalf("%s: List = %+v, want ids %v", tc.name, got, tc.wantIDs)
			}
			for i, a := range got {
				if a.ID != tc.wantIDs[i] || a.UID != tc.wantUID[i] || a.UserID != tc.userID {
					t.Errorf("%s: List[%d] = id %d uid %q user %d, want id %d uid %q user %d",
						tc.name, i, a.ID, a.UID, a.UserID, tc.wantIDs[i], tc.wantUID[i], tc.userID)
				}
			}
		}
	})
}

func TestConnect(t *testing.T) {
	t.Parallel()
	rules := Rules{Name: "google"}
	t.Run("owned by another user", func(t *testing.T) {
		t.Parallel()
		testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
			t.Parallel()
			f := newFixture(t, db)
			alice := f.user(t, "alice", usableHash)
			bob := f.user(t, "bob", usableHash)
			acct := f.account(t, alice, "google", "g-1")

			cred, err := f.acc.Connect(context.Background(), bob, rules, Identity{UID: "g-1", ExtraData: map[string]any{"by": "bob"}})
			if !errors.Is(err, ErrConnectedOther) {
				t.Fatalf("Connect error = %v, want ErrConnectedOther", err)
			}
			if cred != (login.Credentials{}) {
				t.Errorf("Connect issued %+v with its error", cred)
			}
			if ids := accountIDs(t, db, alice.ID); len(ids) != 1 || ids[0] != acct.ID {
				t.Errorf("alice's accounts %v, want [%d]", ids, acct.ID)
			}
			if ids := accountIDs(t, db, bob.ID); len(ids) != 0 {
				t.Errorf("bob's accounts %v, want none", ids)
			}
			var stored models.SocialAccount
			if err := db.First(&stored, acct.ID).Error; err != nil {
				t.Fatal(err)
			}
			if stored.ExtraData["by"] != nil {
				t.Errorf("alice's account was refreshed from bob's connect: %v", stored.ExtraData)
			}
			if n := count(t, db, &models.Token{}, "user_id = ?", bob.ID); n != 0 {
				t.Errorf("bob got %d token keys", n)
			}
			if len(f.calls.added) != 0 {
				t.Errorf("OnAdded ran: %+v", f.calls.added)
			}
		})
	})
	t.Run("new and own", func(t *testing.T) {
		t.Parallel()
		testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
			t.Parallel()
			f := newFixture(t, db)
			ctx := context.Background()
			alice := f.user(t, "alice", usableHash)

			cred, err := f.acc.Connect(ctx, alice, rules, Identity{UID: "g-1", ExtraData: map[string]any{"n": "first"}})
			if err != nil {
				t.Fatal(err)
			}
			if cred.Key == "" {
				t.Error("Connect issued no key")
			}
			ids := accountIDs(t, db, alice.ID)
			if len(ids) != 1 {
				t.Fatalf("alice's accounts %v, want one", ids)
			}
			if len(f.calls.added) != 1 || f.calls.added[0].ID != ids[0] || f.calls.added[0].UID != "g-1" ||
				f.calls.added[0].Provider != "google" || f.calls.addedU[0] != alice.ID {
				t.Errorf("OnAdded calls %+v for users %v, want account %d of user %d", f.calls.added, f.calls.addedU, ids[0], alice.ID)
			}

			// Her own account again: refreshed, not added.
			if _, err := f.acc.Connect(ctx, alice, rules, Identity{UID: "g-1", ExtraData: map[string]any{"n": "second"}}); err != nil {
				t.Fatal(err)
			}
			if again := accountIDs(t, db, alice.ID); len(again) != 1 || again[0] != ids[0] {
				t.Errorf("alice's accounts %v after a reconnect, want %v", again, ids)
			}
			var stored models.SocialAccount
			if err := db.First(&stored, ids[0]).Error; err != nil {
				t.Fatal(err)
			}
			if stored.ExtraData["n"] != "second" {
				t.Errorf("extra_data %v, want the reconnect's", stored.ExtraData)
			}
			if len(f.calls.added) != 1 {
				t.Errorf("OnAdded ran %d times, want once", len(f.calls.added))
			}
		})
	})
}

func TestLoginPopulateError(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		boom := errors.New("app refuses this profile")
		f.acc.Social.Populate = func(context.Context, *member, goth.User) error { return boom }
		id := Identity{UID: "g-1", Email: "new@example.com", EmailVerified: true, FirstName: "New", User: goth.User{UserID: "g-1"}}

		res, err := f.acc.Login(context.Background(), Rules{Name: "google"}, id)
		if !errors.Is(err, boom) {
			t.Fatalf("Login error = %v, want %v", err, boom)
		}
		if res.User != nil || res.SignedUp || res.Credentials != (login.Credentials{}) {
			t.Errorf("Login = %+v with its error", res)
		}
		for _, m := range []any{&member{}, &models.SocialAccount{}, &models.EmailAddress{}, &models.Token{}, &models.SocialToken{}} {
			if n := count(t, db, m); n != 0 {
				t.Errorf("%T: %d rows, want none", m, n)
			}
		}
		if len(f.calls.signUp) != 0 || len(f.calls.joined) != 0 {
			t.Errorf("sign-up hooks ran: %+v %v", f.calls.signUp, f.calls.joined)
		}
	})
}

func TestLoginPopulateCannotSetRestauthColumns(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		f.acc.Social.Populate = func(_ context.Context, u *member, gu goth.User) error {
			u.ID, u.Password, u.IsStaff, u.IsSuperuser = 999, usableHash, true, true
			u.LastName = gu.LastName + " (app)"
			return nil
		}
		id := Identity{UID: "g-1", FirstName: "Ann", User: goth.User{UserID: "g-1", LastName: "Lee"}}
		res, err := f.acc.Login(context.Background(), Rules{Name: "google"}, id)
		if err != nil {
			t.Fatal(err)
		}
		var stored member
		if err := db.First(&stored, res.User.ID).Error; err != nil {
			t.Fatal(err)
		}
		if stored.ID == 999 || stored.IsStaff || stored.IsSuperuser || password.IsUsable(stored.Password) {
			t.Errorf("the hook set restauth's columns: %+v", stored.User)
		}
		if stored.LastName != "Lee (app)" {
			t.Errorf("last_name %q, want the hook's %q", stored.LastName, "Lee (app)")
		}
	})
}

func TestSocialHooks(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		f := newFixture(t, db)
		ctx := context.Background()
		google := Rules{Name: "google", EmailAuthentication: true, AutoConnect: true}
		id := Identity{UID: "g-new", Email: "new@example.com", EmailVerified: true, Username: "newbie",
			User: goth.User{UserID: "g-new", Provider: "google"}}

		// Sign-up: OnSignUp with the new account, OnUserSignedUp.
		res, err := f.acc.Login(ctx, google, id)
		if err != nil {
			t.Fatal(err)
		}
		if !res.SignedUp || res.User == nil || res.Credentials.Key == "" {
			t.Fatalf("Login = %+v, want a signed-up user with a key", res)
		}
		newID := res.User.ID
		ids := accountIDs(t, db, newID)
		if len(ids) != 1 {
			t.Fatalf("new user's accounts %v, want one", ids)
		}
		c := f.calls
		if len(c.signUp) != 1 || c.signUp[0].ID != ids[0] || c.signUp[0].UserID != newID || c.signUp[0].UID != "g-new" ||
			c.signUp[0].Provider != "google" || c.signUpU[0] != newID || c.gothIDs[0] != "g-new" {
			t.Errorf("OnSignUp calls %+v users %v goth %v, want account %d of user %d", c.signUp, c.signUpU, c.gothIDs, ids[0], newID)
		}
		if len(c.joined) != 1 || c.joined[0] != newID {
			t.Errorf("OnUserSignedUp calls %v, want [%d]", c.joined, newID)
		}

		// The same identity again: a login, no hook.
		res, err = f.acc.Login(ctx, google, id)
		if err != nil {
			t.Fatal(err)
		}
		if res.SignedUp || res.User.ID != newID {
			t.Errorf("second Login = user %d signed up %v, want user %d, not signed up", res.User.ID, res.SignedUp, newID)
		}
		if len(c.signUp) != 1 || len(c.joined) != 1 || len(c.added) != 0 {
			t.Errorf("hooks ran on a plain login: signUp %d joined %d added %d", len(c.signUp), len(c.joined), len(c.added))
		}

		// Email authentication with auto-connect: OnAdded for the existing
		// user, no sign-up hook.
		bob := f.user(t, "bob", usableHash)
		f.address(t, bob, true)
		res, err = f.acc.Login(ctx, google, Identity{UID: "g-bob", Email: "BOB@example.com", EmailVerified: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.SignedUp || res.User.ID != bob.ID {
			t.Errorf("email login = user %d signed up %v, want bob (%d)", res.User.ID, res.SignedUp, bob.ID)
		}
		bobIDs := accountIDs(t, db, bob.ID)
		if len(bobIDs) != 1 {
			t.Fatalf("bob's accounts %v, want one", bobIDs)
		}
		if len(c.added) != 1 || c.added[0].ID != bobIDs[0] || c.added[0].UID != "g-bob" || c.addedU[0] != bob.ID {
			t.Errorf("OnAdded calls %+v users %v, want account %d of bob (%d)", c.added, c.addedU, bobIDs[0], bob.ID)
		}
		if len(c.signUp) != 1 || len(c.joined) != 1 {
			t.Errorf("sign-up hooks ran on an email login: %d %d", len(c.signUp), len(c.joined))
		}

		// Disconnect: OnRemoved with the removed account.
		if err := f.acc.Disconnect(ctx, bob, bobIDs[0]); err != nil {
			t.Fatal(err)
		}
		if len(c.removed) != 1 || c.removed[0].ID != bobIDs[0] || c.removed[0].UID != "g-bob" || c.remU[0] != bob.ID {
			t.Errorf("OnRemoved calls %+v users %v, want account %d of bob", c.removed, c.remU, bobIDs[0])
		}
	})
}
