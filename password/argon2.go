package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Bounds on Argon2 parameters, for encoded strings and for Argon2id's own
// fields. They stop a corrupted or hostile stored hash from making Verify
// allocate gigabytes or run for minutes.
const (
	argon2MaxMemory  = 1 << 20 // KiB, 1 GiB
	argon2MaxTime    = 100
	argon2MinSaltLen = 8
	argon2MaxSaltLen = 1024
	argon2MinKeyLen  = 4
	argon2MaxKeyLen  = 1024
)

const (
	argon2Name    = "argon2"
	argon2id      = "argon2id"
	argon2i       = "argon2i"
	argon2Version = "v=19"
)

// Argon2id hashes with Argon2id and verifies Django's Argon2PasswordHasher
// strings:
//
//	argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// where salt and hash are unpadded standard base64. Verify accepts whatever
// m, t, p, salt and key lengths a string carries (Django's own defaults are
// m=102400,t=2,p=8), and also Django's older "argon2$argon2i$v=19$..."
// strings. It rejects with ErrParameters memory above 1 GiB, more than 100
// passes, memory below 8 KiB per lane, salts shorter than 8 or longer than
// 1024 bytes and keys shorter than 4 or longer than 1024 bytes; strings
// without "v=19" (Argon2 version 1.0) give ErrUnknownFormat.
//
// A zero field means its DefaultArgon2id value, so Argon2id{} hashes with
// the defaults.
type Argon2id struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the number of lanes (the p parameter).
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived key in bytes.
	KeyLen uint32
}

// DefaultArgon2id returns OWASP's recommended Argon2id parameters: 19 MiB
// of memory, 2 passes, 1 lane, a 16-byte salt and a 32-byte key.
func DefaultArgon2id() Argon2id {
	return Argon2id{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Algorithm returns "argon2", Django's name for the format.
func (Argon2id) Algorithm() string { return argon2Name }

// Hash returns password hashed with a fresh random salt in Django's argon2
// format. Parameters outside the bounds Verify accepts give an error
// wrapping ErrParameters.
func (a Argon2id) Hash(password string) (string, error) {
	p := a.withDefaults()
	if err := checkArgon2(p.Memory, p.Time, uint64(p.Threads), uint64(p.SaltLen), uint64(p.KeyLen)); err != nil {
		return "", fmt.Errorf("password: argon2id: %w", err)
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: argon2id: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("%s$%s$%s$m=%d,t=%d,p=%d$%s$%s",
		argon2Name, argon2id, argon2Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches the argon2 string encoded, using
// the parameters found in it and a constant-time comparison.
func (Argon2id) Verify(password, encoded string) (bool, error) {
	if !IsUsable(encoded) {
		return false, nil
	}
	h, err := parseArgon2(encoded)
	if err != nil {
		return false, err
	}
	var key []byte
	switch h.variant {
	case argon2id:
		key = argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	default: // argon2i, the only other variant parseArgon2 lets through
		key = argon2.Key([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	}
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// NeedsRehash reports whether encoded is anything but an argon2id string
// with a's memory, time, threads and key length and a salt at least a's
// salt length long. It is false for unusable passwords.
func (a Argon2id) NeedsRehash(encoded string) bool {
	if !IsUsable(encoded) {
		return false
	}
	h, err := parseArgon2(encoded)
	if err != nil {
		return true
	}
	p := a.withDefaults()
	return h.variant != argon2id ||
		h.memory != p.Memory || h.time != p.Time || h.threads != p.Threads ||
		len(h.key) != int(p.KeyLen) || len(h.salt) < int(p.SaltLen)
}

func (a Argon2id) withDefaults() Argon2id {
	d := DefaultArgon2id()
	if a.Memory == 0 {
		a.Memory = d.Memory
	}
	if a.Time == 0 {
		a.Time = d.Time
	}
	if a.Threads == 0 {
		a.Threads = d.Threads
	}
	if a.SaltLen == 0 {
		a.SaltLen = d.SaltLen
	}
	if a.KeyLen == 0 {
		a.KeyLen = d.KeyLen
	}
	return a
}

// checkArgon2 checks parameters against the package's bounds and the
// Argon2 rules that golang.org/x/crypto/argon2 would otherwise panic on or
// silently adjust (time and lanes at least 1, memory at least 8 KiB a lane).
func checkArgon2(memory, time uint32, threads, saltLen, keyLen uint64) error {
	switch {
	case time < 1 || time > argon2MaxTime:
		return fmt.Errorf("time %d not in [1, %d]: %w", time, argon2MaxTime, ErrParameters)
	case threads < 1 || threads > 255:
		return fmt.Errorf("parallelism %d not in [1, 255]: %w", threads, ErrParameters)
	case uint64(memory) < 8*threads || memory > argon2MaxMemory:
		return fmt.Errorf("memory %d KiB not in [8*p, %d]: %w", memory, argon2MaxMemory, ErrParameters)
	case saltLen < argon2MinSaltLen || saltLen > argon2MaxSaltLen:
		return fmt.Errorf("salt length %d not in [%d, %d]: %w", saltLen, argon2MinSaltLen, argon2MaxSaltLen, ErrParameters)
	case keyLen < argon2MinKeyLen || keyLen > argon2MaxKeyLen:
		return fmt.Errorf("key length %d not in [%d, %d]: %w", keyLen, argon2MinKeyLen, argon2MaxKeyLen, ErrParameters)
	}
	return nil
}

type argon2Hash struct {
	variant      string
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseArgon2 decodes "argon2$<variant>$v=19$m=M,t=T,p=P$<salt>$<hash>"
// and checks its parameters.
func parseArgon2(encoded string) (argon2Hash, error) {
	var h argon2Hash
	if !strings.HasPrefix(encoded, argon2Name+"$") {
		return h, fmt.Errorf("password: argon2: wrong algorithm name: %w", ErrUnknownFormat)
	}
	f := strings.SplitN(encoded, "$", 7)
	if len(f) < 2 {
		return h, fmt.Errorf("password: argon2: no variant: %w", ErrMalformed)
	}
	h.variant = f[1]
	if h.variant != argon2id && h.variant != argon2i {
		return h, fmt.Errorf("password: argon2: unsupported variant: %w", ErrUnknownFormat)
	}
	if len(f) >= 3 && f[2] != argon2Version &&
		(strings.HasPrefix(f[2], "v=") || strings.HasPrefix(f[2], "m=")) {
		// Version 1.0 strings ("v=16", or no version field at all).
		return h, fmt.Errorf("password: argon2: unsupported version: %w", ErrUnknownFormat)
	}
	if len(f) != 6 || f[2] != argon2Version {
		return h, fmt.Errorf("password: argon2: want 6 fields with v=19: %w", ErrMalformed)
	}
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("password: argon2: want m, t and p: %w", ErrMalformed)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		s, ok := strings.CutPrefix(params[i], name)
		if !ok || s == "" {
			return h, fmt.Errorf("password: argon2: want m, t and p: %w", ErrMalformed)
		}
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return h, fmt.Errorf("password: argon2: parameter %s: %w", name[:1], ErrMalformed)
		}
		vals[i] = v
	}
	salt, err := decodeBounded(base64.RawStdEncoding, f[4], argon2MaxSaltLen)
	if err != nil {
		return h, fmt.Errorf("password: argon2: salt: %w", err)
	}
	key, err := decodeBounded(base64.RawStdEncoding, f[5], argon2MaxKeyLen)
	if err != nil {
		return h, fmt.Errorf("password: argon2: hash: %w", err)
	}
	if err := checkArgon2(uint32(vals[0]), uint32(vals[1]), vals[2], uint64(len(salt)), uint64(len(key))); err != nil {
		return h, fmt.Errorf("password: argon2: %w", err)
	}
	h.memory, h.time, h.threads = uint32(vals[0]), uint32(vals[1]), uint8(vals[2])
	h.salt, h.key = salt, key
	return h, nil
}

// decodeBounded decodes s, refusing before decoding anything that would
// exceed limit bytes; errors wrap ErrParameters (too long) or ErrMalformed.
func decodeBounded(enc *base64.Encoding, s string, limit int) ([]byte, error) {
	if enc.DecodedLen(len(s)) > limit+2 {
		return nil, fmt.Errorf("longer than %d bytes: %w", limit, ErrParameters)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("bad base64: %w", ErrMalformed)
	}
	return b, nil
}
