// Package hashlimit bounds how many password hashes run at once.
//
// A memory-hard hash such as the default Argon2id takes its memory (19 MiB)
// for the whole of its run, so a process that starts one hash per request
// needs that much per login in flight: two hundred concurrent logins would
// ask for nearly 4 GiB. Hashes beyond the cores do not make logins faster
// either, they only share the same CPUs. Hasher wraps a password.Hasher
// with a semaphore of a few slots (the cores, by default), a bounded queue
// of callers waiting for a slot, and a longest wait; a caller that finds
// the queue full, or whose wait runs out, gets an error wrapping ErrBusy
// at once instead of a hash, and the HTTP layer answers it with 503 and
// Retry-After.
//
// It knows nothing of HTTP or of the database.
package hashlimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/restauth/restauth/password"
)

// ErrBusy is wrapped by every error of a call that Hasher refused: all its
// slots were taken and the queue was full, or the wait for a slot ran out.
// No hash was computed.
var ErrBusy = errors.New("password hashing at capacity")

// BusyError is the error of a refused call; errors.Is(err, ErrBusy) holds.
type BusyError struct {
	// QueueFull is true when the queue was full (the call was refused at
	// once), false when the call waited its longest wait for a slot.
	QueueFull bool
	// RetryAfter is how long a client had better wait before trying again:
	// the longest wait, the time in which the queue drains at worst.
	RetryAfter time.Duration
}

// Error describes e.
func (e *BusyError) Error() string {
	if e.QueueFull {
		return fmt.Sprintf("restauth: %v: queue full", ErrBusy)
	}
	return fmt.Sprintf("restauth: %v: no slot within the wait", ErrBusy)
}

// Is reports whether target is ErrBusy.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Limits size a Hasher.
type Limits struct {
	// Slots is how many hashes run at once; at least 1.
	Slots int
	// Queue is how many callers may wait for a slot; 0 or less refuses
	// a call at once when every slot is taken.
	Queue int
	// Wait is the longest a caller waits for a slot; 0 or less waits as
	// long as the queue takes.
	Wait time.Duration
}

// Hasher is a password.Hasher that runs at most Limits.Slots hashes of
// the hasher it wraps at once. It is safe for concurrent use. When a slot
// is free a call costs two channel operations more than the wrapped one.
type Hasher struct {
	inner password.Hasher
	// slots holds a value per running hash.
	slots chan struct{}
	// queue holds a value per caller waiting for a slot (nil: no queue).
	queue chan struct{}
	wait  time.Duration
}

// New returns a Hasher around h; a Limits.Slots below 1 counts as 1.
func New(h password.Hasher, l Limits) *Hasher {
	x := &Hasher{inner: h, slots: make(chan struct{}, max(l.Slots, 1)), wait: l.Wait}
	if l.Queue > 0 {
		x.queue = make(chan struct{}, l.Queue)
	}
	return x
}

// Hash runs the wrapped Hash in a slot, or returns an error wrapping
// ErrBusy.
func (x *Hasher) Hash(pw string) (string, error) {
	if err := x.acquire(); err != nil {
		return "", err
	}
	defer x.release()
	return x.inner.Hash(pw)
}

// Verify runs the wrapped Verify in a slot, or returns false and an error
// wrapping ErrBusy. An unusable encoded string, which costs no hashing,
// gives (false, nil) without taking a slot; so an account without a
// usable password waits for a slot once (for the login's timing
// equaliser), as a real one does.
func (x *Hasher) Verify(pw, encoded string) (bool, error) {
	if !password.IsUsable(encoded) {
		return false, nil
	}
	if err := x.acquire(); err != nil {
		return false, err
	}
	defer x.release()
	return x.inner.Verify(pw, encoded)
}

// NeedsRehash asks the wrapped hasher; it hashes nothing and takes no
// slot.
func (x *Hasher) NeedsRehash(encoded string) bool { return x.inner.NeedsRehash(encoded) }

// Unwrap returns the wrapped hasher.
func (x *Hasher) Unwrap() password.Hasher { return x.inner }

// Running is how many hashes run now.
func (x *Hasher) Running() int { return len(x.slots) }

// Waiting is how many callers wait for a slot now.
func (x *Hasher) Waiting() int { return len(x.queue) }

// acquire takes a slot, waiting in the queue if there is room there and
// for at most the longest wait.
func (x *Hasher) acquire() error {
	select {
	case x.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case x.queue <- struct{}{}: // a nil queue never takes a value
	default:
		return &BusyError{QueueFull: true, RetryAfter: x.retryAfter()}
	}
	defer func() { <-x.queue }()
	// Waiting senders of a channel are served in arrival order: the queue
	// is first come, first served.
	if x.wait <= 0 {
		x.slots <- struct{}{}
		return nil
	}
	t := time.NewTimer(x.wait)
	defer t.Stop()
	select {
	case x.slots <- struct{}{}:
		return nil
	case <-t.C:
		return &BusyError{RetryAfter: x.retryAfter()}
	}
}

// release frees a slot; deferred, so that a panicking hasher frees it
// too.
func (x *Hasher) release() { <-x.slots }

// retryAfter is the RetryAfter of a refusal: the longest wait (one second
// without one).
func (x *Hasher) retryAfter() time.Duration {
	if x.wait <= 0 {
		return time.Second
	}
	return x.wait
}
