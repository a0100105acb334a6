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
//
// # Languages
//
// An email is written in the language of the request that causes it
// (its Accept-Language header, or what restauth.Config.Language returns),
// negotiated against the languages of restauth.Config.Catalog: English
// when none matches. Every template, default or override, may call three
// functions:
//
//   - t "KEY" renders the catalog message KEY in the email's language with
//     the email's data, so {{.SiteName}} in the message is the data's
//     SiteName, wherever t is called (inside {{with}} or {{range}} too). A
//     key in no catalog, or a message using a field the data lacks, is an
//     error when the email is rendered. The default templates take every
//     sentence from the "email.*" messages of package locales; an app
//     changes a wording in any language with Catalog.AddMessages, or adds
//     keys of its own for its overrides.
//   - lang returns the language's BCP 47 tag, such as "fr" or "pt-BR".
//   - dir returns "rtl" for languages written right to left (Arabic,
//     Persian, Hebrew, ...) and "ltr" for the others.
//
// The default HTML files start with <html lang="{{lang}}" dir="{{dir}}">.
// Overrides that use none of these functions keep working as they are,
// in every language.
//
// Besides its root files, the override fs.FS may hold a directory named
// by a language tag, such as "de" or "pt-BR", with files of the same
// names: "de/password_reset.txt", "pt-BR/email_confirmation_subject.txt".
// For an email in language L each file is taken from the directory L
// when it has it, else from the root of the override, else from the
// defaults. L is the catalog language the request was matched to (a
// request for de-AT uses the directory "de" of the catalog language de);
// the directory name is compared as a language tag, so "pt-br" serves
// pt-BR. The files of every such directory are parsed by restauth.New
// like the root ones; directories whose names are not language tags are
// ignored, and one named by a tag the catalog has no language for ("nb"
// without a Norwegian catalog, "en-US") makes restauth.New fail, since it
// would never be used.
//
// Message.Language is set to the language an email was rendered in, and
// sent as the Content-Language header; it is left empty when a part of
// the email comes from a root override that uses neither t nor lang, whose
// language restauth cannot know.
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
	// Language is the BCP 47 tag of the language the message is written
	// in ("fr", "pt-BR"), or empty when it is not known. restauth sets it
	// to the language it rendered the email in; the SMTP mailer sends it
	// as the Content-Language header. It may also list several tags
	// separated by commas, as that header allows.
	Language string
}

// Validate reports whether m can be sent safely: it needs at least one
// recipient, every recipient must be a valid address, neither recipients
// nor Subject may contain CR or LF (header injection), and Language, when
// set, must be a comma-separated list of language tags. The error wraps
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
	if m.Language != "" && !validLanguageList(m.Language) {
		return fmt.Errorf("%w: language %q is not a comma-separated list of language tags", ErrInvalidMessage, m.Language)
	}
	return nil
}

// validLanguageList reports whether s is a Content-Language value: one or
// more language tags separated by commas (and optional spaces), each made
// of ASCII letters, digits and hyphens and starting with a letter. It
// checks the syntax only, which is what keeps the header well-formed.
func validLanguageList(s string) bool {
	for tag := range strings.SplitSeq(s, ",") {
		tag = strings.Trim(tag, " ")
		if tag == "" || len(tag) > 64 || !isASCIILetter(tag[0]) {
			return false
		}
		for i := range len(tag) {
			if c := tag[i]; !isASCIILetter(c) && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

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
