package restauth_test

import (
	"context"
	"encoding/base64"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/smtpsink"
	"github.com/restauth/restauth/internal/testdb"
)

// uidOf is the uid a reset link carries for pk: Django's
// urlsafe_base64_encode(force_bytes(pk)), "MQ" for pk 1.
func uidOf(pk uint) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(uint64(pk), 10)))
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	const newPass = "Fresh-Orchid-77"
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		u := e.user("alice", "alice@example.com")
		old := e.login("alice", goodPass)
		reset := func(email string, hdr ...string) {
			t.Helper()
			expectDetail(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": email}, hdr...), 200, "Password reset e-mail has been sent.")
		}
		confirm := func(uid, token, p1, p2 string) resp {
			return e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": p1, "new_password2": p2})
		}

		// The link comes from SiteURL even when the Host header lies.
		reset("ALICE@example.COM", "Host", "evil.example", "X-Forwarded-Host", "evil.example")
		uid, token := e.resetLink("alice@example.com")
		if uid != uidOf(u.ID) {
			t.Fatalf("uid %q, want %q for pk %d", uid, uidOf(u.ID), u.ID)
		}
		expectField(t, confirm("@@@", token, newPass, newPass), "uid", "Invalid value")
		expectField(t, confirm("OTk5", token, newPass, newPass), "uid", "Invalid value")
		expectField(t, confirm(uid, token+"0", newPass, newPass), "token", "Invalid value")
		expectField(t, confirm(uid, "1-abc", newPass, newPass), "token", "Invalid value")
		expectField(t, confirm(uid, token, newPass, newPass+"!"), "new_password2", "The two password fields didn’t match.")
		expectField(t, confirm(uid, token, "alice", "alice"), "new_password2",
			"The password is too similar to the username.", "This password is too short. It must contain at least 8 characters.",
			"This password is too common.")
		expectField(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid}), "token", "This field is required.")

		expectDetail(t, confirm(uid, token, newPass, newPass), 200, "Password has been reset with the new password.")
		e.login("alice", newPass)
		expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(old)...), 401) // reset revokes tokens
		// Single use.
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")

		// A token dies when the password changes another way.
		reset("alice@example.com")
		uid, token = e.resetLink("alice@example.com")
		key := e.login("alice", newPass)
		expect(t, e.do("POST", "/rest-auth/password/change/", map[string]any{"new_password1": "Third-Pass-303", "new_password2": "Third-Pass-303"}, tokenHeader(key)...), 200)
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")

		// And after PasswordResetTimeout (72 h).
		reset("alice@example.com")
		uid, token = e.resetLink("alice@example.com")
		e.clock.Advance(71 * time.Hour)
		uid2, token2 := e.auth.PasswordResetToken(ptr(e.reload(u.ID)))
		e.clock.Advance(2 * time.Hour)
		expectField(t, confirm(uid, token, "Another-Pass-99", "Another-Pass-99"), "token", "Invalid value")
		expect(t, confirm(uid2, token2, "Another-Pass-99", "Another-Pass-99"), 200)

		// Unknown and inactive addresses: same answer, nothing sent.
		reset("nobody@example.com")
		e.auth.Shutdown(context.Background())
		if e.out.Len() != 0 {
			t.Fatal("an email went to an unknown address")
		}
		expectField(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "nope"}), "email", "Enter a valid email address.")
		expectField(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{}), "email", "This field is required.")
	})
}

func TestResetHookRuns(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	var got *Customer
	e := newEnv(t, db, nil, restauth.OnPasswordReset(func(_ context.Context, u *Customer) { got = u }))
	u := e.user("erin", "erin@example.com")
	uid, token := e.auth.PasswordResetToken(u)
	expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": "Another-Pass-99", "new_password2": "Another-Pass-99"}), 200)
	if got == nil || got.Username != "erin" {
		t.Fatalf("OnPasswordReset got %v", got)
	}
}

// TestResetLinkSingleUseUnderConcurrency: of several simultaneous uses of
// one reset link, exactly one succeeds.
func TestResetLinkSingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		u := e.user("alice", "alice@example.com")
		uid, token := e.auth.PasswordResetToken(u)
		codes := make([]int, 6)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw := "Fresh-Orchid-7" + itoa(i)
				codes[i] = e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{"uid": uid, "token": token, "new_password1": pw, "new_password2": pw}).Code
			}()
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			if c == 200 {
				ok++
			} else if c != 400 {
				t.Fatalf("codes %v", codes)
			}
		}
		if ok != 1 {
			t.Fatalf("%d successful uses of one link: %v", ok, codes)
		}
	})
}

// TestPasswordResetOverSMTP runs the reset flow with the real SMTP mailer
// against a local SMTP server.
func TestPasswordResetOverSMTP(t *testing.T) {
	t.Parallel()
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

// TestSMTPFailureStillAnswers200: a broken mail server is logged and told
// to OnMailError, never shown to the client (which could otherwise probe
// for addresses).
func TestSMTPFailureStillAnswers200(t *testing.T) {
	t.Parallel()
	sink := smtpsink.MustStart(t, smtpsink.RejectAt(smtpsink.StageRcpt))
	mailer, err := emails.NewSMTP(emails.SMTPConfig{Addr: sink.Addr(), From: "noreply@app.example", TLS: emails.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	var mu sync.Mutex
	var failedTo []string
	var failures []error
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.Mailer = mailer
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		c.OnMailError = func(_ context.Context, m emails.Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			failedTo = append(failedTo, m.To...)
			failures = append(failures, err)
		}
	})
	e.user("alice", "alice@example.com")
	expectDetail(t, e.do("POST", "/rest-auth/password/reset/", map[string]any{"email": "alice@example.com"}), 200, "Password reset e-mail has been sent.")
	e.auth.Shutdown(context.Background())
	mu.Lock()
	defer mu.Unlock()
	// The refusal came from the server (its 550 at RCPT), not from a send
	// that never happened.
	if len(failures) != 1 || strings.Join(failedTo, ",") != "alice@example.com" || !strings.Contains(failures[0].Error(), "550") {
		t.Fatalf("OnMailError heard %v for %v, want one 550 for alice@example.com", failures, failedTo)
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, `msg="restauth: send email"`) || !strings.Contains(l, "550") {
		t.Fatalf("the failure was not logged as an error:\n%s", l)
	}
}

// syncBuffer is a strings.Builder safe for the mail goroutines' logs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestJWTPasswordResetRevokes: a reset ends every JWT login of the user.
func TestJWTPasswordResetRevokes(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, nil)
		u := e.user("resetme", "resetme@example.com")
		a, b := e.loginJWT("resetme"), e.loginJWT("resetme")
		fresh := e.reload(u.ID)
		uid, tok := e.auth.PasswordResetToken(&fresh)
		expect(t, e.do("POST", "/rest-auth/password/reset/confirm/", map[string]any{
			"uid": uid, "token": tok, "new_password1": "An0ther-Sunflower-77", "new_password2": "An0ther-Sunflower-77",
		}), 200)
		for _, r := range []resp{a, b} {
			expectTokenInvalid(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": r.str("refresh")}), "Token is invalid or expired")
		}
	})
}
