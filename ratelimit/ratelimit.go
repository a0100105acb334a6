// Package ratelimit counts events per key with the generic cell rate
// algorithm (GCRA) and answers whether one more is allowed.
//
// A Limit of Count events per Window has the emission interval
// T = Window/Count and a burst of Count: a fresh key may take Count events at
// once, then one more every T. The only state per key is its theoretical
// arrival time (TAT); a key whose TAT is in the past is indistinguishable
// from a key never seen, so stores forget it.
//
// Two stores implement [Store]: [Memory] for a single process and [Redis]
// for several instances sharing the counts. Neither decides what to do when
// the store fails; callers choose to fail open or closed on a returned error.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalidLimit is wrapped by the error returned for a Limit that cannot be
// enforced (see [Limit.Validate]).
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Limit allows Count events per Window for one key.
type Limit struct {
	// Count is the number of events allowed per Window, and the burst a
	// fresh key may take at once.
	Count int
	// Window is the period over which Count events are allowed.
	Window time.Duration
}

// Validate returns an error wrapping [ErrInvalidLimit] unless Count and
// Window are positive and the emission interval Window/Count is at least a
// microsecond (the resolution of the Redis store).
func (l Limit) Validate() error {
	switch {
	case l.Count <= 0:
		return fmt.Errorf("%w: Count is %d, must be positive", ErrInvalidLimit, l.Count)
	case l.Window <= 0:
		return fmt.Errorf("%w: Window is %v, must be positive", ErrInvalidLimit, l.Window)
	case l.Window/time.Duration(l.Count) < time.Microsecond:
		return fmt.Errorf("%w: Window/Count is %v, must be at least 1µs", ErrInvalidLimit, l.Window/time.Duration(l.Count))
	}
	return nil
}

// interval returns the emission interval T = Window/Count of a valid Limit.
func (l Limit) interval() time.Duration {
	return l.Window / time.Duration(l.Count)
}

// Decision is a store's answer.
type Decision struct {
	// Allowed reports whether the event is (or, from Peek, would be) allowed.
	Allowed bool
	// RetryAfter is the exact time until the next event would be allowed;
	// it is 0 when Allowed.
	RetryAfter time.Duration
	// Remaining is how many more events are allowed now, after this one
	// when Allowed; it is 0 when denied.
	Remaining int
}

// Store counts events per key. Implementations must be safe for concurrent
// use and atomic across instances sharing them.
type Store interface {
	// Hit records one event for key unless the limit is reached.
	Hit(ctx context.Context, key string, l Limit) (Decision, error)
	// Peek reports what Hit would decide, recording nothing.
	Peek(ctx context.Context, key string, l Limit) (Decision, error)
	// Reset forgets key (e.g. a successful password reset clears a lockout).
	Reset(ctx context.Context, key string) error
}

// gcra decides one event at now for a key whose stored TAT is tat (0 when
// absent), with emission interval t and burst count, times in nanoseconds.
// It returns the decision and the TAT to store when the event is allowed.
// The Lua script in redis.go is the same computation; keep them in step.
func gcra(now, tat, t, count int64) (Decision, int64) {
	tat = max(tat, now)
	newTAT := tat + t
	allowAt := newTAT - t*count
	if now < allowAt {
		return Decision{RetryAfter: time.Duration(allowAt - now)}, tat
	}
	return Decision{Allowed: true, Remaining: int((now - allowAt) / t)}, newTAT
}
