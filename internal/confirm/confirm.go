// Package confirm keeps users' email addresses and their confirmation
// keys (allauth's EmailAddress and EmailConfirmation). A key is
// "<selector>-<verifier>": the row keeps the selector and only the
// SHA-256 of the verifier, and is deleted when used.
package confirm

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// ErrNotFound is the one answer for every bad, expired or used key.
var ErrNotFound = errors.New("restauth: confirmation not found")

// ErrAddressTaken means another user holds the address (unique index).
var ErrAddressTaken = errors.New("restauth: email address taken")

// Confirmations stores addresses and confirmation keys.
type Confirmations struct {
	DB *gorm.DB
	// Unique tells a unique-index violation.
	Unique func(err error) (constraint string, ok bool)
	// Expire is how long a key works; Cooldown the least time between two
	// keys for one address (0: none).
	Expire, Cooldown time.Duration
	Now              func() time.Time
}

func (c *Confirmations) now() time.Time { return c.Now().UTC() }

// Index names: the unique index on email_key, and the lower(email) one of
// earlier versions that Migrate replaces.
const (
	keyIndex = "restauth_email_addresses_email_key_ci"
	oldIndex = "restauth_email_addresses_email_ci"
)

// backfillBatch is how many rows Migrate reads at a time.
const backfillBatch = 500

// Migrate creates or updates the address and confirmation tables and the
// unique index on the addresses' email_key (ident.EmailKey). In one
// transaction it fills the keys of rows that have none (a database from
// before the keys, or rows written by raw SQL), drops the lower(email)
// index of earlier versions and creates the new one; two addresses with
// one key fail it, naming their ids and users, and leave the database as
// it was.
func (c *Confirmations) Migrate(ctx context.Context) error {
	if err := dbx.DB(ctx, c.DB).AutoMigrate(&models.EmailAddress{}, &models.EmailConfirmation{}); err != nil {
		return fmt.Errorf("restauth: migrate addresses: %w", err)
	}
	table := models.EmailAddress{}.TableName()
	return dbx.Transaction(ctx, c.DB, func(ctx context.Context, db *gorm.DB) error {
		if err := db.Exec("DROP INDEX IF EXISTS " + oldIndex).Error; err != nil {
			return fmt.Errorf("restauth: migrate: drop index %s: %w", oldIndex, err)
		}
		indexed := db.Migrator().HasIndex(table, keyIndex)
		if err := backfill(db, indexed); err != nil {
			return err
		}
		if indexed {
			return nil
		}
		var keys []string
		err := db.Model(&models.EmailAddress{}).Where("email_key <> ''").Group("email_key").Having("count(*) > 1").
			Limit(1).Pluck("email_key", &keys).Error
		if err != nil {
			return fmt.Errorf("restauth: migrate: find duplicate addresses: %w", err)
		}
		if len(keys) > 0 {
			var rows []models.EmailAddress
			if err := db.Where("email_key = ?", keys[0]).Order("id").Limit(2).Find(&rows).Error; err != nil {
				return fmt.Errorf("restauth: migrate: find duplicate addresses: %w", err)
			}
			return duplicateErr(rows)
		}
		err = db.Exec("CREATE UNIQUE INDEX IF NOT EXISTS "+keyIndex+" ON ? (email_key) WHERE email_key <> ''", clause.Table{Name: table}).Error
		if err != nil {
			return fmt.Errorf("restauth: migrate: index %s: %w", keyIndex, err)
		}
		return nil
	})
}

// backfill sets the key of every address that has none, in batches in id
// order. indexed says the key index exists already (rows written by raw
// SQL since the upgrade): an address whose key another row holds then
// fails it.
func backfill(db *gorm.DB, indexed bool) error {
	var last uint
	for {
		var rows []models.EmailAddress
		err := db.Where("id > ? AND email_key = '' AND email <> ''", last).Order("id").Limit(backfillBatch).Find(&rows).Error
		if err != nil {
			return fmt.Errorf("restauth: migrate: read addresses: %w", err)
		}
		for _, r := range rows {
			key := ident.EmailKey(r.Email)
			if indexed {
				var other []models.EmailAddress
				if err := db.Where("email_key = ? AND id <> ?", key, r.ID).Limit(1).Find(&other).Error; err != nil {
					return fmt.Errorf("restauth: migrate: find duplicate addresses: %w", err)
				}
				if len(other) > 0 {
					return duplicateErr([]models.EmailAddress{other[0], r})
				}
			}
			err := db.Exec("UPDATE ? SET email_key = ? WHERE id = ?", clause.Table{Name: models.EmailAddress{}.TableName()}, key, r.ID).Error
			if err != nil {
				return fmt.Errorf("restauth: migrate: set address key: %w", err)
			}
		}
		if len(rows) < backfillBatch {
			return nil
		}
		last = rows[len(rows)-1].ID
	}
}

// duplicateErr names two addresses that are one when compared
// case-folded.
func duplicateErr(rows []models.EmailAddress) error {
	var ids []string
	for _, r := range rows {
		ids = append(ids, fmt.Sprintf("%d (user %d)", r.ID, r.UserID))
	}
	return fmt.Errorf("restauth: migrate addresses: email addresses %s are one address when compared normalised and case-folded; remove one and migrate again",
		strings.Join(ids, " and "))
}

// maxKeyBytes is the most bytes an address's key may take (within its
// column and PostgreSQL's index entry limit).
const maxKeyBytes = 1016

// AddAddress stores addr (UserID, Email and its Primary and Verified
// flags) and returns its ID. The address is stored with its domain
// lower-cased (ident.Email) and its key; one whose key is too long is a
// *verr.Error.
func (c *Confirmations) AddAddress(ctx context.Context, addr models.EmailAddress) (uint, error) {
	addr.ID = 0
	addr.Email = ident.Email(addr.Email)
	addr.EmailKey = ident.EmailKey(addr.Email)
	if len(addr.EmailKey) > maxKeyBytes {
		return 0, verr.Field("email", locales.M("field.invalid_email"))
	}
	if err := dbx.DB(ctx, c.DB).Create(&addr).Error; err != nil {
		if _, ok := c.Unique(err); ok {
			return 0, ErrAddressTaken
		}
		return 0, fmt.Errorf("restauth: store email address: %w", err)
	}
	return addr.ID, nil
}

// MarkVerified marks the address email of userID verified and primary,
// adding it when missing.
func (c *Confirmations) MarkVerified(ctx context.Context, userID uint, email string) error {
	return dbx.Transaction(ctx, c.DB, func(ctx context.Context, tx *gorm.DB) error {
		var rows []models.EmailAddress
		if err := tx.Where("user_id = ? AND email_key = ?", userID, ident.EmailKey(email)).Limit(1).Find(&rows).Error; err != nil {
			return fmt.Errorf("restauth: find address: %w", err)
		}
		if len(rows) == 0 {
			id, err := c.AddAddress(ctx, models.EmailAddress{UserID: userID, Email: email, Primary: true, Verified: true})
			if err != nil {
				return err
			}
			rows = append(rows, models.EmailAddress{ID: id, UserID: userID})
		}
		return c.verify(tx, rows[0])
	})
}

// verify marks addr verified and the user's only primary address.
func (c *Confirmations) verify(tx *gorm.DB, addr models.EmailAddress) error {
	if err := tx.Model(&models.EmailAddress{}).Where("user_id = ? AND id <> ?", addr.UserID, addr.ID).
		Update("is_primary", false).Error; err != nil {
		return fmt.Errorf("restauth: update addresses: %w", err)
	}
	if err := tx.Model(&models.EmailAddress{}).Where("id = ?", addr.ID).
		Updates(map[string]any{"verified": true, "is_primary": true}).Error; err != nil {
		return fmt.Errorf("restauth: verify address: %w", err)
	}
	return nil
}

// EmailTaken reports whether an address row holds email (any case: by
// ident.EmailKey).
func (c *Confirmations) EmailTaken(ctx context.Context, email string) (bool, error) {
	key := ident.EmailKey(email)
	if key == "" {
		return false, nil
	}
	var n int64
	if err := dbx.DB(ctx, c.DB).Model(&models.EmailAddress{}).Where("email_key = ? AND email_key <> ''", key).Count(&n).Error; err != nil {
		return false, fmt.Errorf("restauth: find email: %w", err)
	}
	return n > 0, nil
}

// HasVerified reports whether the user has a verified address.
func (c *Confirmations) HasVerified(ctx context.Context, userID uint) (bool, error) {
	var n int64
	err := dbx.DB(ctx, c.DB).Model(&models.EmailAddress{}).Where("user_id = ? AND verified = ?", userID, true).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("restauth: check verified email: %w", err)
	}
	return n > 0, nil
}

// NewKey stores a confirmation for the address and returns its key.
func (c *Confirmations) NewKey(ctx context.Context, addressID uint) (string, error) {
	selector, err := secret.Hex(16)
	if err != nil {
		return "", err
	}
	verifier, err := secret.Hex(32)
	if err != nil {
		return "", err
	}
	row := models.EmailConfirmation{EmailAddressID: addressID, Selector: selector, VerifierHash: secret.Digest(verifier), CreatedAt: c.now()}
	if err := dbx.DB(ctx, c.DB).Create(&row).Error; err != nil {
		return "", fmt.Errorf("restauth: store confirmation: %w", err)
	}
	return selector + "-" + verifier, nil
}

var errUsed = errors.New("restauth: confirmation already used")

// Confirm uses key: a valid, unexpired, unused key marks its address
// verified and primary and returns the address's user. Anything else is
// ErrNotFound.
func (c *Confirmations) Confirm(ctx context.Context, key string) (uint, error) {
	selector, verifier, ok := strings.Cut(key, "-")
	if !ok || len(selector) != 32 || len(verifier) != 64 {
		return 0, ErrNotFound
	}
	var rows []models.EmailConfirmation
	if err := dbx.DB(ctx, c.DB).Where("selector = ?", selector).Limit(1).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("restauth: find confirmation: %w", err)
	}
	if len(rows) == 0 {
		return 0, ErrNotFound
	}
	row := rows[0]
	if subtle.ConstantTimeCompare([]byte(secret.Digest(verifier)), []byte(row.VerifierHash)) != 1 {
		return 0, ErrNotFound
	}
	if c.now().Sub(row.CreatedAt) > c.Expire {
		return 0, ErrNotFound
	}
	var addr models.EmailAddress
	err := dbx.Transaction(ctx, c.DB, func(ctx context.Context, tx *gorm.DB) error {
		// Deleting the row first makes the key single-use even against a
		// concurrent confirmation: only one delete finds it.
		del := tx.Where("id = ?", row.ID).Delete(&models.EmailConfirmation{})
		if del.Error != nil {
			return del.Error
		}
		if del.RowsAffected != 1 {
			return errUsed
		}
		if err := tx.Where("id = ?", row.EmailAddressID).Take(&addr).Error; err != nil {
			return err
		}
		if err := c.verify(tx, addr); err != nil {
			return err
		}
		return tx.Where("email_address_id = ?", addr.ID).Delete(&models.EmailConfirmation{}).Error
	})
	if errors.Is(err, errUsed) || errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("restauth: confirm email: %w", err)
	}
	return addr.UserID, nil
}

// ForResend returns the unverified address email (any case: by
// ident.EmailKey) when it may get a new key now (no key sent within the
// cooldown); nil otherwise.
func (c *Confirmations) ForResend(ctx context.Context, email string) (*models.EmailAddress, error) {
	key := ident.EmailKey(email)
	if key == "" {
		return nil, nil
	}
	var rows []models.EmailAddress
	if err := dbx.DB(ctx, c.DB).Where("email_key = ? AND email_key <> ''", key).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("restauth: find address: %w", err)
	}
	if len(rows) == 0 || rows[0].Verified {
		return nil, nil
	}
	if c.Cooldown > 0 {
		var recent int64
		err := dbx.DB(ctx, c.DB).Model(&models.EmailConfirmation{}).
			Where("email_address_id = ? AND created_at > ?", rows[0].ID, c.now().Add(-c.Cooldown)).
			Count(&recent).Error
		if err != nil {
			return nil, fmt.Errorf("restauth: check cooldown: %w", err)
		}
		if recent > 0 {
			return nil, nil
		}
	}
	return &rows[0], nil
}

// Prune deletes expired confirmations and reports how many went.
func (c *Confirmations) Prune(ctx context.Context) (int64, error) {
	res := dbx.DB(ctx, c.DB).Where("created_at < ?", c.now().Add(-c.Expire)).Delete(&models.EmailConfirmation{})
	if res.Error != nil {
		return 0, fmt.Errorf("restauth: prune email confirmations: %w", res.Error)
	}
	return res.RowsAffected, nil
}
