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
// keeps a per-connection statement cache of its own, so there the queries
// use the plain pool.
//
// The queries still run through GORM (its callbacks, hooks, logger and
// scanning); only the statement is kept. A statement that fails is
// dropped and the query runs once unprepared, so a schema change never
// leaves requests failing on a stale statement (SQLite also recompiles a
// prepared statement whose table changed, "*" included).
type prepared struct {
	gorm.ConnPool // the *sql.DB, for everything but QueryContext
	db            *sql.DB
	mu            sync.Mutex
	m             map[string]*sql.Stmt
}

// newPrepared returns the pool for db, or nil where the driver caches
// statements itself (or db has no *sql.DB).
func newPrepared(db *gorm.DB) *prepared {
	if db.Dialector.Name() != "sqlite" {
		return nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil
	}
	return &prepared{ConnPool: sqlDB, db: sqlDB, m: make(map[string]*sql.Stmt)}
}

// QueryContext runs q through its prepared statement.
func (p *prepared) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, q)
	if err == nil {
		var rows *sql.Rows
		if rows, err = st.QueryContext(ctx, args...); err == nil {
			return rows, nil
		}
		p.drop(q, st)
	}
	if ctx.Err() != nil {
		return nil, err
	}
	return p.db.QueryContext(ctx, q, args...)
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
