package ratelimit

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// benchLimit is never reached in a benchmark run, so every Hit takes the
// allowed path and writes.
var benchLimit = Limit{Count: 1 << 30, Window: 1 << 30 * time.Second}

// benchKeys are the keys a benchmark cycles through.
var benchKeys = func() []string {
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	return keys
}()

var sink Decision

//go:noinline
func baselineHit(_ context.Context, _ string, _ Limit) (Decision, error) {
	return Decision{Allowed: true}, nil
}

// BenchmarkBaseline is a non-inlined call with Hit's signature, to read the
// other figures against.
func BenchmarkBaseline(b *testing.B) {
	ctx := context.Background()
	var i int
	for b.Loop() {
		sink, _ = baselineHit(ctx, benchKeys[i&1023], benchLimit)
		i++
	}
}

// BenchmarkMemoryHit is one Memory Hit with the real clock.
func BenchmarkMemoryHit(b *testing.B) {
	m := NewMemory(nil)
	ctx := context.Background()
	var i int
	for b.Loop() {
		d, err := m.Hit(ctx, benchKeys[i&1023], benchLimit)
		if err != nil || !d.Allowed {
			b.Fatalf("Hit = %+v, %v", d, err)
		}
		i++
	}
}

// BenchmarkMemoryHitParallel is Memory Hits from GOMAXPROCS goroutines
// contending for its mutex.
func BenchmarkMemoryHitParallel(b *testing.B) {
	m := NewMemory(nil)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		var i int
		for pb.Next() {
			d, err := m.Hit(ctx, benchKeys[i&1023], benchLimit)
			if err != nil || !d.Allowed {
				b.Errorf("Hit = %+v, %v", d, err)
				return
			}
			i++
		}
	})
}

// BenchmarkRedisHit is one Redis Hit (one EVALSHA round trip) with the real
// clock.
func BenchmarkRedisHit(b *testing.B) {
	h := newRedisHarness(b)
	store := NewRedis(h.client, h.prefix, nil)
	ctx := context.Background()
	var i int
	for b.Loop() {
		d, err := store.Hit(ctx, benchKeys[i&1023], benchLimit)
		if err != nil || !d.Allowed {
			b.Fatalf("Hit = %+v, %v", d, err)
		}
		i++
	}
}
