package restauth_test

import (
	"context"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
)

func TestUserDetails(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		alice := e.user("alice", "alice@example.com")
		e.user("Bobby", "bob@example.com")
		key := e.login("alice", goodPass)
		auth := tokenHeader(key)

		r := e.do("GET", "/rest-auth/user/", nil, auth...)
		expect(t, r, 200)
		want := map[string]any{"pk": float64(alice.ID), "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": ""}
		if len(r.Body) != len(want) {
			t.Fatalf("GET user/ = %s, want keys of %v", r.Raw, want)
		}
		for k, v := range want {
			if r.Body[k] != v {
				t.Fatalf("GET user/ %s = %v, want %v", k, r.Body[k], v)
			}
		}

		// PUT: writable fields change; pk, email, password, flags are ignored.
		before := e.reload(alice.ID)
		r = e.do("PUT", "/rest-auth/user/", map[string]any{
			"username": "alice2", "first_name": "Alice", "last_name": "Liddell",
			"pk": 999, "email": "evil@example.com", "password": "hacked", "is_staff": true,
			"is_superuser": true, "is_active": false, "date_joined": "2000-01-01T00:00:00Z",
		}, auth...)
		expect(t, r, 200)
		if r.Body["username"] != "alice2" || r.Body["first_name"] != "Alice" || r.Body["email"] != "alice@example.com" || r.Body["pk"] != float64(alice.ID) {
			t.Fatalf("PUT answer %s", r.Raw)
		}
		got := e.reload(alice.ID)
		if got.Username != "alice2" || got.FirstName != "Alice" || got.LastName != "Liddell" {
			t.Fatalf("PUT not saved: %+v", got.User)
		}
		if got.Email != before.Email || got.Password != before.Password || got.IsStaff || got.IsSuperuser || !got.IsActive ||
			!got.DateJoined.Equal(before.DateJoined) {
			t.Fatalf("PUT changed a protected field: %+v", got.User)
		}

		// PATCH is partial.
		expect(t, e.do("PATCH", "/rest-auth/user", map[string]any{"last_name": "Smith"}, auth...), 200)
		got = e.reload(alice.ID)
		if got.LastName != "Smith" || got.FirstName != "Alice" || got.Username != "alice2" {
			t.Fatalf("PATCH: %+v", got.User)
		}

		// PUT requires username; validation messages.
		expectField(t, e.do("PUT", "/rest-auth/user/", map[string]any{"first_name": "A"}, auth...), "username", "This field is required.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "bad name!"}, auth...), "username",
			"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": strings.Repeat("a", 151)}, auth...), "username",
			"Ensure this field has no more than 150 characters.")
		expectField(t, e.do("PATCH", "/rest-auth/user/", map[string]any{"username": "bobby"}, auth...), "username",
			"A user with that username already exists.")
		// Resending your own username (any case) is not a collision.
		expect(t, e.do("PUT", "/rest-auth/user/", map[string]any{"username": "ALICE2"}, auth...), 200)
		if e.reload(alice.ID).Username != "ALICE2" {
			t.Fatal("own username in another case not saved")
		}
		if e.reload(alice.ID).LastName != "Smith" {
			t.Fatal("PUT without last_name cleared it")
		}

		// HEAD answers like GET.
		if w := e.rawAuth("HEAD", "/rest-auth/user/", key); w.Code != 200 {
			t.Fatalf("HEAD user/: %d", w.Code)
		}
		// Method and auth rules.
		expectDetail(t, e.do("POST", "/rest-auth/user/", map[string]any{}, auth...), 405, `Method "POST" not allowed.`)
		expectDetail(t, e.do("DELETE", "/rest-auth/user/", nil, auth...), 405, `Method "DELETE" not allowed.`)
		r = e.do("GET", "/rest-auth/user/", nil)
		expectDetail(t, r, 401, "Authentication credentials were not provided.")
		if r.Header.Get("WWW-Authenticate") != "Token" {
			t.Fatal("401 without WWW-Authenticate")
		}
	})
}

func TestCustomUserSerializer(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil, restauth.WithUserSerializer[Customer](customerSerializer{}))
		u := e.user("carol", "carol@example.com")
		auth := tokenHeader(e.login("carol", goodPass))
		r := e.do("GET", "/rest-auth/user/", nil, auth...)
		expect(t, r, 200)
		if v, ok := r.Body["company_name"]; !ok || v != "" {
			t.Fatalf("GET has no company_name: %s", r.Raw)
		}
		r = e.do("PATCH", "/rest-auth/user/", map[string]any{"company_name": "Acme Ltd"}, auth...)
		expect(t, r, 200)
		if r.Body["company_name"] != "Acme Ltd" || e.reload(u.ID).CompanyName != "Acme Ltd" {
			t.Fatalf("company_name not saved: %s", r.Raw)
		}
		// The app's own route sees the typed field.
		if r := e.do("GET", "/api/me", nil, auth...); r.Body["company_name"] != "Acme Ltd" {
			t.Fatalf("/api/me %s", r.Raw)
		}
		// Errors of both parts come back together; nothing is saved.
		r = e.do("PUT", "/rest-auth/user/", map[string]any{"company_name": strings.Repeat("x", 101)}, auth...)
		expectField(t, r, "company_name", "Ensure this field has no more than 100 characters.")
		expectField(t, r, "username", "This field is required.")
		if e.reload(u.ID).CompanyName != "Acme Ltd" {
			t.Fatal("failed PUT changed the row")
		}
	})
}

// TestUserUpdateWritesOnlyChangedColumns: a column changed by someone else
// between load and save survives a PATCH of another field.
func TestUserUpdateWritesOnlyChangedColumns(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
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
