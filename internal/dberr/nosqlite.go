//go:build !cgo

package dberr

// sqliteUnique: without cgo go-sqlite3 cannot open a database, so no
// error can come from it.
func sqliteUnique(error) (constraint string, ok, isSQLite bool) { return "", false, false }
