package restauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"

	"github.com/restauth/restauth/handlers"
)

// WithJWTClaims adds the app's own claims to every access token
// [JWT_TOKEN_CLAIMS_SERIALIZER, JWT_PAYLOAD_HANDLER]. fn runs at login and
// at each refresh, so the claims follow the user's current row. It cannot
// replace token_type, exp, iat, nbf, jti, user_id or sid.
func WithJWTClaims[U any](fn func(ctx context.Context, u *U) map[string]any) Option[U] {
	return func(o *options[U]) { o.claims = fn }
}

// CurrentClaims returns the claims of the access token RequireAuth
// accepted (JWT mode), without a database query; ok is false for
// token-key requests.
func CurrentClaims(c *gin.Context) (claims map[string]any, ok bool) { return handlers.CurrentClaims(c) }

// PruneExpired deletes rows that can no longer authenticate anyone:
// expired refresh-token records and their blacklist rows, expired token
// keys of the default TokenStore and expired email confirmations. Run it
// from a scheduler (daily is plenty); it returns how many rows it deleted.
func (p *Plugin[U]) PruneExpired(ctx context.Context) (int64, error) {
	return p.svc.PruneExpired(ctx)
}

// RevokeSessions blacklists every refresh token of the user with id (JWT
// mode), e.g. after an admin deactivates the account; token keys are
// revoked by the TokenStore's DeleteUser.
func (p *Plugin[U]) RevokeSessions(ctx context.Context, userID uint) error {
	if err := p.svc.RevokeUserSessions(ctx, userID); err != nil {
		return err
	}
	return p.svc.Options().Tokens.DeleteUser(ctx, userID)
}

// ParseJWTKey reads a PEM private key (PKCS#1, PKCS#8 or SEC 1) or public
// key (PKIX) into a JWTKey with the given kid, choosing the algorithm from
// the key: RS256 for RSA, ES256/ES384/ES512 for ECDSA by curve, EdDSA for
// Ed25519.
func ParseJWTKey(kid string, pemBytes []byte) (JWTKey, error) {
	k := JWTKey{ID: kid}
	var pub crypto.PublicKey
	if priv, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes); err == nil {
		k.PrivateKey, pub = priv, priv.Public()
	} else if priv, err := jwt.ParseECPrivateKeyFromPEM(pemBytes); err == nil {
		k.PrivateKey, pub = priv, priv.Public()
	} else if priv, err := jwt.ParseEdPrivateKeyFromPEM(pemBytes); err == nil {
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return JWTKey{}, errors.New("restauth: ParseJWTKey: unusable Ed25519 key")
		}
		k.PrivateKey, pub = signer, signer.Public()
	} else if p, err := jwt.ParseRSAPublicKeyFromPEM(pemBytes); err == nil {
		k.PublicKey, pub = p, p
	} else if p, err := jwt.ParseECPublicKeyFromPEM(pemBytes); err == nil {
		k.PublicKey, pub = p, p
	} else if p, err := jwt.ParseEdPublicKeyFromPEM(pemBytes); err == nil {
		k.PublicKey, pub = p, p
	} else {
		return JWTKey{}, errors.New("restauth: ParseJWTKey: not a PEM RSA, ECDSA or Ed25519 key")
	}
	switch pk := pub.(type) {
	case *rsa.PublicKey:
		k.Algorithm = "RS256"
	case *ecdsa.PublicKey:
		switch pk.Curve {
		case elliptic.P256():
			k.Algorithm = "ES256"
		case elliptic.P384():
			k.Algorithm = "ES384"
		case elliptic.P521():
			k.Algorithm = "ES512"
		default:
			return JWTKey{}, fmt.Errorf("restauth: ParseJWTKey: unsupported curve %s", pk.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		k.Algorithm = "EdDSA"
	}
	return k, nil
}
