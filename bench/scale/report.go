package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func sizeName(n int) string {
	switch {
	case n >= 1000000 && n%1000000 == 0:
		return fmt.Sprintf("%dM", n/1000000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// printReport writes the seeding figures, the measurements, the ratios
// of the largest size to the smallest and the plans, as Markdown.
func printReport(w io.Writer, o options, reports []*sizeReport) {
	fmt.Fprintf(w, "# restauth at scale (PostgreSQL)\n\n")
	fmt.Fprintf(w, "%d CPUs, GOMAXPROCS %d; %d keep-alive clients, %v per scenario and size (in %d blocks, the sizes taking turns) after %v of warm-up; GET user/ uses the credentials of %d random users (all of them when there are fewer); login/ picks any seeded user at random; free password hasher; rate limits off; database pool %d.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), o.conc, o.dur, o.rounds, o.warmup, o.sample, o.pool)

	fmt.Fprintf(w, "## Seeding\n\n")
	for _, r := range reports {
		if r.seed == nil {
			fmt.Fprintf(w, "%s users: schema %s reused.\n\n", sizeName(r.n), r.schema)
		} else {
			fmt.Fprintf(w, "%s users (schema %s): COPY %s (chunks of up to 250k rows, %d at a time), VACUUM ANALYZE %s, total %s.\n\n",
				sizeName(r.n), r.schema, r.seed.copy.Round(time.Millisecond), o.seedPar, r.seed.vacuum.Round(time.Millisecond),
				(r.seed.copy + r.seed.vacuum).Round(time.Millisecond))
		}
		fmt.Fprintf(w, "| table | rows | COPY (first chunk start to last chunk end) | heap | indexes |\n|---|--:|--:|--:|--:|\n")
		for _, s := range r.sizes {
			took := "-"
			if r.seed != nil {
				took = r.seed.perCopy[s.name].Round(time.Millisecond).String()
			}
			fmt.Fprintf(w, "| %s | %d | %s | %s | %s |\n", s.name, s.rows, took, mib(s.heap), mib(s.index))
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Latency\n\n")
	fmt.Fprintf(w, "| users | pass | mode | scenario | req/s | p50 | p90 | p99 | statements/request | load average |\n|--:|--:|---|---|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range reports {
		for _, x := range r.rows {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.0f | %s | %s | %s | %.2f | %s |\n", sizeName(x.size), x.pass, x.mode, x.scenario,
				x.res.rps(), ms(x.res.pct(0.50)), ms(x.res.pct(0.90)), ms(x.res.pct(0.99)), x.perReq, x.load)
		}
	}
	fmt.Fprintln(w)

	if len(reports) >= 2 {
		small, large := reports[0], reports[len(reports)-1]
		fmt.Fprintf(w, "## Flatness: %s users against %s (goal: p50 ratio ≤ 1.5)\n\n", sizeName(large.n), sizeName(small.n))
		fmt.Fprintf(w, "| pass | mode | scenario | p50 %s | p50 %s | p50 ratio | p99 ratio | req/s ratio | goal |\n|--:|---|---|--:|--:|--:|--:|--:|---|\n",
			sizeName(small.n), sizeName(large.n))
		for _, a := range small.rows {
			for _, b := range large.rows {
				if a.pass != b.pass || a.mode != b.mode || a.scenario != b.scenario {
					continue
				}
				ratio := float64(b.res.pct(0.5)) / float64(a.res.pct(0.5))
				goal := "met"
				if ratio > 1.5 {
					goal = "MISSED"
				}
				fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %.2f | %.2f | %.2f | %s |\n", a.pass, a.mode, a.scenario,
					ms(a.res.pct(0.5)), ms(b.res.pct(0.5)), ratio,
					float64(b.res.pct(0.99))/float64(a.res.pct(0.99)), b.res.rps()/a.res.rps(), goal)
			}
		}
		fmt.Fprintln(w)
	}

	for _, r := range reports {
		if len(r.plans) == 0 {
			continue
		}
		printPlans(w, r)
	}
}

// slowMS is the execution time from which a statement is flagged.
const slowMS = 1.0

// shortSQL is sql cut to n characters.
func shortSQL(sql string, n int) string {
	if len(sql) <= n {
		return sql
	}
	return sql[:n] + "…"
}

func printPlans(w io.Writer, r *sizeReport) {
	fmt.Fprintf(w, "## Statements of the hot paths and their plans at %s users\n\n", sizeName(r.n))
	fmt.Fprintf(w, "| Q | statement | run by | indexes read (custom plan) | execution | generic plan | plan_cache_mode = auto |\n|---|---|---|---|--:|---|---|\n")
	for i, p := range r.plans {
		if p.err != nil {
			fmt.Fprintf(w, "| Q%d | `%s` | %s | EXPLAIN failed | | | |\n", i+1, shortSQL(p.q.SQL, 90), strings.Join(p.q.Labels, "; "))
			continue
		}
		ix := strings.Join(indexes(p.custom), ", ")
		if ix == "" {
			ix = "none"
		}
		if s := seqScans(p.custom, r.hot); len(s) > 0 {
			ix += "; **Seq Scan on " + strings.Join(s, ", ") + "**"
		}
		exec := "not run"
		if t := execTime(p.custom); t >= 0 {
			exec = fmt.Sprintf("%.3f ms", t)
		}
		gen := "same indexes"
		if s := seqScans(p.generic, r.hot); len(s) > 0 {
			gen = "**Seq Scan on " + strings.Join(s, ", ") + "**"
		} else if g, c := indexes(p.generic), indexes(p.custom); !slices.Equal(g, c) {
			gen = "indexes " + strings.Join(g, ", ")
		}
		auto := p.auto
		if auto == "" {
			auto = "-"
		}
		fmt.Fprintf(w, "| Q%d | `%s` | %s | %s | %s | %s | %s |\n", i+1, shortSQL(p.q.SQL, 90), strings.Join(p.q.Labels, "; "), ix, exec, gen, auto)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Every distinct statement the scenarios ran (captured by GORM callbacks, with the parameters of its first run). "+
		"\"Custom\" is EXPLAIN (ANALYZE, BUFFERS) with those parameters, in a transaction rolled back; "+
		"\"generic\" is the plan of the prepared statement under plan_cache_mode = force_generic_plan "+
		"(pgx prepares every statement; PostgreSQL may switch to the generic plan after five runs if it looks no dearer).\n\n")
	var flagged []string
	for i, p := range r.plans {
		fmt.Fprintf(w, "### Q%d — %s\n\n", i+1, strings.Join(p.q.Labels, "; "))
		fmt.Fprintf(w, "```sql\n%s\n```\n\n", p.q.SQL)
		if len(p.q.Vars) > 0 {
			args := make([]string, len(p.q.Vars))
			for j, v := range p.q.Vars {
				args[j] = fmt.Sprintf("$%d = %s", j+1, literal(v))
			}
			fmt.Fprintf(w, "Parameters: %s\n\n", strings.Join(args, ", "))
		}
		if p.err != nil {
			fmt.Fprintf(w, "EXPLAIN failed: %v\n\n", p.err)
			flagged = append(flagged, fmt.Sprintf("Q%d: EXPLAIN failed: %v", i+1, p.err))
			continue
		}
		head := "Custom plan"
		if t := execTime(p.custom); t >= 0 {
			head += fmt.Sprintf(" (execution %.3f ms)", t)
			if t >= slowMS {
				flagged = append(flagged, fmt.Sprintf("Q%d: executed in %.3f ms (≥ %.0f ms)", i+1, t, slowMS))
			}
		}
		if p.note != "" {
			head += ", " + p.note
		}
		fmt.Fprintf(w, "%s:\n\n```\n%s\n```\n\n", head, p.custom)
		fmt.Fprintf(w, "Generic plan:\n\n```\n%s\n```\n\n", p.generic)
		if p.auto != "" {
			fmt.Fprintf(w, "plan_cache_mode = auto (the server's setting): %s.\n\n", p.auto)
		}
		if s := seqScans(p.custom, r.hot); len(s) > 0 {
			flagged = append(flagged, fmt.Sprintf("Q%d: Seq Scan on %s in the custom plan", i+1, strings.Join(s, ", ")))
		}
		if s := seqScans(p.generic, r.hot); len(s) > 0 {
			flagged = append(flagged, fmt.Sprintf("Q%d: Seq Scan on %s in the generic plan", i+1, strings.Join(s, ", ")))
		}
	}
	fmt.Fprintf(w, "### Sequential scans and slow statements at %s users\n\n", sizeName(r.n))
	if len(flagged) == 0 {
		fmt.Fprintf(w, "None.\n\n")
	}
	for _, f := range flagged {
		fmt.Fprintf(w, "- %s\n", f)
	}
	fmt.Fprintln(w)
}
