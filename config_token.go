package restauth

import (
	"context"
	"time"

	"github.com/restauth/restauth/internal/tokens"
)

// TokenConfig configures token-key authentication: "Authorization: Token
// <key>", one key per login, as DRF's authtoken.
type TokenConfig struct {
	// Disabled turns token keys off; then JWT.Enabled must be set.
	Disabled bool
	// TTL limits the life of a key; 0 means keys last until logout or a
	// password change.
	TTL time.Duration
	// Store keeps the keys [REST_AUTH_TOKEN_MODEL, REST_AUTH_TOKEN_CREATOR].
	// Default: a GORM table holding SHA-256 digests of the keys.
	Store TokenStore
}

func (c *TokenConfig) withDefaults(jwt bool) error {
	if c.Disabled && !jwt {
		return fieldError("Token.Disabled", "with JWT.Enabled off leaves no way to authenticate")
	}
	if c.TTL < 0 {
		return fieldError("Token.TTL", "%v", errNegative)
	}
	return nil
}

// TokenStore keeps token-authentication keys. Implementations must be
// safe for concurrent use, must return ErrTokenNotFound (possibly wrapped)
// from User for a key that is unknown, revoked or expired, must make
// Delete and DeleteUser idempotent, and must never log or store keys in
// the clear (a digest is enough: a store never needs a key back). A
// store that can drop expired keys also implements TokenPruner.
type TokenStore interface {
	// Create stores a new key for userID, valid until expiresAt (zero:
	// no expiry), and returns the key. When ctx carries a transaction of
	// restauth's (a GORM store), it joins it.
	Create(ctx context.Context, userID uint, expiresAt time.Time) (string, error)
	// User returns the ID of the user key belongs to.
	User(ctx context.Context, key string) (uint, error)
	// Delete revokes key.
	Delete(ctx context.Context, key string) error
	// DeleteUser revokes every key of userID except those in keep.
	DeleteUser(ctx context.Context, userID uint, keep ...string) error
}

// TokenPruner is the optional capability of a TokenStore that can delete
// its expired keys; Plugin.PruneExpired calls it when the store has it.
type TokenPruner interface {
	// PruneExpired deletes expired keys and reports how many went.
	PruneExpired(ctx context.Context) (int64, error)
}

// ErrTokenNotFound is what a TokenStore returns for an unknown, revoked or
// expired key.
var ErrTokenNotFound = tokens.ErrNotFound
