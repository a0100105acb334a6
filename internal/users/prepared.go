package users

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
)

// prepared is the connection pool the queries of authenticated requests
// (a user by id, a user by token digest) run through on SQLite: it keeps
// each query prepared. The driver, mattn/go-sqlite3, compiles every query
// it is given anew and keeps no statement cache; under load, compiling
// and finalizing the join took more CPU than running it. PostgreSQL's pgx
// keeps a per-connection statement cache of its own in its default mode,
// so there the queries use the plain pool (with pgx's simple protocol, or
// behind a pooler that forbids prepared statements, they are simply
// compiled per query).
//
// The queries still run through GORM (its callbacks, hooks, logger and
// scanning); only the statement is kept. A statement that fails is
// dropped and the query runs once unprepared, so a schema change never
// leaves requests failing on a stale statement (SQLite also recompiles a
// prepared statement whose table changed, "*" included).
type prepared struct {
	gorm.ConnPool // the *sql.DB, for everything but QueryContext
	db            *sql.DB
	// keep lists the queries kept prepared; any other (an app's AfterFind
	// hook querying through the same session) runs unprepared.
	keep map[string]bool
	mu   sync.Mutex
	m    map[string]*sql.Stmt
}

// BeginTx starts a transaction on the database (GORM looks for it on a
// session's pool: an app's hook may open one).
func (p *prepared) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error) {
	return p.db.BeginTx(ctx, opts)
}

// GetDBConn returns the database (GORM's DB() asks a pool for it).
func (p *prepared) GetDBConn() (*sql.DB, error) { return p.db, nil }

// newPrepared returns the pool for db that keeps queries prepared, or nil
// where the driver caches statements itself (or db has no *sql.DB).
func newPrepared(db *gorm.DB, queries ...string) *prepared {
	if db.Dialector.Name() != "sqlite" {
		return nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil
	}
	keep := make(map[string]bool, len(queries))
	for _, q := range queries {
		keep[q] = true
	}
	return &prepared{ConnPool: sqlDB, db: sqlDB, keep: keep, m: make(map[string]*sql.Stmt)}
}

// QueryContext runs q through its prepared statement when it is one of
// the kept queries. When the statement fails (and the context has not
// ended) q runs once unprepared; if that succeeds, the statement was
// stale and is dropped, to be prepared again on the next use.
func (p *prepared) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if !p.keep[q] {
		return p.db.QueryContext(ctx, q, args...)
	}
	st, err := p.stmt(ctx, q)
	if err == nil {
		var rows *sql.Rows
		if rows, err = st.QueryContext(ctx, args...); err == nil {
			return rows, nil
		}
	}
	if ctx.Err() != nil {
		return nil, err
	}
	rows, err2 := p.db.QueryContext(ctx, q, args...)
	if err2 == nil && st != nil {
		p.drop(q, st)
	}
	return rows, err2
}

// stmt returns q prepared, preparing it on first use.
func (p *prepared) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	p.mu.Lock()
	st := p.m[q]
	p.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.m[q]; old != nil {
		// Another request prepared it meanwhile: keep one.
		_ = st.Close()
		return old, nil
	}
	p.m[q] = st
	return st, nil
}

// drop forgets st (if it is still the statement of q) and closes it.
func (p *prepared) drop(q string, st *sql.Stmt) {
	p.mu.Lock()
	if p.m[q] == st {
		delete(p.m, q)
	}
	p.mu.Unlock()
	_ = st.Close()
}
