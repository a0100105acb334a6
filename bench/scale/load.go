package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/models"
)

// ScaleUser is the bench's user type (table scale_users).
type ScaleUser struct {
	models.User
}

// plainHasher costs nothing, so that login and registration measure the
// database, not the hash (bench_test.go's plainHasher). Never use it
// outside a benchmark.
type plainHasher struct{}

func (plainHasher) encode(pw string) string          { return "plain$" + pw }
func (h plainHasher) Hash(pw string) (string, error) { return h.encode(pw), nil }
func (h plainHasher) Verify(pw, enc string) (bool, error) {
	return subtle.ConstantTimeCompare([]byte(h.encode(pw)), []byte(enc)) == 1, nil
}
func (plainHasher) NeedsRehash(string) bool { return false }

// server is restauth in one mode, served over loopback.
type server struct {
	plugin *restauth.Plugin[ScaleUser]
	srv    *http.Server
	base   string // http://127.0.0.1:port/rest-auth
}

// newPlugin returns restauth on db in token or JWT mode: cheap hasher, no
// rate limits, no email verification, a mailer that sends nothing.
func newPlugin(db *gorm.DB, jwt bool) (*restauth.Plugin[ScaleUser], error) {
	cfg := restauth.Config{
		SecretKey: "scale-bench-secret-key-0123456789abcdef",
		SiteURL:   "http://127.0.0.1",
		Mailer:    emails.MailerFunc(func(context.Context, emails.Message) error { return nil }),
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Password:  restauth.PasswordConfig{Hasher: plainHasher{}},
		Registration: restauth.RegistrationConfig{
			EmailVerification: restauth.VerificationNone,
		},
		RateLimits: restauth.RateLimitConfig{Disabled: true},
		JWT:        restauth.JWTConfig{Enabled: jwt},
	}
	p, err := restauth.New[ScaleUser](db, cfg)
	if err != nil {
		return nil, fmt.Errorf("restauth.New: %w", err)
	}
	return p, nil
}

func startServer(db *gorm.DB, jwt bool) (*server, error) {
	p, err := newPlugin(db, jwt)
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	p.Register(r.Group("/rest-auth"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &server{plugin: p, srv: srv, base: "http://" + ln.Addr().String() + "/rest-auth"}, nil
}

func (s *server) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.plugin.Shutdown(ctx)
}

// newClient is a keep-alive client with one connection per worker.
func newClient(conc int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			MaxIdleConns:        conc,
			MaxIdleConnsPerHost: conc,
			MaxConnsPerHost:     conc,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
		Timeout: 30 * time.Second,
	}
}

// request is one request of a scenario.
type request struct {
	method, path string
	header       map[string]string
	body         []byte
}

// scenario is one load: a request maker and the status it must answer.
type scenario struct {
	name string
	want int
	next func(rng *rand.Rand) request
}

// result is one measured run of a scenario.
type result struct {
	n, errs  int
	elapsed  time.Duration
	lats     []time.Duration // sorted
	firstErr string
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

// pct is the q-quantile latency (nearest rank).
func (r result) pct(q float64) time.Duration {
	if len(r.lats) == 0 {
		return 0
	}
	i := int(q*float64(len(r.lats))+0.5) - 1
	return r.lats[max(0, min(i, len(r.lats)-1))]
}

// do sends one request and returns its status and body.
func do(client *http.Client, base string, rq request) (int, []byte, error) {
	var body io.Reader
	if rq.body != nil {
		body = bytes.NewReader(rq.body)
	}
	req, err := http.NewRequest(rq.method, base+rq.path, body)
	if err != nil {
		return 0, nil, err
	}
	if rq.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// run drives sc with conc workers for d (or, when count > 0, for count
// requests in all) and returns the latencies.
func run(client *http.Client, base string, sc scenario, conc int, d time.Duration, count int) result {
	var (
		mu    sync.Mutex
		all   []time.Duration
		errs  int
		first string
		left  atomic.Int64
		wg    sync.WaitGroup
	)
	left.Store(int64(count))
	start := time.Now()
	deadline := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			lats := make([]time.Duration, 0, 4096)
			var e int
			var fe string
			for {
				if count > 0 {
					if left.Add(-1) < 0 {
						break
					}
				} else if !time.Now().Before(deadline) {
					break
				}
				rq := sc.next(rng)
				t0 := time.Now()
				status, body, err := do(client, base, rq)
				lat := time.Since(t0)
				if err != nil || status != sc.want {
					e++
					if fe == "" {
						if err != nil {
							fe = err.Error()
						} else {
							fe = fmt.Sprintf("%s %s: status %d, want %d: %.200s", rq.method, rq.path, status, sc.want, body)
						}
					}
					continue
				}
				lats = append(lats, lat)
			}
			mu.Lock()
			all = append(all, lats...)
			errs += e
			if first == "" {
				first = fe
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	return result{n: len(all), errs: errs, elapsed: time.Since(start), lats: all, firstErr: first}
}

func loginBody(id int) []byte {
	b, _ := json.Marshal(map[string]string{"username": seedUsername(id), "password": seedPassword})
	return b
}

// loginAll logs in each of ids over conc connections and returns the
// field of each answer (the token key or the JWT access token), in the
// order of ids.
func loginAll(client *http.Client, base string, ids []int, field string, conc int) ([]string, error) {
	out := make([]string, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) {
					return
				}
				status, body, err := do(client, base, request{method: "POST", path: "/login/", body: loginBody(ids[i])})
				var ans map[string]any
				if err == nil {
					if status != http.StatusOK {
						err = fmt.Errorf("login user %d: status %d: %.200s", ids[i], status, body)
					} else if err = json.Unmarshal(body, &ans); err == nil {
						s, _ := ans[field].(string)
						if s == "" {
							err = fmt.Errorf("login user %d: no %q in %.200s", ids[i], field, body)
						}
						out[i] = s
					}
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return out, firstErr
}

// regCounter makes registered names unique within the process.
var regCounter atomic.Uint64

// scenarios returns the loads of one mode: GET user/ with the sample's
// credentials (token keys seeded for them, or JWT access tokens from
// logging them in), POST login/ of a random seeded user (any of the n),
// POST registration/ of a new user with a random name.
func scenarios(mode string, n int, creds []string) []scenario {
	scheme := authScheme(mode)
	return []scenario{
		{name: "GET user/", want: http.StatusOK, next: func(rng *rand.Rand) request {
			return request{method: "GET", path: "/user/", header: map[string]string{"Authorization": scheme + creds[rng.IntN(len(creds))]}}
		}},
		{name: "POST login/", want: http.StatusOK, next: func(rng *rand.Rand) request {
			return request{method: "POST", path: "/login/", body: loginBody(1 + rng.IntN(n))}
		}},
		{name: "POST registration/", want: http.StatusCreated, next: func(rng *rand.Rand) request {
			name := fmt.Sprintf("new_%016x%x", rng.Uint64(), regCounter.Add(1))
			b, _ := json.Marshal(map[string]string{"username": name, "email": name + "@example.org",
				"password1": seedPassword, "password2": seedPassword})
			return request{method: "POST", path: "/registration/", body: b}
		}},
	}
}

// errNoRequests is returned for a measured run without one success.
var errNoRequests = errors.New("no successful request")
