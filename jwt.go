package restauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

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
