// Package smtpsink is an SMTP server for tests. It runs
// github.com/emersion/go-smtp on a loopback address, with AUTH PLAIN and
// LOGIN, STARTTLS or implicit TLS when asked, records every accepted message
// and lets tests read and decode them. It can also be told to reject or stall
// at a given stage of the conversation, see RejectAt and StallAt.
//
// It is not a mail server: nothing is relayed or stored on disk.
package smtpsink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Stage names a point of the SMTP conversation at which the sink can be told
// to misbehave, see RejectAt and StallAt.
type Stage int

const (
	// StageConnect is the greeting sent when a client connects.
	StageConnect Stage = iota + 1
	// StageAuth is the AUTH command.
	StageAuth
	// StageMail is the MAIL FROM command.
	StageMail
	// StageRcpt is the RCPT TO command.
	StageRcpt
	// StageData is the start of the message data. go-smtp always answers
	// the DATA command itself with 354, so a rejection at this stage reaches
	// the client after it sent the message (as with StageMessage, but the
	// sink never reads the message), and a stall starts before the sink
	// reads it.
	StageData
	// StageMessage is the end of the message data (the final "."), after the
	// sink read the whole message.
	StageMessage
)

// String returns the name of the stage.
func (s Stage) String() string {
	switch s {
	case StageConnect:
		return "connect"
	case StageAuth:
		return "AUTH"
	case StageMail:
		return "MAIL"
	case StageRcpt:
		return "RCPT"
	case StageData:
		return "DATA"
	case StageMessage:
		return "end of DATA"
	default:
		return fmt.Sprintf("Stage(%d)", int(s))
	}
}

// MaxMessageSize is the largest message, in bytes, the sink accepts.
const MaxMessageSize = 10 << 20

// idleTimeout bounds how long the sink waits for a client command.
const idleTimeout = 30 * time.Second

// rejections are the replies RejectAt makes the sink send at each stage.
var rejections = map[Stage]*smtp.SMTPError{
	StageConnect: {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 2}, Message: "smtpsink: service unavailable"},
	StageAuth:    {Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "smtpsink: authentication credentials invalid"},
	StageMail:    {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "smtpsink: sender rejected"},
	StageRcpt:    {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "smtpsink: recipient rejected"},
	StageData:    {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 3, 0}, Message: "smtpsink: transaction failed"},
	StageMessage: {Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtpsink: message rejected"},
}

// Option configures a Sink.
type Option func(*config)

type config struct {
	listenAddr string
	username   string
	password   string
	mechs      []string
	startTLS   bool
	implicit   bool
	reject     map[Stage]bool
	stall      map[Stage]bool
	// stalled, when set (by tests), is told each stage at which a stall
	// starts; a full channel drops the news.
	stalled chan<- Stage
}

// WithListenAddr makes the sink listen on addr instead of "127.0.0.1:0". It
// must be a loopback address.
func WithListenAddr(addr string) Option {
	return func(c *config) { c.listenAddr = addr }
}

// WithAuth makes the sink advertise AUTH and require a successful login with
// username and password before MAIL. Mechanisms defaults to PLAIN and LOGIN;
// only those two are supported.
func WithAuth(username, password string, mechanisms ...string) Option {
	return func(c *config) {
		c.username, c.password = username, password
		c.mechs = mechanisms
		if len(c.mechs) == 0 {
			c.mechs = []string{"PLAIN", "LOGIN"}
		}
	}
}

// WithSTARTTLS makes the sink advertise STARTTLS, using a self-signed
// certificate that clients can trust through (*Sink).ClientTLSConfig.
func WithSTARTTLS() Option {
	return func(c *config) { c.startTLS = true }
}

// WithImplicitTLS makes the sink speak TLS from the first byte (SMTPS), using
// a self-signed certificate that clients can trust through
// (*Sink).ClientTLSConfig.
func WithImplicitTLS() Option {
	return func(c *config) { c.implicit = true }
}

// RejectAt makes the sink answer a permanent 5xx error at stage.
func RejectAt(stage Stage) Option {
	return func(c *config) { c.reject[stage] = true }
}

// StallAt makes the sink stop answering at stage: it reads and discards
// whatever the client sends until the client hangs up or the sink is closed.
func StallAt(stage Stage) Option {
	return func(c *config) { c.stall[stage] = true }
}

// Received is one message accepted by the sink.
type Received struct {
	// From is the envelope sender (MAIL FROM), without angle brackets.
	From string
	// To holds the envelope recipients (RCPT TO), without angle brackets.
	To []string
	// Data is the raw message as sent after DATA, dot-unstuffed, with CRLF
	// line endings.
	Data []byte
	// Helo is the name the client gave in EHLO or HELO.
	Helo string
	// AuthUser is the user the session authenticated as, or "".
	AuthUser string
	// AuthMechanism is the SASL mechanism used to authenticate, or "".
	AuthMechanism string
	// TLS reports whether the session was encrypted when the message was
	// sent.
	TLS bool
}

// Sink is a running SMTP server. Its methods are safe for concurrent use.
type Sink struct {
	cfg       config
	ln        net.Listener
	srv       *smtp.Server
	clientTLS *tls.Config
	served    chan struct{} // closed when srv.Serve returns

	mu      sync.Mutex
	msgs    []Received
	changed chan struct{}
	// conns holds every connection accepted so far; Close closes them all,
	// which ends stalls and go-smtp's handlers.
	conns  map[net.Conn]struct{}
	closed bool

	wg sync.WaitGroup // goroutines handling StageConnect hooks
}

// Start starts a sink configured by opts and returns it once it listens.
func Start(opts ...Option) (*Sink, error) {
	cfg := config{
		listenAddr: "127.0.0.1:0",
		reject:     map[Stage]bool{},
		stall:      map[Stage]bool{},
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	s := &Sink{
		cfg:     cfg,
		served:  make(chan struct{}),
		changed: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
	}
	host, _, err := net.SplitHostPort(cfg.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listen address %q: %w", cfg.listenAddr, err)
	}
	var serverTLS *tls.Config
	if cfg.startTLS || cfg.implicit {
		serverTLS, s.clientTLS, err = selfSigned(host)
		if err != nil {
			return nil, err
		}
	}

	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtpsink"
	s.srv.MaxMessageBytes = MaxMessageSize
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = idleTimeout
	s.srv.WriteTimeout = idleTimeout
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.startTLS {
		s.srv.TLSConfig = serverTLS
	}

	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listen: %w", err)
	}
	if cfg.implicit {
		ln = tls.NewListener(ln, serverTLS)
	}
	s.ln = ln
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(hookListener{ln, s})
	}()
	return s, nil
}

// MustStart starts a sink like Start, fails tb if that is impossible, and
// closes the sink when the test ends.
func MustStart(tb testing.TB, opts ...Option) *Sink {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("start SMTP sink: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Addr returns the "host:port" the sink listens on.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// ClientTLSConfig returns a TLS client configuration that trusts the sink's
// certificate, or nil when the sink has no TLS.
func (s *Sink) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of the messages received so far, oldest first.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.clone()
	}
	return out
}

// WaitFor waits until at least n messages were received and returns them all,
// or returns an error after timeout.
func (s *Sink) WaitFor(n int, timeout time.Duration) ([]Received, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got, changed := len(s.msgs), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Messages(), nil
		}
		select {
		case <-changed:
		case <-timer.C:
			return s.Messages(), fmt.Errorf("smtpsink: received %d message(s) within %s, want %d", got, timeout, n)
		}
	}
}

// Close stops the sink, drops open connections (ending stalls) and waits for
// its goroutines. Received messages stay readable.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	// Once Serve has returned no connection handler can start, so
	// Shutdown only waits for those already running, whose connections are
	// closed. It also closes the listener again; that error is expected.
	<-s.served
	_ = s.srv.Shutdown(context.Background())
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smtpsink: close: %w", err)
	}
	return nil
}

func (s *Sink) record(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

func (r Received) clone() Received {
	r.To = slices.Clone(r.To)
	r.Data = slices.Clone(r.Data)
	return r
}

// hookListener registers every accepted connection with the sink and
// handles StageConnect hooks itself, since go-smtp greets before any
// backend call.
type hookListener struct {
	net.Listener
	s *Sink
}

func (l hookListener) Accept() (net.Conn, error) {
	s := l.s
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return nil, net.ErrClosed
		}
		s.conns[c] = struct{}{}
		hook := s.cfg.stall[StageConnect] || s.cfg.reject[StageConnect]
		if hook {
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if !hook {
			return c, nil
		}
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if s.cfg.stall[StageConnect] {
				s.stall(StageConnect, c)
				return
			}
			e := rejections[StageConnect]
			_ = c.SetDeadline(time.Now().Add(idleTimeout))
			_, _ = fmt.Fprintf(c, "%d %d.%d.%d %s\r\n", e.Code, e.EnhancedCode[0], e.EnhancedCode[1], e.EnhancedCode[2], e.Message)
		}()
	}
}

// stall reads and discards c's input until the client hangs up or the sink
// closes c, then closes c.
func (s *Sink) stall(stage Stage, c net.Conn) {
	select {
	case s.cfg.stalled <- stage:
	default:
	}
	_ = c.SetDeadline(time.Time{})
	_, _ = io.Copy(io.Discard, c)
	_ = c.Close()
}

// errStalled ends a session method after a stall; the connection is closed
// by then, so the client never sees it.
var errStalled = errors.New("smtpsink: stalled")

// session is the go-smtp session of one connection, renewed after STARTTLS.
type session struct {
	s    *Sink
	conn *smtp.Conn

	authUser string
	authMech string

	from  string
	rcpts []string
}

func (s *Sink) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: s, conn: c}, nil
}

// hook applies the stall or reject configured for stage, if any.
func (ss *session) hook(stage Stage) error {
	if ss.s.cfg.stall[stage] {
		ss.s.stall(stage, ss.conn.Conn())
		return errStalled
	}
	if ss.s.cfg.reject[stage] {
		return rejections[stage]
	}
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.cfg.mechs) > 0 && ss.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	if err := ss.hook(StageMail); err != nil {
		return err
	}
	ss.from, ss.rcpts = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := ss.hook(StageRcpt); err != nil {
		return err
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	if err := ss.hook(StageData); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err // smtp.ErrDataTooLarge, or the connection failed
	}
	if err := ss.hook(StageMessage); err != nil {
		return err
	}
	_, isTLS := ss.conn.TLSConnectionState()
	ss.s.record(Received{
		From:          ss.from,
		To:            slices.Clone(ss.rcpts),
		Data:          data,
		Helo:          ss.conn.Hostname(),
		AuthUser:      ss.authUser,
		AuthMechanism: ss.authMech,
		TLS:           isTLS,
	})
	return nil
}

func (ss *session) Reset() { ss.from, ss.rcpts = "", nil }

func (ss *session) Logout() error { return nil }
