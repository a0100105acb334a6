package emails

import (
	"context"
	"fmt"
	"sync"
)

// Outbox is an in-memory Mailer for tests: it keeps every message it is
// given. Its zero value is ready to use and its methods are safe for
// concurrent use.
type Outbox struct {
	mu      sync.Mutex
	msgs    []Message
	changed chan struct{}
}

// Send validates m like the SMTP mailer does and stores a copy of it.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emails: outbox send: %w", err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, m.clone())
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return nil
}

// Messages returns a copy of the stored messages, oldest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.msgs))
	for i, m := range o.msgs {
		out[i] = m.clone()
	}
	return out
}

// Last returns the most recent message, and false when there is none.
func (o *Outbox) Last() (Message, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.msgs) == 0 {
		return Message{}, false
	}
	return o.msgs[len(o.msgs)-1].clone(), true
}

// Len returns the number of stored messages.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

// Reset forgets every stored message.
func (o *Outbox) Reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = nil
}

// Wait blocks until the outbox holds at least n messages or ctx is done, in
// which case it returns an error wrapping ctx.Err().
func (o *Outbox) Wait(ctx context.Context, n int) error {
	for {
		o.mu.Lock()
		got := len(o.msgs)
		if got >= n {
			o.mu.Unlock()
			return nil
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("emails: outbox holds %d message(s), want %d: %w", got, n, ctx.Err())
		}
	}
}
