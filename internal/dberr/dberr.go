// Package dberr classifies database errors by the drivers' error codes
// rather than by their text, which differs between drivers, versions and
// server locales.
//
// It knows PostgreSQL through pgx v5 (*pgconn.PgError), SQLite through
// mattn/go-sqlite3 (sqlite3.Error, only in cgo builds: without cgo that
// driver cannot open a database, so its errors never occur) and GORM's
// translated gorm.ErrDuplicatedKey.
package dberr

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// UniqueViolation reports whether err, or an error it wraps, is a unique or
// primary-key violation, and names the violated constraint when the driver
// says which:
//
//   - PostgreSQL: the constraint or unique index name (PgError.ConstraintName),
//     such as "users_email_key" or "users_email_ci".
//   - SQLite: the index name for an index on expressions ("users_email_ci"),
//     otherwise the comma-separated "table.column" list SQLite reports
//     ("users.email" or "members.org_id, members.user_id").
//   - gorm.ErrDuplicatedKey (GORM's TranslateError): "".
func UniqueViolation(err error) (constraint string, ok bool) {
	if err == nil {
		return "", false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if pe.Code != pgUniqueViolation {
			return "", false
		}
		return pe.ConstraintName, true
	}
	if constraint, ok, isSQLite := sqliteUnique(err); isSQLite {
		return constraint, ok
	}
	return "", errors.Is(err, gorm.ErrDuplicatedKey)
}
