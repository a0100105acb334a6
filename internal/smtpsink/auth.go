package smtpsink

import (
	"bytes"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
)

// errAuthSyntax reports a malformed or cancelled SASL exchange.
var errAuthSyntax = errors.New("bad SASL exchange")

func (ss *session) auth(arg string) error {
	cfg := &ss.s.cfg
	if cfg.stall[StageAuth] {
		return ss.stall()
	}
	mech, initial, hasInitial := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	switch {
	case len(cfg.mechs) == 0:
		return ss.reply(502, "5.5.1 AUTH not available")
	case ss.helo == "":
		return ss.reply(503, "5.5.1 say EHLO first")
	case ss.authUser != "":
		return ss.reply(503, "5.5.1 already authenticated")
	case ss.inMail:
		return ss.reply(503, "5.5.1 AUTH not allowed during a mail transaction")
	case !slices.Contains(cfg.mechs, mech):
		return ss.reply(504, "5.5.4 unrecognized authentication mechanism")
	}

	var user, pass string
	var err error
	switch mech {
	case "PLAIN":
		user, pass, err = ss.authPlain(initial, hasInitial)
	case "LOGIN":
		user, pass, err = ss.authLogin(initial, hasInitial)
	default:
		return ss.reply(504, "5.5.4 unrecognized authentication mechanism")
	}
	if errors.Is(err, errAuthSyntax) {
		return ss.reply(501, "5.5.2 malformed authentication exchange")
	}
	if err != nil {
		return err
	}
	if cfg.reject[StageAuth] || user != cfg.username || pass != cfg.password {
		return ss.reply(535, "5.7.8 authentication credentials invalid")
	}
	ss.authUser, ss.authMech = user, mech
	return ss.reply(235, "2.7.0 authentication successful")
}

// challenge sends a 334 challenge and returns the decoded client response.
func (ss *session) challenge(text string) ([]byte, error) {
	if err := ss.reply(334, base64.StdEncoding.EncodeToString([]byte(text))); err != nil {
		return nil, err
	}
	line, err := ss.readLine()
	if err != nil {
		return nil, err
	}
	return decodeSASL(line)
}

func decodeSASL(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return nil, errAuthSyntax
	}
	if s == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errAuthSyntax
	}
	return b, nil
}

func (ss *session) authPlain(initial string, hasInitial bool) (user, pass string, err error) {
	var resp []byte
	if hasInitial {
		resp, err = decodeSASL(initial)
	} else {
		resp, err = ss.challenge("")
	}
	if err != nil {
		return "", "", err
	}
	parts := bytes.Split(resp, []byte{0})
	if len(parts) != 3 {
		return "", "", errAuthSyntax
	}
	return string(parts[1]), string(parts[2]), nil
}

func (ss *session) authLogin(initial string, hasInitial bool) (user, pass string, err error) {
	var u, p []byte
	if hasInitial {
		u, err = decodeSASL(initial)
	} else {
		u, err = ss.challenge("Username:")
	}
	if err != nil {
		return "", "", err
	}
	if p, err = ss.challenge("Password:"); err != nil {
		return "", "", err
	}
	return string(u), string(p), nil
}
