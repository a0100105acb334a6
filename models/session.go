package models

import "time"

// Session records one login a user can see and end through sessions/:
// a token key or a JWT refresh family, with when it was made and last
// used and the client that made it (better-auth's and allauth headless's
// sessions). PublicID is the random identifier the API shows as "id";
// neither the row's ID nor any credential ever leaves the server. Handle
// names the credential: for Kind "token" the key's SHA-256 digest as
// restauth_tokens.digest holds it, for Kind "jwt" the refresh family
// (OutstandingToken.Family). LastUsedAt is coarse: it is written at most
// once a minute. A row outlives its credential until Plugin.PruneExpired
// removes it; sessions/ shows only rows whose credential is live.
type Session struct {
	ID         uint      `gorm:"primaryKey"`
	PublicID   string    `gorm:"size:32;not null;uniqueIndex"`
	UserID     uint      `gorm:"not null;index"`
	Kind       string    `gorm:"size:8;not null"`
	Handle     string    `gorm:"size:64;not null;index"`
	CreatedAt  time.Time `gorm:"not null"`
	LastUsedAt time.Time `gorm:"not null"`
	// IP is the client address the login came from ("" when unknown).
	IP string `gorm:"column:ip;size:45;not null"`
	// UserAgent is the login request's User-Agent header, cut to 255
	// bytes on a character boundary.
	UserAgent string `gorm:"size:255;not null"`
}

// TableName returns the table of Session rows.
func (Session) TableName() string { return "restauth_sessions" }
