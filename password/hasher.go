package password

import (
	"errors"
	"fmt"
	"strings"
)

// Errors returned (wrapped) by Verify and Hash. Callers treat any error from
// Verify as "no match"; the errors never contain the password or the hash.
var (
	// ErrUnknownFormat means an encoded string names no algorithm this
	// package (or the Multi in use) knows, or a variant it does not support.
	ErrUnknownFormat = errors.New("unknown password hash format")
	// ErrMalformed means an encoded string names a known algorithm but its
	// fields cannot be parsed.
	ErrMalformed = errors.New("malformed password hash")
	// ErrParameters means cost parameters, found in an encoded string or set
	// on a hasher, are outside the bounds this package accepts.
	ErrParameters = errors.New("password hash parameters out of bounds")
)

// UnusablePrefix starts every unusable encoded password, as in Django.
const UnusablePrefix = "!"

// Hasher turns passwords into stored strings and checks them.
//
// Implementations must be safe for concurrent use, compare in constant time,
// and never put the password or the encoded hash into an error; the package
// documentation lists the whole contract under "Writing a Hasher".
type Hasher interface {
	// Hash returns the encoded form of password, with a fresh random salt.
	Hash(password string) (string, error)
	// Verify reports whether password matches encoded. An unusable encoded
	// string (empty, or starting with UnusablePrefix) gives (false, nil).
	// An unknown or malformed one gives false and an error wrapping
	// ErrUnknownFormat, ErrMalformed or ErrParameters; callers treat any
	// error as "no match".
	Verify(password, encoded string) (bool, error)
	// NeedsRehash reports whether encoded should be replaced by Hash's
	// output at the next successful login (other algorithm or weaker
	// parameters). It is false for unusable passwords.
	NeedsRehash(encoded string) bool
}

// NamedHasher is a Hasher that owns one algorithm name: the text before the
// first "$" of the strings it produces and verifies. Multi uses the name to
// pick the hasher for a stored string.
type NamedHasher interface {
	Hasher
	// Algorithm returns the algorithm name, such as "argon2" or
	// "pbkdf2_sha256".
	Algorithm() string
}

// IsUsable reports whether encoded can ever match a password: it is false
// for the empty string and for strings starting with UnusablePrefix.
func IsUsable(encoded string) bool {
	return encoded != "" && !strings.HasPrefix(encoded, UnusablePrefix)
}

// Multi hashes with a primary algorithm and verifies any of several, picked
// by the algorithm name that starts the encoded string. It is safe for
// concurrent use. Create it with NewMulti or Default.
type Multi struct {
	primary NamedHasher
	byName  map[string]NamedHasher
}

// NewMulti returns a Multi that hashes with primary and verifies strings of
// primary's algorithm and of each legacy hasher's. Two hashers with the same
// algorithm name, a nil hasher, or a name that is empty or contains "$" give
// an error.
func NewMulti(primary NamedHasher, legacy ...NamedHasher) (*Multi, error) {
	m := &Multi{primary: primary, byName: make(map[string]NamedHasher, 1+len(legacy))}
	for i, h := range append([]NamedHasher{primary}, legacy...) {
		if h == nil {
			return nil, fmt.Errorf("password: hasher %d is nil", i)
		}
		name := h.Algorithm()
		if name == "" || strings.Contains(name, "$") {
			return nil, fmt.Errorf("password: hasher %d: invalid algorithm name %q", i, name)
		}
		if _, dup := m.byName[name]; dup {
			return nil, fmt.Errorf("password: algorithm %q given twice", name)
		}
		m.byName[name] = h
	}
	return m, nil
}

// Default returns the Hasher restauth uses unless an app sets its own: it
// hashes with DefaultArgon2id and verifies Django's argon2, pbkdf2_sha256,
// pbkdf2_sha1, bcrypt_sha256 and bcrypt strings. NeedsRehash is true for
// every string that is not Argon2id with the default parameters.
//
// It is the Multi that
//
//	NewMulti(DefaultArgon2id(), PBKDF2{}, PBKDF2{SHA1: true}, BcryptSHA256{}, Bcrypt{})
//
// returns; call NewMulti like that, with other parameters or more hashers,
// to change it.
func Default() Hasher {
	a := DefaultArgon2id()
	return &Multi{
		primary: a,
		byName: map[string]NamedHasher{
			a.Algorithm():                  a,
			PBKDF2{}.Algorithm():           PBKDF2{},
			PBKDF2{SHA1: true}.Algorithm(): PBKDF2{SHA1: true},
			BcryptSHA256{}.Algorithm():     BcryptSHA256{},
			Bcrypt{}.Algorithm():           Bcrypt{},
		},
	}
}

// Algorithm returns the primary hasher's algorithm name.
func (m *Multi) Algorithm() string { return m.primary.Algorithm() }

// Hash encodes password with the primary hasher.
func (m *Multi) Hash(password string) (string, error) {
	return m.primary.Hash(password)
}

// Verify checks password with the hasher named by encoded's algorithm.
// Unusable strings give (false, nil); a name no hasher owns gives false and
// an error wrapping ErrUnknownFormat.
func (m *Multi) Verify(password, encoded string) (bool, error) {
	if !IsUsable(encoded) {
		return false, nil
	}
	h, err := m.lookup(encoded)
	if err != nil {
		return false, err
	}
	return h.Verify(password, encoded)
}

// NeedsRehash is true for a usable string of any algorithm but the
// primary's, and otherwise asks the primary hasher.
func (m *Multi) NeedsRehash(encoded string) bool {
	if !IsUsable(encoded) {
		return false
	}
	name, _, _ := strings.Cut(encoded, "$")
	if name != m.primary.Algorithm() {
		return true
	}
	return m.primary.NeedsRehash(encoded)
}

func (m *Multi) lookup(encoded string) (NamedHasher, error) {
	name, _, ok := strings.Cut(encoded, "$")
	if !ok {
		return nil, fmt.Errorf("password: no algorithm name: %w", ErrUnknownFormat)
	}
	h, ok := m.byName[name]
	if !ok {
		return nil, fmt.Errorf("password: algorithm not enabled: %w", ErrUnknownFormat)
	}
	return h, nil
}

// splitFields splits encoded on "$" after checking that it starts with
// "<name>$" and has exactly n fields (name included).
func splitFields(encoded, name string, n int) ([]string, error) {
	if !strings.HasPrefix(encoded, name+"$") {
		return nil, fmt.Errorf("password: %s: wrong algorithm name: %w", name, ErrUnknownFormat)
	}
	parts := strings.SplitN(encoded, "$", n+1)
	if len(parts) != n {
		return nil, fmt.Errorf("password: %s: want %d fields: %w", name, n, ErrMalformed)
	}
	return parts, nil
}
