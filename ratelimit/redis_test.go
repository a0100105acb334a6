package ratelimit

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRedisKeyTTL checks what the script stores: the TAT in Unix
// microseconds under prefix+key, expiring when the TAT passes; Peek and
// denied Hits write nothing.
func TestRedisKeyTTL(t *testing.T) {
	t.Parallel()
	h := newRedisHarness(t)
	ctx := t.Context()
	store, key := h.store(), h.prefix+"k"
	l := Limit{Count: 2, Window: 2 * time.Second} // T = 1s

	if _, err := store.Peek(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	if n, err := h.client.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("after Peek EXISTS %s = %d, %v; want 0", key, n, err)
	}

	steps := []struct {
		advance   time.Duration
		allowed   bool
		tat       time.Time     // stored TAT after the Hit
		maxTTL    time.Duration // the horizon TAT - now
		minTTL    time.Duration // the horizon less slack for the test's real time
		checkMore bool
	}{
		{0, true, epoch.Add(time.Second), time.Second, 500 * time.Millisecond, true},
		{0, true, epoch.Add(2 * time.Second), 2 * time.Second, 1500 * time.Millisecond, true},
		// Denied: the key and its expiry are untouched.
		{0, false, epoch.Add(2 * time.Second), 2 * time.Second, 1500 * time.Millisecond, true},
		// One T later: one more, the horizon is 2s again from the new now.
		{time.Second, true, epoch.Add(3 * time.Second), 2 * time.Second, 1500 * time.Millisecond, true},
	}
	for i, s := range steps {
		h.clock.Advance(s.advance)
		d, err := store.Hit(ctx, "k", l)
		if err != nil || d.Allowed != s.allowed {
			t.Fatalf("step %d: Hit = %+v, %v; want Allowed %v", i, d, err, s.allowed)
		}
		got, err := h.client.Get(ctx, key).Result()
		if want := strconv.FormatInt(s.tat.UnixMicro(), 10); err != nil || got != want {
			t.Fatalf("step %d: GET %s = %q, %v; want %q", i, key, got, err, want)
		}
		ttl, err := h.client.PTTL(ctx, key).Result()
		if err != nil || ttl > s.maxTTL || ttl < s.minTTL {
			t.Fatalf("step %d: PTTL %s = %v, %v; want in [%v, %v]", i, key, ttl, err, s.minTTL, s.maxTTL)
		}
	}
}

// TestRedisKeyVanishes checks that Redis itself drops a key once its horizon
// passes (Redis expires keys on its own clock, so the test waits for it).
func TestRedisKeyVanishes(t *testing.T) {
	t.Parallel()
	h := newRedisHarness(t)
	ctx := t.Context()
	l := Limit{Count: 1, Window: 30 * time.Millisecond}
	if d, err := h.store().Hit(ctx, "k", l); err != nil || !d.Allowed {
		t.Fatalf("Hit = %+v, %v", d, err)
	}
	key := h.prefix + "k"
	if ttl, err := h.client.PTTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > l.Window {
		t.Fatalf("PTTL %s = %v, %v; want in (0, %v]", key, ttl, err, l.Window)
	}
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := h.client.Exists(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still exists 5s after a %v horizon", key, l.Window)
		}
		<-tick.C
	}
	h.clock.Advance(l.Window)
	if d, err := h.store().Hit(ctx, "k", l); err != nil || !d.Allowed {
		t.Fatalf("Hit after expiry = %+v, %v; want allowed", d, err)
	}
}

// TestRedisUnreachable points a store at a closed port: every method returns
// quickly an error wrapping the network error, and nothing panics.
func TestRedisUnreachable(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{
		Addr:        "127.0.0.1:1",
		DialTimeout: 100 * time.Millisecond,
		MaxRetries:  -1,
	})
	t.Cleanup(func() { _ = client.Close() })
	store := NewRedis(client, "p:", nil)
	l := Limit{Count: 1, Window: time.Minute}
	calls := []struct {
		name string
		call func(context.Context) error
	}{
		{"Hit", func(ctx context.Context) error { _, err := store.Hit(ctx, "k", l); return err }},
		{"Peek", func(ctx context.Context) error { _, err := store.Peek(ctx, "k", l); return err }},
		{"Reset", func(ctx context.Context) error { return store.Reset(ctx, "k") }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			err := c.call(t.Context())
			elapsed := time.Since(start)
			var opErr *net.OpError
			if !errors.As(err, &opErr) {
				t.Fatalf("%s error = %v, want one wrapping a *net.OpError", c.name, err)
			}
			if elapsed > 2*time.Second {
				t.Fatalf("%s took %v, want under 2s", c.name, elapsed)
			}
		})
	}
}

// TestRedisNilClient checks that a store built without a client answers an
// error rather than panicking.
func TestRedisNilClient(t *testing.T) {
	t.Parallel()
	store := NewRedis(nil, "p:", nil)
	ctx := t.Context()
	l := Limit{Count: 1, Window: time.Minute}
	if _, err := store.Hit(ctx, "k", l); err == nil {
		t.Error("Hit with a nil client: no error")
	}
	if _, err := store.Peek(ctx, "k", l); err == nil {
		t.Error("Peek with a nil client: no error")
	}
	if err := store.Reset(ctx, "k"); err == nil {
		t.Error("Reset with a nil client: no error")
	}
}
