// Package mail renders restauth's emails and sends them in the
// background, so a request answers in the same time whether or not an
// email goes out. Shutdown waits for the sends in flight.
package mail

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/restauth/restauth/emails"
)

// sendTimeout bounds one send.
const sendTimeout = time.Minute

// Sender sends rendered emails through a Mailer.
type Sender struct {
	mailer    emails.Mailer
	templates *emails.Templates
	log       *slog.Logger
	onError   func(ctx context.Context, m emails.Message, err error)
	wg        sync.WaitGroup
}

// New returns a Sender.
func New(m emails.Mailer, t *emails.Templates, log *slog.Logger, onError func(context.Context, emails.Message, error)) *Sender {
	return &Sender{mailer: m, templates: t, log: log, onError: onError}
}

// Send renders template name with data for to and sends it in the
// background; a rendering error is returned, a sending error logged (and
// told to the error hook).
func (s *Sender) Send(ctx context.Context, name string, data any, to string) error {
	msg, err := s.templates.Render(name, data)
	if err != nil {
		return err
	}
	msg.To = []string{to}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
		defer cancel()
		if err := s.mailer.Send(ctx, msg); err != nil {
			s.log.ErrorContext(ctx, "restauth: send email", "template", name, "err", err)
			if s.onError != nil {
				s.onError(ctx, msg, err)
			}
		}
	}()
	return nil
}

// Shutdown waits until every email started so far has been handed to the
// mailer (or failed), or ctx ends.
func (s *Sender) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
