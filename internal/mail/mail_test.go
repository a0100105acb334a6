package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/locales"
)

// newSender returns a Sender with the default templates.
func newSender(t *testing.T, m emails.Mailer, log *slog.Logger, onError func(context.Context, emails.Message, error)) *mail.Sender {
	t.Helper()
	s, err := mail.New(m, nil, nil, log, onError)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logBuffer is a bytes.Buffer safe for concurrent writes.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

var resetData = emails.PasswordResetData{
	Username: "alice", Email: "alice@example.com", ResetURL: "https://app.example/reset/NDI/tok-123/",
	UID: "NDI", Token: "tok-123", SiteName: "Example", SiteURL: "https://app.example",
}

// recv takes a value from ch; it fails t instead of hanging when nothing
// comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received in 10s")
		panic("unreachable")
	}
}

func wait(t *testing.T, o *emails.Outbox, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Wait(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func TestSendRendersAndDelivers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tmpl string
		data any
		to   string
		want []string // in the text body
		subj string
	}{
		{"password reset", emails.TemplatePasswordReset, resetData, "alice@example.com",
			[]string{"https://app.example/reset/NDI/tok-123/", "alice"}, "Password reset on Example"},
		{"email confirmation", emails.TemplateEmailConfirmation,
			emails.EmailConfirmationData{User: "bob", ActivateURL: "https://app.example/confirm/k-1/", SiteName: "Example", Key: "k-1"},
			"Bob <bob@example.com>", []string{"https://app.example/confirm/k-1/", "user bob"}, "Please confirm your email address on Example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out emails.Outbox
			s := newSender(t, &out, discard(), nil)
			if err := s.Send(context.Background(), tc.tmpl, tc.data, tc.to); err != nil {
				t.Fatal(err)
			}
			wait(t, &out, 1)
			m, _ := out.Last()
			if len(m.To) != 1 || m.To[0] != tc.to {
				t.Errorf("To = %v, want [%s]", m.To, tc.to)
			}
			if m.Subject != tc.subj {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.subj)
			}
			for _, w := range tc.want {
				if !strings.Contains(m.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, m.Text)
				}
			}
			if m.HTML == "" {
				t.Error("no HTML part")
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			if out.Len() != 1 {
				t.Fatalf("%d messages, want 1", out.Len())
			}
		})
	}
}

// TestSendUsesOverride: the templates given to New are the ones Send
// renders, file by file.
func TestSendUsesOverride(t *testing.T) {
	t.Parallel()
	var out emails.Outbox
	s, err := mail.New(&out, fstest.MapFS{
		"password_reset_subject.txt": {Data: []byte("Reset at {{.SiteName}}, {{.Username}}")},
	}, nil, discard(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	m, ok := out.Last()
	if !ok {
		t.Fatal("nothing sent")
	}
	if want := "Reset at Example, alice"; m.Subject != want {
		t.Errorf("Subject = %q, want %q", m.Subject, want)
	}
	if !strings.Contains(m.Text, resetData.ResetURL) {
		t.Errorf("text body is not the default one:\n%s", m.Text)
	}
}

// TestSendLanguage: Send writes the email in the catalog language that
// best serves the language WithLang put in the context (English when
// none matches or none was set), takes the texts from the catalog given to
// New, and sets Message.Language.
func TestSendLanguage(t *testing.T) {
	t.Parallel()
	std := locales.New()
	custom := locales.New()
	if err := custom.AddMessages("fr", map[string]string{"email.password_reset.subject": "Nouveau mot de passe pour {{.SiteName}}"}); err != nil {
		t.Fatal(err)
	}
	if err := custom.AddMessages("eo", map[string]string{"email.password_reset.subject": "Pasvorto por {{.SiteName}}"}); err != nil {
		t.Fatal(err)
	}
	text := func(c *locales.Catalog, lang, key string) string {
		return c.Text(lang, locales.M(key, "SiteName", resetData.SiteName, "Username", resetData.Username))
	}
	tests := []struct {
		name     string
		catalog  *locales.Catalog // nil: New's default
		lang     *string          // nil: no WithLang
		wantLang string
		wantSubj string
	}{
		{"Accept-Language with a regional French", nil, ptr("fr-CA, en;q=0.5"), "fr", text(std, "fr", "email.password_reset.subject")},
		{"unknown language", nil, ptr("xx"), "en", "Password reset on Example"},
		{"malformed value", nil, ptr(";;;q=x"), "en", "Password reset on Example"},
		{"no language in the context", nil, nil, "en", "Password reset on Example"},
		{"quality values order the choice", std, ptr("de-AT;q=0.8, ja"), "ja", text(std, "ja", "email.password_reset.subject")},
		{"plain Portuguese is Brazilian", std, ptr("pt"), "pt-BR", text(std, "pt-BR", "email.password_reset.subject")},
		{"Taiwan is Traditional Chinese", std, ptr("zh-TW"), "zh-Hant", text(std, "zh-Hant", "email.password_reset.subject")},
		{"Hebrew", std, ptr("he-IL"), "he", text(std, "he", "email.password_reset.subject")},
		{"the catalog given to New", custom, ptr("fr-FR"), "fr", "Nouveau mot de passe pour Example"},
		{"a language an app added", custom, ptr("eo"), "eo", "Pasvorto por Example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out emails.Outbox
			s, err := mail.New(&out, nil, tc.catalog, discard(), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if tc.lang != nil {
				ctx = mail.WithLang(ctx, *tc.lang)
			}
			if err := s.Send(ctx, emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
				t.Fatal(err)
			}
			if err := s.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			m, ok := out.Last()
			if !ok {
				t.Fatal("nothing sent")
			}
			if m.Language != tc.wantLang {
				t.Errorf("Language = %q, want %q", m.Language, tc.wantLang)
			}
			if m.Subject != tc.wantSubj {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.wantSubj)
			}
			c := tc.catalog
			if c == nil {
				c = std
			}
			for _, key := range []string{"email.password_reset.intro", "email.password_reset.ignore", "email.signature"} {
				want := text(c, tc.wantLang, key)
				if !strings.Contains(m.Text, want) {
					t.Errorf("text lacks %s in %s, %q:\n%s", key, tc.wantLang, want, m.Text)
				}
			}
			if tc.wantLang != "en" && tc.wantLang != "eo" && strings.Contains(m.Text, text(std, "en", "email.password_reset.intro")) {
				t.Errorf("text is in English:\n%s", m.Text)
			}
			if want := `<html lang="` + tc.wantLang + `"`; !strings.Contains(m.HTML, want) {
				t.Errorf("HTML lacks %s:\n%s", want, m.HTML)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestSendOutlivesTheRequest: the send runs after the request's context
// is cancelled.
func TestSendOutlivesTheRequest(t *testing.T) {
	t.Parallel()
	var out emails.Outbox
	release := make(chan struct{})
	gated := emails.MailerFunc(func(ctx context.Context, m emails.Message) error {
		<-release
		return out.Send(ctx, m)
	})
	s := newSender(t, gated, discard(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Send(ctx, emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	cancel()
	close(release)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out.Len() != 1 {
		t.Fatalf("%d messages delivered, want 1: the send died with the request", out.Len())
	}
}

func TestRenderErrorIsSynchronous(t *testing.T) {
	t.Parallel()
	var calls int
	var mu sync.Mutex
	mailer := emails.MailerFunc(func(context.Context, emails.Message) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return nil
	})
	s := newSender(t, mailer, discard(), func(context.Context, emails.Message, error) {
		t.Error("onError called for a rendering error")
	})
	tests := []struct {
		name string
		tmpl string
		data any
		is   error
	}{
		{"unknown template", "nope", resetData, mail.ErrUnknownTemplate},
		{"wrong data", emails.TemplatePasswordReset, map[string]string{}, nil},
		{"nil data", emails.TemplateEmailConfirmation, nil, nil},
	}
	for _, tc := range tests {
		err := s.Send(context.Background(), tc.tmpl, tc.data, "alice@example.com")
		if err == nil {
			t.Errorf("%s: Send = nil, want a rendering error", tc.name)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: Send = %v, want %v", tc.name, err, tc.is)
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Fatalf("the mailer was called %d times", calls)
	}
}

func TestSendErrorHook(t *testing.T) {
	t.Parallel()
	boom := errors.New("smtp down")
	failing := emails.MailerFunc(func(context.Context, emails.Message) error { return boom })
	type report struct {
		msg emails.Message
		err error
	}
	reports := make(chan report, 1)
	log := &logBuffer{}
	s := newSender(t, failing, slog.New(slog.NewTextHandler(log, nil)), func(ctx context.Context, m emails.Message, err error) {
		if ctx.Err() != nil {
			t.Errorf("hook context already done: %v", ctx.Err())
		}
		reports <- report{m, err}
	})
	if err := s.Send(context.Background(), emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
		t.Fatalf("a sending error must not reach the caller: %v", err)
	}
	r := recv(t, reports)
	if !errors.Is(r.err, boom) {
		t.Fatalf("hook error %v, want %v", r.err, boom)
	}
	if len(r.msg.To) != 1 || r.msg.To[0] != "alice@example.com" || !strings.Contains(r.msg.Text, resetData.ResetURL) {
		t.Fatalf("hook message %+v", r.msg)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	logged := log.String()
	if !strings.Contains(logged, "send email") || !strings.Contains(logged, "password_reset") || !strings.Contains(logged, "smtp down") {
		t.Fatalf("log %q lacks the failure", logged)
	}
	if strings.Contains(logged, resetData.Token) {
		t.Fatal("the log holds the reset token")
	}

	// Without a hook a failure is only logged.
	quiet := newSender(t, failing, discard(), nil)
	if err := quiet.Send(context.Background(), emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := quiet.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestShutdownWaits holds a send in the mailer: Shutdown returns the
// context's error while it is held and nil once it is done.
func TestShutdownWaits(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 2)
	release := make(chan struct{})
	var mu sync.Mutex
	delivered := 0
	blocking := emails.MailerFunc(func(context.Context, emails.Message) error {
		started <- struct{}{}
		<-release
		mu.Lock()
		delivered++
		mu.Unlock()
		return nil
	})
	s := newSender(t, blocking, discard(), nil)

	// Nothing in flight: at once.
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("idle Shutdown = %v", err)
	}
	for range 2 {
		if err := s.Send(context.Background(), emails.TemplatePasswordReset, resetData, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	recv(t, started)
	recv(t, started)

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a held send and a cancelled context = %v, want context.Canceled", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := s.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a held send = %v, want context.DeadlineExceeded", err)
	}

	close(release)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if delivered != 2 {
		t.Fatalf("Shutdown returned with %d of 2 sends done", delivered)
	}
}
