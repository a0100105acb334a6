// Package identity turns a social login request (an access token, a code
// or an id_token) into a verified social.Identity (SOCIAL.md §4.3, §4.5
// rules 1, 5, 12, 13).
//
// Identity comes from one verified source only: an id_token checked with
// go-oidc (signature, algorithm, issuer, audience/azp, expiry, nonce,
// at_hash, replay), a code this package exchanges itself (PKCE,
// redirect_uri from the provider's allow-list), or a profile that the
// provider's goth code fetches with an access token (after the provider's
// CheckAccessToken). Every refusal is one of social.ErrIncorrectInput,
// social.ErrExchange or social.ErrIncorrectValue; the reason is logged,
// never a token.
package identity

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/markbates/goth"

	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// MaxUIDLength is the longest provider uid accepted (the size of
// models.SocialAccount.UID), in characters.
const MaxUIDLength = 191

// Request is what a client posted to a social login route, already
// trimmed; "" means absent.
type Request struct {
	// AccessToken is the provider's access token (OAuth2) or the OAuth1
	// token; TokenSecret is the OAuth1 token secret.
	AccessToken, TokenSecret string
	// Code is an authorization code to exchange; CodeVerifier its PKCE
	// verifier and RedirectURI the redirect_uri used at the authorize
	// step ("" means the provider's first RedirectURIs entry).
	Code, CodeVerifier, RedirectURI string
	// IDToken is an OpenID Connect id_token.
	IDToken string
	// Nonce is the nonce the id_token must carry: the value itself, or,
	// for a client-posted id_token or code, its SHA-256 in hex or
	// base64url (native SDKs such as Apple's and Firebase's send the
	// hash to the provider).
	Nonce string
	// FromAuthorization marks a code whose CodeVerifier, Nonce and
	// RedirectURI come from restauth's own authorize flow: the id_token
	// of the exchange must then carry exactly Nonce (when set).
	FromAuthorization bool
}

// Replay remembers the id_tokens clients have used.
type Replay interface {
	// Use records digest until the given time. It reports fresh=false
	// when digest was already recorded and has not expired. An error is
	// a storage failure, not a refusal.
	Use(ctx context.Context, digest string, until time.Time) (fresh bool, err error)
}

// Verifier resolves social login requests into verified identities. It
// is safe for concurrent use; it caches one id_token verifier (and its
// key set) per provider configuration.
type Verifier struct {
	client *http.Client
	replay Replay
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	verifiers map[string]*verifierEntry
}

// New returns a Verifier that calls providers with client (nil means a
// client with socialauth.DefaultHTTPTimeout), remembers client-posted
// id_tokens in replay (nil disables the replay check), reads the time
// from now (nil means time.Now) and logs refusals to log (nil means
// slog.Default()).
func New(client *http.Client, replay Replay, now func() time.Time, log *slog.Logger) *Verifier {
	if client == nil {
		client = &http.Client{Timeout: socialauth.DefaultHTTPTimeout}
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Verifier{
		client:    client,
		replay:    replay,
		now:       now,
		log:       log,
		verifiers: make(map[string]*verifierEntry),
	}
}

// Resolve turns r into the identity the provider p vouches for. The
// credentials are tried in the order access_token, code, id_token
// (SOCIAL.md §4.3). Refusals are social.ErrIncorrectInput,
// social.ErrExchange or social.ErrIncorrectValue (compare with
// errors.Is); any other error (the Replay store failing) is a server
// failure.
func (v *Verifier) Resolve(ctx context.Context, p *socialauth.Provider, r Request) (social.Identity, error) {
	if p == nil {
		return social.Identity{}, errors.New("identity: nil provider")
	}
	switch {
	case r.AccessToken != "":
		return v.fromAccessToken(ctx, p, r)
	case p.OAuth1:
		// OAuth1 providers log in only with access_token + token_secret.
		return social.Identity{}, social.ErrIncorrectInput
	case r.Code != "":
		return v.fromCode(ctx, p, r)
	case r.IDToken != "":
		if p.OIDC == nil {
			return social.Identity{}, social.ErrIncorrectInput
		}
		return v.fromIDToken(ctx, p, idTokenInput{
			raw:          r.IDToken,
			nonce:        r.Nonce,
			clientPosted: true,
		}, tokens{})
	default:
		return social.Identity{}, social.ErrIncorrectInput
	}
}

// RedirectURI returns the redirect_uri to use for p: requested when it
// is one of p.RedirectURIs exactly, the first of them when requested is
// "". ok is false otherwise (and when p has none).
func (v *Verifier) RedirectURI(p *socialauth.Provider, requested string) (string, bool) {
	if p == nil || len(p.RedirectURIs) == 0 {
		return "", false
	}
	if requested == "" {
		return p.RedirectURIs[0], true
	}
	for _, u := range p.RedirectURIs {
		if u == requested {
			return u, true
		}
	}
	return "", false
}

// tokens are the provider credentials an identity carries for storage.
type tokens struct {
	token, secret string
	expires       time.Time
}

func (t tokens) apply(id *social.Identity) {
	id.Token, id.Secret = t.token, t.secret
	if !t.expires.IsZero() {
		e := t.expires
		id.ExpiresAt = &e
	}
}

// checkUID refuses an empty uid or one longer than MaxUIDLength.
func (v *Verifier) checkUID(p *socialauth.Provider, uid string) error {
	if uid == "" || utf8.RuneCountInString(uid) > MaxUIDLength {
		v.log.Warn("social login refused: provider uid empty or too long",
			"provider", p.Name, "uid_length", utf8.RuneCountInString(uid))
		return social.ErrIncorrectValue
	}
	return nil
}

// verifiedEmail applies p.VerifiedEmail, or def when it is nil.
func (v *Verifier) verifiedEmail(ctx context.Context, p *socialauth.Provider, u goth.User, def bool) (bool, error) {
	if u.Email == "" {
		return false, nil
	}
	if p.VerifiedEmail == nil {
		return def, nil
	}
	var ok bool
	err := v.guard(p, "VerifiedEmail", func() error {
		var err error
		ok, err = p.VerifiedEmail(ctx, v.client, u)
		return err
	})
	if err != nil {
		v.log.Warn("social login refused: email verification check failed",
			"provider", p.Name, "error", redact(err, u.AccessToken, u.AccessTokenSecret, u.RefreshToken, u.IDToken))
		return false, social.ErrIncorrectValue
	}
	return ok, nil
}

// splitName splits a display name at its first space (allauth).
func splitName(name string) (first, last string) {
	name = strings.TrimSpace(name)
	first, last, _ = strings.Cut(name, " ")
	return first, strings.TrimSpace(last)
}

// redact returns err's text for the logs with every secret (and its
// URL-escaped form, as goth's Google provider puts the access token in a
// query string) replaced.
func redact(err error, secrets ...string) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = strings.ReplaceAll(s, sec, "[redacted]")
		if q := url.QueryEscape(sec); q != sec {
			s = strings.ReplaceAll(s, q, "[redacted]")
		}
	}
	return s
}

// truthy reports a JSON true or the string "true" (Apple).
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return false
}
