package users

import (
	"context"
	"testing"

	"github.com/restauth/restauth/internal/testdb"
)

// TestPreparedKeepsOnlyItsQueries: the pool prepares the queries it was
// given and runs any other unprepared, so the cache cannot grow.
func TestPreparedKeepsOnlyItsQueries(t *testing.T) {
	t.Parallel()
	p := newPrepared(testdb.SQLite(t), "SELECT 1")
	if p == nil {
		t.Fatal("no pool on SQLite")
	}
	ctx := context.Background()
	for _, q := range []string{"SELECT 2", "SELECT 3", "SELECT 1", "SELECT 1"} {
		rows, err := p.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if !rows.Next() {
			t.Fatalf("%s: no row", q)
		}
		_ = rows.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) != 1 || p.m["SELECT 1"] == nil {
		t.Fatalf("prepared %v, want SELECT 1 only", p.m)
	}
}
