// Package testdb opens real databases for tests: a fresh SQLite file, and
// a fresh PostgreSQL schema when RESTAUTH_TEST_POSTGRES is set, so that
// test packages running in parallel never share tables.
package testdb

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// EnvPostgres names the variable holding the PostgreSQL URL for tests.
const EnvPostgres = "RESTAUTH_TEST_POSTGRES"

// SQLite opens a new SQLite database file in t's temporary directory.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := gorm.Open(sqlite.Open("file:"+path+"?_busy_timeout=10000&_journal_mode=WAL&_foreign_keys=on"),
		&gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

// PostgresURL creates a new schema in the database named by
// RESTAUTH_TEST_POSTGRES, drops it when the test ends, and returns a URL
// whose search_path is that schema. Without the variable it skips t.
func PostgresURL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvPostgres)
	if dsn == "" {
		t.Skipf("PostgreSQL tests skipped: set %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", EnvPostgres)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin, err := adminDB(dsn)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() { _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE").Error })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// admins holds one connection pool per PostgreSQL URL for creating and
// dropping schemas, shared by the tests of a package (opening a pool
// costs a connection and a query, about 20 ms). They live as long as
// the test binary.
var admins struct {
	sync.Mutex
	byDSN map[string]*gorm.DB
}

func adminDB(dsn string) (*gorm.DB, error) {
	admins.Lock()
	defer admins.Unlock()
	if db, ok := admins.byDSN[dsn]; ok {
		return db, nil
	}
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, err
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.SetMaxIdleConns(4)
	}
	if admins.byDSN == nil {
		admins.byDSN = map[string]*gorm.DB{}
	}
	admins.byDSN[dsn] = db
	return db, nil
}

// Postgres opens a fresh schema (see PostgresURL). Without
// RESTAUTH_TEST_POSTGRES it skips t.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	dsn := PostgresURL(t)
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("open postgres schema: %v", err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

// ForEach runs fn as a subtest on SQLite and on PostgreSQL.
func ForEach(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// Fresh opens another empty database of db's kind (a new SQLite file or
// PostgreSQL schema), for subtests of a ForEach that need their own.
func Fresh(t testing.TB, db *gorm.DB) *gorm.DB {
	t.Helper()
	if db.Dialector.Name() == "sqlite" {
		return SQLite(t)
	}
	return Postgres(t)
}
