//go:build cgo

package dblog

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// sqliteMessage returns the text of a go-sqlite3 error in err: SQLite's
// message (sqlite3_errmsg), which names schema objects, never bound values.
func sqliteMessage(err error) (string, bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return "", false
	}
	return se.Error(), true
}
