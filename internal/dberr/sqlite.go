//go:build cgo

package dberr

import (
	"errors"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// sqliteUnique classifies a go-sqlite3 error; isSQLite is false when err
// holds none.
func sqliteUnique(err error) (constraint string, ok, isSQLite bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return "", false, false
	}
	if se.ExtendedCode != sqlite3.ErrConstraintUnique && se.ExtendedCode != sqlite3.ErrConstraintPrimaryKey {
		return "", false, true
	}
	return sqliteConstraint(se.Error()), true, true
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
