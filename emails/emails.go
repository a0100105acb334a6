// Package emails sends the emails restauth needs (password reset, email
// confirmation): a Message type, the Mailer interface with SMTP, console and
// in-memory implementations, and the names, data and default files of the
// templates.
//
// # Templates
//
// Each email (TemplatePasswordReset, TemplateEmailConfirmation,
// TemplateAccountAlreadyExists) is made of
// three files named after it: NAME_subject.txt (the subject), NAME.txt (the
// plain-text body) and NAME.html (the HTML alternative). The defaults are in
// DefaultTemplates. An app overrides any of them by putting a file of the
// same name at the root of the fs.FS it gives restauth.Config.EmailTemplates;
// the files it does not hold keep their defaults, and files of other names
// are ignored. Subjects and text bodies are text/template files, HTML bodies
// html/template files (so only HTML is escaped); the data is a
// PasswordResetData, an EmailConfirmationData or an
// AccountAlreadyExistsData. Using a field or key the
// data lacks is an error when the email is rendered, never "<no value>" in a
// sent email. The rendered subject is
// flattened to one trimmed line (line breaks, other control characters and
// runs of white space become single spaces), bodies are trimmed, and an HTML
// file that renders to blanks only drops the HTML alternative. Every file is
// parsed when restauth.New runs, which refuses a broken one and names it.
package emails

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
)

// ErrInvalidMessage is wrapped by the error Message.Validate returns, and so
// by every Mailer in this package when it refuses a message.
var ErrInvalidMessage = errors.New("emails: invalid message")

// Message is one email ready to send.
type Message struct {
	// To lists the recipients, as "addr@example.com" or
	// "Name <addr@example.com>".
	To []string
	// Subject is the single-line subject.
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML is the optional HTML alternative of Text.
	HTML string
}

// Validate reports whether m can be sent safely: it needs at least one
// recipient, every recipient must be a valid address, and neither recipients
// nor Subject may contain CR or LF (header injection). The error wraps
// ErrInvalidMessage.
func (m Message) Validate() error {
	if len(m.To) == 0 {
		return fmt.Errorf("%w: no recipient", ErrInvalidMessage)
	}
	for i, to := range m.To {
		if hasLineBreak(to) {
			return fmt.Errorf("%w: recipient %d contains a line break", ErrInvalidMessage, i)
		}
		if _, err := mail.ParseAddress(to); err != nil {
			return fmt.Errorf("%w: recipient %d: %w", ErrInvalidMessage, i, err)
		}
	}
	if hasLineBreak(m.Subject) {
		return fmt.Errorf("%w: subject contains a line break", ErrInvalidMessage)
	}
	return nil
}

// clone returns a copy of m that shares no memory with it.
func (m Message) clone() Message {
	m.To = append([]string(nil), m.To...)
	return m
}

func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\r\n") }

// Mailer sends messages. Send must be safe for concurrent use and must not
// log message bodies: they carry secrets such as password reset links.
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// MailerFunc adapts a function to Mailer.
type MailerFunc func(ctx context.Context, m Message) error

// Send calls f(ctx, m).
func (f MailerFunc) Send(ctx context.Context, m Message) error { return f(ctx, m) }
