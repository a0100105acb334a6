package ratelimit

import (
	"context"
	"sync"
	"time"
)

// memorySweepMin is the map size below which Memory never sweeps.
const memorySweepMin = 1024

// Memory is an in-process [Store]: a mutex-guarded map from key to TAT. It
// suits a single instance; several processes each keep their own counts.
//
// Memory's size is bounded: when an insertion brings the map to its sweep
// threshold, every entry whose TAT has passed is dropped (the live ones are
// copied into a fresh map, so the old one's memory is released too), and the
// threshold becomes max(1024, 2×live). The map therefore never holds more
// than max(1024, 2×L) entries, where L is the number of keys still limited
// (an allowed Hit within their Window) at the last sweep; sweeping costs
// amortised O(1) per new key. An entry lives at most Window after its key's
// last allowed Hit.
type Memory struct {
	now func() time.Time

	mu      sync.Mutex
	tats    map[string]int64 // key → TAT in Unix nanoseconds
	sweepAt int              // len(tats) at which the next insertion sweeps
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store reading the time from now
// (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tats: make(map[string]int64), sweepAt: memorySweepMin}
}

// Hit records one event for key unless l is reached. The error is non-nil
// only for an invalid l; ctx is not consulted.
func (m *Memory) Hit(_ context.Context, key string, l Limit) (Decision, error) {
	return m.decide(key, l, true)
}

// Peek reports what Hit would decide, recording nothing. The error is non-nil
// only for an invalid l; ctx is not consulted.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Decision, error) {
	return m.decide(key, l, false)
}

// Reset forgets key. It never fails.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.tats, key)
	m.mu.Unlock()
	return nil
}

func (m *Memory) decide(key string, l Limit, record bool) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	t := int64(l.interval())
	count := int64(l.Count)
	now := m.now().UnixNano()

	m.mu.Lock()
	defer m.mu.Unlock()
	tat, known := m.tats[key]
	d, newTAT := gcra(now, tat, t, count)
	if record && d.Allowed {
		m.tats[key] = newTAT
		if !known && len(m.tats) >= m.sweepAt {
			m.sweep(now)
		}
	}
	return d, nil
}

// sweep replaces the map by one holding only the entries whose TAT is after
// now, and sets the next threshold. m.mu must be held.
func (m *Memory) sweep(now int64) {
	live := 0
	for _, tat := range m.tats {
		if tat > now {
			live++
		}
	}
	m.sweepAt = max(memorySweepMin, 2*live)
	fresh := make(map[string]int64, live)
	for key, tat := range m.tats {
		if tat > now {
			fresh[key] = tat
		}
	}
	m.tats = fresh
}
