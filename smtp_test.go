package restauth_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/smtpsink"
	"github.com/restauth/restauth/internal/testdb"
)

// TestPasswordResetOverSMTP runs the reset flow with the real SMTP mailer
// against a local SMTP server.
func TestPasswordResetOverSMTP(t *testing.T) {
	sink := smtpsink.MustStart(t)
	mailer, err := emails.NewSMTP(emails.SMTPConfig{Addr: sink.Addr(), From: "Site <noreply@app.example>", TLS: emails.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Mailer = mailer; c.SiteName = "App & Co" })
	e.user("alice", "alice@example.com")
	expect(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"}), 200)
	e.auth.Shutdown(context.Background())
	got, err := sink.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	m := got[0]
	if len(m.To) != 1 || m.To[0] != "alice@example.com" {
		t.Fatalf("recipients %v", m.To)
	}
	subject, _ := m.Subject()
	text, _ := m.TextBody()
	html, _ := m.HTMLBody()
	if !strings.Contains(subject, "App & Co") || !strings.Contains(html, "App &amp; Co") {
		t.Fatalf("subject %q / html not escaped:\n%s", subject, html)
	}
	mt := regexp.MustCompile(`/password/reset/confirm/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]{64})/`).FindStringSubmatch(text)
	if mt == nil || !strings.Contains(text, siteURL+mt[0]) {
		t.Fatalf("no link in:\n%s", text)
	}
	expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{
		"uid": mt[1], "token": mt[2], "new_password1": "Fresh-Orchid-77", "new_password2": "Fresh-Orchid-77"}), 200)
	e.login("alice", "Fresh-Orchid-77")
}

// TestSMTPFailureStillAnswers200: a broken mail server is logged, never
// shown to the client (which could otherwise probe for addresses).
func TestSMTPFailureStillAnswers200(t *testing.T) {
	sink := smtpsink.MustStart(t, smtpsink.RejectAt(smtpsink.StageRcpt))
	mailer, err := emails.NewSMTP(emails.SMTPConfig{Addr: sink.Addr(), From: "noreply@app.example", TLS: emails.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) { c.Mailer = mailer })
	e.user("alice", "alice@example.com")
	expectDetail(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"}), 200, "Password reset e-mail has been sent.")
	e.auth.Shutdown(context.Background())
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages accepted by a rejecting server", n)
	}
}
