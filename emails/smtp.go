package emails

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	mail "github.com/wneessen/go-mail"
)

// TLSMode says how the SMTP mailer secures its connection.
type TLSMode int

const (
	// TLSMandatory requires STARTTLS: sending fails when the server does not
	// offer it. It is the zero value, so the default. Default port 587.
	TLSMandatory TLSMode = iota
	// TLSOpportunistic uses STARTTLS when the server offers it and plain
	// SMTP otherwise. Default port 587.
	TLSOpportunistic
	// TLSNone never encrypts. Default port 25. Credentials are then only
	// sent to a server on localhost, 127.0.0.1 or ::1.
	TLSNone
	// TLSImplicit speaks TLS from the first byte (SMTPS). Default port 465.
	TLSImplicit
)

// String returns the name of the mode.
func (m TLSMode) String() string {
	switch m {
	case TLSMandatory:
		return "mandatory STARTTLS"
	case TLSOpportunistic:
		return "opportunistic STARTTLS"
	case TLSNone:
		return "no TLS"
	case TLSImplicit:
		return "implicit TLS"
	default:
		return "TLSMode(" + strconv.Itoa(int(m)) + ")"
	}
}

// DefaultSMTPTimeout is the SMTP timeout used when SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPConfig configures NewSMTP.
type SMTPConfig struct {
	// Addr is the server as "host:port"; the port may be left out, the
	// default then depends on TLS (587, 25 for TLSNone, 465 for
	// TLSImplicit).
	Addr string
	// Username, when set, makes the mailer authenticate with Password:
	// AUTH PLAIN, else LOGIN, else the strongest mechanism go-mail knows
	// among those the server offers. The server must then advertise AUTH,
	// and PLAIN and LOGIN are only used over TLS or with a server on
	// localhost, 127.0.0.1 or ::1.
	Username string
	// Password goes with Username.
	Password string
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	// It is required.
	From string
	// TLS selects how the connection is secured; the zero value is
	// TLSMandatory.
	TLS TLSMode
	// TLSConfig optionally customises TLS (for example trusted roots). Its
	// ServerName defaults to the host of Addr.
	TLSConfig *tls.Config
	// Timeout bounds each network operation of a send; zero means
	// DefaultSMTPTimeout.
	Timeout time.Duration
	// HELO is the name sent in EHLO; empty means the machine's host name.
	HELO string
}

// SMTPMailer is a Mailer that delivers through an SMTP server. Each Send
// opens a connection, sends one message and closes the connection. It is safe
// for concurrent use.
type SMTPMailer struct {
	host      string
	port      int
	from      string
	mode      TLSMode
	username  string
	password  string
	tlsConfig *tls.Config
	timeout   time.Duration
	helo      string
}

// NewSMTP validates cfg and returns a mailer using it. It does not connect.
func NewSMTP(cfg SMTPConfig) (*SMTPMailer, error) {
	s := &SMTPMailer{
		mode:     cfg.TLS,
		username: cfg.Username,
		password: cfg.Password,
		timeout:  cfg.Timeout,
		helo:     cfg.HELO,
	}
	switch cfg.TLS {
	case TLSMandatory, TLSOpportunistic, TLSNone, TLSImplicit:
	default:
		return nil, fmt.Errorf("emails: smtp: unknown %v", cfg.TLS)
	}
	if err := s.parseAddr(cfg.Addr); err != nil {
		return nil, err
	}
	if hasLineBreak(cfg.From) {
		return nil, errors.New("emails: smtp: From contains a line break")
	}
	if strings.TrimSpace(cfg.From) == "" {
		return nil, errors.New("emails: smtp: From is required")
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("emails: smtp: From %q: %w", cfg.From, err)
	}
	s.from = cfg.From
	if hasLineBreak(cfg.HELO) || strings.ContainsAny(cfg.HELO, " \t") {
		return nil, errors.New("emails: smtp: HELO must be a single word")
	}
	if s.timeout < 0 {
		return nil, errors.New("emails: smtp: Timeout must not be negative")
	}
	if s.timeout == 0 {
		s.timeout = DefaultSMTPTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	// Build a client once so that go-mail rejects bad options now, not at
	// the first Send.
	if _, err := s.client(nil); err != nil {
		return nil, fmt.Errorf("emails: smtp: %w", err)
	}
	return s, nil
}

func (s *SMTPMailer) parseAddr(addr string) error {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return errors.New("emails: smtp: Addr is required")
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: the whole thing is the host, maybe a bracketed IPv6.
		host, portStr = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), ""
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return fmt.Errorf("emails: smtp: Addr %q: %w", addr, err)
		}
	}
	if host == "" {
		return fmt.Errorf("emails: smtp: Addr %q has no host", addr)
	}
	port := 587
	switch {
	case portStr != "":
		port, err = strconv.Atoi(portStr)
		if err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("emails: smtp: Addr %q: invalid port", addr)
		}
	case s.mode == TLSNone:
		port = 25
	case s.mode == TLSImplicit:
		port = 465
	}
	s.host, s.port = host, port
	return nil
}

// client builds a go-mail client for one send. dial, when not nil, replaces
// the dialer.
func (s *SMTPMailer) client(dial mail.DialContextFunc) (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConfig),
	}
	switch s.mode {
	case TLSMandatory:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSOpportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	}
	if s.helo != "" {
		opts = append(opts, mail.WithHELO(s.helo))
	}
	if s.username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(s.username),
			mail.WithPassword(s.password),
		)
	}
	if dial != nil {
		opts = append(opts, mail.WithDialContextFunc(dial))
	}
	return mail.NewClient(s.host, opts...)
}

// Send delivers m. It fails, sending nothing, when m is invalid (see
// Message.Validate) or ctx is done; cancelling ctx during the exchange
// aborts it.
func (s *SMTPMailer) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emails: smtp send: %w", err)
	}
	msg, err := s.build(m)
	if err != nil {
		return err
	}

	// go-mail only uses ctx while dialling; to honour it for the whole
	// exchange, keep the connection and close it when ctx is done.
	var (
		mu   sync.Mutex
		conn net.Conn
	)
	// go-mail formats the address as host+":"+port, wrong for IPv6
	// literals, so the address it passes is ignored.
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		c, err := s.dial(dctx, network)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conn = c
		mu.Unlock()
		if ctx.Err() != nil {
			_ = c.Close()
		}
		return c, nil
	}
	client, err := s.client(dial)
	if err != nil {
		return fmt.Errorf("emails: smtp: %w", err)
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if conn != nil {
			_ = conn.Close()
		}
	})
	err = client.DialAndSendWithContext(ctx, msg)
	stop()
	mu.Lock()
	if conn != nil {
		_ = conn.Close()
	}
	mu.Unlock()

	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("emails: smtp send via %s: %w (%w)", s.addr(), ctxErr, err)
		}
		return fmt.Errorf("emails: smtp send via %s: %w", s.addr(), err)
	}
	return nil
}

func (s *SMTPMailer) addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

func (s *SMTPMailer) dial(ctx context.Context, network string) (net.Conn, error) {
	addr := s.addr()
	d := &net.Dialer{}
	if s.mode == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig}
		return td.DialContext(ctx, network, addr)
	}
	return d.DialContext(ctx, network, addr)
}

// build turns m into a go-mail message: text/plain alone, text/html alone,
// or multipart/alternative with both, with a Content-Language header when
// m.Language is set.
func (s *SMTPMailer) build(m Message) (*mail.Msg, error) {
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("emails: smtp: From: %w", err)
	}
	if err := msg.To(m.To...); err != nil {
		return nil, fmt.Errorf("%w: To: %w", ErrInvalidMessage, err)
	}
	msg.Subject(m.Subject)
	if m.Language != "" {
		msg.SetGenHeader(mail.HeaderContentLang, m.Language)
	}
	msg.SetDate()
	msg.SetMessageID()
	switch {
	case m.HTML == "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
