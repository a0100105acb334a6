package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func (m *Memory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tats)
}

// TestMemoryBounded fills Memory with 100k keys still limited (all kept),
// lets their windows pass, then hits 100k other keys each of whose window
// passes before the next: the map must shrink back under the sweep minimum.
func TestMemoryBounded(t *testing.T) {
	t.Parallel()
	const n = 100_000
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	ctx := t.Context()
	l := Limit{Count: 1, Window: time.Minute}
	for i := range n {
		if d, err := m.Hit(ctx, "live-"+strconv.Itoa(i), l); err != nil || !d.Allowed {
			t.Fatalf("Hit(live-%d) = %+v, %v", i, d, err)
		}
	}
	if got := m.size(); got != n {
		t.Fatalf("after %d live keys size = %d, want all kept", n, got)
	}
	// Every live key is still limited: sweeps dropped none.
	for _, i := range []int{0, 1, memorySweepMin, n / 2, n - 1} {
		if d, err := m.Peek(ctx, "live-"+strconv.Itoa(i), l); err != nil || d.Allowed {
			t.Fatalf("Peek(live-%d) = %+v, %v; want denied", i, d, err)
		}
	}
	clock.Advance(l.Window)
	short := Limit{Count: 1, Window: time.Millisecond}
	peak := 0
	for i := range n {
		if d, err := m.Hit(ctx, "gone-"+strconv.Itoa(i), short); err != nil || !d.Allowed {
			t.Fatalf("Hit(gone-%d) = %+v, %v", i, d, err)
		}
		clock.Advance(short.Window)
		peak = max(peak, m.size())
	}
	if got := m.size(); got > memorySweepMin {
		t.Fatalf("after %d expired keys size = %d, want at most %d", n, got, memorySweepMin)
	}
	// The documented bound, max(1024, 2×live at the last sweep), with at
	// most n keys ever live at once.
	if peak > 2*n {
		t.Fatalf("peak size = %d, want at most %d", peak, 2*n)
	}
}

// TestMemorySweepKeepsLimitedKeys forces many sweeps while one key is
// limited: the key stays denied, with the same RetryAfter.
func TestMemorySweepKeepsLimitedKeys(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m := NewMemory(clock.Now)
	ctx := t.Context()
	l := Limit{Count: 2, Window: time.Hour}
	for range l.Count {
		if _, err := m.Hit(ctx, "limited", l); err != nil {
			t.Fatal(err)
		}
	}
	short := Limit{Count: 1, Window: time.Millisecond}
	for i := range 10 * memorySweepMin {
		if _, err := m.Hit(ctx, strconv.Itoa(i), short); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	elapsed := time.Duration(10*memorySweepMin) * time.Millisecond
	if got := m.size(); got > memorySweepMin {
		t.Fatalf("size = %d, want at most %d: no sweep ran", got, memorySweepMin)
	}
	d, err := m.Hit(ctx, "limited", l)
	if err != nil || d.Allowed || d.RetryAfter != l.Window/2-elapsed {
		t.Fatalf("Hit(limited) after sweeps = %+v, %v; want denied for %v", d, err, l.Window/2-elapsed)
	}
}
