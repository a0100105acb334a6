package dberr_test

import (
	"errors"
	"fmt"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/testdb"
)

func TestUniqueViolationWithoutDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		ok   bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("UNIQUE constraint failed: users.email"), false},
		{"text only", errors.New("duplicate key value violates unique constraint \"x\" (SQLSTATE 23505)"), false},
		{"not found", gorm.ErrRecordNotFound, false},
		{"gorm duplicated key", gorm.ErrDuplicatedKey, true},
		{"wrapped gorm duplicated key", fmt.Errorf("create user: %w", gorm.ErrDuplicatedKey), true},
	}
	for _, tt := range tests {
		constraint, ok := dberr.UniqueViolation(tt.err)
		if ok != tt.ok || constraint != "" {
			t.Errorf("%s: UniqueViolation = %q, %v; want \"\", %v", tt.name, constraint, ok, tt.ok)
		}
	}
}

func TestUniqueViolation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		pg := db.Dialector.Name() == "postgres"
		for _, ddl := range []string{
			`CREATE TABLE dbe (
				id integer PRIMARY KEY,
				email text UNIQUE,
				login text,
				name text NOT NULL,
				active boolean NOT NULL,
				n integer CHECK (n > 0)
			)`,
			`CREATE UNIQUE INDEX dbe_login_ci ON dbe (lower(login))`,
			`CREATE UNIQUE INDEX dbe_name_active ON dbe (name) WHERE active`,
			`CREATE TABLE pair (a integer, b integer, UNIQUE (a, b))`,
		} {
			if err := db.Exec(ddl).Error; err != nil {
				t.Fatalf("%s: %v", ddl, err)
			}
		}
		mustExec := func(sql string, args ...any) {
			t.Helper()
			if err := db.Exec(sql, args...).Error; err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
		mustExec(`INSERT INTO dbe (id, email, login, name, active) VALUES (1, 'a@example.com', 'alice', 'n1', ?)`, true)
		// The partial index ignores inactive rows.
		mustExec(`INSERT INTO dbe (id, email, name, active) VALUES (2, 'b@example.com', 'n1', ?)`, false)
		mustExec(`INSERT INTO pair (a, b) VALUES (1, 2)`)

		pick := func(pgName, sqliteName string) string {
			if pg {
				return pgName
			}
			return sqliteName
		}
		tests := []struct {
			name       string
			sql        string
			args       []any
			ok         bool
			constraint string
		}{
			{"primary key", `INSERT INTO dbe (id, email, name, active) VALUES (1, 'c@example.com', 'n3', ?)`, []any{false},
				true, pick("dbe_pkey", "dbe.id")},
			{"unique column", `INSERT INTO dbe (id, email, name, active) VALUES (3, 'a@example.com', 'n3', ?)`, []any{false},
				true, pick("dbe_email_key", "dbe.email")},
			{"expression index", `INSERT INTO dbe (id, email, login, name, active) VALUES (3, 'c@example.com', 'Alice', 'n3', ?)`, []any{false},
				true, "dbe_login_ci"},
			{"partial index", `INSERT INTO dbe (id, email, name, active) VALUES (3, 'c@example.com', 'n1', ?)`, []any{true},
				true, pick("dbe_name_active", "dbe.name")},
			{"two columns", `INSERT INTO pair (a, b) VALUES (1, 2)`, nil,
				true, pick("pair_a_b_key", "pair.a, pair.b")},
			{"not null", `INSERT INTO dbe (id, email, name, active) VALUES (3, 'c@example.com', NULL, ?)`, []any{false},
				false, ""},
			{"check", `INSERT INTO dbe (id, email, name, active, n) VALUES (3, 'c@example.com', 'n3', ?, 0)`, []any{false},
				false, ""},
			{"syntax error", `INSERT INTO dbe VALUES VALUES`, nil, false, ""},
			{"no such table", `INSERT INTO nope (id) VALUES (1)`, nil, false, ""},
		}
		for _, tt := range tests {
			err := db.Exec(tt.sql, tt.args...).Error
			if err == nil {
				t.Errorf("%s: no error", tt.name)
				continue
			}
			for _, e := range []error{err, fmt.Errorf("wrapped: %w", err)} {
				constraint, ok := dberr.UniqueViolation(e)
				if ok != tt.ok || constraint != tt.constraint {
					t.Errorf("%s: UniqueViolation(%q) = %q, %v; want %q, %v", tt.name, e, constraint, ok, tt.constraint, tt.ok)
				}
			}
		}
	})
}
