package secret_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/restauth/restauth/internal/secret"
)

func TestDerive(t *testing.T) {
	t.Parallel()
	// Independent computation of the documented construction.
	mac := hmac.New(sha256.New, []byte("app secret"))
	mac.Write([]byte("restauth.jwt"))
	want := mac.Sum(nil)

	got := secret.Derive("app secret", "jwt")
	if !hmac.Equal(got, want) {
		t.Fatalf("Derive = %x, want HMAC-SHA256(secret, \"restauth.jwt\") = %x", got, want)
	}
	if len(got) != sha256.Size {
		t.Fatalf("Derive returned %d bytes, want %d", len(got), sha256.Size)
	}
	if again := secret.Derive("app secret", "jwt"); !hmac.Equal(got, again) {
		t.Fatal("Derive is not deterministic")
	}
	others := []struct{ name, secret, purpose string }{
		{"other purpose", "app secret", "password_reset"},
		{"other secret", "app secret2", "jwt"},
		{"empty purpose", "app secret", ""},
	}
	for _, o := range others {
		if hmac.Equal(secret.Derive(o.secret, o.purpose), got) {
			t.Errorf("%s: Derive gives the same key as (\"app secret\", \"jwt\")", o.name)
		}
	}
}

func TestDigest(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		// FIPS 180-2 test vectors.
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tc := range tests {
		if got := secret.Digest(tc.in); got != tc.want {
			t.Errorf("Digest(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestHex(t *testing.T) {
	t.Parallel()
	lowerHex := regexp.MustCompile(`^[0-9a-f]*$`)
	for _, n := range []int{0, 1, 16, 20, 32} {
		a, err := secret.Hex(n)
		if err != nil {
			t.Fatalf("Hex(%d): %v", n, err)
		}
		if len(a) != 2*n || !lowerHex.MatchString(a) {
			t.Errorf("Hex(%d) = %q, want %d lowercase hex characters", n, a, 2*n)
		}
		if b, err := hex.DecodeString(a); err != nil || len(b) != n {
			t.Errorf("Hex(%d) = %q does not decode to %d bytes", n, a, n)
		}
	}
	seen := map[string]bool{}
	for range 50 {
		s, err := secret.Hex(16)
		if err != nil {
			t.Fatal(err)
		}
		if seen[s] {
			t.Fatalf("Hex(16) repeated %s", s)
		}
		seen[s] = true
	}
}
