package emails_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/restauth/restauth/emails"
)

func TestConsole(t *testing.T) {
	tests := []struct {
		name string
		msg  emails.Message
		want string
	}{
		{
			name: "text body",
			msg:  emails.Message{To: []string{"a@example.com", "b@example.com"}, Subject: "Reset", Text: "Go to https://x/reset\n", HTML: "<p>ignored</p>"},
			want: "To: a@example.com, b@example.com\nSubject: Reset\n\nGo to https://x/reset\n" + strings.Repeat("-", 72) + "\n",
		},
		{
			name: "HTML only, newline added",
			msg:  emails.Message{To: []string{"a@example.com"}, Subject: "Hi", HTML: "<p>hi</p>"},
			want: "To: a@example.com\nSubject: Hi\n\n<p>hi</p>\n" + strings.Repeat("-", 72) + "\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := emails.Console(&buf).Send(context.Background(), tc.msg); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("console wrote\n%q\nwant\n%q", buf.String(), tc.want)
			}
		})
	}
}

func TestConsoleRejects(t *testing.T) {
	var buf bytes.Buffer
	c := emails.Console(&buf)
	err := c.Send(context.Background(), emails.Message{To: []string{"a@example.com"}, Subject: "a\nb"})
	if !errors.Is(err, emails.ErrInvalidMessage) {
		t.Fatalf("error = %v, want ErrInvalidMessage", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(ctx, emails.Message{To: []string{"a@example.com"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("console wrote %q for refused messages", buf.String())
	}
}

// lineWriter records each Write call separately and fails the test when two
// calls overlap.
type lineWriter struct {
	mu     sync.Mutex
	busy   bool
	writes []string
	t      *testing.T
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.busy {
		w.t.Error("concurrent Write calls")
	}
	w.busy = true
	w.mu.Unlock()
	s := string(p)
	w.mu.Lock()
	w.writes = append(w.writes, s)
	w.busy = false
	w.mu.Unlock()
	return len(p), nil
}

func TestConsoleConcurrentMessagesStayWhole(t *testing.T) {
	w := &lineWriter{t: t}
	c := emails.Console(w)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Send(context.Background(), emails.Message{To: []string{"a@example.com"}, Subject: "s", Text: "body"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(w.writes) != 20 {
		t.Fatalf("got %d writes, want one per message (20)", len(w.writes))
	}
	for _, s := range w.writes {
		if !strings.HasPrefix(s, "To: a@example.com\n") || !strings.Contains(s, "\nbody\n") {
			t.Fatalf("write is not a whole message: %q", s)
		}
	}
}

func TestMailerFunc(t *testing.T) {
	var got emails.Message
	var m emails.Mailer = emails.MailerFunc(func(_ context.Context, msg emails.Message) error {
		got = msg
		return nil
	})
	want := emails.Message{To: []string{"a@example.com"}, Subject: "s"}
	if err := m.Send(context.Background(), want); err != nil || got.Subject != "s" || got.To[0] != "a@example.com" {
		t.Fatalf("MailerFunc passed %+v, %v", got, err)
	}
}
