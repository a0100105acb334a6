package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/models"
)

// ErrTokenNotFound is what a TokenStore returns for an unknown, revoked or
// expired key.
var ErrTokenNotFound = errors.New("restauth: token not found")

// TokenStore keeps token-authentication keys (DRF's authtoken, one key per
// login). Implementations must be safe for concurrent use, must return
// ErrTokenNotFound (possibly wrapped) for a key that is unknown, revoked or
// expired, must make Delete and DeleteUser idempotent, and must never log
// keys. A store may keep only a digest of each key; it must never need the
// key back.
type TokenStore interface {
	// Create stores a new key for userID, valid until expiresAt (zero: no
	// expiry), and returns the key.
	Create(ctx context.Context, userID uint, expiresAt time.Time) (string, error)
	// User returns the ID of the user that key belongs to.
	User(ctx context.Context, key string) (uint, error)
	// Delete revokes key.
	Delete(ctx context.Context, key string) error
	// DeleteUser revokes every key of userID except those in keep.
	DeleteUser(ctx context.Context, userID uint, keep ...string) error
}

// NewKey returns a fresh token key: 40 lowercase hex characters from 20
// random bytes, as DRF's authtoken makes them.
func NewKey() (string, error) {
	var b [20]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("restauth: random key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Digest returns the hex SHA-256 of key, the form in which keys are stored.
func Digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

type txKey struct{}

// WithTx returns ctx carrying tx, so that stores built on GORM join the
// caller's transaction.
func WithTx(ctx context.Context, tx *gorm.DB) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// DB returns the transaction carried by ctx, or db, bound to ctx.
func DB(ctx context.Context, db *gorm.DB) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok && tx != nil {
		return tx.WithContext(ctx)
	}
	return db.WithContext(ctx)
}

// GORMTokenStore is the default TokenStore: rows of models.Token holding
// SHA-256 digests of the keys.
type GORMTokenStore struct {
	db  *gorm.DB
	now func() time.Time
}

// NewGORMTokenStore returns a TokenStore on db; now is the clock used for
// expiry (nil: time.Now).
func NewGORMTokenStore(db *gorm.DB, now func() time.Time) *GORMTokenStore {
	if now == nil {
		now = time.Now
	}
	return &GORMTokenStore{db: db, now: now}
}

// Create stores a new key for userID.
func (s *GORMTokenStore) Create(ctx context.Context, userID uint, expiresAt time.Time) (string, error) {
	key, err := NewKey()
	if err != nil {
		return "", err
	}
	row := models.Token{Digest: Digest(key), UserID: userID, CreatedAt: s.now().UTC()}
	if !expiresAt.IsZero() {
		e := expiresAt.UTC()
		row.ExpiresAt = &e
	}
	if err := DB(ctx, s.db).Create(&row).Error; err != nil {
		return "", fmt.Errorf("restauth: create token: %w", err)
	}
	return key, nil
}

// User returns the user ID of key.
func (s *GORMTokenStore) User(ctx context.Context, key string) (uint, error) {
	var row models.Token
	err := DB(ctx, s.db).Where("digest = ?", Digest(key)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, ErrTokenNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("restauth: look up token: %w", err)
	}
	if row.ExpiresAt != nil && !s.now().Before(*row.ExpiresAt) {
		return 0, ErrTokenNotFound
	}
	return row.UserID, nil
}

// Delete revokes key.
func (s *GORMTokenStore) Delete(ctx context.Context, key string) error {
	if err := DB(ctx, s.db).Where("digest = ?", Digest(key)).Delete(&models.Token{}).Error; err != nil {
		return fmt.Errorf("restauth: delete token: %w", err)
	}
	return nil
}

// DeleteUser revokes every key of userID except those in keep.
func (s *GORMTokenStore) DeleteUser(ctx context.Context, userID uint, keep ...string) error {
	q := DB(ctx, s.db).Where("user_id = ?", userID)
	if len(keep) > 0 {
		digests := make([]string, len(keep))
		for i, k := range keep {
			digests[i] = Digest(k)
		}
		q = q.Where("digest NOT IN ?", digests)
	}
	if err := q.Delete(&models.Token{}).Error; err != nil {
		return fmt.Errorf("restauth: delete user tokens: %w", err)
	}
	return nil
}

// PruneExpired deletes expired rows and reports how many went.
func (s *GORMTokenStore) PruneExpired(ctx context.Context) (int64, error) {
	res := DB(ctx, s.db).Where("expires_at IS NOT NULL AND expires_at <= ?", s.now().UTC()).Delete(&models.Token{})
	if res.Error != nil {
		return 0, fmt.Errorf("restauth: prune tokens: %w", res.Error)
	}
	return res.RowsAffected, nil
}
