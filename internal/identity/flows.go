package identity

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"

	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// AuthCodeURL returns the provider's authorization URL for restauth's own
// flow: state, a PKCE S256 challenge of verifier, the redirect_uri
// (checked as by RedirectURI; "" means the first) and, for OIDC
// providers, the nonce. p must have OAuth2.
func (v *Verifier) AuthCodeURL(p *socialauth.Provider, state, verifier, nonce, redirectURI string) (string, error) {
	if p == nil || p.OAuth2 == nil {
		return "", errors.New("identity: authorization flow needs a provider with OAuth2")
	}
	if state == "" || verifier == "" {
		return "", errors.New("identity: authorization flow needs a state and a PKCE verifier")
	}
	redirect, ok := v.RedirectURI(p, redirectURI)
	if !ok {
		return "", fmt.Errorf("identity: redirect_uri not registered for provider %q", p.Name)
	}
	cfg := oauth2Config(p, redirect)
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if p.OIDC != nil {
		if nonce == "" {
			return "", errors.New("identity: authorization flow of an OIDC provider needs a nonce")
		}
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	if p.FormPost {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return cfg.AuthCodeURL(state, opts...), nil
}

// oauth2Config copies p.OAuth2 field by field (oauth2.Config holds a
// cache that must not be copied) with the given redirect URL.
func oauth2Config(p *socialauth.Provider, redirect string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.OAuth2.ClientID,
		ClientSecret: p.OAuth2.ClientSecret,
		Endpoint:     p.OAuth2.Endpoint,
		RedirectURL:  redirect,
		Scopes:       append([]string(nil), p.OAuth2.Scopes...),
	}
}

// fromAccessToken resolves a client-posted access token (OAuth1 token
// and secret; access_token + id_token for OIDC; or a goth profile).
func (v *Verifier) fromAccessToken(ctx context.Context, p *socialauth.Provider, r Request) (social.Identity, error) {
	if p.OAuth1 {
		if p.Goth == nil || r.TokenSecret == "" {
			return social.Identity{}, social.ErrIncorrectInput
		}
		sess := map[string]any{"AccessToken": map[string]string{"Token": r.AccessToken, "Secret": r.TokenSecret}}
		u, err := v.fetchUser(p, sess, r.AccessToken, r.TokenSecret)
		if err != nil {
			return social.Identity{}, err
		}
		return v.fromGothUser(ctx, p, u, tokens{token: r.AccessToken, secret: r.TokenSecret, expires: u.ExpiresAt})
	}
	if r.IDToken != "" && p.OIDC != nil {
		return v.fromIDToken(ctx, p, idTokenInput{
			raw:          r.IDToken,
			nonce:        r.Nonce,
			clientPosted: true,
			accessToken:  r.AccessToken,
		}, tokens{token: r.AccessToken})
	}
	if p.Goth == nil {
		return social.Identity{}, social.ErrIncorrectInput
	}
	if p.CheckAccessToken != nil {
		err := v.guard(p, "CheckAccessToken", func() error {
			return p.CheckAccessToken(ctx, v.client, r.AccessToken)
		})
		if err != nil {
			v.log.Info("social login refused: access token check failed", "provider", p.Name, "error", redact(err, r.AccessToken))
			return social.Identity{}, social.ErrIncorrectValue
		}
	}
	u, err := v.fetchUser(p, accessSession(r.AccessToken), r.AccessToken)
	if err != nil {
		return social.Identity{}, err
	}
	return v.fromGothUser(ctx, p, u, tokens{token: r.AccessToken, secret: u.RefreshToken, expires: u.ExpiresAt})
}

// fromCode exchanges a code: through p.OAuth2 (PKCE, redirect_uri,
// restauth's client, id_token verified) or goth's Session.Authorize.
func (v *Verifier) fromCode(ctx context.Context, p *socialauth.Provider, r Request) (social.Identity, error) {
	redirect, ok := v.RedirectURI(p, r.RedirectURI)
	if !ok {
		v.log.Info("social login refused: redirect_uri not in RedirectURIs", "provider", p.Name)
		return social.Identity{}, social.ErrExchange
	}
	if p.OAuth2 == nil {
		if p.Goth == nil {
			v.log.Error("social provider cannot exchange codes: neither OAuth2 nor Goth is set", "provider", p.Name)
			return social.Identity{}, social.ErrIncorrectInput
		}
		return v.gothExchange(ctx, p, r, redirect)
	}
	if p.OIDC == nil && p.Goth == nil {
		v.log.Error("social provider cannot read profiles: neither OIDC nor Goth is set", "provider", p.Name)
		return social.Identity{}, social.ErrIncorrectInput
	}

	cfg := oauth2Config(p, redirect)
	if p.ClientSecret != nil {
		err := v.guard(p, "ClientSecret", func() error {
			s, err := p.ClientSecret(v.now())
			cfg.ClientSecret = s
			return err
		})
		if err != nil {
			v.log.Error("social code exchange: client secret failed", "provider", p.Name, "error", err)
			return social.Identity{}, social.ErrExchange
		}
	}
	var opts []oauth2.AuthCodeOption
	if r.CodeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(r.CodeVerifier))
	}
	tok, err := cfg.Exchange(context.WithValue(ctx, oauth2.HTTPClient, v.client), r.Code, opts...)
	if err != nil {
		v.logExchangeError(p, err, r.Code, r.CodeVerifier, cfg.ClientSecret)
		return social.Identity{}, social.ErrExchange
	}
	tk := tokens{token: tok.AccessToken, secret: tok.RefreshToken, expires: tok.Expiry}

	if p.OIDC != nil {
		raw, _ := tok.Extra("id_token").(string)
		if raw == "" {
			v.log.Warn("social login refused: token response has no id_token", "provider", p.Name)
			return social.Identity{}, social.ErrIncorrectValue
		}
		return v.fromIDToken(ctx, p, idTokenInput{
			raw:         raw,
			nonce:       r.Nonce,
			exactNonce:  r.FromAuthorization,
			accessToken: tok.AccessToken,
			userInfo:    true,
		}, tk)
	}
	// The token comes from the provider's token endpoint: no
	// CheckAccessToken.
	u, err := v.fetchUser(p, accessSession(tok.AccessToken), tok.AccessToken, tok.RefreshToken)
	if err != nil {
		return social.Identity{}, err
	}
	return v.fromGothUser(ctx, p, u, tk)
}

// logExchangeError logs why a code exchange failed, without tokens or
// the given secrets.
func (v *Verifier) logExchangeError(p *socialauth.Provider, err error, secrets ...string) {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		v.log.Warn("social code exchange refused by provider", "provider", p.Name,
			"status", status, "error_code", re.ErrorCode,
			"error_description", truncate(redact(errors.New(re.ErrorDescription), secrets...), 200))
		return
	}
	v.log.Warn("social code exchange failed", "provider", p.Name, "error", redact(err, secrets...))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// gothExchange exchanges a code through goth's Session.Authorize (the
// redirect URI goth sends is its constructor's, except for providers,
// like openidConnect, that honour a redirect_uri parameter), then
// fetches the profile.
func (v *Verifier) gothExchange(ctx context.Context, p *socialauth.Provider, r Request, redirect string) (social.Identity, error) {
	var s goth.Session
	err := v.guard(p, "UnmarshalSession", func() error {
		var err error
		s, err = p.Goth.UnmarshalSession("{}")
		if err == nil && s == nil {
			err = errors.New("nil session")
		}
		return err
	})
	if err != nil {
		v.log.Warn("social code exchange: goth session failed", "provider", p.Name, "error", err)
		return social.Identity{}, social.ErrExchange
	}
	params := url.Values{"code": {r.Code}, "redirect_uri": {redirect}}
	if r.CodeVerifier != "" {
		params.Set("code_verifier", r.CodeVerifier)
	}
	var at string
	err = v.guard(p, "Authorize", func() error {
		var err error
		at, err = s.Authorize(p.Goth, params)
		return err
	})
	if err != nil {
		v.logExchangeError(p, err, r.Code, r.CodeVerifier)
		return social.Identity{}, social.ErrExchange
	}
	u, err := v.fetch(p, s, at, r.Code)
	if err != nil {
		return social.Identity{}, err
	}
	return v.fromGothUser(ctx, p, u, tokens{token: u.AccessToken, secret: u.RefreshToken, expires: u.ExpiresAt})
}

// accessSession is the session JSON of an OAuth2 access token. Most goth
// sessions have no JSON tags ("AccessToken"), but some do: azureadv2
// (Microsoft) reads "at", reddit "access_token".
func accessSession(token string) map[string]any {
	return map[string]any{"AccessToken": token, "at": token, "access_token": token}
}
