// Command login measures password login throughput, latency and memory of
// the example server under load, against the ceiling the password hash
// sets (issue 12, goal 2).
//
//	go run ./bench/login                        # SQLite and PostgreSQL, 16 and 200 connections
//	go run ./bench/login -db sqlite -conns 16 -duration 5s
//	go run ./bench/login -binary /tmp/example   # an example binary built before
//
// For each database it builds (or takes) the example binary, creates a
// user with createuser, starts the server with RATE_LIMITS=off (the
// default login limit, 30 a minute per address, would throttle the load)
// and, per connection count, drives POST /rest-auth/login/ with the right
// password from that many concurrent keep-alive connections. It times
// password.Default().Hash in this process, one at a time, -hashes times
// before and as many after each measurement. It prints, per connection
// count: successful logins per second, their p50 and p99 latency, the
// count of 503 answers with Retry-After (the hashing limiter's refusals)
// and of other failures (a 503 without it is a database failure), the
// server's resident memory (VmRSS sampled during the run, VmHWM its
// peak), the hash ceiling
// cores ÷ one hash's time (the median), the ratio of the throughput to
// it, and the CPU shares of the server, PostgreSQL and everything else.
//
// PostgreSQL runs in a fresh schema of -pg's database, dropped at the end.
// A client that gets 503 waits for its Retry-After before its next login
// unless -retry-after=false.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth/password"
)

const (
	benchUser     = "bench"
	benchEmail    = "bench@example.com"
	benchPassword = "Bench-Sunflower-42"
	secretKey     = "bench-secret-key-0123456789-abcdefghijklmnop"
)

type options struct {
	binary     string
	dbs        []string
	pg         string
	conns      []int
	duration   time.Duration
	warmup     time.Duration
	hashes     int
	retryAfter bool
	runs       int
	env        []string
	cpuProfile string
	keep       bool
}

func main() {
	var o options
	var dbs, conns, env string
	flag.StringVar(&o.binary, "binary", "", "example server binary (default: go build ./example into a temporary directory)")
	flag.StringVar(&dbs, "db", "sqlite,postgres", "databases, comma-separated: sqlite, postgres")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL (a fresh schema is created in its database and dropped)")
	flag.StringVar(&conns, "conns", "16,200", "concurrent connections, comma-separated")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per connection count")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before each measurement")
	flag.IntVar(&o.hashes, "hashes", 20, "password.Default().Hash runs timed for the ceiling (median)")
	flag.BoolVar(&o.retryAfter, "retry-after", true, "after a 503, a client waits for its Retry-After")
	flag.IntVar(&o.runs, "runs", 1, "measurements of each connection count")
	flag.StringVar(&env, "env", "", "more environment for the example server, NAME=VALUE pairs separated by spaces")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the server during each measurement to this path prefix (the example's EXAMPLE_PPROF)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (server logs, profiles)")
	flag.Parse()
	o.dbs = strings.Split(dbs, ",")
	for _, c := range strings.Split(conns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			fatalf("-conns: %q is not a positive number", c)
		}
		o.conns = append(o.conns, n)
	}
	o.env = strings.Fields(env)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fatalf("interrupted")
	}()
	err := run(o)
	cleanups.run()
	if err != nil {
		fatalf("%v", err)
	}
}

// cleanups are what an interrupted or failed run must still undo (the
// server, the PostgreSQL schema, the temporary directory), last first.
var cleanups cleanupStack

type cleanupStack struct {
	mu  sync.Mutex
	fns []func()
}

// add registers fn and returns a function that runs it at most once.
func (c *cleanupStack) add(fn func()) func() {
	var once sync.Once
	f := func() { once.Do(fn) }
	c.mu.Lock()
	c.fns = append(c.fns, f)
	c.mu.Unlock()
	return f
}

func (c *cleanupStack) run() {
	c.mu.Lock()
	fns := c.fns
	c.fns = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench/login: "+format+"\n", args...)
	cleanups.run()
	os.Exit(1)
}

// result is one measurement.
type result struct {
	db               string
	conns            int
	ok, busy, failed int
	elapsed          time.Duration
	p50, p99         time.Duration
	rssBase          int64 // KiB, idle server before the measurement
	rssMean, rssMax  int64 // KiB, sampled during the measurement
	hwm              int64 // KiB, VmHWM after the measurement
	hash             time.Duration
	parallelRate     float64 // hashes/s with one goroutine per core
	// serverCPU, dbCPU and otherCPU are the shares of all the cores'
	// time that the server, the PostgreSQL processes and every other
	// process but this one (steal included) took during the measurement.
	serverCPU, dbCPU, otherCPU float64
}

func (r result) rate() float64    { return float64(r.ok) / r.elapsed.Seconds() }
func (r result) ceiling() float64 { return float64(runtime.NumCPU()) / r.hash.Seconds() }

func run(o options) error {
	dir, err := os.MkdirTemp("", "restauth-bench-login-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(os.Stderr, "temporary directory: %s\n", dir)
	} else {
		defer cleanups.add(func() { _ = os.RemoveAll(dir) })()
	}
	if o.binary == "" {
		o.binary = filepath.Join(dir, "example")
		fmt.Fprintln(os.Stderr, "building ./example ...")
		cmd := exec.Command("go", "build", "-o", o.binary, "./example")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build ./example: %w", err)
		}
	}
	var results []result
	for _, db := range o.dbs {
		rs, err := runDB(o, strings.TrimSpace(db), dir)
		if err != nil {
			return fmt.Errorf("%s: %w", db, err)
		}
		results = append(results, rs...)
	}
	report(os.Stdout, o, results)
	return nil
}

// runDB prepares one database, starts the server on it and measures each
// connection count.
func runDB(o options, db, dir string) ([]result, error) {
	var dbURL string
	switch db {
	case "sqlite":
		dbURL = "sqlite://" + filepath.Join(dir, "bench.db")
	case "postgres":
		u, drop, err := pgSchema(o.pg)
		if err != nil {
			return nil, err
		}
		defer cleanups.add(drop)()
		dbURL = u
	default:
		return nil, fmt.Errorf("unknown database (want sqlite or postgres)")
	}
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "SECRET_KEY="+secretKey, "RATE_LIMITS=off")
	env = append(env, o.env...)

	create := exec.Command(o.binary, "createuser", benchUser, benchEmail, benchPassword)
	create.Env = env
	if out, err := create.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("createuser: %w: %s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srvEnv := append(env, "ADDR="+addr)
	var pprofAddr string
	if o.cpuProfile != "" {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		srvEnv = append(srvEnv, "EXAMPLE_PPROF="+pprofAddr)
	}
	srv, err := startServer(o.binary, srvEnv, filepath.Join(dir, db+"-server.log"), addr)
	if err != nil {
		return nil, err
	}
	defer cleanups.add(srv.stop)()

	base := "http://" + addr
	var out []result
	for run := 0; run < o.runs; run++ {
		for _, c := range o.conns {
			fmt.Fprintf(os.Stderr, "%s: timing the hash ...\n", db)
			hashes := hashTimes(o.hashes)
			par := parallelHashRate(runtime.NumCPU(), 2*time.Second)
			fmt.Fprintf(os.Stderr, "%s: one hash %.1f ms, %d in parallel %.1f/s; %d connections ...\n",
				db, ms(median(hashes)), runtime.NumCPU(), par, c)
			r := result{db: db, conns: c, parallelRate: par, rssBase: srv.status("VmRSS")}
			load(base, c, o.warmup, o.retryAfter)
			srv.resetPeak()
			var prof chan error
			if pprofAddr != "" {
				prof = make(chan error, 1)
				path := fmt.Sprintf("%s-%s-%d-%d.pprof", o.cpuProfile, db, c, run+1)
				go func() { prof <- cpuProfile(pprofAddr, o.duration, path) }()
			}
			stop := srv.sample()
			cpu0 := readCPU(srv.cmd.Process.Pid)
			lat, busy, failed, elapsed := load(base, c, o.duration, o.retryAfter)
			r.serverCPU, r.dbCPU, r.otherCPU = readCPU(srv.cmd.Process.Pid).since(cpu0)
			r.rssMean, r.rssMax = stop()
			r.hwm = srv.status("VmHWM")
			if prof != nil {
				if err := <-prof; err != nil {
					fmt.Fprintf(os.Stderr, "cpu profile: %v\n", err)
				}
			}
			// The hash is timed again after the load: the ceiling is the
			// median of both series, the machine's state around the row.
			r.hash = median(append(hashes, hashTimes(o.hashes)...))
			r.ok, r.busy, r.failed, r.elapsed = len(lat), busy, failed, elapsed
			r.p50, r.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
			fmt.Fprintf(os.Stderr, "%s %d: latency p10 %.0f, p90 %.0f, p95 %.0f, p99.9 %.0f, max %.0f ms\n", db, c,
				ms(percentile(lat, 0.10)), ms(percentile(lat, 0.90)), ms(percentile(lat, 0.95)), ms(percentile(lat, 0.999)), ms(percentile(lat, 1)))
			out = append(out, r)
			fmt.Fprintf(os.Stderr, "%s %d: %.1f logins/s (ceiling %.1f, ratio %.2f), p50 %.0f ms, p99 %.0f ms, %d × 503, %d failed, RSS max %d MiB, other CPU %.0f %%\n",
				db, c, r.rate(), r.ceiling(), r.rate()/r.ceiling(), ms(r.p50), ms(r.p99), r.busy, r.failed, r.rssMax/1024, 100*r.otherCPU)
		}
	}
	return out, nil
}

// pgSchema creates a fresh schema in base's database and returns a URL
// whose search_path is that schema, and a function that drops it.
func pgSchema(base string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect %s: %w", base, err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = conn.Close(ctx)
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "drop schema %s: %v\n", schema, err)
		}
		_ = conn.Close(ctx)
	}
	u, err := url.Parse(base)
	if err != nil {
		drop()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// freeAddr returns a loopback address with a port free now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// server is a running example server.
type server struct {
	cmd *exec.Cmd
	log *os.File
}

func startServer(binary string, env []string, logPath, addr string) (*server, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, log: logf}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.stop()
			tail, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("the server did not listen on %s: %s", addr, tail)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	_ = s.log.Close()
}

// status returns a "kB" field of the server's /proc status (0 if it
// cannot be read).
func (s *server) status(field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// resetPeak sets the server's VmHWM back to its VmRSS (Linux 4.0+), so
// that each measurement reports its own peak.
func (s *server) resetPeak() {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
}

// sample reads VmRSS every 50 ms until the returned function is called;
// that returns the mean and the largest value seen, in KiB.
func (s *server) sample() func() (mean, most int64) {
	stop := make(chan struct{})
	res := make(chan [2]int64, 1)
	go func() {
		var sum, n, most int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			v := s.status("VmRSS")
			sum, n, most = sum+v, n+1, max(most, v)
			select {
			case <-stop:
				res <- [2]int64{sum / n, most}
				return
			case <-t.C:
			}
		}
	}()
	return func() (int64, int64) {
		close(stop)
		r := <-res
		return r[0], r[1]
	}
}

// hashTimes times n password.Default().Hash runs, one at a time.
func hashTimes(n int) []time.Duration {
	h := password.Default()
	d := make([]time.Duration, max(n, 1))
	for i := range d {
		start := time.Now()
		if _, err := h.Hash(benchPassword); err != nil {
			fatalf("hash: %v", err)
		}
		d[i] = time.Since(start)
	}
	return d
}

// median returns the median of d (sorting it).
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// parallelHashRate is how many password.Default().Hash runs per second
// workers goroutines complete together in about d: what the cores hash
// when all of them do, memory bandwidth and caches shared.
func parallelHashRate(workers int, d time.Duration) float64 {
	h := password.Default()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for time.Since(start) < d {
				if _, err := h.Hash(benchPassword); err != nil {
					fatalf("hash: %v", err)
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// load sends logins from conns concurrent clients for d and returns the
// latencies of the successful ones, the count of 503 answers and of other
// failures, and the time it took.
func load(base string, conns int, d time.Duration, retryAfter bool) (lat []time.Duration, busy, failed int, elapsed time.Duration) {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	body := []byte(`{"username":"` + benchUser + `","password":"` + benchPassword + `"}`)
	url := base + "/rest-auth/login/"
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		nBusy    atomic.Int64
		nFailed  atomic.Int64
		firstErr atomic.Value
	)
	start := time.Now()
	end := start.Add(d)
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(end) {
				t0 := time.Now()
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					nFailed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				took := time.Since(t0)
				switch {
				case resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"key"`)):
					mine = append(mine, took)
				case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "":
					// The hashing limiter's refusal (other 503s, a
					// database failure, have no Retry-After).
					nBusy.Add(1)
					if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); retryAfter && err == nil && secs > 0 {
						wait := time.Duration(secs) * time.Second
						if left := time.Until(end); wait > left {
							wait = max(left, 0)
						}
						time.Sleep(wait)
					}
				default:
					nFailed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, b))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed = time.Since(start)
	if e, ok := firstErr.Load().(string); ok {
		fmt.Fprintf(os.Stderr, "first failure: %s\n", e)
	}
	return lat, int(nBusy.Load()), int(nFailed.Load()), elapsed
}

// cpuProfile fetches a CPU profile of d from the server's pprof listener.
func cpuProfile(addr string, d time.Duration, path string) error {
	secs := max(int(d.Seconds()), 1)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return errors.New(resp.Status + ": " + string(b))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		_ = f.Close()
		return err
	}
	fmt.Fprintf(os.Stderr, "cpu profile: %s\n", path)
	return f.Close()
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(p*float64(len(d))+0.5) - 1
	return d[min(max(i, 0), len(d)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func report(w io.Writer, o options, rs []result) {
	fmt.Fprintf(w, "\n%d cores, GOMAXPROCS of the server %d (unless its environment sets it), %s measured per row after %s of warm-up; RATE_LIMITS=off\n\n",
		runtime.NumCPU(), runtime.NumCPU(), o.duration, o.warmup)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "db\tconns\tlogins/s\tp50 ms\tp99 ms\t503 busy\tfailed\tRSS idle MiB\tRSS mean MiB\tRSS max MiB\tVmHWM MiB\thash ms\tceiling/s\tratio\tparallel hashes/s\tserver CPU %\tpostgres CPU %\tother CPU %\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t%.0f\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.1f\t%.2f\t%.1f\t%.0f\t%.0f\t%.0f\t\n",
			r.db, r.conns, r.rate(), ms(r.p50), ms(r.p99), r.busy, r.failed,
			mib(r.rssBase), mib(r.rssMean), mib(r.rssMax), mib(r.hwm), ms(r.hash), r.ceiling(), r.rate()/r.ceiling(), r.parallelRate,
			100*r.serverCPU, 100*r.dbCPU, 100*r.otherCPU)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nratio = logins/s ÷ ceiling, ceiling = cores ÷ hash ms, the median of one-at-a-time hashes timed in this process")
	fmt.Fprintln(w, "just before and just after the row (-hashes of each); parallel hashes/s: one hashing goroutine per core, before the row;")
	fmt.Fprintln(w, "CPU % are shares of all the cores' time: the server's, PostgreSQL's (its processes, on the same cores), and every other")
	fmt.Fprintln(w, "process's but this one (steal included):")
	fmt.Fprintln(w, "a row where it is more than a few per cent was measured on a busy machine.")
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// cpuSample is the machine's and two processes' CPU time, in clock ticks.
type cpuSample struct {
	busy, total      int64 // all cores, from /proc/stat
	server, self, db int64 // user + system of the server, this process and the postgres processes
}

func readCPU(server int) cpuSample {
	var c cpuSample
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		f := strings.Fields(line)
		// cpu user nice system idle iowait irq softirq steal ...
		for i := 1; i < len(f) && i <= 8; i++ {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			c.total += n
			if i != 4 && i != 5 {
				c.busy += n
			}
		}
	}
	c.server, c.self = procTicks(strconv.Itoa(server)), procTicks("self")
	c.db = postgresTicks()
	return c
}

// postgresTicks is the user + system time of the processes named
// postgres (the server's backends among them).
func postgresTicks() int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var n int64
	for _, d := range dirs {
		if comm, err := os.ReadFile(d + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			n += procTicks(filepath.Base(d))
		}
	}
	return n
}

// procTicks is a process's user + system time in clock ticks.
func procTicks(pid string) int64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	// After the command: state (field 3) is f[0]; utime, stime (14, 15).
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// since returns the shares of the cores' time the server, PostgreSQL and
// the other processes took between c0 and c.
func (c cpuSample) since(c0 cpuSample) (server, db, other float64) {
	total := float64(c.total - c0.total)
	if total <= 0 {
		return 0, 0, 0
	}
	srv, pg := float64(c.server-c0.server), float64(max(c.db-c0.db, 0))
	oth := float64(c.busy-c0.busy) - srv - pg - float64(c.self-c0.self)
	return srv / total, pg / total, max(oth, 0) / total
}
