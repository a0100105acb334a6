// Package tokens keeps token-authentication keys (DRF's authtoken, one
// key per login): the Store contract, its default GORM implementation,
// and Keys, which issues keys with the configured lifetime.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/models"
)

// ErrNotFound is what a Store returns for an unknown, revoked or expired
// key.
var ErrNotFound = errors.New("restauth: token not found")

// Store keeps token keys; restauth.TokenStore documents the contract.
type Store interface {
	Create(ctx context.Context, userID uint, expiresAt time.Time) (string, error)
	User(ctx context.Context, key string) (uint, error)
	Delete(ctx context.Context, key string) error
	DeleteUser(ctx context.Context, userID uint, keep ...string) error
}

// Pruner is a Store that can delete its expired keys.
type Pruner interface {
	PruneExpired(ctx context.Context) (int64, error)
}

// NewKey returns a fresh token key: 40 lowercase hex characters from 20
// random bytes, as DRF's authtoken makes them.
func NewKey() (string, error) { return secret.Hex(20) }

// GORMStore is the default Store: rows of models.Token holding SHA-256
// digests of the keys.
type GORMStore struct {
	db  *gorm.DB
	now func() time.Time
}

// NewGORMStore returns a Store on db; now is the clock used for expiry.
func NewGORMStore(db *gorm.DB, now func() time.Time) *GORMStore {
	return &GORMStore{db: db, now: now}
}

// Create stores a new key for userID.
func (s *GORMStore) Create(ctx context.Context, userID uint, expiresAt time.Time) (string, error) {
	key, err := NewKey()
	if err != nil {
		return "", err
	}
	row := models.Token{Digest: secret.Digest(key), UserID: userID, CreatedAt: s.now().UTC()}
	if !expiresAt.IsZero() {
		e := expiresAt.UTC()
		row.ExpiresAt = &e
	}
	if err := dbx.DB(ctx, s.db).Create(&row).Error; err != nil {
		return "", fmt.Errorf("restauth: create token: %w", err)
	}
	return key, nil
}

// User returns the user ID of key.
func (s *GORMStore) User(ctx context.Context, key string) (uint, error) {
	var row models.Token
	// Find into a struct with a limit: a miss is no error (nothing logged).
	res := dbx.DB(ctx, s.db).Where("digest = ?", secret.Digest(key)).Limit(1).Find(&row)
	if res.Error != nil {
		return 0, fmt.Errorf("restauth: look up token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return 0, ErrNotFound
	}
	if e := row.ExpiresAt; e != nil && !s.now().Before(*e) {
		return 0, ErrNotFound
	}
	return row.UserID, nil
}

// Delete revokes key.
func (s *GORMStore) Delete(ctx context.Context, key string) error {
	if err := dbx.DB(ctx, s.db).Where("digest = ?", secret.Digest(key)).Delete(&models.Token{}).Error; err != nil {
		return fmt.Errorf("restauth: delete token: %w", err)
	}
	return nil
}

// DeleteDigest revokes the key of userID whose digest is digest (the
// form restauth_tokens holds), for ending a session by its handle.
func (s *GORMStore) DeleteDigest(ctx context.Context, userID uint, digest string) error {
	if err := dbx.DB(ctx, s.db).Where("digest = ? AND user_id = ?", digest, userID).Delete(&models.Token{}).Error; err != nil {
		return fmt.Errorf("restauth: delete token: %w", err)
	}
	return nil
}

// DeleteUser revokes every key of userID except those in keep.
func (s *GORMStore) DeleteUser(ctx context.Context, userID uint, keep ...string) error {
	q := dbx.DB(ctx, s.db).Where("user_id = ?", userID)
	if len(keep) > 0 {
		digests := make([]string, len(keep))
		for i, k := range keep {
			digests[i] = secret.Digest(k)
		}
		q = q.Where("digest NOT IN ?", digests)
	}
	if err := q.Delete(&models.Token{}).Error; err != nil {
		return fmt.Errorf("restauth: delete user tokens: %w", err)
	}
	return nil
}

// PruneExpired deletes expired rows and reports how many went.
func (s *GORMStore) PruneExpired(ctx context.Context) (int64, error) {
	res := dbx.DB(ctx, s.db).Where("expires_at IS NOT NULL AND expires_at <= ?", s.now().UTC()).Delete(&models.Token{})
	if res.Error != nil {
		return 0, fmt.Errorf("restauth: prune tokens: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Keys issues and resolves token keys with a lifetime.
type Keys struct {
	Store Store
	// TTL is a key's life; 0 means no expiry.
	TTL time.Duration
	Now func() time.Time
}

// Issue stores a new key for userID (ctx may carry a transaction).
func (k *Keys) Issue(ctx context.Context, userID uint) (string, error) {
	var exp time.Time
	if k.TTL > 0 {
		exp = k.Now().Add(k.TTL)
	}
	return k.Store.Create(ctx, userID, exp)
}

// User resolves key to its user ID; ErrNotFound for a bad key.
func (k *Keys) User(ctx context.Context, key string) (uint, error) { return k.Store.User(ctx, key) }

// Joinable reports whether keys live in restauth_tokens (the default
// GORMStore), so that a key's user can be found by one join.
func (k *Keys) Joinable() bool {
	_, ok := k.Store.(*GORMStore)
	return ok
}

// Revoke deletes key.
func (k *Keys) Revoke(ctx context.Context, key string) error { return k.Store.Delete(ctx, key) }

// ErrNoDigest is RevokeDigest's answer for a store that cannot revoke a
// key by its digest.
var ErrNoDigest = errors.New("restauth: the token store cannot revoke a key by its digest")

// DigestDeleter is a Store that can revoke a key by its digest (the
// default GORMStore can).
type DigestDeleter interface {
	DeleteDigest(ctx context.Context, userID uint, digest string) error
}

// RevokeDigest deletes the key of userID with digest secret.Digest(key);
// ErrNoDigest when the store cannot.
func (k *Keys) RevokeDigest(ctx context.Context, userID uint, digest string) error {
	d, ok := k.Store.(DigestDeleter)
	if !ok {
		return ErrNoDigest
	}
	return d.DeleteDigest(ctx, userID, digest)
}

// RevokeUser deletes every key of userID but keep ("" keeps none).
func (k *Keys) RevokeUser(ctx context.Context, userID uint, keep string) error {
	if keep == "" {
		return k.Store.DeleteUser(ctx, userID)
	}
	return k.Store.DeleteUser(ctx, userID, keep)
}

// Prune deletes expired keys when the store can.
func (k *Keys) Prune(ctx context.Context) (int64, error) {
	if p, ok := k.Store.(Pruner); ok {
		return p.PruneExpired(ctx)
	}
	return 0, nil
}
