package resets_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/resets"
	"github.com/restauth/restauth/models"
)

var t0 = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)

func tokensAt(now time.Time) resets.Tokens {
	return resets.Tokens{Key: []byte("0123456789abcdef0123456789abcdef"), Timeout: 3 * 24 * time.Hour,
		Now: func() time.Time { return now }}
}

func user() *models.User {
	login := t0.Add(-time.Hour)
	return &models.User{ID: 42, Username: "alice", Email: "Alice@Example.com",
		Password: "pbkdf2_sha256$1$salt$hash", LastLogin: &login}
}

func TestRoundTripAndInvalidation(t *testing.T) {
	t.Parallel()
	tok := tokensAt(t0).Make(user())
	if !tokensAt(t0).Check(user(), tok) {
		t.Fatalf("fresh token %q refused", tok)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		change func(u *models.User)
		token  string
		tokens resets.Tokens
		ok     bool
	}{
		{"same user", nil, tok, tokensAt(t0), true},
		{"email case changed", func(u *models.User) { u.Email = "alice@example.COM" }, tok, tokensAt(t0), true},
		{"username changed", func(u *models.User) { u.Username = "bob" }, tok, tokensAt(t0), true},
		{"password changed", func(u *models.User) { u.Password = "pbkdf2_sha256$1$salt$other" }, tok, tokensAt(t0), false},
		{"logged in since", func(u *models.User) { l := t0; u.LastLogin = &l }, tok, tokensAt(t0), false},
		{"last login cleared", func(u *models.User) { u.LastLogin = nil }, tok, tokensAt(t0), false},
		{"email changed", func(u *models.User) { u.Email = "alice@other.example" }, tok, tokensAt(t0), false},
		{"other user", func(u *models.User) { u.ID = 43 }, tok, tokensAt(t0), false},
		{"other key", nil, tok, resets.Tokens{Key: []byte("another key"), Timeout: time.Hour, Now: func() time.Time { return t0 }}, false},
		{"mac tampered first", nil, flip(tok, strings.Index(tok, "-")+1), tokensAt(t0), false},
		{"mac tampered last", nil, flip(tok, len(tok)-1), tokensAt(t0), false},
		{"timestamp changed", nil, flip(tok, 0), tokensAt(t0), false},
		{"empty", nil, "", tokensAt(t0), false},
		{"no dash", nil, strings.Replace(tok, "-", "", 1), tokensAt(t0), false},
		{"mac short", nil, tok[:len(tok)-1], tokensAt(t0), false},
		{"mac long", nil, tok + "0", tokensAt(t0), false},
		{"mac uppercase", nil, strings.ToUpper(tok), tokensAt(t0), false},
		{"empty timestamp", nil, tok[strings.Index(tok, "-"):], tokensAt(t0), false},
		{"leading dash", nil, "-" + tok, tokensAt(t0), false},
		{"junk timestamp", nil, "zz!" + tok[strings.Index(tok, "-"):], tokensAt(t0), false},
		{"huge timestamp", nil, strings.Repeat("z", 14) + tok[strings.Index(tok, "-"):], tokensAt(t0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := user()
			if tc.change != nil {
				tc.change(u)
			}
			if got := tc.tokens.Check(u, tc.token); got != tc.ok {
				t.Fatalf("Check(%q) = %v, want %v", tc.token, got, tc.ok)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	timeout := tokensAt(t0).Timeout
	tests := []struct {
		name     string
		madeAt   time.Time
		checkAt  time.Time
		accepted bool
	}{
		{"immediately", t0, t0, true},
		{"exactly at timeout", t0, t0.Add(timeout), true},
		{"one second after timeout", t0, t0.Add(timeout + time.Second), false},
		{"long after", t0, t0.Add(10 * timeout), false},
		// Clocks of several app instances may differ a little.
		{"made a minute in the future", t0.Add(time.Minute), t0, true},
		{"made more than a minute in the future", t0.Add(time.Minute + time.Second), t0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := tokensAt(tc.madeAt).Make(user())
			if got := tokensAt(tc.checkAt).Check(user(), tok); got != tc.accepted {
				t.Fatalf("token made at %v, checked at %v: Check = %v, want %v", tc.madeAt, tc.checkAt, got, tc.accepted)
			}
		})
	}
}

func TestUID(t *testing.T) {
	t.Parallel()
	for _, id := range []uint{1, 9, 10, 42, 1 << 31, ^uint(0)} {
		uid := resets.EncodeUID(id)
		if strings.ContainsAny(uid, "=+/") {
			t.Errorf("EncodeUID(%d) = %q is not URL-safe unpadded", id, uid)
		}
		got, ok := resets.DecodeUID(uid)
		if !ok || got != id {
			t.Errorf("DecodeUID(EncodeUID(%d)) = %d, %v", id, got, ok)
		}
	}
	// Django's urlsafe_base64_encode(force_bytes(42)) is "NDI".
	if got := resets.EncodeUID(42); got != "NDI" {
		t.Errorf("EncodeUID(42) = %q, want NDI (Django's form)", got)
	}
	// Padding is tolerated (some clients add it back).
	if got, ok := resets.DecodeUID("NDI="); !ok || got != 42 {
		t.Errorf("DecodeUID(NDI=) = %d, %v", got, ok)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, junk := range []string{
		"", "!", "NDI*", "N", "====",
		b64("0"), b64("-1"), b64("abc"), b64("4 2"), b64(" 42"), b64("1.5"),
		b64("18446744073709551616"),                       // 2^64
		b64("000000000000000000042"),                      // 21 bytes
		base64.StdEncoding.EncodeToString([]byte("42>?")), // std alphabet
	} {
		if got, ok := resets.DecodeUID(junk); ok {
			t.Errorf("DecodeUID(%q) = %d, true; want false", junk, got)
		}
	}
}
