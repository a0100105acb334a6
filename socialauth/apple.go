package socialauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// Apple's endpoints and client-secret parameters.
const (
	appleIssuer   = "https://appleid.apple.com"
	appleAuthURL  = "https://appleid.apple.com/auth/authorize"
	appleTokenURL = "https://appleid.apple.com/auth/token"
	appleJWKSURL  = "https://appleid.apple.com/auth/keys"

	// appleSecretTTL is the lifetime of a client secret (Apple allows at
	// most 6 months).
	appleSecretTTL = 150 * 24 * time.Hour
	// appleSecretRenew is how long before its expiry a cached client
	// secret is replaced.
	appleSecretRenew = 7 * 24 * time.Hour
)

// AppleConfig is the configuration of Sign in with Apple.
type AppleConfig struct {
	// TeamID is the Apple developer team id (the client secret's iss).
	TeamID string
	// KeyID is the id of the Sign in with Apple key (the client secret's
	// kid).
	KeyID string
	// PrivateKey is that key: the .p8 file Apple provides, a PEM-encoded
	// PKCS#8 EC P-256 private key.
	PrivateKey []byte
	// ClientIDs are the audiences accepted in id_tokens: the services id
	// (web) first, which is also the client id of the code flow, then the
	// app bundle ids (native apps).
	ClientIDs []string
	// RedirectURIs are the return URLs registered for the services id.
	RedirectURIs []string
}

// Apple returns the Sign in with Apple provider. Identity comes only from
// Apple's id_token, verified against Apple's keys with any of ClientIDs
// as the audience (email_verified decides whether the email is verified);
// codes are exchanged by restauth with a client secret JWT (ES256, signed
// with PrivateKey) that is minted on demand and reused until close to its
// expiry. No goth provider is used. first_name and last_name are taken
// from the request when the user is created, since Apple sends the name
// only to the client, once. restauth's own browser flow (<name>/authorize/
// and <name>/callback/) uses response_mode=form_post, and reads the name
// from the form's user field.
func Apple(cfg AppleConfig) (Provider, error) {
	switch {
	case cfg.TeamID == "":
		return Provider{}, errors.New("socialauth: Apple: TeamID is empty")
	case cfg.KeyID == "":
		return Provider{}, errors.New("socialauth: Apple: KeyID is empty")
	case len(cfg.ClientIDs) == 0:
		return Provider{}, errors.New("socialauth: Apple: ClientIDs is empty")
	}
	for i, id := range cfg.ClientIDs {
		if id == "" {
			return Provider{}, fmt.Errorf("socialauth: Apple: ClientIDs[%d] is empty", i)
		}
	}
	key, err := parseAppleKey(cfg.PrivateKey)
	if err != nil {
		return Provider{}, err
	}
	s := &appleSecret{teamID: cfg.TeamID, keyID: cfg.KeyID, clientID: cfg.ClientIDs[0], key: key}
	return Provider{
		Name: "apple",
		OAuth2: &oauth2.Config{
			ClientID: cfg.ClientIDs[0],
			Endpoint: oauth2.Endpoint{
				AuthURL:   appleAuthURL,
				TokenURL:  appleTokenURL,
				AuthStyle: oauth2.AuthStyleInParams,
			},
			Scopes: []string{"name", "email"},
		},
		ClientSecret: s.get,
		RedirectURIs: cloneStrings(cfg.RedirectURIs),
		OIDC: &OIDCConfig{
			Issuer:    appleIssuer,
			JWKSURL:   appleJWKSURL,
			Audiences: cloneStrings(cfg.ClientIDs),
			// Apple's access tokens are not JWTs.
			AllowMissingNonce: true,
		},
		AcceptNames: true,
		FormPost:    true,
	}, nil
}

// parseAppleKey reads the PrivateKey of an AppleConfig.
func parseAppleKey(p8 []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(p8)
	if block == nil {
		return nil, errors.New("socialauth: Apple: PrivateKey is not PEM")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		parsed, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("socialauth: Apple: PrivateKey is a PEM %q block, want \"PRIVATE KEY\"", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("socialauth: Apple: PrivateKey: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("socialauth: Apple: PrivateKey is a %T, want an EC P-256 key", parsed)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("socialauth: Apple: PrivateKey is on %s, want P-256", key.Curve.Params().Name)
	}
	return key, nil
}

// appleSecret mints and caches Apple's client secret.
type appleSecret struct {
	teamID, keyID, clientID string
	key                     *ecdsa.PrivateKey

	mu     sync.Mutex
	cached string
	iat    time.Time
	exp    time.Time
}

// get returns a client secret valid at now, minting a new one when the
// cached one is missing, older than now's clock allows (now before its
// iat) or within appleSecretRenew of its expiry.
func (s *appleSecret) get(now time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != "" && !now.Before(s.iat) && now.Before(s.exp.Add(-appleSecretRenew)) {
		return s.cached, nil
	}
	iat := now.Truncate(time.Second)
	exp := iat.Add(appleSecretTTL)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": s.teamID,
		"iat": iat.Unix(),
		"exp": exp.Unix(),
		"aud": appleIssuer,
		"sub": s.clientID,
	})
	tok.Header["kid"] = s.keyID
	signed, err := tok.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("socialauth: Apple client secret: %w", err)
	}
	s.cached, s.iat, s.exp = signed, iat, exp
	return signed, nil
}
