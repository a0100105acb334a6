package restauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// Database outages (issue 11 point 8): a TCP proxy between the plugin and
// PostgreSQL is cut and restored while requests run.

// outageTimeout is the RequestTimeout of the outage tests: short, yet
// long enough for a loaded CI machine to open a connection and log in
// once the database is back.
const outageTimeout = 2 * time.Second

// outageBound is the longest a request may take during an outage: well
// above outageTimeout (CI is slow) and far below "hung".
const outageBound = 6 * time.Second

// cutMode is how a cut proxy treats connections.
type cutMode string

const (
	// cutRefuse closes the live connections and every new one at once
	// (the server is down: connection refused or reset).
	cutRefuse cutMode = "refuse"
	// cutBlackhole closes the live connections and accepts new ones but
	// never answers (a host that vanished behind a firewall that drops
	// packets: without a timeout, a connect hangs).
	cutBlackhole cutMode = "blackhole"
	// cutStall freezes the live connections (nothing more passes either
	// way, nothing is closed) and blackholes new ones: a network
	// partition in the middle of a query or transaction.
	cutStall cutMode = "stall"
)

// pgProxy forwards TCP connections to a PostgreSQL server until it is cut.
type pgProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	mode   cutMode // "" while up
	live   map[net.Conn]struct{}
	held   []net.Conn // blackholed or frozen, closed by Restore
	closed bool
}

// newPGProxy listens on a loopback port and forwards to target until t
// ends.
func newPGProxy(t testing.TB, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, live: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *pgProxy) Addr() string { return p.ln.Addr().String() }

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		switch {
		case p.closed || p.mode == cutRefuse:
			p.mu.Unlock()
			_ = c.Close()
			continue
		case p.mode != "":
			p.held = append(p.held, c)
			p.mu.Unlock()
			continue
		}
		p.mu.Unlock()
		go p.forward(c)
	}
}

func (p *pgProxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	// Cut while dialling: c is a new connection of the cut.
	switch {
	case p.closed || p.mode == cutRefuse:
		p.mu.Unlock()
		_ = s.Close()
		_ = c.Close()
		return
	case p.mode != "":
		p.held = append(p.held, c)
		p.mu.Unlock()
		_ = s.Close()
		return
	}
	p.live[c], p.live[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go p.pipe(s, c)
	go p.pipe(c, s)
}

// pipe copies src to dst while the proxy is up. In a stall it drops what
// it read and stops, leaving both connections open and silent.
func (p *pgProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled := p.mode == cutStall
			p.mu.Unlock()
			if stalled {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			p.mu.Lock()
			stalled := p.mode == cutStall
			if !stalled {
				delete(p.live, src)
				delete(p.live, dst)
			}
			p.mu.Unlock()
			if !stalled {
				_ = src.Close()
				_ = dst.Close()
			}
			return
		}
	}
}

// Cut makes the database unreachable in the given mode.
func (p *pgProxy) Cut(mode cutMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
	for c := range p.live {
		if mode == cutStall {
			p.held = append(p.held, c)
		} else {
			_ = c.Close()
		}
		delete(p.live, c)
	}
}

// Restore forwards again. Connections held during the cut are closed,
// as a real network would eventually reset them.
func (p *pgProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = ""
	for _, c := range p.held {
		_ = c.Close()
	}
	p.held = nil
}

func (p *pgProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Restore()
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.live {
		_ = c.Close()
	}
	p.mu.Unlock()
}

// outageDB opens a fresh PostgreSQL schema twice: through a new proxy
// (for the plugin) and directly (to inspect rows whatever the proxy
// does). Without RESTAUTH_TEST_POSTGRES it skips t.
func outageDB(t *testing.T) (viaProxy, direct *gorm.DB, p *pgProxy) {
	t.Helper()
	schemaURL := testdb.PostgresURL(t)
	u, err := url.Parse(schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	p = newPGProxy(t, u.Host)
	u.Host = p.Addr()
	open := func(dsn string) *gorm.DB {
		db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		return db
	}
	return open(u.String()), open(schemaURL), p
}

// outageLog records restauth's log messages, to tell a recovered panic
// (also a 503) from a handled outage.
type outageLog struct {
	mu   sync.Mutex
	msgs []string
	errs []string // the err attribute of each record that has one
}

func (l *outageLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *outageLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *outageLog) WithGroup(string) slog.Handler            { return l }
func (l *outageLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.msgs = append(l.msgs, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			l.errs = append(l.errs, a.Value.String())
		}
		return true
	})
	return nil
}

// errors returns the err attributes logged so far.
func (l *outageLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

func (l *outageLog) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

// outageEnv builds a plugin on db with RequestTimeout timeout, logging
// into the returned log, with each endpoint also mounted through
// Handlers() under /mounted and an app route /api/ctx behind RequireAuth.
func outageEnv(t *testing.T, db *gorm.DB, jwt, checkRevoked bool, timeout time.Duration) (*env, *outageLog) {
	t.Helper()
	logs := &outageLog{}
	mutate := func(c *restauth.Config) {
		c.RequestTimeout = timeout
		c.Logger = slog.New(logs)
		c.JWT.CheckRevoked = checkRevoked
	}
	var e *env
	if jwt {
		e = jwtEnv(t, db, mutate)
	} else {
		e = newEnv(t, db, mutate)
	}
	h := e.auth.Handlers()
	e.r.POST("/mounted/login/", h.Login)
	e.r.GET("/mounted/user/", h.User)
	e.r.POST("/mounted/password/reset/", h.PasswordReset)
	return e, logs
}

// outageCase is one request of the outage tests: during the cut it must
// answer down (503, or the status of a request that needs no database),
// after the restore up.
type outageCase struct {
	e      *env
	name   string
	method string
	path   string
	body   any
	hdr    []string
	down   int
	up     int
	// upBody, when set, makes the body sent after the restore.
	upBody func() any
}

// pendingReq is a request running in the background.
type pendingReq struct {
	c     outageCase
	w     *httptest.ResponseRecorder
	start time.Time
	done  chan time.Duration
}

// start sends c's request in the background.
func (e *env) start(t *testing.T, c outageCase) *pendingReq {
	t.Helper()
	var body io.Reader
	if c.body != nil {
		raw, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(c.hdr); i += 2 {
		req.Header.Set(c.hdr[i], c.hdr[i+1])
	}
	p := &pendingReq{c: c, w: httptest.NewRecorder(), start: time.Now(), done: make(chan time.Duration, 1)}
	go func() {
		e.r.ServeHTTP(p.w, req)
		p.done <- time.Since(p.start)
	}()
	return p
}

// wait returns the answer and how long it took, failing t if it takes
// outageBound or longer from the start (a hung request fails the test
// rather than hanging it).
func (p *pendingReq) wait(t *testing.T) (resp, time.Duration) {
	t.Helper()
	var d time.Duration
	select {
	case d = <-p.done:
	case <-time.After(outageBound - time.Since(p.start)):
		t.Fatalf("%s %s hung for %v", p.c.method, p.c.path, outageBound)
	}
	w := p.w
	r := resp{Code: w.Code, Raw: w.Body.String(), Header: w.Header()}
	if w.Header().Get("Content-Type") == "application/json; charset=utf-8" {
		if err := json.Unmarshal(w.Body.Bytes(), &r.Body); err != nil {
			t.Fatalf("%s %s: %d answer is not a JSON object: %q", p.c.method, p.c.path, w.Code, r.Raw)
		}
	}
	return r, d
}

// doBounded sends c's request and waits for it (see wait).
func (e *env) doBounded(t *testing.T, c outageCase) (resp, time.Duration) {
	t.Helper()
	return e.start(t, c).wait(t)
}

// expectUnavailable checks the documented outage answer: 503 with only
// {"detail": "Service temporarily unavailable."}.
func expectUnavailable(t *testing.T, r resp) {
	t.Helper()
	expectDetail(t, r, 503, "Service temporarily unavailable.")
	if len(r.Body) != 1 {
		t.Fatalf("503 body has other keys than detail: %s", r.Raw)
	}
}

// tokenCases are the token-mode requests, in the order they run after
// the restore (the ones that change the password or end the login
// last: a password reset ends the token key).
func tokenCases(t *testing.T, e *env, alice *Customer, key string) []outageCase {
	t.Helper()
	// A pending email confirmation, for verify-email.
	expect(t, e.do("POST", "/rest-auth/registration/", signup("dave", "dave@example.com")), 201)
	confirmKey := e.confirmKey("dave@example.com")
	uid, tok := e.auth.PasswordResetToken(alice)
	auth := tokenHeader(key)
	return withEnv(e, []outageCase{
		{name: "login", method: "POST", path: "/rest-auth/login/", body: map[string]any{"username": alice.Username, "password": goodPass}, down: 503, up: 200},
		{name: "mounted login", method: "POST", path: "/mounted/login/", body: map[string]any{"username": alice.Username, "password": goodPass}, down: 503, up: 200},
		{name: "user GET", method: "GET", path: "/rest-auth/user/", hdr: auth, down: 503, up: 200},
		{name: "mounted user GET", method: "GET", path: "/mounted/user/", hdr: auth, down: 503, up: 200},
		{name: "user PATCH", method: "PATCH", path: "/rest-auth/user/", body: map[string]any{"first_name": "Alice"}, hdr: auth, down: 503, up: 200},
		{name: "user PUT", method: "PUT", path: "/rest-auth/user/", body: map[string]any{"username": alice.Username, "first_name": "Al"}, hdr: auth, down: 503, up: 200},
		{name: "app route", method: "GET", path: "/api/me", hdr: auth, down: 503, up: 200},
		{name: "password reset", method: "POST", path: "/rest-auth/password/reset/", body: map[string]any{"email": alice.Email}, down: 503, up: 200},
		{name: "mounted password reset", method: "POST", path: "/mounted/password/reset/", body: map[string]any{"email": alice.Email}, down: 503, up: 200},
		{name: "registration", method: "POST", path: "/rest-auth/registration/", body: signup("erin", "erin@example.com"), down: 503, up: 201},
		{name: "verify email", method: "POST", path: "/rest-auth/registration/verify-email/", body: map[string]any{"key": confirmKey}, down: 503, up: 200},
		{name: "resend email", method: "POST", path: "/rest-auth/registration/resend-email/", body: map[string]any{"email": "erin@example.com"}, down: 503, up: 200},
		{name: "confirm page (no database)", method: "GET", path: "/rest-auth/registration/account-confirm-email/abc/", down: 200, up: 200},
		{name: "password change", method: "POST", path: "/rest-auth/password/change/", body: map[string]any{"new_password1": "Changed-Pass-77", "new_password2": "Changed-Pass-77"}, hdr: auth, down: 503, up: 200},
		{name: "password reset confirm", method: "POST", path: "/rest-auth/password/reset/confirm/", body: resetBody(uid, tok), down: 503, up: 200,
			// The logins after the restore changed last_login, which
			// voids the earlier token.
			upBody: func() any { u := e.reload(alice.ID); return resetBody(e.auth.PasswordResetToken(&u)) }},
		{name: "logout", method: "POST", path: "/rest-auth/logout/", hdr: auth, down: 503, up: 200},
	})
}

func resetBody(uid, tok string) map[string]any {
	return map[string]any{"uid": uid, "token": tok, "new_password1": "Reset-Pass-88", "new_password2": "Reset-Pass-88"}
}

// jwtCases are the JWT-mode requests, in the order they run after the
// restore. Without CheckRevoked an access token needs no database.
func jwtCases(t *testing.T, e *env, user *Customer, checkRevoked bool) []outageCase {
	t.Helper()
	r := e.loginJWT(user.Username)
	access, refresh := r.str("access"), r.str("refresh")
	if access == "" || refresh == "" {
		t.Fatalf("login body has no tokens: %s", r.Raw)
	}
	stateless := 200 // an access token checked without the database
	if checkRevoked {
		stateless = 503
	}
	auth := bearer(access)
	return withEnv(e, []outageCase{
		{name: "login", method: "POST", path: "/rest-auth/login/", body: map[string]any{"username": user.Username, "password": goodPass}, down: 503, up: 200},
		{name: "mounted login", method: "POST", path: "/mounted/login/", body: map[string]any{"username": user.Username, "password": goodPass}, down: 503, up: 200},
		{name: "user GET", method: "GET", path: "/rest-auth/user/", hdr: auth, down: 503, up: 200},
		{name: "user PATCH", method: "PATCH", path: "/rest-auth/user/", body: map[string]any{"first_name": "Alice"}, hdr: auth, down: 503, up: 200},
		{name: "app route, claims only", method: "GET", path: "/api/claims", hdr: auth, down: stateless, up: 200},
		{name: "token verify, access", method: "POST", path: "/rest-auth/token/verify/", body: map[string]any{"token": access}, down: stateless, up: 200},
		{name: "token verify, refresh", method: "POST", path: "/rest-auth/token/verify/", body: map[string]any{"token": refresh}, down: 503, up: 200},
		{name: "token refresh", method: "POST", path: "/rest-auth/token/refresh/", body: map[string]any{"refresh": refresh}, down: 503, up: 200},
		{name: "password reset", method: "POST", path: "/rest-auth/password/reset/", body: map[string]any{"email": user.Email}, down: 503, up: 200},
		{name: "logout", method: "POST", path: "/rest-auth/logout/", body: map[string]any{"refresh": refresh}, hdr: auth, down: 503, up: 200},
	})
}

// withEnv sets the env of each case.
func withEnv(e *env, cases []outageCase) []outageCase {
	for i := range cases {
		cases[i].e = e
	}
	return cases
}

// TestOutageEndpoints cuts the database under every endpoint in each cut
// mode, with three plugins on it (token mode, JWT mode, JWT mode with
// CheckRevoked): each endpoint answers 503 {"detail"} (or, needing no
// database, as usual) within the bound, with no panic; after the restore
// each works again on the same plugins, and the logins acknowledged
// before the outage still work. The requests of an outage run at once.
func TestOutageEndpoints(t *testing.T) {
	t.Parallel()
	for _, cut := range []cutMode{cutRefuse, cutBlackhole, cutStall} {
		t.Run(string(cut), func(t *testing.T) {
			t.Parallel()
			db, _, proxy := outageDB(t)
			var cases []outageCase
			var logs []*outageLog
			for _, m := range []struct {
				user         string
				jwt, revoked bool
			}{{user: "alice"}, {user: "bob", jwt: true}, {user: "carol", jwt: true, revoked: true}} {
				e, l := outageEnv(t, db, m.jwt, m.revoked, outageTimeout)
				logs = append(logs, l)
				u := e.user(m.user, m.user+"@example.com")
				var cs []outageCase
				switch {
				case !m.jwt:
					cs = tokenCases(t, e, u, e.login(u.Username, goodPass))
				case !m.revoked:
					cs = jwtCases(t, e, u, false)
				default:
					cs = jwtCases(t, e, u, true)
				}
				mode := map[bool]string{false: "token/", true: "jwt/"}[m.jwt]
				if m.revoked {
					mode = "jwt revoked/"
				}
				for i := range cs {
					cs[i].name = mode + cs[i].name
				}
				cases = append(cases, cs...)
			}

			proxy.Cut(cut)
			started := make([]*pendingReq, len(cases))
			for i, c := range cases {
				started[i] = c.e.start(t, c)
			}
			for i, c := range cases {
				t.Run("down/"+c.name, func(t *testing.T) {
					r, d := started[i].wait(t)
					if c.down == 503 {
						expectUnavailable(t, r)
					} else {
						expect(t, r, c.down)
					}
					t.Logf("%s %s: %d in %v", c.method, c.path, r.Code, d.Round(time.Millisecond))
				})
			}
			proxy.Restore()
			for _, l := range logs {
				if n := l.count("restauth: handler panicked"); n > 0 {
					t.Fatalf("%d handlers panicked during the outage", n)
				}
			}
			if t.Failed() {
				return
			}
			for _, c := range cases {
				if c.upBody != nil {
					c.body = c.upBody()
				}
				r, d := c.e.doBounded(t, c)
				t.Logf("after: %s %s: %d in %v", c.method, c.path, r.Code, d.Round(time.Millisecond))
				if r.Code != c.up {
					t.Errorf("after the restore, %s: %s %s: %d, want %d; body %s", c.name, c.method, c.path, r.Code, c.up, r.Raw)
				}
			}
		})
	}
}

// TestOutageTimeoutSetting shows RequestTimeout is what bounds a request
// to an unanswering database: 1 s answers 503 long before the caller's
// own deadline; a negative one leaves the request to that
// deadline.
func TestOutageTimeoutSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		caller   time.Duration
		min, max time.Duration
	}{
		{name: "bounded", timeout: time.Second, caller: outageBound, min: time.Second, max: outageBound - time.Second},
		{name: "no limit", timeout: -1, caller: 1500 * time.Millisecond, min: 1500 * time.Millisecond, max: outageBound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db, _, proxy := outageDB(t)
			e, logs := outageEnv(t, db, false, false, tc.timeout)
			// No idle connections: an idle one closed by the cut fails
			// at once (unexpected EOF); this test needs the request to
			// dial into the blackhole.
			sqlDB, err := db.DB()
			if err != nil {
				t.Fatal(err)
			}
			sqlDB.SetMaxIdleConns(0)
			key := e.login(e.user("alice", "alice@example.com").Username, goodPass)
			proxy.Cut(cutBlackhole)
			defer proxy.Restore()
			ctx, cancel := context.WithTimeout(context.Background(), tc.caller)
			defer cancel()
			start := time.Now()
			r := e.doCtx(ctx, "GET", "/rest-auth/user/", nil, tokenHeader(key)...)
			d := time.Since(start)
			t.Logf("%d in %v: %q", r.Code, d.Round(time.Millisecond), logs.errors())
			expectUnavailable(t, r)
			if d < tc.min || d >= tc.max {
				t.Fatalf("answered in %v, want [%v, %v)", d, tc.min, tc.max)
			}
		})
	}
}

// TestOutageMidLogin cuts the database inside the login transaction,
// right before its credential row is inserted: the answer is 503 and
// after the restore neither the credential nor the new last_login is
// there. A retried login then succeeds and its credential works.
func TestOutageMidLogin(t *testing.T) {
	t.Parallel()
	for _, cut := range []cutMode{cutRefuse, cutStall} {
		for _, jwt := range []bool{false, true} {
			name, table := "token", models.Token{}.TableName()
			if jwt {
				name, table = "jwt", models.OutstandingToken{}.TableName()
			}
			t.Run(string(cut)+"/"+name, func(t *testing.T) {
				t.Parallel()
				db, direct, proxy := outageDB(t)
				e, logs := outageEnv(t, db, jwt, false, outageTimeout)
				alice := e.user("alice", "alice@example.com")
				var armed, fired atomic.Bool
				err := db.Callback().Create().Before("gorm:create").Register("outage_test:cut", func(tx *gorm.DB) {
					if tx.Statement.Table == table && armed.CompareAndSwap(true, false) {
						fired.Store(true)
						proxy.Cut(cut)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				login := outageCase{method: "POST", path: "/rest-auth/login/", body: map[string]any{"username": "alice", "password": goodPass}}
				armed.Store(true)
				r, _ := e.doBounded(t, login)
				proxy.Restore()
				if !fired.Load() {
					t.Fatalf("the login inserted no %s row", table)
				}
				expectUnavailable(t, r)
				if n := logs.count("restauth: handler panicked"); n > 0 {
					t.Fatalf("%d handlers panicked", n)
				}

				// Inspect through a connection that never crossed the
				// proxy.
				var rows int64
				if err := direct.Table(table).Where("user_id = ?", alice.ID).Count(&rows).Error; err != nil {
					t.Fatal(err)
				}
				if rows != 0 {
					t.Fatalf("%d %s rows left by the failed login", rows, table)
				}
				var after Customer
				if err := direct.Where("id = ?", alice.ID).Take(&after).Error; err != nil {
					t.Fatal(err)
				}
				if after.LastLogin != nil {
					t.Fatalf("last_login = %v after a failed login, want unchanged (nil)", after.LastLogin)
				}

				// The same plugin logs in again and the credential works.
				ok := e.do(login.method, login.path, login.body)
				expect(t, ok, 200)
				auth := tokenHeader(ok.str("key"))
				if jwt {
					auth = bearer(ok.str("access"))
				}
				expect(t, e.do("GET", "/rest-auth/user/", nil, auth...), 200)
				if err := direct.Table(table).Where("user_id = ?", alice.ID).Count(&rows).Error; err != nil {
					t.Fatal(err)
				}
				if rows != 1 {
					t.Fatalf("%d %s rows after the successful login, want 1", rows, table)
				}
			})
		}
	}
}

// deadlineProbe records, for each query of the user table on db,
// whether its context had a deadline and how far it was.
type deadlineProbe struct {
	mu   sync.Mutex
	seen []time.Duration // -1: no deadline
}

func newDeadlineProbe(t *testing.T, db *gorm.DB) *deadlineProbe {
	t.Helper()
	p := &deadlineProbe{}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(&Customer{}); err != nil {
		t.Fatal(err)
	}
	table := stmt.Schema.Table
	record := func(tx *gorm.DB) {
		left := time.Duration(-1)
		if dl, ok := tx.Statement.Context.Deadline(); ok {
			left = time.Until(dl)
		}
		p.mu.Lock()
		p.seen = append(p.seen, left)
		p.mu.Unlock()
	}
	err := db.Callback().Query().Before("gorm:query").Register("outage_test:deadline", func(tx *gorm.DB) {
		if tx.Statement.Table == table {
			record(tx)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// The user loads of authenticated requests are raw SQL (Users.raw).
	err = db.Callback().Row().Before("gorm:row").Register("outage_test:deadline_raw", func(tx *gorm.DB) {
		if sql := tx.Statement.SQL.String(); strings.HasPrefix(sql, "SELECT") && strings.Contains(sql, table) {
			record(tx)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// take returns the recorded queries and forgets them.
func (p *deadlineProbe) take() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.seen
	p.seen = nil
	return out
}

// TestOutageTimeoutDeadline checks the deadline each lookup of the user
// runs under: RequestTimeout from the start of the request (10 s when
// zero, none when negative), in an endpoint mounted by Register or by
// Handlers(), in RequireAuth, and in the JWT user loaded in the app
// handler.
func TestOutageTimeoutDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration // -1: no deadline
	}{
		{name: "default", timeout: 0, want: 10 * time.Second},
		{name: "set", timeout: 3 * time.Second, want: 3 * time.Second},
		{name: "no limit", timeout: -1, want: -1},
	} {
		for _, jwt := range []bool{false, true} {
			t.Run(tc.name+map[bool]string{false: "/token", true: "/jwt"}[jwt], func(t *testing.T) {
				t.Parallel()
				db := testdb.SQLite(t)
				e, _ := outageEnv(t, db, jwt, false, tc.timeout)
				e.user("alice", "alice@example.com")
				var auth []string
				if jwt {
					auth = bearer(e.loginJWT("alice").str("access"))
				} else {
					auth = tokenHeader(e.login("alice", goodPass))
				}
				probe := newDeadlineProbe(t, db)
				for _, path := range []string{"/rest-auth/user/", "/mounted/user/", "/api/me"} {
					expect(t, e.do("GET", path, nil, auth...), 200)
					seen := probe.take()
					if len(seen) == 0 {
						t.Fatalf("GET %s queried no user", path)
					}
					for _, left := range seen {
						if tc.want < 0 && left >= 0 || tc.want >= 0 && (left <= tc.want-2*time.Second || left > tc.want) {
							t.Fatalf("GET %s: a user query had %v left, want %v (-1: no deadline)", path, left, tc.want)
						}
					}
				}
			})
		}
	}
}

// TestOutageRequireAuthKeepsAppContext checks the bound is the
// endpoint's and RequireAuth's own: the app handler after RequireAuth,
// and middleware around an endpoint once it returned, see the request's
// own context, neither cancelled nor given a deadline.
func TestOutageRequireAuthKeepsAppContext(t *testing.T) {
	t.Parallel()
	for _, jwt := range []bool{false, true} {
		t.Run(map[bool]string{false: "token", true: "jwt"}[jwt], func(t *testing.T) {
			t.Parallel()
			e, _ := outageEnv(t, testdb.SQLite(t), jwt, false, outageTimeout)
			e.user("alice", "alice@example.com")
			var auth []string
			if jwt {
				auth = bearer(e.loginJWT("alice").str("access"))
			} else {
				auth = tokenHeader(e.login("alice", goodPass))
			}
			ctxState := func(c *gin.Context) gin.H {
				ctx := c.Request.Context()
				_, deadline := ctx.Deadline()
				return gin.H{"deadline": deadline, "err": errString(ctx.Err())}
			}
			e.r.GET("/api/ctx", e.auth.RequireAuth(), func(c *gin.Context) {
				st := ctxState(c)
				_, st["user"] = restauth.CurrentUser[Customer](c)
				c.JSON(200, st)
			})
			var mu sync.Mutex
			var outer []gin.H
			record := func(c *gin.Context) {
				c.Next()
				mu.Lock()
				outer = append(outer, ctxState(c))
				mu.Unlock()
			}
			e.auth.Register(e.r.Group("/wrapped", record))
			e.r.GET("/wrapped-mounted/user/", record, e.auth.Handlers().User)

			r := e.do("GET", "/api/ctx", nil, auth...)
			expect(t, r, 200)
			if r.Body["deadline"] != false || r.Body["err"] != "" || r.Body["user"] != true {
				t.Fatalf("app handler after RequireAuth saw %s, want no deadline, no error and its user", r.Raw)
			}
			expect(t, e.do("GET", "/wrapped/user/", nil, auth...), 200)
			expect(t, e.do("GET", "/wrapped-mounted/user/", nil, auth...), 200)
			mu.Lock()
			defer mu.Unlock()
			if len(outer) != 2 {
				t.Fatalf("outer middleware ran %d times, want 2", len(outer))
			}
			for i, st := range outer {
				if st["deadline"] != false || st["err"] != "" {
					t.Fatalf("middleware around endpoint %d saw %v after it, want the request's own context", i, st)
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err.Error()
	}
	return "other: " + err.Error()
}
