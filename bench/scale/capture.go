package main

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// capture records the statements GORM runs while it is on: each distinct
// SQL text (with its $n placeholders) once, with the parameters of its
// first run, and how many statements ran. It is a set of GORM callbacks
// registered on the *gorm.DB before restauth.New gets it: restauth's
// sessions share them, and they see the parameters its logger hides.
type capture struct {
	on    atomic.Bool
	label atomic.Pointer[string]
	count atomic.Int64

	mu    sync.Mutex
	seen  map[string]*query
	order []*query
}

// query is one distinct statement.
type query struct {
	SQL    string
	Vars   []any
	Labels []string // scenarios it ran in, in order
}

func newCapture(db *gorm.DB) (*capture, error) {
	c := &capture{seen: map[string]*query{}}
	cb := db.Callback()
	regs := []struct {
		name  string
		after string
		reg   func(string, func(*gorm.DB)) error
	}{
		{"create", "gorm:create", func(n string, f func(*gorm.DB)) error { return cb.Create().After("gorm:create").Register(n, f) }},
		{"query", "gorm:query", func(n string, f func(*gorm.DB)) error { return cb.Query().After("gorm:query").Register(n, f) }},
		{"update", "gorm:update", func(n string, f func(*gorm.DB)) error { return cb.Update().After("gorm:update").Register(n, f) }},
		{"delete", "gorm:delete", func(n string, f func(*gorm.DB)) error { return cb.Delete().After("gorm:delete").Register(n, f) }},
		{"row", "gorm:row", func(n string, f func(*gorm.DB)) error { return cb.Row().After("gorm:row").Register(n, f) }},
		{"raw", "gorm:raw", func(n string, f func(*gorm.DB)) error { return cb.Raw().After("gorm:raw").Register(n, f) }},
	}
	for _, r := range regs {
		if err := r.reg("scale:capture_"+r.name, c.record); err != nil {
			return nil, fmt.Errorf("register capture after %s: %w", r.after, err)
		}
	}
	return c, nil
}

// start turns recording on under label.
func (c *capture) start(label string) {
	c.label.Store(&label)
	c.on.Store(true)
}

// stop turns recording off and returns how many statements ran.
func (c *capture) stop() int64 {
	c.on.Store(false)
	return c.count.Swap(0)
}

func (c *capture) record(tx *gorm.DB) {
	if !c.on.Load() {
		return
	}
	sql := tx.Statement.SQL.String()
	if sql == "" {
		return
	}
	c.count.Add(1)
	label := *c.label.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	q, ok := c.seen[sql]
	if !ok {
		q = &query{SQL: sql, Vars: plainVars(tx.Statement.Vars)}
		c.seen[sql] = q
		c.order = append(c.order, q)
	}
	if len(q.Labels) == 0 || q.Labels[len(q.Labels)-1] != label {
		for _, l := range q.Labels {
			if l == label {
				return
			}
		}
		q.Labels = append(q.Labels, label)
	}
}

// queries returns the distinct statements in the order first seen.
func (c *capture) queries() []*query {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*query(nil), c.order...)
}

// reset forgets every statement.
func (c *capture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = map[string]*query{}
	c.order = nil
}

// plainVars copies vars as plain values (pointers followed, valuers
// asked), so that later changes to the rows they point into do not show.
func plainVars(vars []any) []any {
	out := make([]any, len(vars))
	for i, v := range vars {
		out[i] = plainValue(v)
	}
	return out
}

func plainValue(v any) any {
	for range 4 {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil
		}
		switch x := v.(type) {
		case nil:
			return nil
		case time.Time, string, bool, []byte:
			return x
		case driver.Valuer:
			val, err := x.Value()
			if err != nil {
				return fmt.Sprintf("<valuer error: %v>", err)
			}
			v = val
			continue
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
			v = rv.Elem().Interface()
			continue
		}
		return v
	}
	return v
}
