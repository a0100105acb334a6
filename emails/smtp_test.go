package emails_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/smtpsink"
)

const testFrom = "Site <noreply@example.com>"

func newMailer(t *testing.T, cfg emails.SMTPConfig) *emails.SMTPMailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = testFrom
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	m, err := emails.NewSMTP(cfg)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return m
}

// expectNothing checks that the sink got no message. The sink records a
// message before it answers the final ".", so once Send has returned any
// message it delivered is already there.
func expectNothing(t *testing.T, sink *smtpsink.Sink) {
	t.Helper()
	if got := sink.Messages(); len(got) != 0 {
		t.Fatalf("sink received %d message(s), want none", len(got))
	}
}

// sendErr returns a target for errors.Is matching go-mail's permanent
// delivery error for reason.
func sendErr(reason mail.SendErrReason) error { return &mail.SendError{Reason: reason} }

// replyCode returns the SMTP reply code of the server refusal that err
// reports, or 0.
func replyCode(err error) int {
	var se *mail.SendError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestSMTPDelivers(t *testing.T) {
	t.Parallel()
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	resetText := "Hello bob,\n\nOpen https://example.com/reset/MQ/abc-123/?a=1&b=2\n" +
		".a line starting with a dot\n" + strings.Repeat("long line ", 30) + "\n\u00e9t\u00e9 \u2713\n"
	resetHTML := `<p>Hello <b>bob</b> &amp; co,</p><p><a href="https://example.com/reset/?a=1&amp;b=2">reset</a></p>` + "\n"

	tests := []struct {
		name     string
		sinkOpts []smtpsink.Option
		cfg      emails.SMTPConfig
		msg      emails.Message
		wantUser string
		wantMech string
		wantTLS  bool
	}{
		{
			name: "plain text, no TLS, no auth",
			cfg:  emails.SMTPConfig{TLS: emails.TLSNone},
			msg:  emails.Message{To: []string{"bob@example.com"}, Subject: "Password reset", Text: resetText},
		},
		{
			name: "text and HTML, several recipients, non-ASCII subject",
			cfg:  emails.SMTPConfig{TLS: emails.TLSNone, HELO: "app.example.com"},
			msg: emails.Message{
				To:       []string{"Bob Example <bob@example.com>", "alice@example.org"},
				Subject:  "R\u00e9initialisation du mot de passe \u2713",
				Text:     resetText,
				HTML:     resetHTML,
				Language: "fr",
			},
		},
		{
			name: "language with region, HTML only",
			cfg:  emails.SMTPConfig{TLS: emails.TLSNone},
			msg:  emails.Message{To: []string{"bob@example.com"}, Subject: "Ol\u00e1", HTML: resetHTML, Language: "pt-BR"},
		},
		{
			name: "several languages",
			cfg:  emails.SMTPConfig{TLS: emails.TLSNone},
			msg:  emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n", Language: "de, fr"},
		},
		{
			name: "HTML only",
			cfg:  emails.SMTPConfig{TLS: emails.TLSNone},
			msg:  emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", HTML: resetHTML},
		},
		{
			name:     "AUTH PLAIN without TLS on 127.0.0.1",
			sinkOpts: []smtpsink.Option{smtpsink.WithAuth("mailer", "s3cret pass")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone, Username: "mailer", Password: "s3cret pass"},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n"},
			wantUser: "mailer", wantMech: "PLAIN",
		},
		{
			name:     "AUTH LOGIN when the server offers only LOGIN",
			sinkOpts: []smtpsink.Option{smtpsink.WithAuth("mailer", "pw", "LOGIN")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone, Username: "mailer", Password: "pw"},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n"},
			wantUser: "mailer", wantMech: "LOGIN",
		},
		{
			name:     "mandatory STARTTLS with auth",
			sinkOpts: []smtpsink.Option{smtpsink.WithSTARTTLS(), smtpsink.WithAuth("mailer", "pw")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSMandatory, Username: "mailer", Password: "pw"},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n", HTML: "<p>body</p>\n"},
			wantUser: "mailer", wantMech: "PLAIN", wantTLS: true,
		},
		{
			name:     "opportunistic STARTTLS upgrades when offered",
			sinkOpts: []smtpsink.Option{smtpsink.WithSTARTTLS()},
			cfg:      emails.SMTPConfig{TLS: emails.TLSOpportunistic},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n"},
			wantTLS:  true,
		},
		{
			name: "opportunistic STARTTLS stays plain when not offered",
			cfg:  emails.SMTPConfig{TLS: emails.TLSOpportunistic},
			msg:  emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n"},
		},
		{
			name:     "TLS none ignores offered STARTTLS",
			sinkOpts: []smtpsink.Option{smtpsink.WithSTARTTLS()},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n"},
		},
		{
			name:     "implicit TLS with auth",
			sinkOpts: []smtpsink.Option{smtpsink.WithImplicitTLS(), smtpsink.WithAuth("mailer", "pw")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSImplicit, Username: "mailer", Password: "pw"},
			msg:      emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "body\n", HTML: "<p>body</p>\n"},
			wantUser: "mailer", wantMech: "PLAIN", wantTLS: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sink := smtpsink.MustStart(t, tc.sinkOpts...)
			cfg := tc.cfg
			cfg.Addr = sink.Addr()
			cfg.TLSConfig = sink.ClientTLSConfig()
			mailer := newMailer(t, cfg)

			if err := mailer.Send(context.Background(), tc.msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got, err := sink.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("sink received %d messages, want 1", len(got))
			}
			r := got[0]

			if r.From != "noreply@example.com" {
				t.Errorf("envelope from = %q, want noreply@example.com", r.From)
			}
			var wantRcpt []string
			for _, to := range tc.msg.To {
				if i := strings.IndexByte(to, '<'); i >= 0 {
					to = strings.TrimSuffix(to[i+1:], ">")
				}
				wantRcpt = append(wantRcpt, to)
			}
			if !slices.Equal(r.To, wantRcpt) {
				t.Errorf("envelope recipients = %q, want %q", r.To, wantRcpt)
			}
			if r.AuthUser != tc.wantUser || r.AuthMechanism != tc.wantMech {
				t.Errorf("auth = %q/%q, want %q/%q", r.AuthUser, r.AuthMechanism, tc.wantUser, tc.wantMech)
			}
			if r.TLS != tc.wantTLS {
				t.Errorf("TLS = %v, want %v", r.TLS, tc.wantTLS)
			}
			// An empty SMTPConfig.HELO means the machine's host name.
			if want := cmp.Or(tc.cfg.HELO, hostname); r.Helo != want {
				t.Errorf("HELO = %q, want %q", r.Helo, want)
			}

			hdr, err := r.Header()
			if err != nil {
				t.Fatal(err)
			}
			if from, err := hdr.AddressList("From"); err != nil || len(from) != 1 || from[0].Address != "noreply@example.com" || from[0].Name != "Site" {
				t.Errorf("From header = %v (%v), want Site <noreply@example.com>", from, err)
			}
			to, err := hdr.AddressList("To")
			if err != nil {
				t.Fatalf("To header: %v", err)
			}
			var gotTo []string
			for _, a := range to {
				gotTo = append(gotTo, a.Address)
			}
			if !slices.Equal(gotTo, wantRcpt) {
				t.Errorf("To header = %q, want %q", gotTo, wantRcpt)
			}
			if hdr.Get("Date") == "" || hdr.Get("Message-Id") == "" {
				t.Errorf("missing Date or Message-ID header: %v", hdr)
			}
			// Content-Language carries Message.Language, and is absent
			// when it is empty.
			if got, ok := hdr["Content-Language"]; tc.msg.Language == "" && ok {
				t.Errorf("Content-Language header = %q for a message without Language", got)
			} else if tc.msg.Language != "" && !slices.Equal(got, []string{tc.msg.Language}) {
				t.Errorf("Content-Language header = %q, want [%q]", got, tc.msg.Language)
			}
			if subj, err := r.Subject(); err != nil || subj != tc.msg.Subject {
				t.Errorf("Subject = %q (%v), want %q", subj, err, tc.msg.Subject)
			}
			if text, err := r.TextBody(); err != nil || text != tc.msg.Text {
				t.Errorf("text body = %q (%v), want %q", text, err, tc.msg.Text)
			}
			if html, err := r.HTMLBody(); err != nil || html != tc.msg.HTML {
				t.Errorf("HTML body = %q (%v), want %q", html, err, tc.msg.HTML)
			}
		})
	}
}

func TestSMTPFailures(t *testing.T) {
	t.Parallel()
	msg := emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "secret link\n"}
	// Each case says what the error must show with at least one of wantIs,
	// wantCode and wantMsg.
	tests := []struct {
		name     string
		sinkOpts []smtpsink.Option
		cfg      emails.SMTPConfig
		wantIs   error  // errors.Is target: go-mail's error for the failed step
		wantCode int    // the SMTP reply code the sink refused with
		wantMsg  string // part of the error text, where go-mail has no error value
	}{
		{
			name:     "greeting rejected",
			sinkOpts: []smtpsink.Option{smtpsink.RejectAt(smtpsink.StageConnect)},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			wantCode: 554,
		},
		{
			name:     "MAIL rejected",
			sinkOpts: []smtpsink.Option{smtpsink.RejectAt(smtpsink.StageMail)},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			wantIs:   sendErr(mail.ErrSMTPMailFrom), wantCode: 550,
		},
		{
			name:     "RCPT rejected",
			sinkOpts: []smtpsink.Option{smtpsink.RejectAt(smtpsink.StageRcpt)},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			wantIs:   sendErr(mail.ErrSMTPRcptTo), wantCode: 550,
		},
		{
			name:     "message rejected after data",
			sinkOpts: []smtpsink.Option{smtpsink.RejectAt(smtpsink.StageMessage)},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			wantIs:   sendErr(mail.ErrSMTPDataClose), wantCode: 554,
		},
		{
			name:     "wrong password",
			sinkOpts: []smtpsink.Option{smtpsink.WithAuth("mailer", "right")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone, Username: "mailer", Password: "wrong"},
			wantCode: 535,
		},
		{
			name:    "credentials set but server has no AUTH",
			cfg:     emails.SMTPConfig{TLS: emails.TLSNone, Username: "mailer", Password: "pw"},
			wantMsg: "server does not support SMTP AUTH",
		},
		{
			name:     "auth required but no credentials",
			sinkOpts: []smtpsink.Option{smtpsink.WithAuth("mailer", "pw")},
			cfg:      emails.SMTPConfig{TLS: emails.TLSNone},
			wantIs:   sendErr(mail.ErrSMTPMailFrom), wantCode: 530,
		},
		{
			name:    "mandatory STARTTLS not offered",
			cfg:     emails.SMTPConfig{TLS: emails.TLSMandatory},
			wantMsg: "does not support STARTTLS",
		},
		{
			name:     "STARTTLS with an untrusted certificate",
			sinkOpts: []smtpsink.Option{smtpsink.WithSTARTTLS()},
			cfg:      emails.SMTPConfig{TLS: emails.TLSMandatory},
			wantMsg:  "certificate signed by unknown authority",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.wantIs == nil && tc.wantCode == 0 && tc.wantMsg == "" {
				t.Fatal("the case checks nothing about the error")
			}
			sink := smtpsink.MustStart(t, tc.sinkOpts...)
			cfg := tc.cfg
			cfg.Addr = sink.Addr()
			mailer := newMailer(t, cfg)
			err := mailer.Send(context.Background(), msg)
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("Send error = %v, want one matching %v", err, tc.wantIs)
			}
			if got := replyCode(err); got != tc.wantCode {
				t.Errorf("Send error = %v with reply code %d, want %d", err, got, tc.wantCode)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("Send error = %v, want it to mention %q", err, tc.wantMsg)
			}
			if strings.Contains(err.Error(), "secret link") {
				t.Errorf("error leaks the body: %v", err)
			}
			expectNothing(t, sink)
		})
	}
}

// TestSMTPRefusesCleartextAuthToRemoteHost checks that credentials are never
// sent unencrypted to a host that is not localhost: 127.0.0.2 is a loopback
// address but not one go-mail treats as local.
func TestSMTPRefusesCleartextAuthToRemoteHost(t *testing.T) {
	t.Parallel()
	sink, err := smtpsink.Start(smtpsink.WithListenAddr("127.0.0.2:0"), smtpsink.WithAuth("mailer", "pw"))
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone, Username: "mailer", Password: "pw"})
	err = mailer.Send(context.Background(), emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x"})
	if !errors.Is(err, gosmtp.ErrUnencrypted) {
		t.Fatalf("Send error = %v, want go-mail's ErrUnencrypted", err)
	}
	expectNothing(t, sink)
}

func TestSMTPConnectionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	mailer := newMailer(t, emails.SMTPConfig{Addr: addr, TLS: emails.TLSNone})
	if err := mailer.Send(context.Background(), emails.Message{To: []string{"bob@example.com"}, Text: "x"}); err == nil {
		t.Fatal("Send to a closed port succeeded")
	}
}

func TestSMTPRejectsHeaderInjection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  emails.Message
	}{
		{"CRLF in subject", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi\r\nBcc: evil@example.net", Text: "x"}},
		{"LF in subject", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi\nBcc: evil@example.net", Text: "x"}},
		{"CR in subject", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi\rBcc: evil@example.net", Text: "x"}},
		{"CRLF in recipient", emails.Message{To: []string{"bob@example.com\r\nBcc: evil@example.net"}, Subject: "Hi", Text: "x"}},
		{"LF in recipient name", emails.Message{To: []string{"\"Bob\nBcc: evil@example.net\" <bob@example.com>"}, Subject: "Hi", Text: "x"}},
		{"invalid recipient", emails.Message{To: []string{"not an address"}, Subject: "Hi", Text: "x"}},
		{"no recipient", emails.Message{Subject: "Hi", Text: "x"}},
		{"CRLF in language", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x", Language: "fr\r\nBcc: evil@example.net"}},
		{"LF in language", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x", Language: "fr\nBcc: evil@example.net"}},
		{"language not a tag", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x", Language: "fr: yes"}},
		{"empty tag in language list", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x", Language: "fr,,de"}},
		{"language starting with a digit", emails.Message{To: []string{"bob@example.com"}, Subject: "Hi", Text: "x", Language: "1fr"}},
	}
	sink := smtpsink.MustStart(t)
	mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := mailer.Send(context.Background(), tc.msg)
			if !errors.Is(err, emails.ErrInvalidMessage) {
				t.Fatalf("Send error = %v, want ErrInvalidMessage", err)
			}
		})
	}
	expectNothing(t, sink)
}

func TestSMTPContext(t *testing.T) {
	t.Parallel()
	t.Run("cancelled before send", func(t *testing.T) {
		t.Parallel()
		sink := smtpsink.MustStart(t)
		mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := mailer.Send(ctx, emails.Message{To: []string{"bob@example.com"}, Text: "x"})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send error = %v, want context.Canceled", err)
		}
		expectNothing(t, sink)
	})
	for _, stage := range []smtpsink.Stage{smtpsink.StageConnect, smtpsink.StageMail, smtpsink.StageMessage} {
		t.Run("deadline while server stalls at "+stage.String(), func(t *testing.T) {
			t.Parallel()
			sink := smtpsink.MustStart(t, smtpsink.StallAt(stage))
			// The SMTP timeout is long, so only ctx can end the send quickly.
			mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone, Timeout: 15 * time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := mailer.Send(ctx, emails.Message{To: []string{"bob@example.com"}, Text: "x"})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send error = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Send returned after %s, want soon after the deadline", d)
			}
			expectNothing(t, sink)
		})
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	t.Parallel()
	sink := smtpsink.MustStart(t, smtpsink.WithAuth("u", "p"))
	mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone, Username: "u", Password: "p"})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- mailer.Send(context.Background(), emails.Message{
				To: []string{fmt.Sprintf("user%d@example.com", i)}, Subject: fmt.Sprintf("msg %d", i), Text: "x",
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got, err := sink.WaitFor(n, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, r := range got {
		s, err := r.Subject()
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, s)
	}
	slices.Sort(subjects)
	for i := range n {
		if want := fmt.Sprintf("msg %d", i); subjects[i] != want {
			t.Fatalf("subjects = %q, missing %q", subjects, want)
		}
	}
}

func TestNewSMTPValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     emails.SMTPConfig
		wantErr bool
	}{
		{"host and port", emails.SMTPConfig{Addr: "smtp.example.com:2525", From: "a@example.com"}, false},
		{"host only", emails.SMTPConfig{Addr: "smtp.example.com", From: "a@example.com"}, false},
		{"IPv6 with port", emails.SMTPConfig{Addr: "[::1]:2525", From: "a@example.com", TLS: emails.TLSNone}, false},
		{"bare IPv6", emails.SMTPConfig{Addr: "::1", From: "a@example.com", TLS: emails.TLSNone}, false},
		{"named From", emails.SMTPConfig{Addr: "localhost:25", From: "My Site <a@example.com>"}, false},
		{"missing Addr", emails.SMTPConfig{From: "a@example.com"}, true},
		{"empty host", emails.SMTPConfig{Addr: ":25", From: "a@example.com"}, true},
		{"bad port", emails.SMTPConfig{Addr: "localhost:smtp", From: "a@example.com"}, true},
		{"port out of range", emails.SMTPConfig{Addr: "localhost:70000", From: "a@example.com"}, true},
		{"missing From", emails.SMTPConfig{Addr: "localhost:25"}, true},
		{"invalid From", emails.SMTPConfig{Addr: "localhost:25", From: "not an address"}, true},
		{"From with line break", emails.SMTPConfig{Addr: "localhost:25", From: "a@example.com\r\nBcc: b@example.com"}, true},
		{"unknown TLS mode", emails.SMTPConfig{Addr: "localhost:25", From: "a@example.com", TLS: emails.TLSMode(42)}, true},
		{"negative timeout", emails.SMTPConfig{Addr: "localhost:25", From: "a@example.com", Timeout: -time.Second}, true},
		{"HELO with space", emails.SMTPConfig{Addr: "localhost:25", From: "a@example.com", HELO: "a b"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := emails.NewSMTP(tc.cfg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("NewSMTP error = %v, want error: %v", err, tc.wantErr)
			}
			if err == nil && m == nil {
				t.Fatal("NewSMTP returned nil mailer and nil error")
			}
		})
	}
}

func TestSMTPIPv6(t *testing.T) {
	t.Parallel()
	sink, err := smtpsink.Start(smtpsink.WithListenAddr("[::1]:0"))
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	t.Cleanup(func() { _ = sink.Close() })
	mailer := newMailer(t, emails.SMTPConfig{Addr: sink.Addr(), TLS: emails.TLSNone})
	if err := mailer.Send(context.Background(), emails.Message{To: []string{"bob@example.com"}, Text: "x"}); err != nil {
		t.Fatalf("Send over IPv6: %v", err)
	}
	if _, err := sink.WaitFor(1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
