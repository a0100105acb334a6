package social

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxUsername is models.User's username length.
const maxUsername = 150

var (
	// Django's username validator: letters and digits of any script.
	validUsername = regexp.MustCompile(`^[\p{L}\p{N}_.@+-]+$`)
	dropChars     = regexp.MustCompile(`[^\w\s@+.-]`)
	spaces        = regexp.MustCompile(`\s+`)
)

// usernameBase is allauth's base for generated usernames: the first
// non-empty text, folded to ASCII, stripped of characters usernames
// cannot hold, lower-cased, cut at '@', spaces made underscores.
func usernameBase(texts ...string) string {
	for _, t := range texts {
		var b strings.Builder
		for _, r := range norm.NFKD.String(t) {
			if r <= unicode.MaxASCII {
				b.WriteRune(r)
			}
		}
		s := strings.ToLower(dropChars.ReplaceAllString(b.String(), ""))
		s, _, _ = strings.Cut(s, "@")
		s = spaces.ReplaceAllString(strings.TrimSpace(s), "_")
		if s != "" {
			return s
		}
	}
	return "user"
}

const suffixDigits = "0123456789"
const suffixLetters = "abcdefghijklmnopqrstuvwxyz"

// randomSuffix returns n random characters, digits for short suffixes
// first and letters too for long ones (allauth's candidate order).
func randomSuffix(n int) string {
	alphabet := suffixDigits
	if n > 3 {
		alphabet += suffixLetters
	}
	out := make([]byte, n)
	for i := range out {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			k = big.NewInt(0)
		}
		out[i] = alphabet[k.Int64()]
	}
	return string(out)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// pickUsername keeps the provider's username when it is valid and free
// (any letter case), else generates one from the names and email.
func pickUsername(ctx context.Context, taken func(context.Context, string) (bool, error), id Identity) (string, error) {
	if u := id.Username; u != "" && utf8.RuneCountInString(u) <= maxUsername && validUsername.MatchString(u) {
		t, err := taken(ctx, u)
		if err != nil {
			return "", err
		}
		if !t {
			return u, nil
		}
	}
	base := truncate(usernameBase(id.FirstName, id.LastName, id.Email), maxUsername)
	candidates := []string{base}
	for n := 1; n <= 6; n++ {
		for range 3 {
			s := randomSuffix(n)
			candidates = append(candidates, truncate(base, maxUsername-len(s))+s)
		}
	}
	for _, c := range candidates {
		t, err := taken(ctx, c)
		if err != nil {
			return "", err
		}
		if !t {
			return c, nil
		}
	}
	return "", errors.New("restauth: no free username")
}
