package smtpsink

import (
	"slices"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// AuthMechanisms lists the mechanisms go-smtp advertises in EHLO; none
// without WithAuth.
func (ss *session) AuthMechanisms() []string { return ss.s.cfg.mechs }

// Auth returns the SASL server for mech; go-smtp runs the exchange.
func (ss *session) Auth(mech string) (sasl.Server, error) {
	cfg := &ss.s.cfg
	switch {
	case len(cfg.mechs) == 0:
		return nil, smtp.ErrAuthUnsupported
	case !slices.Contains(cfg.mechs, mech):
		return nil, smtp.ErrAuthUnknownMechanism
	}
	if cfg.stall[StageAuth] {
		ss.s.stall(StageAuth, ss.conn.Conn())
		return nil, errStalled
	}
	check := func(user, pass string) error {
		if user != cfg.username || pass != cfg.password {
			return smtp.ErrAuthFailed
		}
		ss.authUser, ss.authMech = user, mech
		return nil
	}
	if cfg.reject[StageAuth] {
		// Reject once the client sent its credentials, as for a wrong
		// password.
		check = func(string, string) error { return rejections[StageAuth] }
	}
	return ss.server(mech, check), nil
}

// server returns the SASL server for mech, PLAIN or LOGIN, checking
// credentials with check.
func (ss *session) server(mech string, check func(user, pass string) error) sasl.Server {
	if mech == sasl.Login {
		return &loginServer{check: check}
	}
	return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) })
}

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// implements only for clients: it asks "Username:" (unless the client sent
// it as initial response), then "Password:".
type loginServer struct {
	check    func(user, pass string) error
	user     []byte
	haveUser bool
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch {
	case !l.haveUser && response == nil:
		return []byte("Username:"), false, nil
	case !l.haveUser:
		l.user, l.haveUser = response, true
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.check(string(l.user), string(response))
	}
}
