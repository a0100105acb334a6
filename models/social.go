package models

import "time"

// SocialAccount links a user to one identity at a social provider
// (allauth's SocialAccount). Provider is the route name the app gave the
// provider (socialauth.Provider.Name), UID the provider's stable subject
// id; the pair is unique.
type SocialAccount struct {
	ID         uint      `gorm:"primaryKey" json:"id"`
	UserID     uint      `gorm:"not null;index" json:"-"`
	Provider   string    `gorm:"size:200;not null;uniqueIndex:restauth_social_provider_uid,priority:1" json:"provider"`
	UID        string    `gorm:"size:191;not null;uniqueIndex:restauth_social_provider_uid,priority:2" json:"uid"`
	LastLogin  time.Time `gorm:"not null" json:"last_login"`
	DateJoined time.Time `gorm:"not null" json:"date_joined"`
	// ExtraData is the provider's profile (goth's RawData) or the
	// verified id_token's claims, replaced on every login.
	ExtraData map[string]any `gorm:"serializer:json;type:text;not null" json:"-"`
}

// TableName returns the table of SocialAccount rows.
func (SocialAccount) TableName() string { return "restauth_social_accounts" }

// SocialToken is the provider's token of one SocialAccount, kept only when
// the app sets Config.Social.StoreTokens. Token and TokenSecret (the
// refresh token, or OAuth1's token secret) are encrypted with AES-GCM
// under a key derived from Config.SecretKey; read them with
// Plugin.SocialToken.
type SocialToken struct {
	ID              uint   `gorm:"primaryKey"`
	SocialAccountID uint   `gorm:"not null;uniqueIndex"`
	Token           string `gorm:"type:text;not null"`
	TokenSecret     string `gorm:"type:text;not null"`
	ExpiresAt       *time.Time
}

// TableName returns the table of SocialToken rows.
func (SocialToken) TableName() string { return "restauth_social_tokens" }

// UsedIDToken records an id_token that has logged someone in, until it
// expires, so that the same token cannot be replayed (allauth's
// verify_jti). Digest is the SHA-256 of the provider name and the token's
// jti (or of the whole token when it has none).
type UsedIDToken struct {
	ID        uint      `gorm:"primaryKey"`
	Digest    string    `gorm:"size:64;not null;uniqueIndex"`
	ExpiresAt time.Time `gorm:"not null;index"`
}

// TableName returns the table of UsedIDToken rows.
func (UsedIDToken) TableName() string { return "restauth_social_used_id_tokens" }

// SocialAuthorization is one authorization flow started by
// <provider>/authorize/ and not finished yet: the PKCE verifier, the OIDC
// nonce and the redirect_uri its code must be exchanged with. It is found
// by the SHA-256 of its state, bound to the browser that started it by
// the SHA-256 of a cookie, used once and short-lived.
type SocialAuthorization struct {
	ID            uint      `gorm:"primaryKey"`
	StateDigest   string    `gorm:"size:64;not null;uniqueIndex"`
	BrowserDigest string    `gorm:"size:64;not null"`
	Provider      string    `gorm:"size:200;not null"`
	Verifier      string    `gorm:"size:128;not null"`
	Nonce         string    `gorm:"size:128;not null"`
	RedirectURI   string    `gorm:"type:text;not null"`
	ExpiresAt     time.Time `gorm:"not null;index"`
}

// TableName returns the table of SocialAuthorization rows.
func (SocialAuthorization) TableName() string { return "restauth_social_authorizations" }
