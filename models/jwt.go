package models

import "time"

// OutstandingToken records one refresh token issued in JWT mode
// (simplejwt's token_blacklist.OutstandingToken). Family is the jti of
// the first refresh token of a login: rotated tokens share it, so reuse of
// a rotated token can revoke the whole family. The token itself is not
// stored; its jti identifies it.
type OutstandingToken struct {
	ID        uint      `gorm:"primaryKey"`
	JTI       string    `gorm:"column:jti;size:64;not null;uniqueIndex"`
	Family    string    `gorm:"size:64;not null;index"`
	UserID    uint      `gorm:"not null;index"`
	CreatedAt time.Time `gorm:"not null"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// TableName returns the table of OutstandingToken rows.
func (OutstandingToken) TableName() string { return "restauth_jwt_outstanding" }

// BlacklistedToken marks an outstanding refresh token as no longer usable
// (simplejwt's token_blacklist.BlacklistedToken): after rotation, logout,
// a password change or reset, or reuse detection.
type BlacklistedToken struct {
	ID            uint      `gorm:"primaryKey"`
	TokenID       uint      `gorm:"not null;uniqueIndex"`
	BlacklistedAt time.Time `gorm:"not null;index"`
}

// TableName returns the table of BlacklistedToken rows.
func (BlacklistedToken) TableName() string { return "restauth_jwt_blacklist" }
