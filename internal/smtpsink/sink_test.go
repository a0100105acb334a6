package smtpsink_test

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strconv"
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
	return newConn(t, nc)
}

func newConn(t *testing.T, nc net.Conn) *conn {
	t.Helper()
	t.Cleanup(func() { _ = nc.Close() })
	// A deadline only so that a broken sink fails the test instead of
	// hanging it.
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &conn{t: t, nc: nc, tp: textproto.NewConn(nc)}
}

// send sends line; a line holding CRLFs sends several lines.
func (c *conn) send(line string) {
	c.t.Helper()
	if err := c.tp.PrintfLine("%s", line); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

// cmd sends line (unless empty) and checks the reply code; it returns the
// reply text.
func (c *conn) cmd(line string, wantCode int) string {
	c.t.Helper()
	if line != "" {
		c.send(line)
	}
	code, msg, err := c.tp.ReadResponse(0)
	if code != wantCode {
		c.t.Fatalf("%q: reply %d %q (%v), want %d", line, code, msg, err, wantCode)
	}
	return msg
}

// expectHangUp checks that the sink closed the connection without sending
// anything more.
func (c *conn) expectHangUp() {
	c.t.Helper()
	line, err := c.tp.ReadLine()
	if err == nil {
		c.t.Fatalf("read %q, want the connection closed", line)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("read timed out, want the connection closed: %v", err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func waitOne(t *testing.T, s *smtpsink.Sink) smtpsink.Received {
	t.Helper()
	got, err := s.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("sink received %d messages, want 1", len(got))
	}
	return got[0]
}

func TestSinkWithNetSMTP(t *testing.T) {
	t.Parallel()
	s := smtpsink.MustStart(t)
	body := "Subject: hi\r\n\r\nline one\r\n.leading dot\r\n..two dots\r\n.\r\n"
	err := smtp.SendMail(s.Addr(), nil, "from@example.com", []string{"a@example.com", "b@example.com"}, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := waitOne(t, s)
	if r.From != "from@example.com" || !slices.Equal(r.To, []string{"a@example.com", "b@example.com"}) {
		t.Errorf("envelope = %q -> %q", r.From, r.To)
	}
	if string(r.Data) != body {
		t.Errorf("Data = %q, want %q (dot-unstuffed)", r.Data, body)
	}
	if r.Helo != "localhost" || r.TLS || r.AuthUser != "" || r.AuthMechanism != "" {
		t.Errorf("session = helo %q tls %v auth %q/%q", r.Helo, r.TLS, r.AuthUser, r.AuthMechanism)
	}
	// Messages returns copies.
	r.To[0] = "changed"
	r.Data[0] = 'X'
	if m := s.Messages()[0]; m.To[0] != "a@example.com" || m.Data[0] != 'S' {
		t.Error("Messages shares memory with the sink")
	}
}

func TestSinkProtocol(t *testing.T) {
	t.Parallel()
	s := smtpsink.MustStart(t)
	c := dial(t, s)
	c.cmd("", 220)
	c.cmd("MAIL FROM:<a@example.com>", 502) // before EHLO
	ehlo := c.cmd("EHLO client.example", 250)
	if !strings.Contains(ehlo, "SIZE "+strconv.Itoa(smtpsink.MaxMessageSize)) || strings.Contains(ehlo, "AUTH") || strings.Contains(ehlo, "STARTTLS") {
		t.Errorf("EHLO reply = %q, want SIZE %d and neither AUTH nor STARTTLS", ehlo, smtpsink.MaxMessageSize)
	}
	steps := []struct {
		line string
		code int
	}{
		{"RCPT TO:<b@example.com>", 502}, // before MAIL
		{"DATA", 502},                    // before RCPT
		{"MAIL FROM:<a@example.com>", 250},
		{"DATA", 502},
		{"rcpt to:<b@example.com>", 250},
		{"RSET", 250}, // drops the transaction above
		{"DATA", 502},
		{"AUTH PLAIN " + b64("\x00u\x00p"), 502}, // no WithAuth
		{"STARTTLS", 502},                        // no WithSTARTTLS
		{"HELO other", 250},
		{"MAIL FROM:<>", 250},
		{"RCPT TO:<c@example.com>", 250},
		{"RCPT TO:<d@example.com>", 250},
		{"DATA", 354},
	}
	for _, st := range steps {
		c.cmd(st.line, st.code)
	}
	c.send("Subject: x\r\n\r\n..dot\r\n.")
	c.cmd("", 250)
	c.cmd("QUIT", 221)
	r := waitOne(t, s)
	if r.From != "" || !slices.Equal(r.To, []string{"c@example.com", "d@example.com"}) || string(r.Data) != "Subject: x\r\n\r\n.dot\r\n" || r.Helo != "other" {
		t.Errorf("received %+v", r)
	}
}

func TestSinkAuth(t *testing.T) {
	t.Parallel()
	type step struct {
		send      string // sent unless empty
		code      int    // expected reply
		challenge string // for 334, the expected decoded challenge
	}
	tests := []struct {
		name     string
		mechs    []string
		steps    []step
		wantUser string
		wantMech string
	}{
		{
			name:     "PLAIN initial response",
			steps:    []step{{send: "AUTH PLAIN " + b64("\x00user\x00pass"), code: 235}},
			wantUser: "user", wantMech: "PLAIN",
		},
		{
			name: "PLAIN with challenge",
			steps: []step{
				{send: "AUTH PLAIN", code: 334},
				{send: b64("\x00user\x00pass"), code: 235},
			},
			wantUser: "user", wantMech: "PLAIN",
		},
		{
			name: "PLAIN wrong password",
			steps: []step{
				{send: "AUTH PLAIN " + b64("\x00user\x00nope"), code: 535},
				{send: "MAIL FROM:<a@example.com>", code: 530},
			},
		},
		{
			name: "PLAIN wrong user",
			steps: []step{
				{send: "AUTH PLAIN " + b64("\x00someone\x00pass"), code: 535},
				{send: "MAIL FROM:<a@example.com>", code: 530},
			},
		},
		{
			name: "LOGIN",
			steps: []step{
				{send: "AUTH LOGIN", code: 334, challenge: "Username:"},
				{send: b64("user"), code: 334, challenge: "Password:"},
				{send: b64("pass"), code: 235},
			},
			wantUser: "user", wantMech: "LOGIN",
		},
		{
			name: "LOGIN with initial response",
			steps: []step{
				{send: "AUTH LOGIN " + b64("user"), code: 334, challenge: "Password:"},
				{send: b64("pass"), code: 235},
			},
			wantUser: "user", wantMech: "LOGIN",
		},
		{
			name: "LOGIN wrong password",
			steps: []step{
				{send: "AUTH LOGIN " + b64("user"), code: 334, challenge: "Password:"},
				{send: b64("nope"), code: 535},
				{send: "MAIL FROM:<a@example.com>", code: 530},
			},
		},
		{
			name: "LOGIN cancelled",
			steps: []step{
				{send: "AUTH LOGIN", code: 334, challenge: "Username:"},
				{send: "*", code: 501},
				{send: "MAIL FROM:<a@example.com>", code: 530},
			},
		},
		{
			name:  "mechanism not offered",
			mechs: []string{"LOGIN"},
			steps: []step{{send: "AUTH PLAIN " + b64("\x00user\x00pass"), code: 504}},
		},
		{
			name:  "garbage",
			steps: []step{{send: "AUTH PLAIN !!!", code: 454}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := smtpsink.MustStart(t, smtpsink.WithAuth("user", "pass", tc.mechs...))
			c := dial(t, s)
			c.cmd("", 220)
			ehlo := c.cmd("EHLO me", 250)
			wantAuth := "AUTH PLAIN LOGIN"
			if tc.mechs != nil {
				wantAuth = "AUTH " + strings.Join(tc.mechs, " ")
			}
			if !slices.Contains(strings.Split(ehlo, "\n"), wantAuth) {
				t.Fatalf("EHLO reply %q lacks the line %q", ehlo, wantAuth)
			}
			c.cmd("MAIL FROM:<a@example.com>", 530)
			for _, st := range tc.steps {
				msg := c.cmd(st.send, st.code)
				if st.challenge == "" {
					continue
				}
				if got, err := base64.StdEncoding.DecodeString(msg); err != nil || string(got) != st.challenge {
					t.Fatalf("challenge %q decodes to %q (%v), want %q", msg, got, err, st.challenge)
				}
			}
			if tc.wantUser == "" {
				return
			}
			c.cmd("AUTH PLAIN "+b64("\x00user\x00pass"), 503) // already authenticated
			c.cmd("MAIL FROM:<a@example.com>", 250)
			c.cmd("RCPT TO:<b@example.com>", 250)
			c.cmd("DATA", 354)
			c.send("x\r\n.")
			c.cmd("", 250)
			r := waitOne(t, s)
			if r.AuthUser != tc.wantUser || r.AuthMechanism != tc.wantMech {
				t.Fatalf("auth recorded as %q/%q, want %q/%q", r.AuthUser, r.AuthMechanism, tc.wantUser, tc.wantMech)
			}
		})
	}
}

// script is a whole mail transaction, each step with the reply a sink that
// does not misbehave sends.
var script = []struct {
	stage smtpsink.Stage // the stage the step reaches
	line  string
	code  int
}{
	{smtpsink.StageConnect, "", 220},
	{0, "EHLO me", 250},
	{smtpsink.StageAuth, "AUTH PLAIN " + b64("\x00u\x00p"), 235},
	{smtpsink.StageMail, "MAIL FROM:<a@example.com>", 250},
	{smtpsink.StageRcpt, "RCPT TO:<b@example.com>", 250},
	{0, "DATA", 354},
	{smtpsink.StageData, "Subject: x\r\n\r\nbody\r\n.", 250},
}

// runTo plays script on a new connection until stage, whose step it returns
// unplayed.
func runTo(t *testing.T, s *smtpsink.Sink, stage smtpsink.Stage) (*conn, string) {
	t.Helper()
	c := dial(t, s)
	for _, st := range script {
		if st.stage == stage || (stage == smtpsink.StageMessage && st.stage == smtpsink.StageData) {
			return c, st.line
		}
		c.cmd(st.line, st.code)
	}
	t.Fatalf("no step reaches %v", stage)
	return nil, ""
}

var allStages = []smtpsink.Stage{
	smtpsink.StageConnect, smtpsink.StageAuth, smtpsink.StageMail,
	smtpsink.StageRcpt, smtpsink.StageData, smtpsink.StageMessage,
}

func TestSinkRejectAt(t *testing.T) {
	t.Parallel()
	want := map[smtpsink.Stage]string{
		smtpsink.StageConnect: "554 5.3.2",
		smtpsink.StageAuth:    "535 5.7.8",
		smtpsink.StageMail:    "550 5.7.1",
		smtpsink.StageRcpt:    "550 5.1.1",
		smtpsink.StageData:    "554 5.3.0",
		smtpsink.StageMessage: "554 5.6.0",
	}
	for _, stage := range allStages {
		t.Run(stage.String(), func(t *testing.T) {
			t.Parallel()
			s := smtpsink.MustStart(t, smtpsink.WithAuth("u", "p"), smtpsink.RejectAt(stage))
			c, line := runTo(t, s, stage)
			if line != "" {
				c.send(line)
			}
			reply, err := c.tp.ReadLine()
			if err != nil || !strings.HasPrefix(reply, want[stage]+" ") {
				t.Fatalf("reply to %q = %q (%v), want %s", line, reply, err, want[stage])
			}
			if stage == smtpsink.StageConnect {
				c.expectHangUp()
			}
			if got := s.Messages(); len(got) != 0 {
				t.Fatalf("sink kept %d message(s) after rejecting", len(got))
			}
		})
	}
	t.Run("connect with implicit TLS", func(t *testing.T) {
		t.Parallel()
		s := smtpsink.MustStart(t, smtpsink.WithImplicitTLS(), smtpsink.RejectAt(smtpsink.StageConnect))
		cfg := s.ClientTLSConfig()
		cfg.ServerName = "127.0.0.1"
		tc, err := tls.Dial("tcp", s.Addr(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := newConn(t, tc)
		c.cmd("", 554)
		c.expectHangUp()
	})
}

func TestSinkStallAt(t *testing.T) {
	t.Parallel()
	for _, stage := range allStages {
		t.Run(stage.String(), func(t *testing.T) {
			t.Parallel()
			stalled := make(chan smtpsink.Stage, 1)
			s := smtpsink.MustStart(t, smtpsink.WithAuth("u", "p"), smtpsink.StallAt(stage), smtpsink.WithStallNotify(stalled))
			c, line := runTo(t, s, stage)
			if line != "" {
				c.send(line)
			}
			select {
			case got := <-stalled:
				if got != stage {
					t.Fatalf("stalled at %v, want %v", got, stage)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the sink did not stall")
			}
			// The stall ends when the sink closes, which must not hang;
			// the client then sees the connection closed without a reply.
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
			c.expectHangUp()
			if got := s.Messages(); len(got) != 0 {
				t.Fatalf("sink kept %d message(s) after stalling", len(got))
			}
		})
	}
}

func TestSinkTLS(t *testing.T) {
	t.Parallel()
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
	check := func(t *testing.T, s *smtpsink.Sink, wantHelo string) {
		t.Helper()
		r := waitOne(t, s)
		if !r.TLS || r.AuthUser != "u" || r.Helo != wantHelo {
			t.Fatalf("received TLS=%v auth=%q helo=%q, want TLS, user u and helo %q", r.TLS, r.AuthUser, r.Helo, wantHelo)
		}
	}
	t.Run("STARTTLS", func(t *testing.T) {
		t.Parallel()
		s := smtpsink.MustStart(t, smtpsink.WithSTARTTLS(), smtpsink.WithAuth("u", "p"))
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("before.example"); err != nil {
			t.Fatal(err)
		}
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
		// net/smtp says EHLO again after STARTTLS, with the same name.
		check(t, s, "before.example")
	})
	t.Run("implicit", func(t *testing.T) {
		t.Parallel()
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
		if ok, _ := c.Extension("STARTTLS"); ok {
			t.Fatal("STARTTLS advertised on an implicit TLS connection")
		}
		send(t, c)
		check(t, s, "localhost")
	})
	t.Run("untrusted without the client config", func(t *testing.T) {
		t.Parallel()
		s := smtpsink.MustStart(t, smtpsink.WithImplicitTLS())
		_, err := tls.Dial("tcp", s.Addr(), &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12})
		if err == nil {
			t.Fatal("handshake with the self-signed certificate succeeded without trusting it")
		}
	})
	t.Run("no TLS", func(t *testing.T) {
		t.Parallel()
		if smtpsink.MustStart(t).ClientTLSConfig() != nil {
			t.Error("ClientTLSConfig is not nil for a sink without TLS")
		}
	})
}

func TestSinkWaitForAndClose(t *testing.T) {
	t.Parallel()
	s, err := smtpsink.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if got, err := s.WaitFor(1, time.Millisecond); err == nil {
		t.Fatalf("WaitFor succeeded with %d message(s), want a timeout", len(got))
	}
	if err := smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WaitFor(1, 5*time.Second); err != nil || len(got) != 1 {
		t.Fatalf("WaitFor = %d, %v", len(got), err)
	}

	// An idle client is dropped by Close.
	c := dial(t, s)
	c.cmd("", 220)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	c.expectHangUp()
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if nc, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		_ = nc.Close()
		t.Fatal("sink still accepts connections after Close")
	}
	if len(s.Messages()) != 1 {
		t.Fatal("messages lost on Close")
	}
}
