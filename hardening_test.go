package restauth_test

import (
	"context"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// TestResetLinkSingleUseUnderConcurrency: of several simultaneous uses of
// one reset link, exactly one succeeds.
func TestResetLinkSingleUseUnderConcurrency(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		u := e.user("alice", "alice@example.com")
		uid, token := e.auth.PasswordResetToken(u)
		codes := make([]int, 6)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw := "Fresh-Orchid-7" + itoa(i)
				codes[i] = e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": pw, "new_password2": pw}).Code
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == 200 {
				ok++
			} else if c != 400 {
				t.Fatalf("codes %v", codes)
			}
		}
		if ok != 1 {
			t.Fatalf("%d successful uses of one link: %v", ok, codes)
		}
	})
}

// TestUserUpdateWritesOnlyChangedColumns: a column changed by someone else
// between load and save survives a PATCH of another field.
func TestUserUpdateWritesOnlyChangedColumns(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		var e *env
		e = newEnv(t, db, nil, restauth.WithUserSerializer[Customer](racySerializer{db: db}))
		u := e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		expect(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"first_name": "Al"}, tokenHeader(key)...), 200)
		got := e.reload(u.ID)
		if got.FirstName != "Al" || got.CompanyName != "set by admin" {
			t.Fatalf("row after PATCH: first_name %q company %q", got.FirstName, got.CompanyName)
		}
	})
}

// racySerializer changes company_name in the database while the request
// is between load and save, as a concurrent admin would.
type racySerializer struct {
	handlers.DefaultUserSerializer[Customer]
	db *gorm.DB
}

func (s racySerializer) Update(ctx context.Context, u *Customer, in *handlers.Input, partial bool) error {
	s.db.Model(&Customer{}).Where("id = ?", u.ID).Update("company_name", "set by admin")
	return s.DefaultUserSerializer.Update(ctx, u, in, partial)
}

type slug string

// TestBindNamedStringPointer: Input.Bind fills pointer fields of named
// string types without panicking.
func TestBindNamedStringPointer(t *testing.T) {
	db := testdb.SQLite(t)
	e := newEnv(t, db, nil, restauth.WithRegistrationFields(func(_ context.Context, u *Customer, in *handlers.Input) error {
		var extra struct {
			Company *slug `json:"company_name" binding:"max=100"`
		}
		if err := in.Bind(&extra, false); err != nil {
			return err
		}
		if extra.Company != nil {
			u.CompanyName = string(*extra.Company)
		}
		return nil
	}))
	body := signup("sly", "sly@example.com")
	body["company_name"] = "Slug Co"
	expect(t, e.do("POST", "/rest-auth/registration/", body), 201)
	var c Customer
	db.Where("username = ?", "sly").Take(&c)
	if c.CompanyName != "Slug Co" {
		t.Fatalf("company %q", c.CompanyName)
	}
}

// TestFailedLoginLeavesNoTrace: when the token cannot be stored, login
// answers 503 and last_login does not move.
func TestFailedLoginLeavesNoTrace(t *testing.T) {
	db := testdb.SQLite(t)
	e := newEnv(t, db, func(c *restauth.Config) { c.Token.Store = brokenStore{} })
	u := e.user("alice", "alice@example.com")
	expect(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "alice", "password": goodPass}), 503)
	if e.reload(u.ID).LastLogin != nil {
		t.Fatal("last_login moved on a failed login")
	}
	var n int64
	db.Model(&models.Token{}).Count(&n)
	if n != 0 {
		t.Fatal("token row left behind")
	}
}

type brokenStore struct{}

func (brokenStore) Create(context.Context, uint, timeT) (string, error) { return "", errBroken }
func (brokenStore) User(context.Context, string) (uint, error)          { return 0, errBroken }
func (brokenStore) Delete(context.Context, string) error                { return errBroken }
func (brokenStore) DeleteUser(context.Context, uint, ...string) error   { return errBroken }
