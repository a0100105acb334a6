package restauth

import (
	"context"
	"strings"
	"time"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/endpoints"
	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/internal/signup"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/socialauth"
)

// newSocial wires social login: the identity verifier, the account rules
// on the login pipeline, the flow store.
func (p *Plugin[U]) newSocial(cfg Config, o *options[U], us *users.Users[U], conf *confirm.Confirmations,
	pipeline *login.Pipeline[U], keys *tokens.Keys, sess *sessions.Sessions[U], su *signup.Signup[U]) (*endpoints.Social[U], error) {
	sc := cfg.Social
	acc := &social.Accounts[U]{
		DB: p.db, Users: us, Confirmations: conf, Pipeline: pipeline,
		Revoke: func(ctx context.Context, id uint) error {
			if sess != nil {
				if err := sess.RevokeUser(ctx, id, ""); err != nil {
					return err
				}
			}
			return keys.RevokeUser(ctx, id, "")
		},
		AutoSignup: *sc.AutoSignup,
		Mandatory:  cfg.Registration.EmailVerification == VerificationMandatory,
		Hooks:      &o.hooks, Social: &o.social,
	}
	if cfg.Registration.EmailVerification != VerificationNone {
		acc.Confirm = su.MailKey
	}
	if sc.StoreTokens {
		box, err := social.NewBox(secret.Derive(cfg.SecretKey, "socialtoken"))
		if err != nil {
			return nil, err
		}
		acc.Box = box
	}
	providers := make([]*socialauth.Provider, len(sc.Providers))
	for i := range sc.Providers {
		providers[i] = &sc.Providers[i]
	}
	return &endpoints.Social[U]{
		Providers:        providers,
		Verifier:         identity.New(sc.HTTPClient, &social.Replay{DB: p.db, Now: cfg.Now}, cfg.Now, cfg.Logger),
		Accounts:         acc,
		Authorizations:   &social.Authorizations{DB: p.db, Expire: sc.AuthorizationExpire, Now: cfg.Now},
		LoginRedirectURL: sc.LoginRedirectURL,
		Expire:           sc.AuthorizationExpire,
		SecureCookie:     strings.HasPrefix(cfg.SiteURL, "https://"),
	}, nil
}

// SocialToken is a provider's token stored for a social account
// (Config.Social.StoreTokens).
type SocialToken struct {
	// Token is the access token (OAuth1: the token).
	Token string
	// Secret is the refresh token (OAuth1: the token secret), or "".
	Secret string
	// ExpiresAt is when Token expires, if the provider said.
	ExpiresAt *time.Time
}

// SocialToken returns the stored, decrypted provider token of the social
// account with id accountID; ok is false when none is stored (or tokens
// are not stored).
func (p *Plugin[U]) SocialToken(ctx context.Context, accountID uint) (tok SocialToken, ok bool, err error) {
	s := p.api.Social
	if s == nil {
		return SocialToken{}, false, nil
	}
	t, sec, exp, ok, err := s.Accounts.Token(ctx, accountID)
	return SocialToken{Token: t, Secret: sec, ExpiresAt: exp}, ok, err
}
