//go:build !cgo

package dblog

// sqliteMessage: without cgo go-sqlite3 cannot open a database, so no
// error can come from it.
func sqliteMessage(error) (string, bool) { return "", false }
