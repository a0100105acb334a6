// Package dblog wraps a GORM logger so that restauth's own queries never
// write row values — password hashes, token digests, keys, e-mail
// addresses, usernames — into the application's database log.
//
// The wrapper:
//
//   - implements gorm.ParamsFilter and returns no parameters, so GORM
//     renders each statement with its placeholders ("email = ?",
//     "email = $1$" on PostgreSQL) instead of the bound values;
//   - passes gorm.ErrRecordNotFound to Trace as no error: a lookup that
//     finds nothing is logged as an ordinary statement (at Info level only);
//   - replaces every error handed to Trace, Error, Warn or Info by one whose
//     text cannot quote a value (see the Trace method).
//
// Use it for restauth's statements only:
//
//	db.Session(&gorm.Session{Logger: dblog.Wrap(db.Logger)})
//
// Limitation (gorm v1.31.2): (*gorm.DB).Scan, and so Raw(...).Scan, records
// its statement with logger.Recorder, whose ParamsFilter is the global
// logger.RecorderParamsFilter, and hands Trace SQL with the values already
// written in. No logger can undo that; use Find, Take, First, Pluck, Row or
// Rows for statements with secret parameters.
package dblog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/restauth/restauth/internal/dberr"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
	"gorm.io/gorm/schema"
)

// Wrap returns a logger that forwards to l (logger.Default when l is nil,
// as in gorm.Open) without parameter values or value-bearing error text.
// Wrapping a wrapped logger returns it unchanged.
func Wrap(l logger.Interface) logger.Interface {
	if w, ok := l.(*wrapped); ok {
		return w
	}
	if l == nil {
		l = logger.Default
	}
	return &wrapped{l: l}
}

type wrapped struct{ l logger.Interface }

var _ gorm.ParamsFilter = (*wrapped)(nil)

// ParamsFilter drops every parameter: GORM then renders the statement with
// its placeholders.
func (w *wrapped) ParamsFilter(_ context.Context, sql string, _ ...interface{}) (string, []interface{}) {
	return sql, nil
}

// LogMode returns the wrapped logger at level, still wrapped.
func (w *wrapped) LogMode(level logger.LogLevel) logger.Interface {
	return Wrap(w.l.LogMode(level))
}

func sanitizeArgs(data []interface{}) []interface{} {
	var out []interface{}
	for i, v := range data {
		if err, ok := v.(error); ok {
			if out == nil {
				out = append([]interface{}(nil), data...)
			}
			out[i] = sanitize(err)
		}
	}
	if out == nil {
		return data
	}
	return out
}

// logError is an error text fit for the log.
type logError string

func (e logError) Error() string { return string(e) }

// withheld stands for an error that wraps sentinel but added text to it.
type withheld struct{ sentinel error }

func (e withheld) Error() string { return e.sentinel.Error() + " (details withheld)" }
func (e withheld) Unwrap() error { return e.sentinel }

// sentinels have fixed texts.
var sentinels = []error{
	gorm.ErrRecordNotFound, gorm.ErrInvalidTransaction, gorm.ErrNotImplemented,
	gorm.ErrMissingWhereClause, gorm.ErrUnsupportedRelation, gorm.ErrPrimaryKeyRequired,
	gorm.ErrModelValueRequired, gorm.ErrModelAccessibleFieldsRequired, gorm.ErrSubQueryRequired,
	gorm.ErrInvalidData, gorm.ErrUnsupportedDriver, gorm.ErrRegistered, gorm.ErrInvalidField,
	gorm.ErrEmptySlice, gorm.ErrDryRunModeUnsupported, gorm.ErrInvalidDB, gorm.ErrInvalidValue,
	gorm.ErrInvalidValueOfLength, gorm.ErrPreloadNotAllowed, gorm.ErrDuplicatedKey,
	gorm.ErrForeignKeyViolated, gorm.ErrCheckConstraintViolated, schema.ErrUnsupportedDataType,
	sql.ErrNoRows, sql.ErrTxDone, sql.ErrConnDone, driver.ErrBadConn,
	context.Canceled, context.DeadlineExceeded,
}

func sanitize(err error) error {
	if err == nil {
		return nil
	}
	if code, severity, msg, ok := dberr.PostgreSQL(err); ok {
		if !pgSafeClass(code) {
			msg = "message withheld"
		}
		return logError(severity + ": " + msg + " (SQLSTATE " + code + ")")
	}
	if _, msg, ok := dberr.SQLite(err); ok {
		return logError(msg)
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			if err.Error() == s.Error() {
				return err
			}
			return withheld{s}
		}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return logError(oe.Error())
	}
	inner := err
	for u := errors.Unwrap(inner); u != nil; u = errors.Unwrap(inner) {
		inner = u
	}
	return logError(fmt.Sprintf("database error, text withheld (%T)", inner))
}

// pgSafeClass reports whether PostgreSQL's messages in the SQLSTATE class
// of code name objects (relations, columns, constraints, SQL tokens) but
// never data: connection (08), feature not supported (0A), cardinality (21),
// integrity constraint violation (23, values only in Detail), transaction
// state (25), authorization (28), savepoint (3B), catalog and schema name
// (3D, 3F), rollback (40), syntax or access rule (42), check option (44),
// resources and limits (53, 54), prerequisite state (55), operator
// intervention (57) and system error (58). The rest, notably data exception
// (22) and PL/pgSQL RAISE (P0), may quote values.
func pgSafeClass(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08", "0A", "21", "23", "25", "28", "3B", "3D", "3F", "40", "42", "44", "53", "54", "55", "57", "58":
		return true
	}
	return false
}
