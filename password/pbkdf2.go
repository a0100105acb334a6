package password

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"strconv"
)

// DefaultPBKDF2Iterations is the iteration count PBKDF2 uses when its
// Iterations field is zero: Django 5.2's default.
const DefaultPBKDF2Iterations = 1_000_000

// pbkdf2MaxIterations bounds the iteration count read from a stored string.
const pbkdf2MaxIterations = 10_000_000

// PBKDF2 hashes and verifies Django's PBKDF2PasswordHasher strings
//
//	pbkdf2_sha256$<iterations>$<salt>$<base64 of the 32-byte key>
//
// or, with SHA1 set, PBKDF2SHA1PasswordHasher strings ("pbkdf2_sha1$...",
// 20-byte key). The key is PBKDF2-HMAC over the UTF-8 password with the
// salt text as salt; base64 is standard and padded. Verify rejects
// iteration counts above 10,000,000 with ErrParameters.
//
// The zero value handles pbkdf2_sha256 with DefaultPBKDF2Iterations.
type PBKDF2 struct {
	// SHA1 selects pbkdf2_sha1 instead of pbkdf2_sha256.
	SHA1 bool
	// Iterations is the count Hash uses and NeedsRehash expects; zero means
	// DefaultPBKDF2Iterations.
	Iterations int
}

// Algorithm returns "pbkdf2_sha256", or "pbkdf2_sha1" when p.SHA1 is set.
func (p PBKDF2) Algorithm() string {
	if p.SHA1 {
		return "pbkdf2_sha1"
	}
	return "pbkdf2_sha256"
}

// Hash returns password hashed with a fresh random salt in Django's format.
func (p PBKDF2) Hash(password string) (string, error) {
	iter := p.iterations()
	if iter < 1 || iter > pbkdf2MaxIterations {
		return "", fmt.Errorf("password: %s: iterations %d not in [1, %d]: %w",
			p.Algorithm(), iter, pbkdf2MaxIterations, ErrParameters)
	}
	salt := rand.Text() // 26 characters of [A-Z2-7], 130 bits
	dk, err := p.derive(password, salt, iter)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s$%d$%s$%s", p.Algorithm(), iter, salt,
		base64.StdEncoding.EncodeToString(dk)), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time.
func (p PBKDF2) Verify(password, encoded string) (bool, error) {
	if !IsUsable(encoded) {
		return false, nil
	}
	iter, salt, want, err := p.parse(encoded)
	if err != nil {
		return false, err
	}
	got, err := p.derive(password, salt, iter)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// NeedsRehash reports whether encoded is not a valid string of p's
// algorithm with exactly p's iteration count. It is false for unusable
// passwords.
func (p PBKDF2) NeedsRehash(encoded string) bool {
	if !IsUsable(encoded) {
		return false
	}
	iter, _, _, err := p.parse(encoded)
	return err != nil || iter != p.iterations()
}

func (p PBKDF2) iterations() int {
	if p.Iterations == 0 {
		return DefaultPBKDF2Iterations
	}
	return p.Iterations
}

func (p PBKDF2) newHash() (func() hash.Hash, int) {
	if p.SHA1 {
		return sha1.New, sha1.Size
	}
	return sha256.New, sha256.Size
}

func (p PBKDF2) derive(password, salt string, iter int) ([]byte, error) {
	h, size := p.newHash()
	dk, err := pbkdf2.Key(h, password, []byte(salt), iter, size)
	if err != nil {
		return nil, fmt.Errorf("password: %s: %w", p.Algorithm(), err)
	}
	return dk, nil
}

func (p PBKDF2) parse(encoded string) (iter int, salt string, key []byte, err error) {
	name := p.Algorithm()
	f, err := splitFields(encoded, name, 4)
	if err != nil {
		return 0, "", nil, err
	}
	iter, err = parseCount(f[1], pbkdf2MaxIterations)
	if err != nil {
		return 0, "", nil, fmt.Errorf("password: %s: iterations: %w", name, err)
	}
	if f[2] == "" {
		return 0, "", nil, fmt.Errorf("password: %s: empty salt: %w", name, ErrMalformed)
	}
	_, size := p.newHash()
	key, err = decodeBounded(base64.StdEncoding, f[3], size)
	if err != nil {
		return 0, "", nil, fmt.Errorf("password: %s: hash: %w", name, err)
	}
	if len(key) != size {
		return 0, "", nil, fmt.Errorf("password: %s: hash is %d bytes, want %d: %w", name, len(key), size, ErrMalformed)
	}
	return iter, f[2], key, nil
}

// parseCount parses a decimal count of ASCII digits in [1, limit]; errors
// wrap ErrMalformed or ErrParameters.
func parseCount(s string, limit int) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("empty number: %w", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("bad number: %w", ErrMalformed)
		}
	}
	if len(s) > 12 {
		return 0, fmt.Errorf("number too large: %w", ErrParameters)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("bad number: %w", ErrMalformed)
	}
	if n < 1 || n > limit {
		return 0, fmt.Errorf("%d not in [1, %d]: %w", n, limit, ErrParameters)
	}
	return n, nil
}
