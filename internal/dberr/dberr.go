// Package dberr classifies database errors by the drivers' error codes
// rather than by their text, which differs between drivers, versions and
// server locales.
//
// It knows PostgreSQL through pgx v5 (*pgconn.PgError), SQLite through
// mattn/go-sqlite3 (sqlite3.Error) and GORM's translated
// gorm.ErrDuplicatedKey. It recognises the drivers' error types by their
// names and reads their fields by reflection, so restauth links neither
// driver: an app on PostgreSQL compiles no SQLite (cgo) code, and one on
// SQLite no pgx.
package dberr

import (
	"errors"
	"reflect"
	"strings"

	"gorm.io/gorm"
)

// Driver error types, by package path and name.
const (
	pgxPackage    = "github.com/jackc/pgx/v5/pgconn"
	pgxError      = "PgError"
	sqlitePackage = "github.com/mattn/go-sqlite3"
	sqliteError   = "Error"
)

// SQLite's extended result codes for unique and primary-key violations.
const (
	sqliteConstraintUnique     = 2067
	sqliteConstraintPrimaryKey = 1555
)

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// find returns the struct value of the first error in err's tree whose
// type (or pointed-to type) is pkg.name.
func find(err error, pkg, name string) (reflect.Value, bool) {
	stack := []error{err}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if e == nil {
			continue
		}
		v := reflect.ValueOf(e)
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		if t := v.Type(); v.Kind() == reflect.Struct && t.PkgPath() == pkg && t.Name() == name {
			return v, true
		}
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			stack = append(stack, u.Unwrap())
		case interface{ Unwrap() []error }:
			stack = append(stack, u.Unwrap()...)
		}
	}
	return reflect.Value{}, false
}

func stringField(v reflect.Value, name string) string {
	f := v.FieldByName(name)
	if f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

// PostgreSQL reports the SQLSTATE, severity and message of a PostgreSQL
// error in err (never its Detail, which may quote row values).
func PostgreSQL(err error) (code, severity, message string, ok bool) {
	v, ok := find(err, pgxPackage, pgxError)
	if !ok {
		return "", "", "", false
	}
	return stringField(v, "Code"), stringField(v, "Severity"), stringField(v, "Message"), true
}

// SQLite reports the extended result code and message of a SQLite error
// in err. SQLite's messages name schema objects, never bound values.
func SQLite(err error) (extended int64, message string, ok bool) {
	v, ok := find(err, sqlitePackage, sqliteError)
	if !ok {
		return 0, "", false
	}
	if f := v.FieldByName("ExtendedCode"); f.CanInt() {
		extended = f.Int()
	}
	if e, isErr := v.Interface().(error); isErr {
		message = e.Error()
	}
	return extended, message, true
}

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
	if v, isPG := find(err, pgxPackage, pgxError); isPG {
		if stringField(v, "Code") != pgUniqueViolation {
			return "", false
		}
		return stringField(v, "ConstraintName"), true
	}
	if code, msg, isSQLite := SQLite(err); isSQLite {
		if code != sqliteConstraintUnique && code != sqliteConstraintPrimaryKey {
			return "", false
		}
		return sqliteConstraint(msg), true
	}
	return "", errors.Is(err, gorm.ErrDuplicatedKey)
}

// sqliteConstraint extracts what SQLite's message names:
// "UNIQUE constraint failed: index 'name'" (an index on expressions) gives
// "name"; "UNIQUE constraint failed: t.a, t.b" gives "t.a, t.b".
func sqliteConstraint(msg string) string {
	_, rest, found := strings.Cut(msg, "constraint failed: ")
	if !found {
		return ""
	}
	if name, isIndex := strings.CutPrefix(rest, "index '"); isIndex {
		return strings.TrimSuffix(name, "'")
	}
	return rest
}
