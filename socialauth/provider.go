// Package socialauth describes the social login providers an app offers
// through restauth: one Provider per route name (Config.Social.Providers),
// with ready-made constructors for the common ones.
//
// restauth takes a user's identity only from a verified source: an
// id_token checked by github.com/coreos/go-oidc/v3 (signature against the
// provider's keys, issuer, audience, expiry, nonce, replay), a code it
// exchanges itself through golang.org/x/oauth2 (with PKCE), or an access
// token that markbates/goth's provider code turns into a profile (after
// the provider's audience check, where it offers one). Providers are kept
// by the Plugin, never in goth's global registry.
package socialauth

import (
	"context"
	"net/http"
	"time"

	"github.com/markbates/goth"
	"golang.org/x/oauth2"
)

// Provider is one social login provider, mounted at <Name>/ (login),
// <Name>/connect/, <Name>/authorize/ and <Name>/callback/.
type Provider struct {
	// Name is the route segment and the provider stored in
	// models.SocialAccount: lower-case letters, digits, '-' and '_',
	// starting with a letter or digit. Default: Goth.Name().
	Name string

	// Goth turns an access token (or OAuth1 token and secret) into a
	// profile with FetchUser. It also exchanges codes when OAuth2 is nil.
	// nil means an access token alone cannot log in: identity comes from
	// id_tokens, posted or from code exchanges through OAuth2 (Apple).
	Goth goth.Provider

	// OAuth1 marks a provider whose clients post access_token and
	// token_secret (Twitter).
	OAuth1 bool

	// OAuth2, when set, makes restauth exchange codes itself: with the
	// client's PKCE code_verifier, the redirect_uri checked against
	// RedirectURIs, restauth's HTTP client, and the id_token of the token
	// response kept and verified. Its RedirectURL is ignored (see
	// RedirectURIs).
	OAuth2 *oauth2.Config

	// ClientSecret, when set, returns the client secret for each code
	// exchange instead of OAuth2.ClientSecret (Apple's secret is a JWT
	// that expires).
	ClientSecret func(now time.Time) (string, error)

	// RedirectURIs are the redirect URIs this app registered with the
	// provider [dj-rest-auth's callback_url]. The first is the default; a
	// request's redirect_uri must be one of them exactly.
	RedirectURIs []string

	// OIDC, when set, lets clients log in with an id_token and checks the
	// id_token of every code exchange.
	OIDC *OIDCConfig

	// VerifiedEmail reports whether the provider vouches for the
	// profile's email address. nil means the built-in rule: the
	// email_verified claim for OIDC providers, ProfileVerifiedEmail for
	// profiles from Goth.
	VerifiedEmail func(ctx context.Context, hc *http.Client, u goth.User) (bool, error)

	// EmailAuthentication logs a new identity in as the existing user
	// who has its email address, when the provider verified that address
	// [SOCIALACCOUNT_EMAIL_AUTHENTICATION]. Off by default: turn it on
	// only for providers whose verified emails you trust.
	EmailAuthentication bool

	// EmailAuthenticationAutoConnect also connects the identity to that
	// user [SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT].
	EmailAuthenticationAutoConnect bool

	// CheckAccessToken runs before a client's access token is used: it
	// should ask the provider whether the token was issued to this app,
	// so that a token obtained by another app for the same person cannot
	// log in here. CheckGoogleToken, CheckGitHubToken, CheckFacebookToken,
	// CheckDiscordToken and CheckGitLabToken are ready-made; nil trusts
	// the token's origin.
	CheckAccessToken func(ctx context.Context, hc *http.Client, token string) error

	// AcceptNames takes first_name and last_name from the request when the
	// user is created (Apple sends the name only to the client, once).
	AcceptNames bool

	// FormPost makes restauth's authorization flow ask for
	// response_mode=form_post (Apple requires it when the name or email
	// is requested): <Name>/callback/ then also accepts the provider's
	// form POST, and the flow cookie is sent cross-site (SameSite=None,
	// so only over HTTPS).
	FormPost bool
}

// OIDCConfig is how a provider's id_tokens are verified.
type OIDCConfig struct {
	// Issuer is the exact iss of the provider's tokens.
	Issuer string
	// JWKSURL is where the signing keys are. "" means OpenID Connect
	// discovery at Issuer (on first use).
	JWKSURL string
	// Audiences are the client ids a token may be issued to (aud; azp
	// when a token has several audiences). Default: OAuth2.ClientID.
	Audiences []string
	// Algorithms are the accepted signing algorithms. Default RS256 and
	// ES256; "none" and HMAC algorithms are always refused.
	Algorithms []string
	// AllowMissingNonce accepts a posted id_token (id_token alone, or
	// with an access_token) when the request sends no nonce. By default
	// such a login needs a nonce the token carries (the nonce or its
	// SHA-256, hex or base64url): some providers issue access tokens that
	// are JWTs with aud = the client id, which pass every other id_token
	// check. A nonce the request sends is always checked. Google and
	// Apple, whose access tokens are not JWTs, allow a missing nonce.
	AllowMissingNonce bool
	// UserInfoURL, when set, is read with the access token of a code
	// exchange to complete the profile (its sub must match).
	UserInfoURL string
}

// DefaultHTTPTimeout is the timeout of restauth's client for provider
// calls when Config.Social.HTTPClient is nil.
const DefaultHTTPTimeout = 5 * time.Second
