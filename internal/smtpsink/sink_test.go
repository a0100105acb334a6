package smtpsink_test

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/smtpsink"
)

// conn is a raw SMTP client connection for protocol tests.
type conn struct {
	t  *testing.T
	nc net.Conn
	tp *textproto.Conn
}

func dial(t *testing.T, s *smtpsink.Sink) *conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	return &conn{t: t, nc: nc, tp: textproto.NewConn(nc)}
}

// cmd sends line (unless empty) and checks the reply code; it returns the
// reply text.
func (c *conn) cmd(line string, wantCode int) string {
	c.t.Helper()
	if line != "" {
		if err := c.tp.PrintfLine("%s", line); err != nil {
			c.t.Fatalf("send %q: %v", line, err)
		}
	}
	code, msg, err := c.tp.ReadResponse(0)
	if code != wantCode {
		c.t.Fatalf("%q: reply %d %q (%v), want %d", line, code, msg, err, wantCode)
	}
	return msg
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestSinkWithNetSMTP(t *testing.T) {
	s := smtpsink.MustStart(t)
	body := "Subject: hi\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n.\r\n"
	err := smtp.SendMail(s.Addr(), nil, "from@example.com", []string{"a@example.com", "b@example.com"}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.From != "from@example.com" || !slices.Equal(r.To, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("envelope = %q -> %q", r.From, r.To)
	}
	if string(r.Data) != body {
		t.Errorf("Data = %q, want %q (dot-unstuffed)", r.Data, body)
	}
	if r.Helo != "localhost" || r.TLS || r.AuthUser != "" {
		t.Errorf("session = helo %q tls %v auth %q", r.Helo, r.TLS, r.AuthUser)
	}
	// Messages returns copies.
	got[0].To[0] = "changed"
	if s.Messages()[0].To[0] != "a@example.com" {
		t.Error("Messages shares memory with the sink")
	}
}

func TestSinkProtocol(t *testing.T) {
	s := smtpsink.MustStart(t)
	c := dial(t, s)
	c.cmd("", 220)
	c.cmd("MAIL FROM:<a@example.com>", 503) // before EHLO
	ehlo := c.cmd("EHLO client.example", 250)
	if !strings.Contains(ehlo, "8BITMIME") || strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO reply = %q", ehlo)
	}
	steps := []struct {
		line string
		code int
	}{
		{"NOOP", 250},
		{"RCPT TO:<b@example.com>", 503},
		{"DATA", 503},
		{"MAIL FROM:a@example.com", 501},
		{"MAIL FROM:<a@example.com> BODY=8BITMIME", 250},
		{"MAIL FROM:<a@example.com>", 503},
		{"DATA", 503},
		{"RCPT TO:<>", 501},
		{"rcpt to:<b@example.com>", 250},
		{"RSET", 250},
		{"DATA", 503},
		{"AUTH PLAIN " + b64("\x00u\x00p"), 502},
		{"STARTTLS", 502},
		{"BOGUS", 502},
		{"HELO other", 250},
		{"MAIL FROM:<>", 250},
		{"RCPT TO:<c@example.com>", 250},
		{"DATA", 354},
	}
	for _, st := range steps {
		c.cmd(st.line, st.code)
	}
	for _, l := range []string{"Subject: x", "", "..dot", "."} {
		if err := c.tp.PrintfLine("%s", l); err != nil {
			t.Fatal(err)
		}
	}
	c.cmd("", 250)
	c.cmd("QUIT", 221)
	got, err := s.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.From != "" || !slices.Equal(r.To, []string{"c@example.com"}) || string(r.Data) != "Subject: x\r\n\r\n.dot\r\n" || r.Helo != "other" {
		t.Errorf("received %+v", r)
	}
}

func TestSinkAuth(t *testing.T) {
	tests := []struct {
		name     string
		mechs    []string
		steps    []string // "C: line" client sends, "S: code" expected reply
		wantUser string
		wantMech string
	}{
		{
			name:     "PLAIN initial response",
			steps:    []string{"C: AUTH PLAIN " + b64("\x00user\x00pass"), "S: 235"},
			wantUser: "user", wantMech: "PLAIN",
		},
		{
			name:     "PLAIN with challenge",
			steps:    []string{"C: AUTH PLAIN", "S: 334", "C: " + b64("\x00user\x00pass"), "S: 235"},
			wantUser: "user", wantMech: "PLAIN",
		},
		{
			name:  "PLAIN wrong password",
			steps: []string{"C: AUTH PLAIN " + b64("\x00user\x00nope"), "S: 535", "C: MAIL FROM:<a@example.com>", "S: 530"},
		},
		{
			name:     "LOGIN",
			steps:    []string{"C: AUTH LOGIN", "S: 334", "C: " + b64("user"), "S: 334", "C: " + b64("pass"), "S: 235"},
			wantUser: "user", wantMech: "LOGIN",
		},
		{
			name:     "LOGIN with initial response",
			steps:    []string{"C: AUTH LOGIN " + b64("user"), "S: 334", "C: " + b64("pass"), "S: 235"},
			wantUser: "user", wantMech: "LOGIN",
		},
		{
			name:  "LOGIN cancelled",
			steps: []string{"C: AUTH LOGIN", "S: 334", "C: *", "S: 501"},
		},
		{
			name:  "mechanism not offered",
			mechs: []string{"LOGIN"},
			steps: []string{"C: AUTH PLAIN " + b64("\x00user\x00pass"), "S: 504"},
		},
		{
			name:  "garbage",
			steps: []string{"C: AUTH PLAIN !!!", "S: 501"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := smtpsink.MustStart(t, smtpsink.WithAuth("user", "pass", tc.mechs...))
			c := dial(t, s)
			c.cmd("", 220)
			ehlo := c.cmd("EHLO me", 250)
			wantAuth := "AUTH PLAIN LOGIN"
			if tc.mechs != nil {
				wantAuth = "AUTH " + strings.Join(tc.mechs, " ")
			}
			if !strings.Contains(ehlo, wantAuth) {
				t.Fatalf("EHLO reply %q lacks %q", ehlo, wantAuth)
			}
			c.cmd("MAIL FROM:<a@example.com>", 530)
			var line string
			for _, st := range tc.steps {
				if l, ok := strings.CutPrefix(st, "C: "); ok {
					line = l
					continue
				}
				code := 0
				for _, ch := range strings.TrimPrefix(st, "S: ") {
					code = code*10 + int(ch-'0')
				}
				c.cmd(line, code)
				line = ""
			}
			if tc.wantUser == "" {
				return
			}
			c.cmd("AUTH PLAIN "+b64("\x00user\x00pass"), 503) // already authenticated
			c.cmd("MAIL FROM:<a@example.com>", 250)
			c.cmd("RCPT TO:<b@example.com>", 250)
			c.cmd("DATA", 354)
			_ = c.tp.PrintfLine("x\r\n.")
			c.cmd("", 250)
			got, err := s.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].AuthUser != tc.wantUser || got[0].AuthMechanism != tc.wantMech {
				t.Fatalf("auth recorded as %q/%q", got[0].AuthUser, got[0].AuthMechanism)
			}
		})
	}
}

func TestSinkRejectAt(t *testing.T) {
	tests := []struct {
		stage    smtpsink.Stage
		failLine string
		code     int
	}{
		{smtpsink.StageMail, "MAIL FROM:<a@example.com>", 550},
		{smtpsink.StageRcpt, "RCPT TO:<b@example.com>", 550},
		{smtpsink.StageData, "DATA", 554},
		{smtpsink.StageMessage, ".", 554},
	}
	script := []struct {
		line string
		code int
	}{
		{"EHLO me", 250},
		{"MAIL FROM:<a@example.com>", 250},
		{"RCPT TO:<b@example.com>", 250},
		{"DATA", 354},
		{"Subject: x\r\n\r\nbody\r\n.", 250},
	}
	for _, tc := range tests {
		t.Run(tc.stage.String(), func(t *testing.T) {
			s := smtpsink.MustStart(t, smtpsink.RejectAt(tc.stage))
			c := dial(t, s)
			c.cmd("", 220)
			for _, st := range script {
				if strings.HasSuffix(st.line, tc.failLine) {
					c.cmd(st.line, tc.code)
					break
				}
				c.cmd(st.line, st.code)
			}
			if got := s.Messages(); len(got) != 0 {
				t.Fatalf("sink kept %d message(s) after rejecting", len(got))
			}
		})
	}
	t.Run("connect", func(t *testing.T) {
		s := smtpsink.MustStart(t, smtpsink.RejectAt(smtpsink.StageConnect))
		dial(t, s).cmd("", 554)
	})
	t.Run("auth", func(t *testing.T) {
		s := smtpsink.MustStart(t, smtpsink.WithAuth("u", "p"), smtpsink.RejectAt(smtpsink.StageAuth))
		c := dial(t, s)
		c.cmd("", 220)
		c.cmd("EHLO me", 250)
		c.cmd("AUTH PLAIN "+b64("\x00u\x00p"), 535)
	})
}

func TestSinkStallAt(t *testing.T) {
	s := smtpsink.MustStart(t, smtpsink.StallAt(smtpsink.StageMail))
	c := dial(t, s)
	c.cmd("", 220)
	c.cmd("EHLO me", 250)
	_ = c.tp.PrintfLine("MAIL FROM:<a@example.com>")
	_ = c.nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, _, err := c.tp.ReadResponse(0)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read after stalled MAIL = %v, want a timeout", err)
	}
	// Close must not hang on the stalled session.
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs on a stalled session")
	}
}

func TestSinkTLS(t *testing.T) {
	send := func(t *testing.T, c *smtp.Client) {
		t.Helper()
		if err := c.Auth(smtp.PlainAuth("", "u", "p", "127.0.0.1")); err != nil {
			t.Fatalf("AUTH: %v", err)
		}
		if err := c.Mail("a@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("b@example.com"); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write([]byte("Subject: tls\r\n\r\nhi\r\n"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(t *testing.T, s *smtpsink.Sink) {
		t.Helper()
		got, err := s.WaitFor(1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if !got[0].TLS || got[0].AuthUser != "u" {
			t.Fatalf("received TLS=%v auth=%q, want TLS and user u", got[0].TLS, got[0].AuthUser)
		}
	}
	t.Run("STARTTLS", func(t *testing.T) {
		s := smtpsink.MustStart(t, smtpsink.WithSTARTTLS(), smtpsink.WithAuth("u", "p"))
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Fatal("STARTTLS not advertised")
		}
		cfg := s.ClientTLSConfig()
		cfg.ServerName = "127.0.0.1"
		if err := c.StartTLS(cfg); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		if ok, _ := c.Extension("STARTTLS"); ok {
			t.Fatal("STARTTLS still advertised after the upgrade")
		}
		send(t, c)
		check(t, s)
	})
	t.Run("implicit", func(t *testing.T) {
		s := smtpsink.MustStart(t, smtpsink.WithImplicitTLS(), smtpsink.WithAuth("u", "p"))
		cfg := s.ClientTLSConfig()
		cfg.ServerName = "127.0.0.1"
		tc, err := tls.Dial("tcp", s.Addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClient(tc, "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		send(t, c)
		check(t, s)
	})
	t.Run("untrusted without the client config", func(t *testing.T) {
		s := smtpsink.MustStart(t, smtpsink.WithImplicitTLS())
		_, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err == nil {
			t.Fatal("handshake with the self-signed certificate succeeded without trusting it")
		}
	})
	if smtpsink.MustStart(t).ClientTLSConfig() != nil {
		t.Error("ClientTLSConfig is not nil for a sink without TLS")
	}
}

func TestSinkWaitForAndClose(t *testing.T) {
	s, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.WaitFor(1, 100*time.Millisecond); err == nil {
		t.Fatal("WaitFor succeeded with no message")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("WaitFor returned after %s, before its timeout", d)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte("x\r\n"))
	}()
	if got, err := s.WaitFor(1, 5*time.Second); err != nil || len(got) != 1 {
		t.Fatalf("WaitFor = %d, %v", len(got), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatal("sink still accepts connections after Close")
	}
	if len(s.Messages()) != 1 {
		t.Fatal("messages lost on Close")
	}
}
