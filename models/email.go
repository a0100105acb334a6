package models

import "time"

// EmailAddress is one address of a user (allauth's EmailAddress): whether
// it has been verified and whether it is the primary one. Addresses are
// unique in any letter case: EmailKey, maintained by restauth (never set
// by apps), is the address case-folded, with a unique index made by
// AutoMigrate.
type EmailAddress struct {
	ID       uint   `gorm:"primaryKey"`
	UserID   uint   `gorm:"not null;index"`
	Email    string `gorm:"size:254;not null"`
	EmailKey string `gorm:"size:1016;not null;default:''"`
	Verified bool   `gorm:"not null"`
	Primary  bool   `gorm:"column:is_primary;not null"`
}

// TableName returns the table of EmailAddress rows.
func (EmailAddress) TableName() string { return "restauth_email_addresses" }

// EmailConfirmation is one outstanding confirmation key. The key sent to
// the user is "<selector>-<verifier>"; the row keeps the selector (to find
// the row) and only the SHA-256 of the verifier, so a leaked table confirms
// nothing. A row is deleted when used.
type EmailConfirmation struct {
	ID             uint      `gorm:"primaryKey"`
	EmailAddressID uint      `gorm:"not null;index"`
	Selector       string    `gorm:"size:32;not null;uniqueIndex"`
	VerifierHash   string    `gorm:"size:64;not null"`
	CreatedAt      time.Time `gorm:"not null"`
}

// TableName returns the table of EmailConfirmation rows.
func (EmailConfirmation) TableName() string { return "restauth_email_confirmations" }
