package password

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// djangoArgon2Re is the shape of Django's Argon2PasswordHasher output.
var djangoArgon2Re = regexp.MustCompile(
	`^argon2\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

// testArgon2 is a cheap Argon2id for tests that do not care about cost.
var testArgon2 = Argon2id{Memory: 64, Time: 1, Threads: 1}

func TestArgon2idRoundTrip(t *testing.T) {
	t.Parallel()
	h := DefaultArgon2id()
	enc, err := h.Hash("s3cret pässword")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !djangoArgon2Re.MatchString(enc) {
		t.Fatalf("Hash = %q, not in Django's argon2 format", enc)
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"s3cret pässword", true},
		{"s3cret password", false},
		{"s3cret pässword ", false},
		{"", false},
	}
	for _, tt := range tests {
		ok, err := h.Verify(tt.password, enc)
		if err != nil || ok != tt.want {
			t.Errorf("Verify(%q) = %v, %v; want %v, nil", tt.password, ok, err, tt.want)
		}
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash(fresh default hash) = true")
	}
}

func TestArgon2idSaltsDiffer(t *testing.T) {
	t.Parallel()
	a, err := testArgon2.Hash("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := testArgon2.Hash("same")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatalf("two hashes of the same password are equal: %q", a)
	}
	for _, enc := range []string{a, b} {
		if ok, err := testArgon2.Verify("same", enc); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v", enc, ok, err)
		}
	}
}

func TestArgon2idZeroValueIsDefault(t *testing.T) {
	t.Parallel()
	if got := (Argon2id{}).withDefaults(); got != DefaultArgon2id() {
		t.Fatalf("Argon2id{} params = %+v, want %+v", got, DefaultArgon2id())
	}
	want := Argon2id{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if DefaultArgon2id() != want {
		t.Fatalf("DefaultArgon2id() = %+v, want OWASP %+v", DefaultArgon2id(), want)
	}
}

// Reference vectors of the Argon2 reference implementation (phc-winner-argon2
// test suite: password "password", salt "somesalt"), in Django's layout.
func TestArgon2ReferenceVectors(t *testing.T) {
	t.Parallel()
	tests := []struct{ password, encoded string }{
		{"password", "argon2$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{"password", "argon2$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
		{"password", "argon2$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
		{"password", "argon2$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8"},
		{"password", "argon2$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E"},
	}
	h := Default()
	for _, tt := range tests {
		ok, err := h.Verify(tt.password, tt.encoded)
		if !ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v; want true, nil", tt.password, tt.encoded, ok, err)
		}
		ok, err = h.Verify("passwore", tt.encoded)
		if ok || err != nil {
			t.Errorf("Verify(wrong, %q) = %v, %v; want false, nil", tt.encoded, ok, err)
		}
		if !h.NeedsRehash(tt.encoded) {
			t.Errorf("NeedsRehash(%q) = false, want true (other parameters)", tt.encoded)
		}
	}
}

// A Django-style hash (22-character text salt, p=8, 16-byte key) built here
// with x/crypto directly, not with the package's encoder.
func TestArgon2AcceptsForeignParameters(t *testing.T) {
	t.Parallel()
	salt := "AbCdEfGhIjKlMnOpQrStUv"
	key := argon2.IDKey([]byte("django pw"), []byte(salt), 1, 512, 8, 16)
	enc := fmt.Sprintf("argon2$argon2id$v=19$m=512,t=1,p=8$%s$%s",
		base64.RawStdEncoding.EncodeToString([]byte(salt)),
		base64.RawStdEncoding.EncodeToString(key))
	h := Default()
	if ok, err := h.Verify("django pw", enc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
	}
	if ok, _ := h.Verify("django pW", enc); ok {
		t.Fatal("Verify(wrong) = true")
	}
	if !h.NeedsRehash(enc) {
		t.Fatal("NeedsRehash = false for m=512,t=1,p=8")
	}
}

func TestArgon2idNeedsRehash(t *testing.T) {
	t.Parallel()
	cheap := Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	enc, err := cheap.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		hasher Argon2id
		want   bool
	}{
		{"same params", cheap, false},
		{"more memory", Argon2id{Memory: 128, Time: 1, Threads: 1}, true},
		{"more passes", Argon2id{Memory: 64, Time: 2, Threads: 1}, true},
		{"more lanes", Argon2id{Memory: 64, Time: 1, Threads: 2}, true},
		{"longer key", Argon2id{Memory: 64, Time: 1, Threads: 1, KeyLen: 64}, true},
		{"longer salt wanted", Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 32}, true},
		{"shorter salt wanted", Argon2id{Memory: 64, Time: 1, Threads: 1, SaltLen: 8}, false},
	}
	for _, tt := range tests {
		if got := tt.hasher.NeedsRehash(enc); got != tt.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tt.name, got, tt.want)
		}
	}
	argon2iEnc := "argon2$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8"
	if !(Argon2id{Memory: 256, Time: 2, Threads: 1, SaltLen: 8}).NeedsRehash(argon2iEnc) {
		t.Error("NeedsRehash(argon2i with equal params) = false, want true")
	}
}

func TestArgon2idHashRejectsBadParameters(t *testing.T) {
	t.Parallel()
	for _, a := range []Argon2id{
		{Memory: 4, Time: 1, Threads: 1},       // below 8 KiB per lane
		{Memory: 64, Time: 101, Threads: 1},    // too many passes
		{Memory: 2 << 20, Time: 1, Threads: 1}, // 2 GiB
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 2},
		{Memory: 64, Time: 1, Threads: 1, KeyLen: 4096},
	} {
		enc, err := a.Hash("pw")
		if !errors.Is(err, ErrParameters) || enc != "" {
			t.Errorf("%+v: Hash = %q, %v; want ErrParameters", a, enc, err)
		}
	}
}

// pbkdf2Ref is PBKDF2 (RFC 8018) with HMAC-SHA256 written out here, so that
// test vectors do not come from the code under test.
func pbkdf2Ref(password, salt string, iter int) []byte {
	mac := hmac.New(sha256.New, []byte(password))
	mac.Write([]byte(salt))
	mac.Write(binary.BigEndian.AppendUint32(nil, 1))
	u := mac.Sum(nil)
	out := append([]byte(nil), u...)
	for i := 1; i < iter; i++ {
		mac.Reset()
		mac.Write(u)
		u = mac.Sum(u[:0])
		for j := range out {
			out[j] ^= u[j]
		}
	}
	return out
}

func djangoPBKDF2(password, salt string, iter int) string {
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt,
		base64.StdEncoding.EncodeToString(pbkdf2Ref(password, salt, iter)))
}

func TestPBKDF2SHA256Django(t *testing.T) {
	t.Parallel()
	const iter = 1000
	enc := djangoPBKDF2("hunter2 ünïcode", "Q7bN3xP0aLk2mR9sT1vW4y", iter)
	h := Default()
	if ok, err := h.Verify("hunter2 ünïcode", enc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v; want true, nil", ok, err)
	}
	if ok, err := h.Verify("hunter2 unicode", enc); ok || err != nil {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	if !h.NeedsRehash(enc) {
		t.Error("Default().NeedsRehash(pbkdf2_sha256) = false")
	}
	if (PBKDF2{Iterations: iter}).NeedsRehash(enc) {
		t.Error("PBKDF2{Iterations: same}.NeedsRehash = true")
	}
	if !(PBKDF2{}).NeedsRehash(enc) {
		t.Error("PBKDF2{}.NeedsRehash(1000 iterations) = false")
	}

	f := strings.Split(enc, "$")
	digest, _ := base64.StdEncoding.DecodeString(f[3])
	digest[0] ^= 1
	tampered := []struct{ name, enc string }{
		{"hash", strings.Join([]string{f[0], f[1], f[2], base64.StdEncoding.EncodeToString(digest)}, "$")},
		{"iterations", strings.Join([]string{f[0], "999", f[2], f[3]}, "$")},
		{"salt", strings.Join([]string{f[0], f[1], "Q7bN3xP0aLk2mR9sT1vW4z", f[3]}, "$")},
		{"algorithm", strings.Join([]string{"pbkdf2_sha1", f[1], f[2], f[3]}, "$")},
	}
	for _, tt := range tampered {
		if ok, _ := h.Verify("hunter2 ünïcode", tt.enc); ok {
			t.Errorf("tampered %s: Verify = true", tt.name)
		}
	}
}

// Cross-implementation vectors computed with Python's hashlib (low
// iteration counts keep the test fast; BenchmarkVerifyPBKDF2 uses a
// realistic one):
//
//	base64.b64encode(hashlib.pbkdf2_hmac('sha256', 'lètmein'.encode(), b'seasalt', 12000))
//	base64.b64encode(hashlib.pbkdf2_hmac('sha1', 'lètmein'.encode(), b'seasalt', 6000))
func TestPBKDF2PythonVectors(t *testing.T) {
	t.Parallel()
	tests := []string{
		"pbkdf2_sha256$12000$seasalt$Ybw8zsFxqja97tY/o6G+Fy1ksY4U/Hw3DRrGED6Up4s=",
		"pbkdf2_sha1$6000$seasalt$/+/kXKXhL3LFUFrMAdnhvQ9o/Uk=",
	}
	h := Default()
	for _, enc := range tests {
		if ok, err := h.Verify("lètmein", enc); !ok || err != nil {
			t.Errorf("Verify(%q) = %v, %v; want true, nil", enc, ok, err)
		}
		if ok, err := h.Verify("letmein", enc); ok || err != nil {
			t.Errorf("Verify(wrong, %q) = %v, %v; want false, nil", enc, ok, err)
		}
	}
}

func TestPBKDF2HashRoundTrip(t *testing.T) {
	t.Parallel()
	for _, p := range []PBKDF2{{Iterations: 1000}, {SHA1: true, Iterations: 1000}} {
		enc, err := p.Hash("pw")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(enc, p.Algorithm()+"$1000$") {
			t.Errorf("Hash = %q", enc)
		}
		if ok, err := p.Verify("pw", enc); !ok || err != nil {
			t.Errorf("%s: Verify = %v, %v", p.Algorithm(), ok, err)
		}
		if p.NeedsRehash(enc) {
			t.Errorf("%s: NeedsRehash(own hash) = true", p.Algorithm())
		}
	}
	// Independent check of the sha256 encoder against the reference PBKDF2.
	enc, err := PBKDF2{Iterations: 1000}.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(enc, "$")
	if want := djangoPBKDF2("pw", f[2], 1000); enc != want {
		t.Errorf("Hash = %q, reference gives %q", enc, want)
	}
	if _, err := (PBKDF2{Iterations: -1}).Hash("pw"); !errors.Is(err, ErrParameters) {
		t.Errorf("Hash with -1 iterations: err = %v, want ErrParameters", err)
	}
}

func djangoBcryptSHA256(t *testing.T, password string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(password))
	h, err := bcrypt.GenerateFromPassword([]byte(hex.EncodeToString(sum[:])), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return "bcrypt_sha256$" + string(h)
}

func TestBcryptSHA256Django(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 72) + "tail"
	tests := []struct {
		stored, try string
		want        bool
	}{
		{"correct horse", "correct horse", true},
		{"correct horse", "correct horsf", false},
		{long, long, true},
		// The SHA-256 pre-hash makes bytes past 72 count.
		{long, strings.Repeat("x", 72) + "TAIL", false},
	}
	h := Default()
	for _, tt := range tests {
		enc := djangoBcryptSHA256(t, tt.stored)
		ok, err := h.Verify(tt.try, enc)
		if ok != tt.want || err != nil {
			t.Errorf("Verify(%q) against %q = %v, %v; want %v, nil", tt.try, tt.stored, ok, err, tt.want)
		}
		if !h.NeedsRehash(enc) {
			t.Error("Default().NeedsRehash(bcrypt_sha256) = false")
		}
	}
	enc := djangoBcryptSHA256(t, "pw")
	if !(BcryptSHA256{}).NeedsRehash(enc) {
		t.Error("BcryptSHA256{}.NeedsRehash(cost 4) = false")
	}
	if (BcryptSHA256{Cost: bcrypt.MinCost}).NeedsRehash(enc) {
		t.Error("BcryptSHA256{Cost: 4}.NeedsRehash(cost 4) = true")
	}
	own, err := BcryptSHA256{Cost: bcrypt.MinCost}.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify("pw", own); !ok || err != nil {
		t.Errorf("Verify(own bcrypt_sha256) = %v, %v", ok, err)
	}
}

func TestBcryptPlain(t *testing.T) {
	t.Parallel()
	prefix := strings.Repeat("p", 72)
	raw, err := bcrypt.GenerateFromPassword([]byte(prefix), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := "bcrypt$" + string(raw)
	h := Default()
	tests := []struct {
		try  string
		want bool
	}{
		{prefix, true},
		{prefix[:71], false},
		// Bcrypt would only see the first 72 bytes (equal to the stored
		// password); longer passwords must never match.
		{prefix + strings.Repeat("q", 28), false},
		{strings.Repeat("z", 100), false},
	}
	for _, tt := range tests {
		ok, err := h.Verify(tt.try, enc)
		if ok != tt.want || err != nil {
			t.Errorf("Verify(%d bytes) = %v, %v; want %v, nil", len(tt.try), ok, err, tt.want)
		}
	}
	if _, err := (Bcrypt{Cost: bcrypt.MinCost}).Hash(strings.Repeat("z", 100)); err == nil {
		t.Error("Bcrypt.Hash(100 bytes) succeeded")
	}
}

func TestBcryptCostCap(t *testing.T) {
	t.Parallel()
	raw, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// Same salt and hash, cost field raised to 31: must be refused, not run.
	costly := "bcrypt$" + strings.Replace(string(raw), "$04$", "$31$", 1)
	ok, err := Default().Verify("pw", costly)
	if ok || !errors.Is(err, ErrParameters) {
		t.Fatalf("Verify(cost 31) = %v, %v; want false, ErrParameters", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	valid := "argon2$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []struct {
		name, enc string
		want      error // nil: (false, nil) expected
	}{
		{"empty", "", nil},
		{"unusable", "!", nil},
		{"unusable like Django", djangoUnusable, nil},
		{"no dollar", "argon2", ErrUnknownFormat},
		{"unknown prefix", "md5$salt$0123456789abcdef", ErrUnknownFormat},
		{"plain text", "hunter2", ErrUnknownFormat},
		{"argon2 bare", "argon2$", ErrUnknownFormat},
		{"argon2d", strings.Replace(valid, "argon2id", "argon2d", 1), ErrUnknownFormat},
		{"argon2 v=16", strings.Replace(valid, "v=19", "v=16", 1), ErrUnknownFormat},
		{"argon2 no version", strings.Replace(valid, "v=19$", "", 1), ErrUnknownFormat},
		{"argon2 few fields", "argon2$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ", ErrMalformed},
		{"argon2 extra field", valid + "$x", ErrMalformed},
		{"argon2 params order", strings.Replace(valid, "m=256,t=2", "t=2,m=256", 1), ErrMalformed},
		{"argon2 negative", strings.Replace(valid, "m=256", "m=-256", 1), ErrMalformed},
		{"argon2 overflow", strings.Replace(valid, "m=256", "m=99999999999999999999", 1), ErrMalformed},
		{"argon2 huge m", strings.Replace(valid, "m=256", "m=4294967295", 1), ErrParameters},
		{"argon2 huge t", strings.Replace(valid, "t=2", "t=1000000", 1), ErrParameters},
		{"argon2 t=0", strings.Replace(valid, "t=2", "t=0", 1), ErrParameters},
		{"argon2 p=0", strings.Replace(valid, "p=1", "p=0", 1), ErrParameters},
		{"argon2 p=300", strings.Replace(valid, "p=1", "p=300", 1), ErrParameters},
		{"argon2 m<8p", strings.Replace(valid, "m=256", "m=7", 1), ErrParameters},
		{"argon2 short salt", strings.Replace(valid, "c29tZXNhbHQ", "c29t", 1), ErrParameters},
		{"argon2 huge key", strings.Replace(valid, "nf65", strings.Repeat("A", 2000), 1), ErrParameters},
		{"argon2 truncated base64", valid[:len(valid)-2], ErrMalformed},
		{"argon2 bad base64", strings.Replace(valid, "nf65", "nf6*", 1), ErrMalformed},
		{"pbkdf2 bad iterations", "pbkdf2_sha256$abc$salt$x", ErrMalformed},
		{"pbkdf2 zero iterations", "pbkdf2_sha256$0$salt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=", ErrParameters},
		{"pbkdf2 huge iterations", "pbkdf2_sha256$10000001$salt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=", ErrParameters},
		{"pbkdf2 plus sign", "pbkdf2_sha256$+5$salt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=", ErrMalformed},
		{"pbkdf2 empty salt", "pbkdf2_sha256$1000$$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac=", ErrMalformed},
		{"pbkdf2 truncated base64", "pbkdf2_sha256$1000$salt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac", ErrMalformed},
		{"pbkdf2 short key", "pbkdf2_sha256$1000$salt$AAAA", ErrMalformed},
		{"pbkdf2 too few fields", "pbkdf2_sha256$1000$salt", ErrMalformed},
		{"pbkdf2 too many fields", "pbkdf2_sha256$1000$salt$x$y", ErrMalformed},
		{"bcrypt garbage", "bcrypt$notabcrypthash", ErrMalformed},
		{"bcrypt empty", "bcrypt$", ErrMalformed},
		{"bcrypt_sha256 truncated", "bcrypt_sha256$$2b$12$abc", ErrMalformed},
	}
	h := Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const try = "TRY-pw-7731"
			ok, err := h.Verify(try, tt.enc)
			if ok {
				t.Fatal("Verify = true")
			}
			if tt.want == nil {
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), try) || (len(tt.enc) > 8 && strings.Contains(err.Error(), tt.enc)) {
				t.Fatalf("error %q leaks its input", err)
			}
		})
	}
}

// djangoUnusable is what Django's set_unusable_password stores: "!" and 40
// random characters.
const djangoUnusable = "!Xq3v0pZ1x8sWm2LrT7yB4nH6cJ9dF5gA0eR2uKoP"

func TestUnusable(t *testing.T) {
	t.Parallel()
	if len(djangoUnusable) != 41 {
		t.Fatalf("djangoUnusable has %d bytes, want 41", len(djangoUnusable))
	}
	for _, enc := range []string{"", UnusablePrefix, djangoUnusable} {
		if IsUsable(enc) {
			t.Errorf("IsUsable(%q) = true", enc)
		}
		if Default().NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = true", enc)
		}
		// Each hasher alone also treats it as "no match, no error", even
		// for the stored string itself as the password.
		for _, h := range []Hasher{testArgon2, PBKDF2{}, BcryptSHA256{}, Bcrypt{}, Default()} {
			if ok, err := h.Verify(enc, enc); ok || err != nil {
				t.Errorf("%T.Verify(%q, %q) = %v, %v", h, enc, enc, ok, err)
			}
			if h.NeedsRehash(enc) {
				t.Errorf("%T.NeedsRehash(%q) = true", h, enc)
			}
		}
	}
	if !IsUsable("argon2$x") {
		t.Error(`IsUsable("argon2$x") = false`)
	}
}

func TestMultiNeedsRehash(t *testing.T) {
	t.Parallel()
	fresh, err := Default().Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	other, err := (Argon2id{Memory: 64, Time: 1, Threads: 1}).Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, enc string
		want      bool
	}{
		{"fresh default argon2id", fresh, false},
		{"argon2id other params", other, true},
		{"pbkdf2_sha256", djangoPBKDF2("pw", "salt", 1000), true},
		{"bcrypt_sha256", djangoBcryptSHA256(t, "pw"), true},
		{"malformed argon2", "argon2$argon2id$v=19$m=19456,t=2,p=1$x", true},
		{"unknown", "md5$x$y", true},
		{"unusable", "!abc", false},
	}
	h := Default()
	for _, tt := range tests {
		if got := h.NeedsRehash(tt.enc); got != tt.want {
			t.Errorf("%s: NeedsRehash = %v, want %v", tt.name, got, tt.want)
		}
	}
	if ok, err := h.Verify("pw", fresh); !ok || err != nil {
		t.Errorf("Verify(fresh) = %v, %v", ok, err)
	}
}

// Default's documentation says it is this NewMulti call.
func TestDefaultIsDocumentedMulti(t *testing.T) {
	t.Parallel()
	want, err := NewMulti(DefaultArgon2id(), PBKDF2{}, PBKDF2{SHA1: true}, BcryptSHA256{}, Bcrypt{})
	if err != nil {
		t.Fatal(err)
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v, want %+v", got, want)
	}
}

func TestNewMulti(t *testing.T) {
	t.Parallel()
	m, err := NewMulti(testArgon2, PBKDF2{Iterations: 1000})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := m.Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "argon2$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("Hash = %q", enc)
	}
	if m.NeedsRehash(enc) {
		t.Error("NeedsRehash(own) = true")
	}
	legacy := djangoPBKDF2("pw", "salt", 1000)
	if ok, err := m.Verify("pw", legacy); !ok || err != nil {
		t.Errorf("Verify(pbkdf2) = %v, %v", ok, err)
	}
	// bcrypt is not enabled on this Multi.
	if ok, err := m.Verify("pw", djangoBcryptSHA256(t, "pw")); ok || !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("Verify(bcrypt_sha256) = %v, %v; want false, ErrUnknownFormat", ok, err)
	}

	bad := []struct {
		name    string
		primary NamedHasher
		legacy  []NamedHasher
	}{
		{"nil primary", nil, nil},
		{"nil legacy", testArgon2, []NamedHasher{nil}},
		{"duplicate", testArgon2, []NamedHasher{PBKDF2{}, PBKDF2{Iterations: 5}}},
		{"primary twice", testArgon2, []NamedHasher{DefaultArgon2id()}},
		{"bad name", testArgon2, []NamedHasher{named{"a$b"}}},
		{"empty name", testArgon2, []NamedHasher{named{""}}},
	}
	for _, tt := range bad {
		if m, err := NewMulti(tt.primary, tt.legacy...); err == nil || m != nil {
			t.Errorf("%s: NewMulti = %v, %v; want error", tt.name, m, err)
		}
	}
}

// named is a NamedHasher stub with a chosen name.
type named struct{ name string }

func (n named) Algorithm() string                 { return n.name }
func (named) Hash(string) (string, error)         { return "", nil }
func (named) Verify(string, string) (bool, error) { return false, nil }
func (named) NeedsRehash(string) bool             { return false }

func BenchmarkArgon2idHash(b *testing.B) {
	h := DefaultArgon2id()
	for b.Loop() {
		if _, err := h.Hash("correct-horse-battery-9"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPBKDF2 verifies a Django 4.2 default-cost string,
// computed with Python's hashlib:
//
//	base64.b64encode(hashlib.pbkdf2_hmac('sha256', 'lètmein'.encode(), b'seasalt', 870000))
func BenchmarkVerifyPBKDF2(b *testing.B) {
	h := Default()
	const enc = "pbkdf2_sha256$870000$seasalt$wJSpLMQRQz0Dhj/pFpbyjMj71B2gUYp6HJS5AU+32Ac="
	for b.Loop() {
		if ok, err := h.Verify("lètmein", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}
