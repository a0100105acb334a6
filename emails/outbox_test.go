package emails_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/restauth/restauth/emails"
)

func TestOutbox(t *testing.T) {
	var o emails.Outbox
	if _, ok := o.Last(); ok || o.Len() != 0 || len(o.Messages()) != 0 {
		t.Fatal("zero Outbox is not empty")
	}
	ctx := context.Background()
	to := []string{"a@example.com"}
	for i := range 3 {
		if err := o.Send(ctx, emails.Message{To: to, Subject: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	to[0] = "changed@example.com" // the outbox keeps its own copy
	if o.Len() != 3 {
		t.Fatalf("Len = %d, want 3", o.Len())
	}
	last, ok := o.Last()
	if !ok || last.Subject != "2" || last.To[0] != "a@example.com" {
		t.Fatalf("Last = %+v, %v", last, ok)
	}
	msgs := o.Messages()
	msgs[0].To[0] = "mutated@example.com"
	if got := o.Messages()[0]; got.Subject != "0" || got.To[0] != "a@example.com" {
		t.Fatalf("Messages()[0] = %+v; Messages must return copies", got)
	}
	if err := o.Send(ctx, emails.Message{To: []string{"a@example.com"}, Subject: "x\r\ny"}); !errors.Is(err, emails.ErrInvalidMessage) {
		t.Fatalf("Send of injected subject = %v, want ErrInvalidMessage", err)
	}
	o.Reset()
	if o.Len() != 0 {
		t.Fatalf("Len after Reset = %d", o.Len())
	}
}

func TestOutboxConcurrentAndWait(t *testing.T) {
	var o emails.Outbox
	const n = 50
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	waitErr := make(chan error, 1)
	go func() { waitErr <- o.Wait(ctx, n) }()

	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.Send(context.Background(), emails.Message{To: []string{"a@example.com"}, Subject: fmt.Sprint(i)}); err != nil {
				t.Error(err)
			}
			_ = o.Len()
			_, _ = o.Last()
			_ = o.Messages()
		}()
	}
	wg.Wait()
	if err := <-waitErr; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if o.Len() != n {
		t.Fatalf("Len = %d, want %d", o.Len(), n)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := o.Wait(short, n+1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait for a message that never comes = %v, want DeadlineExceeded", err)
	}
}
