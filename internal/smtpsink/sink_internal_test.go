package smtpsink

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestWaitFor checks, on synctest's fake clock, that WaitFor blocks until
// enough messages arrive and gives up exactly at its timeout.
func TestWaitFor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		s := &Sink{changed: make(chan struct{})}
		type result struct {
			n   int
			err error
		}
		got := make(chan result, 1)
		start := time.Now()
		go func() {
			msgs, err := s.WaitFor(2, time.Minute)
			got <- result{len(msgs), err}
		}()
		synctest.Wait()
		s.record(Received{From: "a@example.com"})
		synctest.Wait()
		select {
		case r := <-got:
			t.Fatalf("WaitFor(2) returned %d, %v after one message", r.n, r.err)
		default:
		}
		s.record(Received{From: "b@example.com"})
		if r := <-got; r.n != 2 || r.err != nil {
			t.Fatalf("WaitFor(2) = %d, %v, want 2 messages", r.n, r.err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("WaitFor took %s of fake time, want none", d)
		}

		msgs, err := s.WaitFor(3, time.Minute)
		if err == nil || len(msgs) != 2 {
			t.Fatalf("WaitFor(3) = %d, %v, want the 2 messages and a timeout", len(msgs), err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Fatalf("WaitFor gave up after %s, want 1m0s", d)
		}
	})
}
