package ratelimit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisEnv names the variable holding the Redis URL for the tests.
const redisEnv = "RESTAUTH_TEST_REDIS"

// epoch is where every test clock starts.
var epoch = time.Date(2030, time.January, 1, 0, 0, 0, 0, time.UTC)

// fakeClock is a test clock that moves only when told.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// harness is one store under test: stores are instances sharing the same
// counts (one Memory; two Redis stores on two clients and one prefix).
type harness struct {
	clock  *fakeClock
	stores []Store
	client *redis.Client // nil for Memory
	prefix string
}

func (h *harness) store() Store { return h.stores[0] }

// redisClient returns a client for RESTAUTH_TEST_REDIS, skipping the test
// when the variable is empty and failing it when Redis does not answer.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(redisEnv)
	if url == "" {
		t.Skipf("Redis tests skipped: set %s (e.g. redis://127.0.0.1:6379/0) to run them", redisEnv)
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s=%q: %v", redisEnv, url, err)
	}
	client := redis.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s=%q is set but Redis does not answer: %v", redisEnv, url, err)
	}
	return client
}

// newRedisHarness returns two Redis stores sharing a random prefix whose
// keys are deleted when t ends.
func newRedisHarness(t testing.TB) *harness {
	t.Helper()
	a, b := redisClient(t), redisClient(t)
	prefix := "restauth-test:ratelimit:" + rand.Text() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := a.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("listing test keys under %q: %v", prefix, err)
		}
		if len(keys) > 0 {
			if err := a.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("deleting test keys under %q: %v", prefix, err)
			}
		}
	})
	clock := newFakeClock()
	return &harness{
		clock:  clock,
		stores: []Store{NewRedis(a, prefix, clock.Now), NewRedis(b, prefix, clock.Now)},
		client: a,
		prefix: prefix,
	}
}

// forEachStore runs fn as parallel subtests against a fresh Memory and a
// fresh Redis store (skipped without RESTAUTH_TEST_REDIS).
func forEachStore(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		fn(t, &harness{clock: clock, stores: []Store{NewMemory(clock.Now)}})
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		fn(t, newRedisHarness(t))
	})
}

type op int

const (
	opHit     op = iota // Hit must return want
	opPeek              // Peek must return want
	opBoth              // Peek then Hit must both return want
	opReset             // Reset must succeed
	opAdvance           // the clock moves by d
)

type step struct {
	op   op
	key  string
	d    time.Duration
	want Decision
}

func allowed(key string, remaining int) step {
	return step{op: opHit, key: key, want: Decision{Allowed: true, Remaining: remaining}}
}

func denied(key string, retryAfter time.Duration) step {
	return step{op: opHit, key: key, want: Decision{RetryAfter: retryAfter}}
}

func peek(s step) step { s.op = opPeek; return s }
func both(s step) step { s.op = opBoth; return s }

func advance(d time.Duration) step { return step{op: opAdvance, d: d} }
func reset(key string) step        { return step{op: opReset, key: key} }
func repeat(n int, s step) []step  { return slices.Repeat([]step{s}, n) }
func mapSteps(f func(step) step, steps []step) []step {
	out := make([]step, len(steps))
	for i, s := range steps {
		out[i] = f(s)
	}
	return out
}

// burst is Count allowed Hits on key, Remaining counting down to 0.
func burst(key string, l Limit) []step {
	var steps []step
	for i := l.Count - 1; i >= 0; i-- {
		steps = append(steps, allowed(key, i))
	}
	return steps
}

// checkDecision fails t unless got matches want, RetryAfter within a
// millisecond (the Redis store counts in microseconds) and exactly 0 when
// allowed.
func checkDecision(t *testing.T, what string, got, want Decision) {
	t.Helper()
	diff := got.RetryAfter - want.RetryAfter
	if got.Allowed != want.Allowed || got.Remaining != want.Remaining ||
		diff < -time.Millisecond || diff > time.Millisecond ||
		(got.Allowed && got.RetryAfter != 0) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func TestGCRA(t *testing.T) {
	t.Parallel()
	l3 := Limit{Count: 3, Window: time.Second} // T is 333.333333ms: not whole milliseconds
	t3 := time.Second / 3
	l5 := Limit{Count: 5, Window: time.Minute}
	t5 := 12 * time.Second
	hour := Limit{Count: 1, Window: time.Hour}

	cases := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"Count allowed then denied with RetryAfter T", l3,
			slices.Concat(burst("a", l3), []step{denied("a", t3), denied("a", t3)})},
		{"denied Hits record nothing", l5,
			slices.Concat(burst("a", l5), repeat(20, denied("a", t5)), []step{advance(t5), allowed("a", 0)})},
		{"after T exactly one more", l3,
			slices.Concat(burst("a", l3), []step{advance(t3), allowed("a", 0), denied("a", t3)})},
		{"part of T leaves the rest to wait", l5,
			slices.Concat(burst("a", l5), []step{advance(5 * time.Second), denied("a", 7*time.Second)})},
		{"after Window the full burst is back", l3,
			slices.Concat(burst("a", l3), []step{advance(time.Second)}, burst("a", l3), []step{denied("a", t3)})},
		{"partial refill", l5,
			slices.Concat(burst("a", l5), []step{advance(2 * t5), allowed("a", 1), allowed("a", 0), denied("a", t5)})},
		{"idle time banks no more than Count", l5,
			slices.Concat([]step{allowed("a", 4), advance(10 * time.Minute)}, burst("a", l5), []step{denied("a", t5)})},
		{"Count 1", hour,
			[]step{allowed("a", 0), denied("a", time.Hour), advance(59 * time.Minute), denied("a", time.Minute),
				advance(time.Minute), allowed("a", 0), denied("a", time.Hour)}},
		{"Peek never records", l3,
			slices.Concat(repeat(100, peek(allowed("a", 2))), burst("a", l3), []step{denied("a", t3)})},
		{"Peek matches Hit", l3,
			slices.Concat(mapSteps(both, burst("a", l3)), []step{
				both(denied("a", t3)),
				peek(denied("a", t3)),
				advance(t3 / 2),
				both(denied("a", t3-t3/2)),
				advance(t3 - t3/2),
				peek(allowed("a", 0)),
				both(allowed("a", 0)),
				both(denied("a", t3)),
			})},
		{"Reset restores the burst", l3,
			slices.Concat(burst("a", l3), []step{denied("a", t3), reset("a")}, burst("a", l3), []step{denied("a", t3)})},
		{"Reset of an unknown key", l3,
			slices.Concat([]step{reset("never")}, burst("never", l3), []step{denied("never", t3)})},
		{"keys are independent", l3,
			slices.Concat(burst("a", l3), []step{denied("a", t3), peek(allowed("b", 2))}, burst("b", l3),
				[]step{denied("b", t3), reset("a")}, burst("a", l3), []step{denied("b", t3), denied("a", t3)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEachStore(t, func(t *testing.T, h *harness) {
				ctx := t.Context()
				for i, s := range tc.steps {
					what := func(name string) string { return fmt.Sprintf("step %d: %s(%q)", i, name, s.key) }
					switch s.op {
					case opAdvance:
						h.clock.Advance(s.d)
					case opReset:
						if err := h.store().Reset(ctx, s.key); err != nil {
							t.Fatalf("%s: %v", what("Reset"), err)
						}
					case opPeek, opBoth:
						got, err := h.store().Peek(ctx, s.key, tc.limit)
						if err != nil {
							t.Fatalf("%s: %v", what("Peek"), err)
						}
						checkDecision(t, what("Peek"), got, s.want)
						if s.op == opPeek {
							break
						}
						hit, err := h.store().Hit(ctx, s.key, tc.limit)
						if err != nil {
							t.Fatalf("%s: %v", what("Hit"), err)
						}
						if hit != got {
							t.Fatalf("%s = %+v, but Peek just said %+v", what("Hit"), hit, got)
						}
					case opHit:
						got, err := h.store().Hit(ctx, s.key, tc.limit)
						if err != nil {
							t.Fatalf("%s: %v", what("Hit"), err)
						}
						checkDecision(t, what("Hit"), got, s.want)
					}
				}
			})
		})
	}
}

func TestInvalidLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		limit Limit
	}{
		{"zero", Limit{}},
		{"zero Count", Limit{Count: 0, Window: time.Minute}},
		{"negative Count", Limit{Count: -1, Window: time.Minute}},
		{"zero Window", Limit{Count: 5, Window: 0}},
		{"negative Window", Limit{Count: 5, Window: -time.Second}},
		{"interval under a microsecond", Limit{Count: 1001, Window: time.Millisecond}},
	}
	valid := Limit{Count: 2, Window: time.Minute}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if err := tc.limit.Validate(); !errors.Is(err, ErrInvalidLimit) {
				t.Fatalf("Validate() = %v, want ErrInvalidLimit", err)
			}
			forEachStore(t, func(t *testing.T, h *harness) {
				ctx := t.Context()
				for name, call := range map[string]func(context.Context, string, Limit) (Decision, error){
					"Hit": h.store().Hit, "Peek": h.store().Peek,
				} {
					d, err := call(ctx, "k", tc.limit)
					if !errors.Is(err, ErrInvalidLimit) || d.Allowed {
						t.Fatalf("%s(%+v) = %+v, %v; want not allowed and ErrInvalidLimit", name, tc.limit, d, err)
					}
				}
				// Nothing was recorded: the full burst is there.
				d, err := h.store().Peek(ctx, "k", valid)
				if err != nil || !d.Allowed || d.Remaining != valid.Count-1 {
					t.Fatalf("Peek after invalid calls = %+v, %v; want the full burst", d, err)
				}
			})
		})
	}
	for _, l := range []Limit{{Count: 1, Window: time.Microsecond}, {Count: 1000, Window: time.Millisecond}, {Count: 5, Window: time.Hour}} {
		if err := l.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", l, err)
		}
	}
}

// TestConcurrentHits proves atomicity: 50 goroutines × 10 Hits on one key
// with Count 100 and a stopped clock let exactly 100 through, each seeing a
// different Remaining. For Redis the goroutines alternate between two
// stores on two clients, as two instances would.
func TestConcurrentHits(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, h *harness) {
		const goroutines, hits = 50, 10
		l := Limit{Count: 100, Window: time.Hour}
		ctx := t.Context()
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			remaining []int
			denials   int
			errs      []error
		)
		for g := range goroutines {
			store := h.stores[g%len(h.stores)]
			wg.Go(func() {
				for range hits {
					d, err := store.Hit(ctx, "shared", l)
					mu.Lock()
					switch {
					case err != nil:
						errs = append(errs, err)
					case d.Allowed:
						remaining = append(remaining, d.Remaining)
					default:
						denials++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("%d Hits failed, first: %v", len(errs), errs[0])
		}
		if len(remaining) != l.Count || denials != goroutines*hits-l.Count {
			t.Fatalf("allowed %d, denied %d; want %d and %d", len(remaining), denials, l.Count, goroutines*hits-l.Count)
		}
		slices.Sort(remaining)
		for i, r := range remaining {
			if r != i {
				t.Fatalf("sorted Remaining of allowed Hits = %v, want 0..%d each once", remaining, l.Count-1)
			}
		}
	})
}

// TestNilClockUsesTimeNow checks that a nil clock means the real one: a
// Window of an hour is not over within the test.
func TestNilClockUsesTimeNow(t *testing.T) {
	t.Parallel()
	l := Limit{Count: 1, Window: time.Hour}
	forEachStore(t, func(t *testing.T, h *harness) {
		var store Store = NewMemory(nil)
		if h.client != nil {
			store = NewRedis(h.client, h.prefix, nil)
		}
		ctx := t.Context()
		if d, err := store.Hit(ctx, "k", l); err != nil || !d.Allowed {
			t.Fatalf("first Hit = %+v, %v; want allowed", d, err)
		}
		d, err := store.Hit(ctx, "k", l)
		if err != nil || d.Allowed || d.RetryAfter <= 59*time.Minute || d.RetryAfter > time.Hour {
			t.Fatalf("second Hit = %+v, %v; want denied for about an hour", d, err)
		}
	})
}
