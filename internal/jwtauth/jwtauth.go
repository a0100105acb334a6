// Package jwtauth signs and verifies restauth's JSON Web Tokens: access and
// refresh tokens with the claims simplejwt uses (token_type, exp, iat, jti,
// user_id) plus sid, the refresh-token family a token belongs to. It knows
// nothing of HTTP or databases.
package jwtauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token types (the token_type claim).
const (
	Access  = "access"
	Refresh = "refresh"
)

// Key is one key of a key set. ID is the kid header ("" for none).
// Algorithm is a JWS alg: HS256/384/512 (Secret), RS256/384/512 (RSA
// keys), ES256/384/512 (ECDSA keys) or EdDSA (Ed25519 keys). A key with a
// Secret or PrivateKey can sign; one with only PublicKey only verifies (a
// retired key kept until the tokens it signed expire).
type Key struct {
	ID         string
	Algorithm  string
	Secret     []byte
	PrivateKey crypto.Signer
	PublicKey  crypto.PublicKey
}

// verifyKey returns what jwt's Verify wants for k.
func (k Key) verifyKey() any {
	if len(k.Secret) > 0 {
		return k.Secret
	}
	if k.PublicKey != nil {
		return k.PublicKey
	}
	if k.PrivateKey != nil {
		return k.PrivateKey.Public()
	}
	return nil
}

func (k Key) canSign() bool { return len(k.Secret) > 0 || k.PrivateKey != nil }

func (k Key) signKey() any {
	if len(k.Secret) > 0 {
		return k.Secret
	}
	return k.PrivateKey
}

// check reports a key whose algorithm and key material do not belong
// together.
func (k Key) check() error {
	name := k.ID
	if name == "" {
		name = "(no kid)"
	}
	var pub any = k.PublicKey
	if pub == nil && k.PrivateKey != nil {
		pub = k.PrivateKey.Public()
	}
	switch k.Algorithm {
	case "HS256", "HS384", "HS512":
		if len(k.Secret) < 32 {
			return fmt.Errorf("key %s: %s needs a Secret of at least 32 bytes", name, k.Algorithm)
		}
		if k.PrivateKey != nil || k.PublicKey != nil {
			return fmt.Errorf("key %s: %s takes a Secret, not a public/private key", name, k.Algorithm)
		}
		return nil
	case "RS256", "RS384", "RS512":
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return fmt.Errorf("key %s: %s needs an RSA key", name, k.Algorithm)
		}
		if rk.N.BitLen() < 2048 {
			return fmt.Errorf("key %s: RSA keys must have at least 2048 bits", name)
		}
	case "ES256", "ES384", "ES512":
		ek, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("key %s: %s needs an ECDSA key", name, k.Algorithm)
		}
		want := map[string]string{"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}[k.Algorithm]
		if ek.Curve == nil || ek.Curve.Params().Name != want {
			return fmt.Errorf("key %s: %s needs a %s key", name, k.Algorithm, want)
		}
	case "EdDSA":
		if _, ok := pub.(ed25519.PublicKey); !ok {
			return fmt.Errorf("key %s: EdDSA needs an Ed25519 key", name)
		}
	default:
		return fmt.Errorf("key %s: unsupported algorithm %q", name, k.Algorithm)
	}
	if len(k.Secret) > 0 {
		return fmt.Errorf("key %s: %s takes a key pair, not a Secret", name, k.Algorithm)
	}
	return nil
}

// Claims are the verified contents of a token.
type Claims struct {
	Type      string
	UserID    string
	JTI       string
	SID       string
	IssuedAt  time.Time
	ExpiresAt time.Time

	raw  string         // the token, for All
	all  map[string]any // decoded by All, once
	once *sync.Once
}

// All returns every claim, the app's own included, decoded from the
// token on first use (most requests never need them).
func (c *Claims) All() map[string]any {
	if c.once == nil {
		return map[string]any{}
	}
	c.once.Do(func() {
		all := map[string]any{}
		if parts := strings.SplitN(c.raw, ".", 3); len(parts) == 3 {
			if payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "=")); err == nil {
				_ = json.Unmarshal(payload, &all) // verified by Parse already
			}
		}
		c.all = all
	})
	return c.all
}

// verified remembers the tokens whose signature and claims Parse has
// checked, by their exact text: a token's signature cannot change, so a
// token seen before needs only its lifetime checked again. It holds at
// most maxVerified tokens and starts over when full.
type verified struct {
	m atomic.Pointer[sync.Map]
	n atomic.Int64
}

const maxVerified = 8192

// get returns a copy of the claims of raw if it was verified and has not
// expired at now.
func (v *verified) get(raw string, now time.Time) (*Claims, bool) {
	m := v.m.Load()
	if m == nil {
		return nil, false
	}
	x, ok := m.Load(raw)
	if !ok {
		return nil, false
	}
	c := x.(*Claims)
	if !now.Before(c.ExpiresAt) {
		return nil, false
	}
	cp := *c // All decodes into the copy, not the shared one
	cp.once = new(sync.Once)
	return &cp, true
}

func (v *verified) put(raw string, c *Claims) {
	if c.ExpiresAt.IsZero() {
		return
	}
	m := v.m.Load()
	if m == nil || v.n.Load() >= maxVerified {
		m = new(sync.Map)
		v.m.Store(m)
		v.n.Store(0)
	}
	cp := *c
	cp.all, cp.once = nil, nil
	if _, loaded := m.LoadOrStore(raw, &cp); !loaded {
		v.n.Add(1)
	}
}

// wireClaims are the claims Parse reads, decoded straight into a struct
// (no map per request).
type wireClaims struct {
	jwt.RegisteredClaims
	TokenType string `json:"token_type"`
	UserID    string `json:"user_id"`
	SID       string `json:"sid"`
}

// Errors returned by Parse. ErrInvalid covers every way a token can be
// bad; the wrapped cause says which, for logs.
var ErrInvalid = errors.New("token is invalid or expired")

// Issuer signs and verifies tokens with one key set.
type Issuer struct {
	seen    verified
	keys    map[string]Key
	signer  Key
	access  time.Duration
	refresh time.Duration
	now     func() time.Time
	parser  *jwt.Parser
}

// New returns an Issuer. The first key that can sign signs; every key
// verifies the tokens whose kid names it.
func New(keys []Key, access, refresh time.Duration, now func() time.Time) (*Issuer, error) {
	if len(keys) == 0 {
		return nil, errors.New("no keys")
	}
	i := &Issuer{keys: make(map[string]Key, len(keys)), access: access, refresh: refresh, now: now}
	methods := map[string]bool{}
	for _, k := range keys {
		if err := k.check(); err != nil {
			return nil, err
		}
		if _, dup := i.keys[k.ID]; dup {
			return nil, fmt.Errorf("two keys with kid %q", k.ID)
		}
		i.keys[k.ID] = k
		methods[k.Algorithm] = true
		if i.signer.Algorithm == "" && k.canSign() {
			i.signer = k
		}
	}
	if i.signer.Algorithm == "" {
		return nil, errors.New("no key can sign (each has only a public key)")
	}
	valid := make([]string, 0, len(methods))
	for m := range methods {
		valid = append(valid, m)
	}
	i.parser = jwt.NewParser(
		jwt.WithValidMethods(valid),
		jwt.WithTimeFunc(now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	return i, nil
}

// AccessLifetime and RefreshLifetime return the configured lifetimes.
func (i *Issuer) AccessLifetime() time.Duration  { return i.access }
func (i *Issuer) RefreshLifetime() time.Duration { return i.refresh }

// NewID returns a fresh random token id: 32 lowercase hex characters.
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// reserved claims the app's extra claims cannot replace.
var reserved = map[string]bool{"token_type": true, "exp": true, "iat": true, "jti": true, "user_id": true, "sid": true, "nbf": true}

// Sign returns a signed token of type typ for userID in family sid, with
// the app's extra claims (reserved names are ignored), and its expiry.
// jti is made fresh when empty.
func (i *Issuer) Sign(typ, userID, sid, jti string, extra map[string]any) (string, time.Time, error) {
	if jti == "" {
		id, err := NewID()
		if err != nil {
			return "", time.Time{}, err
		}
		jti = id
	}
	life := i.access
	if typ == Refresh {
		life = i.refresh
	}
	now := i.now().UTC().Truncate(time.Second)
	exp := now.Add(life)
	claims := jwt.MapClaims{}
	for k, v := range extra {
		if !reserved[k] {
			claims[k] = v
		}
	}
	claims["token_type"] = typ
	claims["exp"] = exp.Unix()
	claims["iat"] = now.Unix()
	claims["jti"] = jti
	claims["user_id"] = userID
	claims["sid"] = sid
	t := jwt.NewWithClaims(jwt.GetSigningMethod(i.signer.Algorithm), claims)
	if i.signer.ID != "" {
		t.Header["kid"] = i.signer.ID
	}
	s, err := t.SignedString(i.signer.signKey())
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// keyFor selects the verification key by kid and insists the token's alg
// is that key's algorithm, so a public key can never serve as an HMAC
// secret.
func (i *Issuer) keyFor(t *jwt.Token) (any, error) {
	kid := ""
	if v, ok := t.Header["kid"]; ok {
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, errors.New("bad kid header")
		}
		kid = s
	}
	k, ok := i.keys[kid]
	if !ok {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	if t.Method == nil || t.Method.Alg() != k.Algorithm {
		return nil, fmt.Errorf("alg does not match key %q", kid)
	}
	return k.verifyKey(), nil
}

// Parse verifies raw and returns its claims. typ, when not "", is the
// token_type the token must have.
func (i *Issuer) Parse(raw, typ string) (*Claims, error) {
	if raw == "" || len(raw) > 8192 {
		return nil, ErrInvalid
	}
	if c, ok := i.seen.get(raw, i.now()); ok {
		if typ != "" && c.Type != typ {
			return nil, fmt.Errorf("%w: token_type %q, want %q", ErrInvalid, c.Type, typ)
		}
		return c, nil
	}
	c, err := i.verify(raw, typ)
	if err != nil {
		return nil, err
	}
	i.seen.put(raw, c)
	return c, nil
}

// verify checks raw's signature and claims.
func (i *Issuer) verify(raw, typ string) (*Claims, error) {
	var wc wireClaims
	if _, err := i.parser.ParseWithClaims(raw, &wc, i.keyFor); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c := &Claims{Type: wc.TokenType, UserID: wc.UserID, JTI: wc.ID, SID: wc.SID, raw: raw, once: new(sync.Once)}
	if c.Type != Access && c.Type != Refresh {
		return nil, fmt.Errorf("%w: bad token_type", ErrInvalid)
	}
	if typ != "" && c.Type != typ {
		return nil, fmt.Errorf("%w: token_type %q, want %q", ErrInvalid, c.Type, typ)
	}
	if c.UserID == "" {
		return nil, fmt.Errorf("%w: bad user_id", ErrInvalid)
	}
	if c.JTI == "" {
		return nil, fmt.Errorf("%w: bad jti", ErrInvalid)
	}
	if wc.ExpiresAt != nil {
		c.ExpiresAt = wc.ExpiresAt.Time.UTC()
	}
	if wc.IssuedAt != nil {
		c.IssuedAt = wc.IssuedAt.Time.UTC()
	}
	return c, nil
}
