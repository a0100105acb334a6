package password_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log"
	"strings"

	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/password"
)

func ExampleMinimumLength() {
	v := password.MinimumLength{Min: 12}
	catalog := locales.New()
	for _, pw := range []string{"tr0ub4dor&3", "correct horse battery"} {
		msgs := v.Validate(pw, password.UserInfo{})
		if msgs == nil {
			fmt.Printf("%q: ok\n", pw)
		}
		for _, m := range msgs {
			fmt.Printf("%q: %s\n", pw, catalog.Text("en", m))
		}
	}
	// Output:
	// "tr0ub4dor&3": This password is too short. It must contain at least 12 characters.
	// "correct horse battery": ok
}

func ExampleValidate() {
	// Django's defaults plus a rule of the app's own, whose message has
	// English text but no catalog entry.
	validators := append(password.DefaultValidators(),
		password.ValidatorFunc(func(pw string, _ password.UserInfo) []locales.Message {
			if strings.Contains(strings.ToLower(pw), "acme") {
				return []locales.Message{{
					ID:      "app.password_has_site_name",
					Default: "The password must not contain the site's name.",
				}}
			}
			return nil
		}))
	user := password.UserInfo{Username: "alice", Email: "alice@example.com"}
	catalog := locales.New()
	for _, pw := range []string{"alice2024", "Acme1234", "correct-horse-battery-9"} {
		msgs := password.Validate(pw, user, validators)
		if msgs == nil {
			fmt.Printf("%q: ok\n", pw)
		}
		for _, m := range msgs {
			fmt.Printf("%q: %s\n", pw, catalog.Text("en", m))
		}
	}
	// Output:
	// "alice2024": The password is too similar to the username.
	// "Acme1234": The password must not contain the site's name.
	// "correct-horse-battery-9": ok
}

// Peppered is an app's own hasher: it wraps Argon2id and first passes the
// password through HMAC-SHA256 keyed with a pepper, a secret kept outside
// the database (in a secret store), so that a stolen user table alone is
// not enough to guess passwords offline. Its strings are
// "argon2_pepper$" followed by an Argon2id string.
type Peppered struct {
	Pepper []byte            // at least 32 random bytes
	Inner  password.Argon2id // the Argon2id parameters
}

const pepperedName = "argon2_pepper"

// Algorithm makes Peppered a password.NamedHasher, for password.NewMulti.
func (Peppered) Algorithm() string { return pepperedName }

func (p Peppered) mac(pw string) string {
	m := hmac.New(sha256.New, p.Pepper)
	m.Write([]byte(pw))
	return hex.EncodeToString(m.Sum(nil))
}

// Hash returns "argon2_pepper$" and the Argon2id hash of the peppered
// password.
func (p Peppered) Hash(pw string) (string, error) {
	enc, err := p.Inner.Hash(p.mac(pw))
	if err != nil {
		return "", err
	}
	return pepperedName + "$" + enc, nil
}

// Verify reports whether pw matches an "argon2_pepper$" string.
func (p Peppered) Verify(pw, encoded string) (bool, error) {
	if !password.IsUsable(encoded) {
		return false, nil
	}
	inner, ok := strings.CutPrefix(encoded, pepperedName+"$")
	if !ok {
		// Name the problem, never the password or the hash.
		return false, fmt.Errorf("%s: wrong algorithm name: %w", pepperedName, password.ErrUnknownFormat)
	}
	// Argon2id compares in constant time and bounds the parameters it
	// reads from inner.
	return p.Inner.Verify(p.mac(pw), inner)
}

// NeedsRehash reports whether encoded is not an "argon2_pepper$" string of
// p's Argon2id parameters.
func (p Peppered) NeedsRehash(encoded string) bool {
	if !password.IsUsable(encoded) {
		return false
	}
	inner, ok := strings.CutPrefix(encoded, pepperedName+"$")
	return !ok || p.Inner.NeedsRehash(inner)
}

func ExampleHasher() {
	pepper := []byte("read me from a secret store, not the database")
	peppered := Peppered{Pepper: pepper, Inner: password.DefaultArgon2id()}

	// Hash new passwords with the pepper, keep verifying the plain Argon2id
	// hashes stored before, and replace them at login (NeedsRehash).
	h, err := password.NewMulti(peppered, password.DefaultArgon2id())
	if err != nil {
		log.Fatal(err)
	}

	old, err := password.DefaultArgon2id().Hash("correct horse")
	if err != nil {
		log.Fatal(err)
	}
	ok, _ := h.Verify("correct horse", old)
	fmt.Println("old hash matches:", ok, "needs rehash:", h.NeedsRehash(old))

	enc, err := h.Hash("correct horse")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(enc[:strings.Index(enc, "$m=")])
	ok, _ = h.Verify("correct horse", enc)
	fmt.Println("new hash matches:", ok, "needs rehash:", h.NeedsRehash(enc))
	ok, _ = h.Verify("correct horsE", enc)
	fmt.Println("wrong password matches:", ok)
	ok, _ = Peppered{Pepper: []byte("another pepper"), Inner: password.DefaultArgon2id()}.Verify("correct horse", enc)
	fmt.Println("other pepper matches:", ok)
	// Output:
	// old hash matches: true needs rehash: true
	// argon2_pepper$argon2$argon2id$v=19
	// new hash matches: true needs rehash: false
	// wrong password matches: false
	// other pepper matches: false
}
