package ident_test

import (
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/restauth/restauth/internal/ident"
)

func TestUsername(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice", "Alice"}, // case kept: only the key folds
		{"ｍain", "main"},   // fullwidth m
		{"ＭＡＩＮ", "MAIN"},
		{"e\u0301lan", "élan"}, // combining accent composed
		{"élan", "élan"},
		{"ﬁle", "file"}, // ligature
		{"ℌello", "Hello"},
		{"straße", "straße"},
		{"ſ", "s"}, // long s
		{"", ""},
	}
	for _, tc := range tests {
		if got := ident.Username(tc.in); got != tc.want {
			t.Errorf("Username(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestUsernameKey: names that are one user have one key, names that are
// not have different keys.
func TestUsernameKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"ASCII case", "Alice", "aLICE", true},
		{"fullwidth", "ｍain", "main", true},
		{"fullwidth upper", "ＭＡＩＮ", "main", true},
		{"accented upper", "ÉLAN", "élan", true},
		{"combining vs precomposed", "e\u0301lan", "élan", true},
		{"combining upper vs precomposed", "E\u0301LAN", "élan", true},
		{"German sharp s", "STRASSE", "straße", true},
		{"capital sharp s", "STRAẞE", "strasse", true},
		{"Greek final sigma", "ΟΔΟΣ", "οδος", true},
		{"Greek medial sigma", "οδοσ", "οδος", true},
		{"ligature", "ﬁle", "FILE", true},
		{"Kelvin sign", "\u212Aelvin", "kelvin", true},
		{"angstrom sign", "\u212Bngstrom", "ångstrom", true},
		{"Turkish dotless i differs", "ıstanbul", "istanbul", false},
		{"Turkish dotted capital differs from i", "İstanbul", "istanbul", false},
		{"capital I folds to i", "ISTANBUL", "istanbul", true},
		{"different names", "alice", "alicia", false},
		{"accent matters", "elan", "élan", false},
	}
	for _, tc := range tests {
		ka, kb := ident.UsernameKey(tc.a), ident.UsernameKey(tc.b)
		if (ka == kb) != tc.same {
			t.Errorf("%s: UsernameKey(%q) = %q, UsernameKey(%q) = %q, want same=%v", tc.name, tc.a, ka, tc.b, kb, tc.same)
		}
		// A key is its own key, and the key of the stored (normalised)
		// name is the key of the name as typed.
		for _, s := range []string{tc.a, tc.b} {
			k := ident.UsernameKey(s)
			if ident.UsernameKey(k) != k {
				t.Errorf("%s: UsernameKey is not idempotent on %q (%q)", tc.name, s, k)
			}
			if ident.UsernameKey(ident.Username(s)) != k {
				t.Errorf("%s: key of Username(%q) differs from its key", tc.name, s)
			}
			if !norm.NFKC.IsNormalString(k) {
				t.Errorf("%s: key %q is not NFKC", tc.name, k)
			}
		}
	}
	if got := ident.UsernameKey("ＭＡＩＮ"); got != "main" {
		t.Errorf("UsernameKey(ＭＡＩＮ) = %q, want main", got)
	}
	if got := ident.UsernameKey(""); got != "" {
		t.Errorf("UsernameKey(\"\") = %q", got)
	}
}

func TestEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Bob@EXAMPLE.COM", "Bob@example.com"},
		{"bob@example.com", "bob@example.com"},
		{"  Bob@Example.Com \n", "Bob@example.com"}, // trimmed, as Django's strip()
		{`"a@b"@EXAMPLE.com`, `"a@b"@example.com`},  // the last '@' splits
		{"Ünal@BÜCHER.DE", "Ünal@bücher.de"},        // Unicode domain
		{"x@\u0130X.TR", "x@i\u0307x.tr"},           // full lower-casing, as Python's
		{"no-at-sign ", "no-at-sign "},              // unchanged, as Django
		{"", ""},
	}
	for _, tc := range tests {
		if got := ident.Email(tc.in); got != tc.want {
			t.Errorf("Email(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEmailKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a, b string
		same bool
	}{
		{"Bob@example.com", "bob@EXAMPLE.COM", true},
		{"BOB@example.com", "bob@example.com", true},
		{"STRASSE@x.de", "straße@x.de", true},
		{"ÉLAN@x.fr", "élan@x.fr", true},
		{"e\u0301lan@x.fr", "élan@x.fr", true},
		{" bob@example.com", "bob@example.com", true},
		{"bob@example.com", "bob@example.org", false},
		{"bob@example.com", "bobby@example.com", false},
		{"ıd@x.tr", "id@x.tr", false},
	}
	for _, tc := range tests {
		ka, kb := ident.EmailKey(tc.a), ident.EmailKey(tc.b)
		if (ka == kb) != tc.same {
			t.Errorf("EmailKey(%q) = %q, EmailKey(%q) = %q, want same=%v", tc.a, ka, tc.b, kb, tc.same)
		}
		if k := ident.EmailKey(tc.a); ident.EmailKey(ident.Email(tc.a)) != k {
			t.Errorf("key of Email(%q) differs from its key", tc.a)
		}
	}
	if got := ident.EmailKey("Bob@EXAMPLE.COM"); got != "bob@example.com" {
		t.Errorf("EmailKey(Bob@EXAMPLE.COM) = %q", got)
	}
	if got := ident.EmailKey(""); got != "" {
		t.Errorf("EmailKey(\"\") = %q", got)
	}
	// Keys never outgrow three times the input's characters for ordinary
	// letters (the column sizes rely on it).
	long := strings.Repeat("ΐ", 150)
	if n := len([]rune(ident.UsernameKey(long))); n > 450 {
		t.Errorf("key of 150 runes has %d runes", n)
	}
}

// TestCherokeeKeys: both cases of a Cherokee letter make one key, and a
// key keys to itself (x/text's Fold swaps Cherokee cases).
func TestCherokeeKeys(t *testing.T) {
	t.Parallel()
	for _, pair := range [][2]string{{"Ꭰ", "ꭰ"}, {"ᏸ", "Ᏸ"}, {"ᎠᎡ", "ꭰꭱ"}} {
		a, b := ident.UsernameKey(pair[0]), ident.UsernameKey(pair[1])
		if a != b || ident.UsernameKey(a) != a {
			t.Errorf("%q -> %q, %q -> %q, again %q", pair[0], a, pair[1], b, ident.UsernameKey(a))
		}
	}
}
