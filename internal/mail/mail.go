// Package mail renders restauth's emails and sends them in the
// background, so a request answers in the same time whether or not an
// email goes out. Shutdown waits for the sends in flight.
package mail

import (
	"context"
	"io/fs"
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
	templates *templates
	log       *slog.Logger
	onError   func(ctx context.Context, m emails.Message, err error)
	wg        sync.WaitGroup
}

// New returns a Sender that renders the templates of override, falling
// back to emails.DefaultTemplates for each file override does not hold (a
// nil override means defaults only; see the emails package for the rules).
// Every template is parsed here: the error names the file that failed.
func New(m emails.Mailer, override fs.FS, log *slog.Logger, onError func(context.Context, emails.Message, error)) (*Sender, error) {
	t, err := parse(override)
	if err != nil {
		return nil, err
	}
	return &Sender{mailer: m, templates: t, log: log, onError: onError}, nil
}

// Send renders template name with data for to and sends it in the
// background; a rendering error is returned, a sending error logged (and
// told to the error hook).
func (s *Sender) Send(ctx context.Context, name string, data any, to string) error {
	msg, err := s.templates.render(name, data)
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
