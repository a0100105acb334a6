package social

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/models"
)

// Replay remembers used id_tokens in the database.
type Replay struct {
	DB  *gorm.DB
	Now func() time.Time
}

// Use records digest as used until until; fresh is false when it was
// already used and has not expired.
func (r *Replay) Use(ctx context.Context, digest string, until time.Time) (fresh bool, err error) {
	db := dbx.DB(ctx, r.DB)
	now := r.Now().UTC()
	// An expired record of the same digest no longer counts.
	if err := db.Where("digest = ? AND expires_at <= ?", digest, now).Delete(&models.UsedIDToken{}).Error; err != nil {
		return false, fmt.Errorf("restauth: used id_tokens: %w", err)
	}
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&models.UsedIDToken{Digest: digest, ExpiresAt: until.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("restauth: used id_tokens: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Authorizations keeps the pending flows of <provider>/authorize/.
type Authorizations struct {
	DB     *gorm.DB
	Expire time.Duration
	Now    func() time.Time
}

// Pending is a started flow, as the authorize endpoint hands it out.
type Pending struct {
	State, Browser, Verifier, Nonce, RedirectURI string
}

// Start stores a new flow for provider and returns it: a random state
// (256 bits), a PKCE verifier and a nonce, bound to browser (the secret
// of the browser's cookie; "" makes a new one).
func (a *Authorizations) Start(ctx context.Context, provider, redirectURI, browser string) (Pending, error) {
	p := Pending{Browser: browser}
	for _, s := range []*string{&p.State, &p.Browser, &p.Verifier, &p.Nonce} {
		if *s != "" {
			continue
		}
		v, err := secret.Hex(32)
		if err != nil {
			return Pending{}, err
		}
		*s = v
	}
	p.RedirectURI = redirectURI
	row := models.SocialAuthorization{
		StateDigest: secret.Digest(p.State), BrowserDigest: secret.Digest(p.Browser), Provider: provider,
		Verifier: p.Verifier, Nonce: p.Nonce, RedirectURI: redirectURI, ExpiresAt: a.Now().UTC().Add(a.Expire),
	}
	if err := dbx.DB(ctx, a.DB).Create(&row).Error; err != nil {
		return Pending{}, fmt.Errorf("restauth: store authorization: %w", err)
	}
	return p, nil
}

// Take consumes the flow with state for provider started by the browser
// holding browser: ErrInvalidState when there is none, it expired, it
// was used, or another browser started it. A flow is consumed even when
// the browser does not match, so a leaked state cannot be retried.
func (a *Authorizations) Take(ctx context.Context, provider, state, browser string) (Pending, error) {
	if state == "" {
		return Pending{}, ErrInvalidState
	}
	db := dbx.DB(ctx, a.DB)
	var row models.SocialAuthorization
	res := db.Where("state_digest = ?", secret.Digest(state)).Limit(1).Find(&row)
	if res.Error != nil {
		return Pending{}, fmt.Errorf("restauth: load authorization: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return Pending{}, ErrInvalidState
	}
	del := db.Where("id = ?", row.ID).Delete(&models.SocialAuthorization{})
	if del.Error != nil {
		return Pending{}, fmt.Errorf("restauth: use authorization: %w", del.Error)
	}
	if del.RowsAffected != 1 || row.Provider != provider || !a.Now().UTC().Before(row.ExpiresAt) ||
		subtle.ConstantTimeCompare([]byte(row.BrowserDigest), []byte(secret.Digest(browser))) != 1 {
		return Pending{}, ErrInvalidState
	}
	return Pending{State: state, Browser: browser, Verifier: row.Verifier, Nonce: row.Nonce, RedirectURI: row.RedirectURI}, nil
}

// Box encrypts stored provider tokens with AES-256-GCM.
type Box struct{ aead cipher.AEAD }

// NewBox returns a Box keyed by key (32 bytes: AES-256).
func NewBox(key []byte) (*Box, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("restauth: token key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("restauth: token key: %w", err)
	}
	return &Box{aead: aead}, nil
}

const boxPrefix = "v1:"

// Seal encrypts s ("" stays "").
func (b *Box) Seal(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("restauth: random: %w", err)
	}
	out := b.aead.Seal(nonce, nonce, []byte(s), nil)
	return boxPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// errSealed is a stored token that does not open with this key.
var errSealed = errors.New("restauth: stored social token cannot be decrypted (SecretKey changed?)")

// Open decrypts what Seal made.
func (b *Box) Open(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(s, boxPrefix)
	if !ok {
		return "", errSealed
	}
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errSealed
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], nil)
	if err != nil {
		return "", errSealed
	}
	return string(plain), nil
}
