package hashlimit_test

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/hashlimit"
	"github.com/restauth/restauth/password"
)

// gate is a fake hasher whose Hash and Verify report that they started on
// entered and then wait for a value on release; it records how many run
// at once, and the most.
type gate struct {
	entered chan struct{}
	release chan struct{}
	now     atomic.Int64
	most    atomic.Int64
	// panics makes Hash panic instead of waiting.
	panics bool
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 100), release: make(chan struct{}, 100)}
}

func (g *gate) run() {
	n := g.now.Add(1)
	defer g.now.Add(-1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	g.entered <- struct{}{}
	<-g.release
}

func (g *gate) Hash(pw string) (string, error) {
	if g.panics {
		panic("hasher exploded")
	}
	g.run()
	return "fake$" + pw, nil
}

func (g *gate) Verify(pw, encoded string) (bool, error) {
	g.run()
	return encoded == "fake$"+pw, nil
}

func (g *gate) NeedsRehash(encoded string) bool { return strings.HasPrefix(encoded, "old$") }

// waitFor polls cond (yielding the processor) until it holds or the test
// has waited too long.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestSlotsHonoured(t *testing.T) {
	t.Parallel()
	g := newGate()
	x := hashlimit.New(g, hashlimit.Limits{Slots: 3, Queue: 10, Wait: time.Hour})
	const calls = 7
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = x.Hash("pw")
			} else {
				_, err = x.Verify("pw", "fake$pw")
			}
			errs <- err
		})
	}
	for range 3 {
		<-g.entered
	}
	// The other four wait in the limiter, not in the hasher.
	waitFor(t, "four callers queued", func() bool { return x.Waiting() == calls-3 })
	if got := x.Running(); got != 3 {
		t.Fatalf("Running = %d, want 3", got)
	}
	if got := g.now.Load(); got != 3 {
		t.Fatalf("%d hashes in the hasher, want 3", got)
	}
	// Each hash that ends lets exactly one waiter in.
	for left := calls - 3; left > 0; left-- {
		g.release <- struct{}{}
		<-g.entered
		waitFor(t, "a waiter to take the slot", func() bool { return x.Waiting() == left-1 })
	}
	for range 3 {
		g.release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call failed: %v", err)
		}
	}
	if m := g.most.Load(); m != 3 {
		t.Errorf("at most %d hashes ran at once, want 3", m)
	}
	if x.Running() != 0 || x.Waiting() != 0 {
		t.Errorf("after the calls: Running %d, Waiting %d", x.Running(), x.Waiting())
	}
}

// fill takes every slot of x with a gated Verify and puts queued callers
// in its queue; it returns a function that lets them all finish and
// waits for them.
func fill(t *testing.T, g *gate, x *hashlimit.Hasher, slots, queued int) func() {
	t.Helper()
	var wg sync.WaitGroup
	for range slots + queued {
		wg.Go(func() {
			if _, err := x.Verify("pw", "fake$pw"); err != nil {
				t.Errorf("a call that had room failed: %v", err)
			}
		})
	}
	for range slots {
		<-g.entered
	}
	waitFor(t, "the queue to fill", func() bool { return x.Waiting() == queued })
	return func() {
		for range slots + queued {
			g.release <- struct{}{}
		}
		wg.Wait()
	}
}

func TestQueueFullRefusesAtOnce(t *testing.T) {
	t.Parallel()
	g := newGate()
	// An hour's wait: a refusal that came from the wait would hang the
	// test.
	x := hashlimit.New(g, hashlimit.Limits{Slots: 2, Queue: 2, Wait: time.Hour})
	done := fill(t, g, x, 2, 2)
	_, err := x.Hash("pw")
	var be *hashlimit.BusyError
	if !errors.Is(err, hashlimit.ErrBusy) || !errors.As(err, &be) || !be.QueueFull || be.RetryAfter != time.Hour {
		t.Errorf("Hash with the queue full: %v (%+v), want a BusyError with QueueFull", err, be)
	}
	ok, err := x.Verify("pw", "fake$pw")
	if ok || !errors.Is(err, hashlimit.ErrBusy) {
		t.Errorf("Verify with the queue full: %v, %v", ok, err)
	}
	if strings.Contains(err.Error(), "pw") {
		t.Errorf("error %q shows the password", err)
	}
	if n := g.now.Load(); n != 2 {
		t.Errorf("%d hashes ran, want 2: a refused call must not reach the hasher", n)
	}
	done()
	// Room again (the gate lets this one through at once).
	g.release <- struct{}{}
	if h, err := x.Hash("pw"); err != nil || h != "fake$pw" {
		t.Fatalf("Hash after the load: %q, %v", h, err)
	}
}

func TestNoQueue(t *testing.T) {
	t.Parallel()
	g := newGate()
	x := hashlimit.New(g, hashlimit.Limits{Slots: 1, Queue: 0, Wait: time.Hour})
	done := fill(t, g, x, 1, 0)
	var be *hashlimit.BusyError
	if _, err := x.Hash("pw"); !errors.As(err, &be) || !be.QueueFull {
		t.Errorf("Hash with the slot taken and no queue: %v, want QueueFull", err)
	}
	done()
}

func TestWaitRunsOut(t *testing.T) {
	t.Parallel()
	g := newGate()
	const wait = 20 * time.Millisecond
	x := hashlimit.New(g, hashlimit.Limits{Slots: 1, Queue: 5, Wait: wait})
	done := fill(t, g, x, 1, 0)
	start := time.Now()
	_, err := x.Hash("pw")
	waited := time.Since(start)
	var be *hashlimit.BusyError
	if !errors.As(err, &be) || be.QueueFull || !errors.Is(err, hashlimit.ErrBusy) || be.RetryAfter != wait {
		t.Errorf("Hash after the wait: %v (%+v), want a BusyError of the wait", err, be)
	}
	if waited < wait {
		t.Errorf("refused after %v, before the wait of %v", waited, wait)
	}
	if x.Waiting() != 0 {
		t.Errorf("Waiting = %d after the refusal, want 0 (it left the queue)", x.Waiting())
	}
	if n := g.now.Load(); n != 1 {
		t.Errorf("%d hashes running, want the one that held the slot", n)
	}
	done()
}

func TestPanicFreesTheSlot(t *testing.T) {
	t.Parallel()
	g := newGate()
	g.panics = true
	x := hashlimit.New(g, hashlimit.Limits{Slots: 1, Queue: 0, Wait: time.Hour})
	for i := range 3 {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("call %d: the hasher's panic did not reach the caller", i)
				}
			}()
			_, _ = x.Hash("pw")
		}()
		// With one slot and no queue, a leaked slot would refuse the
		// next call instead of panicking again.
		if x.Running() != 0 {
			t.Fatalf("call %d: the slot stayed taken after the panic", i)
		}
	}
}

func TestUnusableTakesNoSlot(t *testing.T) {
	t.Parallel()
	g := newGate()
	x := hashlimit.New(g, hashlimit.Limits{Slots: 1, Queue: 0, Wait: time.Hour})
	done := fill(t, g, x, 1, 0)
	for _, enc := range []string{"", "!unusable"} {
		if ok, err := x.Verify("pw", enc); ok || err != nil {
			t.Errorf("Verify(%q) with every slot taken = %v, %v; want false, nil without a slot", enc, ok, err)
		}
	}
	if !x.NeedsRehash("old$x") || x.NeedsRehash("fake$x") {
		t.Error("NeedsRehash does not ask the wrapped hasher")
	}
	done()
}

func TestFreeSlotPassesThrough(t *testing.T) {
	t.Parallel()
	inner := password.PBKDF2{Iterations: 1000}
	x := hashlimit.New(inner, hashlimit.Limits{Slots: 1})
	h, err := x.Hash("secret")
	if err != nil || !strings.HasPrefix(h, "pbkdf2_sha256$") {
		t.Fatalf("Hash = %q, %v", h, err)
	}
	if ok, err := x.Verify("secret", h); !ok || err != nil {
		t.Errorf("Verify(right) = %v, %v", ok, err)
	}
	if ok, err := x.Verify("wrong", h); ok || err != nil {
		t.Errorf("Verify(wrong) = %v, %v", ok, err)
	}
	if _, err := x.Verify("secret", "nope$x"); !errors.Is(err, password.ErrUnknownFormat) {
		t.Errorf("Verify(unknown format) error %v, want the wrapped hasher's", err)
	}
	if x.Unwrap() != password.Hasher(inner) {
		t.Error("Unwrap does not return the wrapped hasher")
	}
	if x.Running() != 0 {
		t.Errorf("Running = %d after the calls", x.Running())
	}
}
