package social

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestUsernameBase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		texts []string
		want  string
	}{
		{"plain name lower-cased", []string{"John"}, "john"},
		{"upper case", []string{"JOHN"}, "john"},
		{"diacritics folded", []string{"Jöhn"}, "john"},
		{"accents in several words", []string{"José María"}, "jose_maria"},
		{"letters without ASCII decomposition dropped", []string{"Ærøskøbing"}, "rskbing"},
		{"full-width letters folded by NFKD", []string{"Ｊｏｈｎ"}, "john"},
		{"ligature folded by NFKD", []string{"ﬁle"}, "file"},
		{"no-break space is whitespace", []string{"Mary\u00a0Ann"}, "mary_ann"},
		{"whitespace runs to one underscore", []string{"John \t\n Smith"}, "john_smith"},
		{"outer whitespace trimmed", []string{"  John Smith  "}, "john_smith"},
		{"disallowed characters dropped", []string{"O'Brien! (Jr.)"}, "obrien_jr."},
		{"allowed punctuation kept", []string{"a+b-c.d_e"}, "a+b-c.d_e"},
		{"cut at the first @", []string{"Jane.Doe@Example.com"}, "jane.doe"},
		{"cut at the first of several @", []string{"x@y@z"}, "x"},
		{"first non-empty text wins", []string{"Jane", "Doe", "jd@example.com"}, "jane"},
		{"empty first text skipped", []string{"", "Doe", "jd@example.com"}, "doe"},
		{"email when names are empty", []string{"", "", "jd@example.com"}, "jd"},
		{"text empty after cleaning skipped", []string{"!!!", "Smith"}, "smith"},
		{"non-Latin script skipped", []string{"日本語", "", "kenji@example.jp"}, "kenji"},
		{"only whitespace skipped", []string{"   ", "Smith"}, "smith"},
		{"empty local part of email", []string{"", "", "@example.com"}, "user"},
		{"all empty", []string{"", "", ""}, "user"},
		{"nothing", nil, "user"},
		{"nothing usable", []string{"日本語", "ß", "!!"}, "user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := usernameBase(tc.texts...); got != tc.want {
				t.Errorf("usernameBase(%q) = %q, want %q", tc.texts, got, tc.want)
			}
		})
	}
}

// takenSet is a taken func over a set of usernames, compared in any
// letter case as the caller's lookup does; it records what was asked.
type takenSet struct {
	mu    sync.Mutex
	names map[string]bool
	all   bool // every name is taken
	err   error
	asked []string
}

func newTaken(names ...string) *takenSet {
	s := &takenSet{names: map[string]bool{}}
	for _, n := range names {
		s.names[strings.ToLower(n)] = true
	}
	return s
}

func (s *takenSet) taken(_ context.Context, name string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, name)
	if s.err != nil {
		return false, s.err
	}
	return s.all || s.names[strings.ToLower(name)], nil
}

func TestPickUsername(t *testing.T) {
	t.Parallel()
	long150 := strings.Repeat("a", 150)
	long151 := strings.Repeat("a", 151)
	base150 := strings.Repeat("b", 150)
	tests := []struct {
		name  string
		id    Identity
		taken []string
		// want is the exact result, or wantRe a pattern for generated ones.
		want   string
		wantRe string
		// notAsked must never reach the taken func.
		notAsked string
	}{
		{name: "provider username free", id: Identity{Username: "JohnDoe", FirstName: "Jane"}, want: "JohnDoe"},
		{name: "provider username with allowed punctuation", id: Identity{Username: "j.doe+x@y-z_1"}, want: "j.doe+x@y-z_1"},
		{name: "provider username of 150 chars", id: Identity{Username: long150, FirstName: "Jane"}, want: long150},
		// Django's UnicodeUsernameValidator (clean_username) accepts
		// letters of any script.
		{name: "provider username with non-ASCII letters", id: Identity{Username: "jöhn", FirstName: "Jane"}, want: "jöhn"},
		{name: "provider username taken", id: Identity{Username: "johndoe", FirstName: "Jane"}, taken: []string{"johndoe"}, want: "jane"},
		{name: "provider username taken in another case", id: Identity{Username: "johndoe", FirstName: "Jane"}, taken: []string{"JohnDoe"}, want: "jane"},
		{name: "provider username with a space", id: Identity{Username: "john doe", FirstName: "Jane"}, want: "jane", notAsked: "john doe"},
		{name: "provider username with a slash", id: Identity{Username: "john/doe", FirstName: "Jane"}, want: "jane", notAsked: "john/doe"},
		{name: "provider username over 150 chars", id: Identity{Username: long151, FirstName: "Jane"}, want: "jane", notAsked: long151},
		{name: "no provider username", id: Identity{FirstName: "Jane", LastName: "Doe"}, want: "jane"},
		{name: "last name when no first name", id: Identity{LastName: "Doe", Email: "x@example.com"}, want: "doe"},
		{name: "email local part when no names", id: Identity{Email: "Jane.Doe@Example.com"}, want: "jane.doe"},
		{name: "user when nothing", id: Identity{}, want: "user"},
		{name: "base taken gets a one-digit suffix", id: Identity{Username: "johndoe", FirstName: "Jane"}, taken: []string{"johndoe", "jane"}, wantRe: `^jane[0-9]$`},
		{name: "base taken in another case", id: Identity{FirstName: "Jane"}, taken: []string{"JANE"}, wantRe: `^jane[0-9]$`},
		{name: "user taken", id: Identity{}, taken: []string{"user"}, wantRe: `^user[0-9]$`},
		{name: "long base truncated", id: Identity{FirstName: strings.Repeat("b", 200)}, want: base150},
		{name: "long base truncated for its suffix", id: Identity{FirstName: strings.Repeat("b", 200)}, taken: []string{base150}, wantRe: `^b{149}[0-9]$`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTaken(tc.taken...)
			got, err := pickUsername(context.Background(), ts.taken, tc.id)
			if err != nil {
				t.Fatalf("pickUsername: %v", err)
			}
			switch {
			case tc.wantRe != "":
				if !regexp.MustCompile(tc.wantRe).MatchString(got) {
					t.Errorf("pickUsername = %q, want a match of %s", got, tc.wantRe)
				}
			case got != tc.want:
				t.Errorf("pickUsername = %q, want %q", got, tc.want)
			}
			if len(got) > maxUsername {
				t.Errorf("pickUsername gave %d bytes, over %d", len(got), maxUsername)
			}
			if ts.names[strings.ToLower(got)] {
				t.Errorf("pickUsername = %q, which is taken", got)
			}
			if tc.notAsked != "" {
				for _, a := range ts.asked {
					if a == tc.notAsked {
						t.Errorf("the invalid provider username %q was looked up", a)
					}
				}
			}
		})
	}
}

// TestPickUsernameCandidates checks allauth's candidate order when every
// name is taken: the provider's username, the base, then three random
// suffixes of each length 1 to 6, digits only up to 3 characters, then
// digits and letters, all cut to 150 characters; then an error.
func TestPickUsernameCandidates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		id   Identity
		base string
	}{
		{"short base", Identity{Username: "johndoe", FirstName: "Jane"}, "jane"},
		{"150-char base", Identity{FirstName: strings.Repeat("c", 160)}, strings.Repeat("c", 150)},
	}
	digits := regexp.MustCompile(`^[0-9]+$`)
	alnum := regexp.MustCompile(`^[0-9a-z]+$`)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTaken()
			ts.all = true
			got, err := pickUsername(context.Background(), ts.taken, tc.id)
			if err == nil {
				t.Fatalf("pickUsername = %q with every name taken, want an error", got)
			}
			if got != "" {
				t.Errorf("pickUsername = %q with its error, want \"\"", got)
			}
			asked := ts.asked
			if tc.id.Username != "" {
				if len(asked) == 0 || asked[0] != tc.id.Username {
					t.Fatalf("first lookup %q, want the provider username %q", asked, tc.id.Username)
				}
				asked = asked[1:]
			}
			if len(asked) != 1+6*3 {
				t.Fatalf("looked up %d generated names, want %d: %q", len(asked), 1+6*3, asked)
			}
			if asked[0] != tc.base {
				t.Errorf("first generated name %q, want the base %q", asked[0], tc.base)
			}
			for i, c := range asked[1:] {
				n := i/3 + 1
				prefix := truncate(tc.base, maxUsername-n)
				suffix, ok := strings.CutPrefix(c, prefix)
				if !ok || len(suffix) != n {
					t.Errorf("candidate %d = %q, want %q and %d suffix characters", i+1, c, prefix, n)
					continue
				}
				re := digits
				if n > 3 {
					re = alnum
				}
				if !re.MatchString(suffix) {
					t.Errorf("candidate %d suffix %q, want a match of %s", i+1, suffix, re)
				}
				if len(c) > maxUsername {
					t.Errorf("candidate %d has %d bytes, over %d", i+1, len(c), maxUsername)
				}
			}
		})
	}
}

func TestPickUsernameTakenError(t *testing.T) {
	t.Parallel()
	boom := errors.New("database down")
	tests := []struct {
		name string
		id   Identity
	}{
		{"checking the provider username", Identity{Username: "johndoe", FirstName: "Jane"}},
		{"checking a generated name", Identity{FirstName: "Jane"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTaken()
			ts.err = boom
			got, err := pickUsername(context.Background(), ts.taken, tc.id)
			if !errors.Is(err, boom) {
				t.Fatalf("pickUsername error = %v, want %v", err, boom)
			}
			if got != "" {
				t.Errorf("pickUsername = %q with its error, want \"\"", got)
			}
			if len(ts.asked) != 1 {
				t.Errorf("looked up %q after the error, want one lookup", ts.asked)
			}
		})
	}
}

func TestRandomSuffix(t *testing.T) {
	t.Parallel()
	for n := 1; n <= 6; n++ {
		alphabet := suffixDigits
		if n > 3 {
			alphabet += suffixLetters
		}
		seen := map[string]bool{}
		for range 50 {
			s := randomSuffix(n)
			if len(s) != n {
				t.Fatalf("randomSuffix(%d) = %q, want %d characters", n, s, n)
			}
			for _, r := range s {
				if !strings.ContainsRune(alphabet, r) {
					t.Fatalf("randomSuffix(%d) = %q, character %q outside %q", n, s, r, alphabet)
				}
			}
			seen[s] = true
		}
		// 50 draws from at least 10 values: a constant suffix would give 1.
		if len(seen) < 2 {
			t.Errorf("randomSuffix(%d) gave %d distinct values in 50 draws", n, len(seen))
		}
	}
}
