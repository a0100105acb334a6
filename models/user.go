// Package models holds the GORM models restauth stores, all created by
// Plugin.AutoMigrate:
//
//   - User, the base user an app's own user struct embeds (its columns
//     live in the app's table), and UserModel, the interface through
//     which restauth reaches those base fields on any user type;
//   - Token, one token-authentication key per login, stored as a SHA-256
//     digest (table restauth_tokens);
//   - EmailAddress, a user's addresses with their verified and primary
//     flags, and EmailConfirmation, an outstanding confirmation key of
//     which only the SHA-256 of the secret part is stored (tables
//     restauth_email_addresses and restauth_email_confirmations);
//   - OutstandingToken and BlacklistedToken, the refresh tokens issued in
//     JWT mode and those revoked (tables restauth_jwt_outstanding and
//     restauth_jwt_blacklist, created only when JWT mode is on).
//
// The package imports nothing but the standard library: GORM reads its
// struct tags.
package models

import "time"

// User is the base user. An app declares its own user struct that embeds
// User and adds columns; restauth loads and saves that struct, so the app's
// columns live in the same table:
//
//	type Customer struct {
//		models.User
//		CompanyName string `gorm:"size:100" json:"company_name"`
//	}
//
// The JSON tags follow Django's field names. Password holds the encoded hash
// and is never serialised.
//
// UsernameKey and EmailKey are maintained by restauth, never set by apps:
// the case-folded, NFKC-normalised forms of Username and Email by which
// users are looked up, unique in the table (indexes made by AutoMigrate).
// restauth sets them on every create and update made through GORM
// models (not db.Table(...) or raw SQL: a raw UPDATE of Username or Email
// leaves a stale key) and AutoMigrate fills them in rows that have none.
// restauth stores
// usernames NFKC-normalised and e-mail domains lower-cased.
type User struct {
	ID          uint       `gorm:"primaryKey" json:"pk"`
	Username    string     `gorm:"size:150;not null" json:"username"`
	UsernameKey string     `gorm:"size:600;not null;default:''" json:"-"`
	Email       string     `gorm:"size:254;not null" json:"email"`
	EmailKey    string     `gorm:"size:1016;not null;default:''" json:"-"`
	Password    string     `gorm:"size:255;not null" json:"-"`
	FirstName   string     `gorm:"size:150;not null" json:"first_name"`
	LastName    string     `gorm:"size:150;not null" json:"last_name"`
	IsActive    bool       `gorm:"not null" json:"is_active"`
	IsStaff     bool       `gorm:"not null" json:"is_staff"`
	IsSuperuser bool       `gorm:"not null" json:"is_superuser"`
	DateJoined  time.Time  `gorm:"not null" json:"date_joined"`
	LastLogin   *time.Time `json:"last_login"`
}

// UserBase returns u itself. Because an app's struct embeds User, its
// pointer has this method too, which is how restauth reaches the base fields
// of any user type.
func (u *User) UserBase() *User { return u }

// UserModel is implemented by a pointer to any struct that embeds User.
// restauth.New[U] checks that *U implements it.
type UserModel interface {
	UserBase() *User
}

// Token is one token-authentication credential: one row per login (per
// device). Only the SHA-256 digest of the key is stored, so a leaked table
// holds no usable credential.
type Token struct {
	ID        uint       `gorm:"primaryKey"`
	Digest    string     `gorm:"size:64;not null;uniqueIndex"`
	UserID    uint       `gorm:"not null;index"`
	CreatedAt time.Time  `gorm:"not null"`
	ExpiresAt *time.Time `gorm:"index"`
}

// TableName returns the table of Token rows.
func (Token) TableName() string { return "restauth_tokens" }
