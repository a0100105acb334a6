// Package secret makes and derives the random keys and digests restauth
// stores: token keys, purpose-bound MAC keys, SHA-256 digests.
package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Derive returns a purpose-specific key from the app's secret, so one
// secret can key several independent MACs.
func Derive(secret, purpose string) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("restauth." + purpose))
	return h.Sum(nil)
}

// Digest returns the hex SHA-256 of s, the form in which keys are stored.
func Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Hex returns n random bytes as lowercase hex.
func Hex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("restauth: random: %w", err)
	}
	return hex.EncodeToString(b), nil
}
