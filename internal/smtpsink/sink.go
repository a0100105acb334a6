// Package smtpsink is a minimal SMTP server for tests. It listens on the
// loopback interface, speaks enough ESMTP for real clients (EHLO/HELO, MAIL,
// RCPT, DATA, RSET, NOOP, QUIT, optional AUTH PLAIN/LOGIN and STARTTLS),
// records every accepted message and lets tests read and decode them.
//
// It is not a mail server: nothing is relayed or stored on disk.
package smtpsink

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
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
	// StageData is the DATA command, before the message is sent.
	StageData
	// StageMessage is the end of the message data (the final ".").
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
	serverTLS *tls.Config
	clientTLS *tls.Config

	mu      sync.Mutex
	msgs    []Received
	changed chan struct{}
	conns   map[net.Conn]struct{}
	closed  bool

	done chan struct{}
	wg   sync.WaitGroup
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
		changed: make(chan struct{}),
		conns:   map[net.Conn]struct{}{},
		done:    make(chan struct{}),
	}
	host, _, err := net.SplitHostPort(cfg.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listen address %q: %w", cfg.listenAddr, err)
	}
	if cfg.startTLS || cfg.implicit {
		s.serverTLS, s.clientTLS, err = selfSigned(host)
		if err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return nil, fmt.Errorf("smtpsink: listen: %w", err)
	}
	if cfg.implicit {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.serve()
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

// Close stops the sink, drops open connections and waits for its goroutines.
// Received messages stay readable.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("smtpsink: close: %w", err)
	}
	return nil
}

func (s *Sink) serve() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handle(conn)
	}
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

// session is the state of one SMTP connection.
type session struct {
	s    *Sink
	conn net.Conn
	tp   *textproto.Conn

	tls      bool
	helo     string
	authUser string
	authMech string

	from   string
	inMail bool
	rcpts  []string
}

func (s *Sink) handle(conn net.Conn) {
	defer s.wg.Done()
	defer func() {
		_ = conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
	}()
	ss := &session{s: s, conn: conn, tp: textproto.NewConn(conn)}
	if tc, ok := conn.(*tls.Conn); ok {
		_ = conn.SetDeadline(time.Now().Add(idleTimeout))
		if err := tc.Handshake(); err != nil {
			return
		}
		ss.tls = true
	}
	_ = ss.run()
}

// errQuit ends a session normally.
var errQuit = errors.New("quit")

func (ss *session) reply(code int, lines ...string) error {
	if len(lines) == 0 {
		lines = []string{"OK"}
	}
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		if err := ss.tp.PrintfLine("%d%s%s", code, sep, l); err != nil {
			return err
		}
	}
	return nil
}

// stall discards input until the peer hangs up or the sink is closed.
func (ss *session) stall() error {
	_ = ss.conn.SetDeadline(time.Time{})
	_, _ = io.Copy(io.Discard, ss.conn)
	return errQuit
}

func (ss *session) readLine() (string, error) {
	_ = ss.conn.SetDeadline(time.Now().Add(idleTimeout))
	return ss.tp.ReadLine()
}

func (ss *session) run() error {
	cfg := &ss.s.cfg
	if cfg.stall[StageConnect] {
		return ss.stall()
	}
	if cfg.reject[StageConnect] {
		return ss.reply(554, "5.3.2 smtpsink: service unavailable")
	}
	if err := ss.reply(220, "smtpsink ESMTP ready"); err != nil {
		return err
	}
	for {
		line, err := ss.readLine()
		if err != nil {
			return err
		}
		verb, arg, _ := strings.Cut(line, " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToUpper(verb) {
		case "EHLO":
			err = ss.ehlo(arg)
		case "HELO":
			ss.helo = arg
			ss.resetTx()
			err = ss.reply(250, "smtpsink")
		case "STARTTLS":
			err = ss.startTLS()
		case "AUTH":
			err = ss.auth(arg)
		case "MAIL":
			err = ss.mail(arg)
		case "RCPT":
			err = ss.rcpt(arg)
		case "DATA":
			err = ss.data()
		case "RSET":
			ss.resetTx()
			err = ss.reply(250, "2.0.0 OK")
		case "NOOP":
			err = ss.reply(250, "2.0.0 OK")
		case "VRFY":
			err = ss.reply(252, "2.5.2 cannot verify")
		case "QUIT":
			_ = ss.reply(221, "2.0.0 bye")
			return errQuit
		default:
			err = ss.reply(502, "5.5.2 command not implemented")
		}
		if err != nil {
			return err
		}
	}
}

func (ss *session) resetTx() {
	ss.from, ss.inMail, ss.rcpts = "", false, nil
}

func (ss *session) ehlo(arg string) error {
	ss.helo = arg
	ss.resetTx()
	cfg := &ss.s.cfg
	lines := []string{"smtpsink greets " + arg, "8BITMIME", "ENHANCEDSTATUSCODES"}
	if cfg.startTLS && !ss.tls {
		lines = append(lines, "STARTTLS")
	}
	if len(cfg.mechs) > 0 {
		lines = append(lines, "AUTH "+strings.Join(cfg.mechs, " "))
	}
	lines = append(lines, fmt.Sprintf("SIZE %d", MaxMessageSize))
	return ss.reply(250, lines...)
}

func (ss *session) startTLS() error {
	if !ss.s.cfg.startTLS || ss.tls {
		return ss.reply(502, "5.5.1 STARTTLS not available")
	}
	if err := ss.reply(220, "2.0.0 ready to start TLS"); err != nil {
		return err
	}
	tc := tls.Server(ss.conn, ss.s.serverTLS)
	_ = tc.SetDeadline(time.Now().Add(idleTimeout))
	if err := tc.Handshake(); err != nil {
		return err
	}
	ss.conn = tc
	ss.tp = textproto.NewConn(tc)
	ss.tls = true
	ss.helo, ss.authUser, ss.authMech = "", "", ""
	ss.resetTx()
	return nil
}

func (ss *session) mail(arg string) error {
	cfg := &ss.s.cfg
	if cfg.stall[StageMail] {
		return ss.stall()
	}
	switch {
	case ss.helo == "":
		return ss.reply(503, "5.5.1 say EHLO first")
	case ss.inMail:
		return ss.reply(503, "5.5.1 nested MAIL command")
	case len(cfg.mechs) > 0 && ss.authUser == "":
		return ss.reply(530, "5.7.0 authentication required")
	case cfg.reject[StageMail]:
		return ss.reply(550, "5.7.1 smtpsink: sender rejected")
	}
	addr, ok := pathArg(arg, "FROM:")
	if !ok {
		return ss.reply(501, "5.5.4 syntax: MAIL FROM:<address>")
	}
	ss.from, ss.inMail = addr, true
	return ss.reply(250, "2.1.0 OK")
}

func (ss *session) rcpt(arg string) error {
	cfg := &ss.s.cfg
	if cfg.stall[StageRcpt] {
		return ss.stall()
	}
	if !ss.inMail {
		return ss.reply(503, "5.5.1 need MAIL first")
	}
	if cfg.reject[StageRcpt] {
		return ss.reply(550, "5.1.1 smtpsink: recipient rejected")
	}
	addr, ok := pathArg(arg, "TO:")
	if !ok || addr == "" {
		return ss.reply(501, "5.5.4 syntax: RCPT TO:<address>")
	}
	ss.rcpts = append(ss.rcpts, addr)
	return ss.reply(250, "2.1.5 OK")
}

func (ss *session) data() error {
	cfg := &ss.s.cfg
	if cfg.stall[StageData] {
		return ss.stall()
	}
	if len(ss.rcpts) == 0 {
		return ss.reply(503, "5.5.1 need RCPT first")
	}
	if cfg.reject[StageData] {
		return ss.reply(554, "5.3.0 smtpsink: transaction failed")
	}
	if err := ss.reply(354, "end data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	var buf []byte
	tooBig := false
	for {
		line, err := ss.readLine()
		if err != nil {
			return err
		}
		if line == "." {
			break
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		if len(buf)+len(line)+2 > MaxMessageSize {
			tooBig = true
			continue
		}
		buf = append(buf, line...)
		buf = append(buf, '\r', '\n')
	}
	if cfg.stall[StageMessage] {
		return ss.stall()
	}
	if tooBig {
		ss.resetTx()
		return ss.reply(552, "5.3.4 message too big")
	}
	if cfg.reject[StageMessage] {
		ss.resetTx()
		return ss.reply(554, "5.6.0 smtpsink: message rejected")
	}
	ss.s.record(Received{
		From:          ss.from,
		To:            slices.Clone(ss.rcpts),
		Data:          buf,
		Helo:          ss.helo,
		AuthUser:      ss.authUser,
		AuthMechanism: ss.authMech,
		TLS:           ss.tls,
	})
	ss.resetTx()
	return ss.reply(250, "2.0.0 queued")
}

// pathArg parses "FROM:<addr> params" or "TO:<addr> params" (prefix is
// matched case-insensitively) and returns addr.
func pathArg(arg, prefix string) (string, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	if !strings.HasPrefix(rest, "<") {
		return "", false
	}
	end := strings.IndexByte(rest, '>')
	if end < 0 {
		return "", false
	}
	return rest[1:end], true
}
