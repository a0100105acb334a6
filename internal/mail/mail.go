// Package mail renders restauth's emails and sends them in the
// background, so a request answers in the same time whether or not an
// email goes out. Shutdown waits for the sends in flight.
//
// Each email is written in the language its context asks for (see
// WithLang), negotiated against the languages of a locales.Catalog;
// templates get the functions t (a catalog message in that language, with
// the email's data), lang (the language's BCP 47 tag) and dir ("rtl" or
// "ltr").
package mail

import (
	"context"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/locales"
)

// sendTimeout bounds one send.
const sendTimeout = time.Minute

// langKey is the context key of WithLang.
type langKey struct{}

// WithLang returns a copy of ctx that asks for emails in lang: a BCP 47
// tag ("de", "pt-BR") or an Accept-Language header value
// ("fr-CA, en;q=0.5"). Sender.Send writes an email sent with that context
// in the catalog language that serves lang best (Catalog.Match), English
// when lang matches none or no language was set. The endpoints call it
// with the language of the request that causes the email.
func WithLang(ctx context.Context, lang string) context.Context {
	return context.WithValue(ctx, langKey{}, lang)
}

// langFrom returns the language WithLang put in ctx, or "".
func langFrom(ctx context.Context) string {
	lang, _ := ctx.Value(langKey{}).(string)
	return lang
}

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
// nil override means defaults only; see the emails package for the rules),
// and takes the texts that templates ask for with t from catalog (nil
// means locales.New()). An email in language L takes each file from
// override's directory L (such as "de/password_reset.txt") when it has
// one, else from override's root, else from the defaults. Every template,
// those of every language directory included, is parsed here: the error
// names the file that failed.
func New(m emails.Mailer, override fs.FS, catalog *locales.Catalog, log *slog.Logger, onError func(context.Context, emails.Message, error)) (*Sender, error) {
	t, err := parse(override, catalog)
	if err != nil {
		return nil, err
	}
	return &Sender{mailer: m, templates: t, log: log, onError: onError}, nil
}

// Send renders template name with data for to, in the language ctx asks
// for (see WithLang), and sends it in the background; a rendering error is
// returned, a sending error logged (and told to the error hook). The
// message's Language is the language it was rendered in (empty when an
// override of unknown language was used; see render).
func (s *Sender) Send(ctx context.Context, name string, data any, to string) error {
	msg, err := s.templates.render(name, data, s.templates.catalog.Match(langFrom(ctx)))
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
			s.log.ErrorContext(ctx, "restauth: send email", "template", name, "lang", msg.Language, "err", err)
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
