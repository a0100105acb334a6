// Command scale measures restauth's hot paths on PostgreSQL at several
// user counts (issue 12, goal 3): token- and JWT-authenticated GET
// user/, POST login/ and POST registration/ with a free password hasher
// (so that the database is what is measured), at 1 thousand and 1
// million users; and it EXPLAINs every statement those endpoints run.
//
//	go run ./bench/scale                          # 1k and 1M users, token and JWT
//	go run ./bench/scale -n 1k -d 2s              # a quick run
//	go run ./bench/scale -repeat 2                # every measurement twice
//	go run ./bench/scale -n 1M -keep              # keep the seeded schema ...
//	go run ./bench/scale -reuse scale_1000000_ab12cd34 -n 1k   # ... measure it again beside a fresh 1k
//
// For each size it creates a schema in the database of -dsn, migrates it
// with restauth's AutoMigrate, and seeds it with COPY (N users, N primary
// addresses, N token keys, N outstanding refresh tokens, a session row
// for each key and refresh family, the blacklist rows of one user in
// twenty), indexes in place. It serves restauth in-process behind
// net/http on a loopback port, one server per size, and drives each
// scenario with -c keep-alive clients for -d per size, cut into -rounds
// blocks in which the sizes take turns, so that the machine's other load
// weighs on every size alike. It prints Markdown: the seeding times, the
// latencies, the ratio of the largest size's p50 to the smallest's, and
// every statement run with its plans at the largest size. The schemas are
// dropped at the end unless -keep. See bench/README.md, "Scale to a
// million users".
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type options struct {
	dsn      string
	sizes    []int
	modes    []string
	dur      time.Duration
	warmup   time.Duration
	conc     int
	sample   int
	repeat   int
	rounds   int
	keep     bool
	reuse    []string
	seedPar  int
	pool     int
	plansAll bool
	noPlans  bool
}

func parseFlags() (options, error) {
	var o options
	var sizes, modes string
	flag.StringVar(&o.dsn, "dsn", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL (a schema is created in its database)")
	flag.StringVar(&sizes, "n", "1000,1000000", "user counts to measure, comma-separated (1k, 1M and 1_000 forms accepted)")
	flag.StringVar(&modes, "modes", "token,jwt", "modes to measure: token, jwt")
	flag.DurationVar(&o.dur, "d", 5*time.Second, "measured duration of each scenario")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "warm-up of each scenario before it is measured")
	flag.IntVar(&o.conc, "c", 16, "concurrent keep-alive clients")
	flag.IntVar(&o.sample, "sample", 10000, "users (drawn at random) whose credentials GET user/ uses")
	flag.IntVar(&o.repeat, "repeat", 1, "measure every scenario this many times (seeding once)")
	flag.IntVar(&o.rounds, "rounds", 5, "blocks each scenario's -d is cut into, the sizes taking turns")
	flag.BoolVar(&o.keep, "keep", false, "keep the schemas (their names are printed)")
	var reuse string
	flag.StringVar(&reuse, "reuse", "", "measure schemas kept by an earlier -keep run (comma-separated) instead of seeding (-n is read from them; give -n \"\" to seed none)")
	flag.IntVar(&o.seedPar, "seedpar", 3, "COPY chunks (of up to 250k rows) run at once while seeding")
	flag.IntVar(&o.pool, "pool", 16, "the server's database connection pool size")
	flag.BoolVar(&o.plansAll, "plans-all", false, "print the EXPLAIN of every size, not only the largest")
	flag.BoolVar(&o.noPlans, "no-plans", false, "skip EXPLAIN")
	flag.Parse()
	for _, r := range strings.Split(reuse, ",") {
		if r = strings.TrimSpace(r); r != "" {
			if !schemaRe.MatchString(r) {
				return o, fmt.Errorf("-reuse: bad schema name %q", r)
			}
			o.reuse = append(o.reuse, r)
		}
	}
	if len(o.reuse) > 0 && !isFlagSet("n") {
		sizes = ""
	}
	if sizes != "" {
		for _, s := range strings.Split(sizes, ",") {
			n, err := parseSize(s)
			if err != nil {
				return o, err
			}
			o.sizes = append(o.sizes, n)
		}
		sort.Ints(o.sizes)
	}
	for _, m := range strings.Split(modes, ",") {
		m = strings.TrimSpace(m)
		if m != "token" && m != "jwt" {
			return o, fmt.Errorf("-modes: unknown mode %q", m)
		}
		o.modes = append(o.modes, m)
	}
	if len(o.sizes) == 0 && len(o.reuse) == 0 {
		return o, errors.New("nothing to measure: give -n or -reuse")
	}
	if o.conc < 1 || o.sample < 1 || o.repeat < 1 || o.rounds < 1 || o.seedPar < 1 || o.pool < 1 {
		return o, errors.New("-c, -sample, -repeat, -rounds, -seedpar and -pool must be positive")
	}
	return o, nil
}

var schemaRe = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func parseSize(s string) (int, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", ""))
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1000, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "m"):
		mult, s = 1000000, strings.TrimSuffix(s, "m")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-n: bad size %q", s)
	}
	return n * mult, nil
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(2)
	}
	if err := runAll(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

// row is one measured scenario.
type row struct {
	size           int
	pass           int
	mode, scenario string
	res            result
	perReq         float64 // statements per request, steady state
	load           string  // the machine's 1-minute load average before the run
}

// sizeReport is everything measured at one size.
type sizeReport struct {
	n      int
	schema string
	seed   *seedStats // nil when reused
	sizes  []relSize
	rows   []row
	plans  []plan
	hot    map[string]bool
}

type relSize struct {
	name        string
	rows        int64
	heap, index int64
}

func runAll(ctx context.Context, o options) (err error) {
	var states []*sizeState
	defer func() {
		for _, st := range states {
			if cerr := st.close(o); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	for _, schema := range o.reuse {
		st, err := prepareSize(ctx, o, 0, schema, true)
		if err != nil {
			return err
		}
		states = append(states, st)
	}
	for _, n := range o.sizes {
		var b [4]byte
		_, _ = rand.Read(b[:])
		st, err := prepareSize(ctx, o, n, fmt.Sprintf("scale_%d_%s", n, hex.EncodeToString(b[:])), false)
		if st != nil {
			states = append(states, st)
		}
		if err != nil {
			return err
		}
	}
	sort.SliceStable(states, func(i, j int) bool { return states[i].rep.n < states[j].rep.n })
	for pass := 1; pass <= o.repeat; pass++ {
		for _, mode := range o.modes {
			rows, err := measureMode(o, states, mode, pass)
			if err != nil {
				return err
			}
			for _, r := range rows {
				for _, st := range states {
					if st.sd.n == r.size {
						st.rep.rows = append(st.rep.rows, r)
					}
				}
			}
		}
	}
	var reports []*sizeReport
	for i, st := range states {
		if !o.noPlans && (o.plansAll || i == len(states)-1) {
			if err := st.explain(ctx); err != nil {
				return err
			}
		}
		reports = append(reports, st.rep)
	}
	printReport(os.Stdout, o, reports)
	return nil
}

// schemaURL is dsn with search_path set to schema.
func schemaURL(dsn, schema string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("parse -dsn: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

const metaTable = "scale_bench_meta"

// sizeState is one seeded schema and the server's database on it.
type sizeState struct {
	schema string
	reused bool
	dsn    string
	admin  *pgx.Conn
	db     *gorm.DB
	capt   *capture
	sd     *seeder
	tables []seedTable
	sample []int
	rep    *sizeReport
}

// close drops the schema (unless kept or reused) and closes the
// connections.
func (st *sizeState) close(o options) error {
	ctx := context.Background()
	if st.db != nil {
		if sqlDB, err := st.db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
	defer st.admin.Close(ctx)
	if st.reused {
		return nil
	}
	if o.keep {
		fmt.Fprintf(os.Stderr, "kept schema %s (measure it again with -reuse %s; drop it with DROP SCHEMA %s CASCADE)\n", st.schema, st.schema, st.schema)
		return nil
	}
	if _, err := st.admin.Exec(ctx, "DROP SCHEMA "+st.schema+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", st.schema, err)
	}
	return nil
}

// prepareSize creates and seeds schema with n users, or opens the
// schema an earlier -keep run seeded (reuse).
func prepareSize(ctx context.Context, o options, n int, schema string, reuse bool) (*sizeState, error) {
	admin, err := pgx.Connect(ctx, o.dsn)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	st := &sizeState{schema: schema, reused: reuse, admin: admin}
	if !reuse {
		if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			admin.Close(ctx)
			return nil, fmt.Errorf("create schema: %w", err)
		}
		fmt.Fprintf(os.Stderr, "schema %s: %d users\n", schema, n)
	}
	if st.dsn, err = schemaURL(o.dsn, schema); err != nil {
		return st, err
	}
	st.db, err = gorm.Open(postgres.Open(st.dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return st, fmt.Errorf("open: %w", err)
	}
	sqlDB, err := st.db.DB()
	if err != nil {
		return st, err
	}
	sqlDB.SetMaxOpenConns(o.pool)
	sqlDB.SetMaxIdleConns(o.pool)
	if st.capt, err = newCapture(st.db); err != nil {
		return st, err
	}
	// JWT mode's AutoMigrate makes every table (token mode's are a subset).
	mig, err := newPlugin(st.db, true)
	if err != nil {
		return st, err
	}
	if err := mig.AutoMigrate(); err != nil {
		return st, fmt.Errorf("AutoMigrate: %w", err)
	}
	userTable := userTableName(st.db)
	sd := &seeder{dsn: st.dsn, n: n, refresh: 24 * time.Hour}
	st.sd = sd
	st.rep = &sizeReport{n: n, schema: schema}
	if reuse {
		var salt []byte
		err := admin.QueryRow(ctx, "SELECT n, salt, seeded_at FROM "+schema+"."+metaTable).Scan(&sd.n, &salt, &sd.now)
		if err != nil {
			return st, fmt.Errorf("read %s.%s (was the schema seeded by this program with -keep?): %w", schema, metaTable, err)
		}
		copy(sd.salt[:], salt)
		st.rep.n = sd.n
		fmt.Fprintf(os.Stderr, "schema %s: reusing %d users\n", schema, sd.n)
	} else {
		_, _ = rand.Read(sd.salt[:])
		sd.now = time.Now().UTC().Truncate(time.Microsecond)
		fmt.Fprintf(os.Stderr, "seeding %d users ...\n", n)
		stats, err := sd.seed(ctx, userTable, o.seedPar)
		if err != nil {
			return st, fmt.Errorf("seed: %w", err)
		}
		st.rep.seed = &stats
		fmt.Fprintf(os.Stderr, "seeded in %v (COPY %v, VACUUM ANALYZE %v)\n", (stats.copy + stats.vacuum).Round(time.Millisecond),
			stats.copy.Round(time.Millisecond), stats.vacuum.Round(time.Millisecond))
		if _, err := admin.Exec(ctx, "CREATE TABLE "+schema+"."+metaTable+" (n int NOT NULL, salt bytea NOT NULL, seeded_at timestamptz NOT NULL)"); err != nil {
			return st, fmt.Errorf("meta table: %w", err)
		}
		if _, err := admin.Exec(ctx, "INSERT INTO "+schema+"."+metaTable+" VALUES ($1, $2, $3)", n, sd.salt[:], sd.now); err != nil {
			return st, fmt.Errorf("meta table: %w", err)
		}
	}
	st.tables = sd.tables(userTable)
	st.rep.hot = map[string]bool{}
	for _, t := range st.tables {
		st.rep.hot[t.name] = true
	}
	if st.rep.sizes, err = relationSizes(ctx, admin, schema, st.tables); err != nil {
		return st, err
	}
	if reuse {
		if err := st.cleanup(ctx); err != nil {
			return st, err
		}
	}
	st.sample = sampleIDs(sd.n, o.sample)
	return st, nil
}

// cleanup removes what the scenarios added (logins' keys, refresh tokens
// and sessions, registered users and their addresses), so that every
// pass and mode meets the seeded tables.
func (st *sizeState) cleanup(ctx context.Context) error {
	for _, t := range st.tables {
		if _, err := st.admin.Exec(ctx, fmt.Sprintf("DELETE FROM %s.%s WHERE id > %d", st.schema, t.name, t.rows)); err != nil {
			return fmt.Errorf("clean up %s: %w", t.name, err)
		}
	}
	return nil
}

// explain EXPLAINs every statement captured at this size.
func (st *sizeState) explain(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, st.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	st.rep.plans = explainAll(ctx, conn, st.capt.queries())
	return nil
}

// userTableName is the table of ScaleUser under db's naming strategy.
func userTableName(db *gorm.DB) string {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(&ScaleUser{}); err != nil {
		return "scale_users"
	}
	return stmt.Schema.Table
}

func relationSizes(ctx context.Context, conn *pgx.Conn, schema string, tables []seedTable) ([]relSize, error) {
	var out []relSize
	for _, t := range tables {
		r := relSize{name: t.name}
		q := `SELECT c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid)
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`
		if err := conn.QueryRow(ctx, q, schema, t.name).Scan(&r.rows, &r.heap, &r.index); err != nil {
			return nil, fmt.Errorf("size of %s: %w", t.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// sampleIDs draws k distinct user ids from 1..n at random (all of them
// when k >= n), in random order.
func sampleIDs(n, k int) []int {
	if k >= n {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
		}
		mrand.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		return ids
	}
	seen := make(map[int]bool, k)
	ids := make([]int, 0, k)
	for len(ids) < k {
		id := 1 + mrand.IntN(n)
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// live is one size served in one mode.
type live struct {
	st     *sizeState
	srv    *server
	client *http.Client
	creds  []string // GET user/'s credentials
	scs    []scenario
}

// measureMode serves restauth in mode on every size at once and measures
// each scenario on each: a warm-up that records the statements run
// (every credential of the sample used once, then -warmup of load), a
// count of the statements of 50 requests in a row, then -rounds blocks
// of -d/-rounds per size, the sizes taking turns (in alternating order),
// so that a change in the machine's other load weighs on every size
// alike. After each block the rows the scenario added are deleted.
func measureMode(o options, states []*sizeState, mode string, pass int) ([]row, error) {
	var lives []*live
	defer func() {
		for _, l := range lives {
			l.client.CloseIdleConnections()
			l.srv.close()
		}
	}()
	for _, st := range states {
		srv, err := startServer(st.db, mode == "jwt")
		if err != nil {
			return nil, err
		}
		l := &live{st: st, srv: srv, client: newClient(o.conc)}
		lives = append(lives, l)
		var creds []string
		if mode == "token" {
			for _, id := range st.sample {
				creds = append(creds, st.sd.tokenKey(id))
			}
		} else {
			st.capt.start(mode + ": POST login/ (sample)")
			t0 := time.Now()
			creds, err = loginAll(l.client, srv.base, st.sample, "access", o.conc)
			st.capt.stop()
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(os.Stderr, "  %d users: logged in %d sample users in %v\n", st.sd.n, len(st.sample), time.Since(t0).Round(time.Millisecond))
		}
		l.creds = creds
		l.scs = scenarios(mode, st.sd.n, creds)
	}
	ctx := context.Background()
	var rows []row
	for k := range lives[0].scs {
		name := lives[0].scs[k].name
		label := mode + ": " + name
		perReq := make([]float64, len(lives))
		for i, l := range lives {
			sc := l.scs[k]
			l.st.capt.start(label)
			if name == "GET user/" {
				// Each credential once: a session row is touched at most
				// once a minute, so the measured run does not touch them.
				byOne := sc
				j := 0
				byOne.next = func(rng *mrand.Rand) request {
					rq := sc.next(rng)
					rq.header = map[string]string{"Authorization": authScheme(mode) + l.creds[j%len(l.creds)]}
					j++
					return rq
				}
				if r := run(l.client, l.srv.base, byOne, 1, time.Hour, len(l.creds)); r.errs > 0 {
					l.st.capt.stop()
					return nil, fmt.Errorf("%d users, %s warm-up: %d errors, first: %s", l.st.sd.n, label, r.errs, r.firstErr)
				}
			}
			if r := run(l.client, l.srv.base, sc, o.conc, o.warmup, 0); r.errs > 0 {
				l.st.capt.stop()
				return nil, fmt.Errorf("%d users, %s warm-up: %d errors, first: %s", l.st.sd.n, label, r.errs, r.firstErr)
			}
			l.st.capt.stop()
			l.st.capt.start(label)
			const steady = 50
			r := run(l.client, l.srv.base, sc, 1, time.Hour, steady)
			perReq[i] = float64(l.st.capt.stop()) / steady
			if r.errs > 0 {
				return nil, fmt.Errorf("%d users, %s: %d errors, first: %s", l.st.sd.n, label, r.errs, r.firstErr)
			}
			if err := l.st.cleanup(ctx); err != nil {
				return nil, err
			}
		}
		merged := make([]result, len(lives))
		loads := make([][]string, len(lives))
		block := o.dur / time.Duration(o.rounds)
		for round := range o.rounds {
			for j := range lives {
				i := j
				if round%2 == 1 {
					i = len(lives) - 1 - j
				}
				l := lives[i]
				loads[i] = append(loads[i], loadAvg())
				res := run(l.client, l.srv.base, l.scs[k], o.conc, block, 0)
				if res.errs > 0 {
					return nil, fmt.Errorf("%d users, %s: %d errors of %d, first: %s", l.st.sd.n, label, res.errs, res.errs+res.n, res.firstErr)
				}
				m := &merged[i]
				m.n += res.n
				m.elapsed += res.elapsed
				m.lats = append(m.lats, res.lats...)
				if err := l.st.cleanup(ctx); err != nil {
					return nil, err
				}
			}
		}
		for i, l := range lives {
			res := merged[i]
			slices.Sort(res.lats)
			if res.n == 0 {
				return nil, fmt.Errorf("%d users, %s: %w", l.st.sd.n, label, errNoRequests)
			}
			fmt.Fprintf(os.Stderr, "  %d users, pass %d, %-5s %-19s %8.0f req/s  p50 %-9v p99 %v\n", l.st.sd.n, pass, mode, name,
				res.rps(), res.pct(0.50).Round(time.Microsecond), res.pct(0.99).Round(time.Microsecond))
			rows = append(rows, row{size: l.st.sd.n, pass: pass, mode: mode, scenario: name, res: res, perReq: perReq[i],
				load: loadRange(loads[i])})
		}
	}
	return rows, nil
}

// loadAvg is the 1-minute load average ("?" where /proc is missing).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// loadRange is "min–max" of load averages ("x" when they are equal).
func loadRange(loads []string) string {
	lo, hi := "", ""
	var lof, hif float64
	for _, l := range loads {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			continue
		}
		if lo == "" || f < lof {
			lo, lof = l, f
		}
		if hi == "" || f > hif {
			hi, hif = l, f
		}
	}
	switch {
	case lo == "":
		return "?"
	case lo == hi:
		return lo
	}
	return lo + "–" + hi
}

func authScheme(mode string) string {
	if mode == "jwt" {
		return "Bearer "
	}
	return "Token "
}
