package password

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is the cost (log2 of the rounds) Bcrypt and
// BcryptSHA256 use when their Cost field is zero: Django's default.
const DefaultBcryptCost = 12

// bcryptMaxCost bounds the cost read from a stored string (each step
// doubles the work; 16 is about 16 times Django's default).
const bcryptMaxCost = 16

// bcryptMaxPassword is the most password bytes bcrypt uses.
const bcryptMaxPassword = 72

// BcryptSHA256 hashes and verifies Django's BCryptSHA256PasswordHasher
// strings, "bcrypt_sha256$" followed by a bcrypt hash ("$2b$12$..."): the
// password is SHA-256 hashed and hex encoded before bcrypt, so passwords of
// any length count in full. Verify rejects costs above 16 with
// ErrParameters.
//
// The zero value uses DefaultBcryptCost.
type BcryptSHA256 struct {
	// Cost is the bcrypt cost Hash uses and NeedsRehash expects; zero means
	// DefaultBcryptCost.
	Cost int
}

// Algorithm returns "bcrypt_sha256".
func (BcryptSHA256) Algorithm() string { return "bcrypt_sha256" }

// Hash returns password hashed with a fresh random salt in Django's format.
func (b BcryptSHA256) Hash(password string) (string, error) {
	return bcryptHash(b.Algorithm(), sha256Hex(password), b.Cost)
}

// Verify reports whether password matches encoded.
func (b BcryptSHA256) Verify(password, encoded string) (bool, error) {
	if !IsUsable(encoded) {
		return false, nil
	}
	hashed, err := bcryptParse(b.Algorithm(), encoded)
	if err != nil {
		return false, err
	}
	return bcryptCompare(b.Algorithm(), hashed, sha256Hex(password))
}

// NeedsRehash reports whether encoded is not a valid bcrypt_sha256 string
// of exactly b's cost. It is false for unusable passwords.
func (b BcryptSHA256) NeedsRehash(encoded string) bool {
	return bcryptNeedsRehash(b.Algorithm(), encoded, b.Cost)
}

// Bcrypt hashes and verifies Django's BCryptPasswordHasher strings,
// "bcrypt$" followed by a bcrypt hash of the password itself. As bcrypt
// only uses 72 bytes, Verify reports false (and no error) for longer
// passwords and Hash refuses them. Verify rejects costs above 16 with
// ErrParameters.
//
// The zero value uses DefaultBcryptCost.
type Bcrypt struct {
	// Cost is the bcrypt cost Hash uses and NeedsRehash expects; zero means
	// DefaultBcryptCost.
	Cost int
}

// Algorithm returns "bcrypt".
func (Bcrypt) Algorithm() string { return "bcrypt" }

// Hash returns password hashed with a fresh random salt in Django's format.
// A password longer than 72 bytes gives an error wrapping
// bcrypt.ErrPasswordTooLong.
func (b Bcrypt) Hash(password string) (string, error) {
	return bcryptHash(b.Algorithm(), []byte(password), b.Cost)
}

// Verify reports whether password matches encoded. A password longer than
// 72 bytes never matches.
func (b Bcrypt) Verify(password, encoded string) (bool, error) {
	if !IsUsable(encoded) {
		return false, nil
	}
	hashed, err := bcryptParse(b.Algorithm(), encoded)
	if err != nil {
		return false, err
	}
	if len(password) > bcryptMaxPassword {
		return false, nil
	}
	return bcryptCompare(b.Algorithm(), hashed, []byte(password))
}

// NeedsRehash reports whether encoded is not a valid bcrypt string of
// exactly b's cost. It is false for unusable passwords.
func (b Bcrypt) NeedsRehash(encoded string) bool {
	return bcryptNeedsRehash(b.Algorithm(), encoded, b.Cost)
}

func sha256Hex(password string) []byte {
	sum := sha256.Sum256([]byte(password))
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum[:])
	return out
}

func bcryptCost(cost int) int {
	if cost == 0 {
		return DefaultBcryptCost
	}
	return cost
}

func bcryptHash(name string, secret []byte, cost int) (string, error) {
	cost = bcryptCost(cost)
	if cost < bcrypt.MinCost || cost > bcryptMaxCost {
		return "", fmt.Errorf("password: %s: cost %d not in [%d, %d]: %w",
			name, cost, bcrypt.MinCost, bcryptMaxCost, ErrParameters)
	}
	h, err := bcrypt.GenerateFromPassword(secret, cost)
	if err != nil {
		return "", fmt.Errorf("password: %s: %w", name, err)
	}
	return name + "$" + string(h), nil
}

// bcryptParse returns the bcrypt hash inside encoded after checking its
// format and cost.
func bcryptParse(name, encoded string) ([]byte, error) {
	rest, ok := strings.CutPrefix(encoded, name+"$")
	if !ok {
		return nil, fmt.Errorf("password: %s: wrong algorithm name: %w", name, ErrUnknownFormat)
	}
	hashed := []byte(rest)
	cost, err := bcrypt.Cost(hashed)
	if err != nil {
		return nil, fmt.Errorf("password: %s: %w", name, ErrMalformed)
	}
	if cost > bcryptMaxCost {
		return nil, fmt.Errorf("password: %s: cost %d above %d: %w", name, cost, bcryptMaxCost, ErrParameters)
	}
	return hashed, nil
}

func bcryptCompare(name string, hashed, secret []byte) (bool, error) {
	err := bcrypt.CompareHashAndPassword(hashed, secret)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("password: %s: %w", name, ErrMalformed)
	}
}

func bcryptNeedsRehash(name, encoded string, cost int) bool {
	if !IsUsable(encoded) {
		return false
	}
	hashed, err := bcryptParse(name, encoded)
	if err != nil {
		return true
	}
	got, err := bcrypt.Cost(hashed)
	return err != nil || got != bcryptCost(cost)
}
