package jwtauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestKeyChecks(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	big, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte(strings.Repeat("s", 32))
	cases := []struct {
		name string
		key  Key
		want string // "" = valid
	}{
		{"hs256", Key{Algorithm: "HS256", Secret: secret}, ""},
		{"hs256 short", Key{Algorithm: "HS256", Secret: secret[:31]}, "at least 32"},
		{"hs256 with rsa", Key{Algorithm: "HS256", Secret: secret, PrivateKey: big}, "takes a Secret"},
		{"rs256", Key{Algorithm: "RS256", PrivateKey: big}, ""},
		{"rs256 public only", Key{Algorithm: "RS256", PublicKey: &big.PublicKey}, ""},
		{"rs256 1024 bits", Key{Algorithm: "RS256", PrivateKey: small}, "2048"},
		{"rs256 with secret", Key{Algorithm: "RS256", PrivateKey: big, Secret: secret}, "not a Secret"},
		{"rs256 with ed25519", Key{Algorithm: "RS256", PrivateKey: ed}, "RSA"},
		{"es256", Key{Algorithm: "ES256", PrivateKey: p256}, ""},
		{"es256 with P-384", Key{Algorithm: "ES256", PrivateKey: p384}, "P-256"},
		{"eddsa", Key{Algorithm: "EdDSA", PrivateKey: ed}, ""},
		{"eddsa with rsa", Key{Algorithm: "EdDSA", PrivateKey: big}, "Ed25519"},
		{"none", Key{Algorithm: "none", Secret: secret}, "unsupported"},
		{"empty alg", Key{Secret: secret}, "unsupported"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.key.check()
			if tc.want == "" && err != nil {
				t.Fatalf("valid key refused: %v", err)
			}
			if tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSignParseRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, k := range []Key{
		{Algorithm: "HS512", Secret: []byte(strings.Repeat("k", 64))},
		{ID: "ec", Algorithm: "ES256", PrivateKey: p256},
		{ID: "ed", Algorithm: "EdDSA", PrivateKey: ed},
	} {
		t.Run(k.Algorithm, func(t *testing.T) {
			iss, err := New([]Key{k}, time.Minute, time.Hour, clock)
			if err != nil {
				t.Fatal(err)
			}
			tok, exp, err := iss.Sign(Refresh, "42", "fam", "", map[string]any{"role": "admin", "exp": 1})
			if err != nil {
				t.Fatal(err)
			}
			if !exp.Equal(now.Add(time.Hour)) {
				t.Fatalf("exp %v", exp)
			}
			c, err := iss.Parse(tok, Refresh)
			if err != nil {
				t.Fatal(err)
			}
			if c.UserID != "42" || c.SID != "fam" || c.All()["role"] != "admin" || !c.ExpiresAt.Equal(exp) || len(c.JTI) != 32 {
				t.Fatalf("claims %+v", c)
			}
			if _, err := iss.Parse(tok, Access); !errors.Is(err, ErrInvalid) {
				t.Fatalf("refresh accepted as access: %v", err)
			}
		})
	}
}

// TestParseRemembersVerified: a token verified once is recognised by its
// exact text (its signature cannot change), still expires on time, keeps
// its type check, and a token differing in one character is verified
// afresh (and refused).
func TestParseRemembersVerified(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	iss, err := New([]Key{{Algorithm: "HS256", Secret: []byte(strings.Repeat("s", 32))}}, time.Minute, time.Hour, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := iss.Sign(Access, "7", "fam", "", map[string]any{"plan": "gold"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := iss.Parse(tok, Access)
	if err != nil {
		t.Fatal(err)
	}
	if iss.seen.n.Load() != 1 {
		t.Fatalf("%d tokens remembered, want 1", iss.seen.n.Load())
	}
	again, err := iss.Parse(tok, Access)
	if err != nil || again == first || again.UserID != "7" || again.All()["plan"] != "gold" || first.All()["plan"] != "gold" {
		t.Fatalf("second parse: %+v %v", again, err)
	}
	if _, err := iss.Parse(tok, Refresh); !errors.Is(err, ErrInvalid) {
		t.Fatalf("remembered access token accepted as refresh: %v", err)
	}
	i := strings.LastIndexByte(tok, '.') + 3
	flipped := tok[:i] + string(rune(tok[i]^1)) + tok[i+1:]
	if _, err := iss.Parse(flipped, Access); !errors.Is(err, ErrInvalid) {
		t.Fatalf("altered signature accepted: %v", err)
	}
	now = now.Add(time.Minute)
	if _, err := iss.Parse(tok, Access); !errors.Is(err, ErrInvalid) {
		t.Fatalf("expired remembered token accepted: %v", err)
	}
	// Full: it starts over rather than growing.
	for n := range maxVerified + 10 {
		iss.seen.put(strings.Repeat("x", 8)+itoa(n), &Claims{ExpiresAt: now.Add(time.Hour)})
	}
	if n := iss.seen.n.Load(); n > maxVerified {
		t.Fatalf("%d remembered, cap %d", n, maxVerified)
	}
}

func itoa(n int) string { return fmt.Sprint(n) }
