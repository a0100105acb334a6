package emails

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Console returns a Mailer that writes each message (To and Subject headers,
// then the text body, or the HTML body when there is no text) to w, one
// message at a time. It is meant for development: unlike other mailers it
// prints bodies, secrets included.
func Console(w io.Writer) Mailer {
	return &consoleMailer{w: w}
}

type consoleMailer struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *consoleMailer) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emails: console send: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\nSubject: %s\n\n", strings.Join(m.To, ", "), m.Subject)
	body := m.Text
	if body == "" {
		body = m.HTML
	}
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat("-", 72) + "\n")

	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.w, b.String()); err != nil {
		return fmt.Errorf("emails: console send: %w", err)
	}
	return nil
}
