package main

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/emails"
)

// outboxSize is how many e-mails the dev outbox keeps.
const outboxSize = 50

// devOutbox is the mailer of EXAMPLE_DEV_OUTBOX=true: it hands every
// message to the configured mailer (console or SMTP), as without it, and
// keeps the last outboxSize in memory for the /outbox page. Development
// only: the page shows reset links and confirmation keys to anyone who
// can reach the server.
type devOutbox struct {
	next emails.Mailer
	now  func() time.Time

	mu    sync.Mutex
	mails []outboxMail // oldest first, at most outboxSize
}

// outboxMail is one kept e-mail, as /outbox.json shows it.
type outboxMail struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
	HTML    string   `json:"html"`
	Sent    string   `json:"sent"` // RFC 3339, UTC
}

// newDevOutbox returns an outbox in front of next.
func newDevOutbox(next emails.Mailer) *devOutbox {
	return &devOutbox{next: next, now: time.Now}
}

// Send keeps a valid m, then sends it through the wrapped mailer and
// returns that mailer's error (a message the mailer fails to send stays
// listed, which is what a developer wants to see).
func (o *devOutbox) Send(ctx context.Context, m emails.Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	kept := outboxMail{
		To: append([]string(nil), m.To...), Subject: m.Subject, Text: m.Text, HTML: m.HTML,
		Sent: o.now().UTC().Format(time.RFC3339),
	}
	o.mu.Lock()
	o.mails = append(o.mails, kept)
	if n := len(o.mails); n > outboxSize {
		o.mails = append([]outboxMail(nil), o.mails[n-outboxSize:]...)
	}
	o.mu.Unlock()
	return o.next.Send(ctx, m)
}

// Mails returns the kept e-mails, newest first.
func (o *devOutbox) Mails() []outboxMail {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]outboxMail, len(o.mails))
	for i, m := range o.mails {
		m.To = append([]string(nil), m.To...)
		out[len(out)-1-i] = m
	}
	return out
}

// json answers GET /outbox.json.
func (o *devOutbox) json(c *gin.Context) { c.JSON(http.StatusOK, o.Mails()) }

// page answers GET /outbox: the kept e-mails as HTML, escaped by
// html/template, each text body with its http(s) URLs as links.
func (o *devOutbox) page(c *gin.Context) {
	type shownMail struct {
		outboxMail
		Body []textPart
	}
	mails := o.Mails()
	shown := make([]shownMail, len(mails))
	for i, m := range mails {
		shown[i] = shownMail{m, linkify(m.Text)}
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	if err := outboxPage.Execute(c.Writer, shown); err != nil {
		_ = c.Error(err)
	}
}

// textPart is a piece of a text body: plain text, or a URL to link.
type textPart struct {
	Text string
	URL  bool
}

// urlRe finds http(s) URLs in a text body.
var urlRe = regexp.MustCompile(`https?://[^\s<>"']+`)

// linkify cuts text into plain parts and URL parts. Punctuation that
// ends a sentence is left out of a URL.
func linkify(text string) []textPart {
	var parts []textPart
	rest := 0
	for _, loc := range urlRe.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		end = start + len(strings.TrimRight(text[start:end], ".,;:!?)"))
		if start > rest {
			parts = append(parts, textPart{Text: text[rest:start]})
		}
		parts = append(parts, textPart{Text: text[start:end], URL: true})
		rest = end
	}
	if rest < len(text) {
		parts = append(parts, textPart{Text: text[rest:]})
	}
	return parts
}

// outboxPage is the /outbox page. html/template escapes every field, and
// keeps only safe URLs in href (the parts are http(s) anyway).
var outboxPage = template.Must(template.New("outbox").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Outbox — restauth demo</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header>
<h1>Outbox</h1>
<p>The last {{len .}} e-mail(s) the example sent, newest first (at most 50, kept in memory).
Development only (<code>EXAMPLE_DEV_OUTBOX=true</code>): these links log people in.</p>
<p><a href="/">Back to the demo page</a></p>
</header>
<main>
{{- range .}}
<article class="mail">
<h2 class="subject">{{.Subject}}</h2>
<p class="meta">To: <span class="to">{{range $i, $to := .To}}{{if $i}}, {{end}}{{$to}}{{end}}</span>
· sent <time datetime="{{.Sent}}">{{.Sent}}</time></p>
<pre class="body">{{range .Body}}{{if .URL}}<a href="{{.Text}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}{{end}}</pre>
</article>
{{- else}}
<p class="empty">No e-mail yet. Sign up, ask for a password reset or resend a verification e-mail on the demo page.</p>
{{- end}}
</main>
</body>
</html>
`))
