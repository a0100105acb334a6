package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// plan is what EXPLAIN said of one captured statement.
type plan struct {
	q *query
	// custom is EXPLAIN (ANALYZE, BUFFERS) of the statement with its
	// captured parameters (the plan PostgreSQL makes knowing them); for
	// a statement that cannot run again (an INSERT of a row that exists
	// now) it is plain EXPLAIN and note says why.
	custom, note string
	// generic is EXPLAIN of the prepared statement under
	// plan_cache_mode = force_generic_plan: the plan PostgreSQL may
	// reuse for a prepared statement (pgx prepares and caches every
	// statement) after five runs, if it estimates it no dearer.
	generic string
	// auto is what plan_cache_mode = auto chose in ten runs of the
	// prepared statement with the captured parameters (not for INSERTs,
	// which would collide with their own rows): "" when not run.
	auto string
	err  error
}

var seqScanRe = regexp.MustCompile(`Seq Scan on (\S+)`)

// seqScans returns the tables among hot that text scans sequentially.
func seqScans(text string, hot map[string]bool) []string {
	var out []string
	for _, m := range seqScanRe.FindAllStringSubmatch(text, -1) {
		if hot[m[1]] {
			out = append(out, m[1])
		}
	}
	return out
}

var indexRe = regexp.MustCompile(`(?:Index Scan|Index Only Scan|Bitmap Index Scan)(?: Backward)? (?:using|on) (\S+)`)

// indexes returns the indexes a plan reads, in order, once each.
func indexes(text string) []string {
	var out []string
	for _, m := range indexRe.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

var execTimeRe = regexp.MustCompile(`Execution Time: ([0-9.]+) ms`)

// execTime is the "Execution Time" of an EXPLAIN ANALYZE in
// milliseconds, or -1.
func execTime(text string) float64 {
	if m := execTimeRe.FindStringSubmatch(text); m != nil {
		if f, err := strconv.ParseFloat(m[1], 64); err == nil {
			return f
		}
	}
	return -1
}

// literal renders v as an SQL literal for EXECUTE (untyped, so that
// PostgreSQL casts it to the parameter's type).
func literal(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return "'" + x.Format(time.RFC3339Nano) + "'"
	case []byte:
		return `'\x` + hex.EncodeToString(x) + "'"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return fmt.Sprint(x)
	}
	return literal(fmt.Sprint(v))
}

// explainAll explains every statement on conn (search_path set to the
// run's schema). Nothing it runs is kept: each EXPLAIN ANALYZE runs in a
// transaction that is rolled back.
func explainAll(ctx context.Context, conn *pgx.Conn, qs []*query) []plan {
	out := make([]plan, 0, len(qs))
	for i, q := range qs {
		p := plan{q: q}
		name := fmt.Sprintf("scale_explain_%d", i)
		p.custom, p.err = explainPrepared(ctx, conn, name, q, "force_custom_plan", true)
		if p.err != nil {
			// An INSERT whose row exists by now (a registration's), or a
			// statement that fails again: the plan without running it.
			p.note = "not executed (" + firstLine(p.err.Error()) + "): plan only"
			p.custom, p.err = explainPrepared(ctx, conn, name, q, "force_custom_plan", false)
		}
		if p.err == nil {
			p.generic, p.err = explainPrepared(ctx, conn, name, q, "force_generic_plan", false)
		}
		if p.err == nil && !strings.HasPrefix(strings.ToUpper(q.SQL), "INSERT") {
			g, c, err := autoPlans(ctx, conn, name, q)
			if err != nil {
				p.auto = "not measured: " + firstLine(err.Error())
			} else {
				p.auto = fmt.Sprintf("%d generic and %d custom plans in %d runs", g, c, autoRuns)
			}
		}
		out = append(out, p)
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// autoRuns is how many times autoPlans runs a statement.
const autoRuns = 10

// autoPlans runs q prepared autoRuns times with its captured parameters
// under plan_cache_mode = auto, as a pgx connection runs it, and returns
// how many generic and custom plans PostgreSQL used; in a transaction
// rolled back after.
func autoPlans(ctx context.Context, conn *pgx.Conn, name string, q *query) (generic, custom int64, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	prepared := false
	defer func() {
		_ = tx.Rollback(ctx)
		if prepared {
			_, _ = conn.Exec(ctx, "DEALLOCATE "+name)
		}
	}()
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = auto"); err != nil {
		return 0, 0, fmt.Errorf("set plan_cache_mode: %w", err)
	}
	if _, err := tx.Exec(ctx, "PREPARE "+name+" AS "+q.SQL); err != nil {
		return 0, 0, fmt.Errorf("prepare: %w", err)
	}
	prepared = true
	exec := executeSQL(name, q)
	for range autoRuns {
		if _, err := tx.Exec(ctx, exec, pgx.QueryExecModeSimpleProtocol); err != nil {
			return 0, 0, fmt.Errorf("execute: %w", err)
		}
	}
	err = tx.QueryRow(ctx, "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1", name).Scan(&generic, &custom)
	if err != nil {
		return 0, 0, fmt.Errorf("read pg_prepared_statements: %w", err)
	}
	return generic, custom, nil
}

// executeSQL is the EXECUTE of prepared statement name with q's
// captured parameters as literals.
func executeSQL(name string, q *query) string {
	args := make([]string, len(q.Vars))
	for i, v := range q.Vars {
		args[i] = literal(v)
	}
	exec := "EXECUTE " + name
	if len(args) > 0 {
		exec += "(" + strings.Join(args, ", ") + ")"
	}
	return exec
}

// explainPrepared prepares q as name and explains its execution with its
// captured parameters under mode, in a transaction rolled back after.
func explainPrepared(ctx context.Context, conn *pgx.Conn, name string, q *query, mode string, analyze bool) (string, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", fmt.Errorf("begin: %w", err)
	}
	prepared := false
	defer func() {
		_ = tx.Rollback(ctx)
		// PREPARE is not undone by ROLLBACK.
		if prepared {
			_, _ = conn.Exec(ctx, "DEALLOCATE "+name)
		}
	}()
	if _, err := tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode); err != nil {
		return "", fmt.Errorf("set plan_cache_mode: %w", err)
	}
	if _, err := tx.Exec(ctx, "PREPARE "+name+" AS "+q.SQL); err != nil {
		return "", fmt.Errorf("prepare: %w", err)
	}
	prepared = true
	exec := executeSQL(name, q)
	opts := "(COSTS true)"
	if analyze {
		opts = "(ANALYZE, BUFFERS)"
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+opts+" "+exec, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}
