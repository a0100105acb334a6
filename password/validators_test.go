package password

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/restauth/restauth/locales"
)

// englishCatalog renders the "attr.*" messages msgKeys checks.
var englishCatalog = locales.New()

// msgKeys renders messages as "key" or "key:Field"/"key:Min" for comparison.
// Field is a [locales.Message] for the attribute's catalog key; it shows as
// its English label, or as "!" plus what is wrong with it when its key is
// not a catalog "attr.*" key whose English text is its default.
func msgKeys(msgs []locales.Message) []string {
	var out []string
	for _, m := range msgs {
		k := m.ID
		if f, ok := m.Data["Field"]; ok {
			k += ":" + fieldLabel(f)
		}
		if n, ok := m.Data["Min"]; ok {
			k += ":" + strings.Repeat("#", n.(int))
		}
		out = append(out, k)
	}
	return out
}

// fieldLabel returns the English label of a too_similar message's Field.
func fieldLabel(f any) string {
	msg, ok := f.(locales.Message)
	if !ok {
		return fmt.Sprintf("!not a locales.Message: %#v", f)
	}
	if !strings.HasPrefix(msg.ID, "attr.") {
		return fmt.Sprintf("!key %q is not an attr.* key", msg.ID)
	}
	if text := englishCatalog.Text("en", locales.M(msg.ID)); text != msg.Default {
		return fmt.Sprintf("!key %q renders %q, default is %q", msg.ID, text, msg.Default)
	}
	return msg.Default
}

// Expectations were computed with Django's validator logic (difflib
// quick_ratio, re.split(r"\W+"), the Django common password list).
func TestDefaultValidators(t *testing.T) {
	t.Parallel()
	const short = "password.too_short:########"
	fullUser := UserInfo{Username: "alice", FirstName: "Alice", LastName: "Smith", Email: "alice@example.com"}
	tests := []struct {
		name     string
		password string
		user     UserInfo
		want     []string
	}{
		{"similar to username", "password", UserInfo{Username: "password1"},
			[]string{"password.too_similar:username", "password.too_common"}},
		{"similar to email local part", "alice123x", UserInfo{Email: "alice@example.com"},
			[]string{"password.too_similar:email address"}},
		{"similar to email domain pieces", "examplecom", UserInfo{Email: "jo@example.com"},
			[]string{"password.too_similar:email address"}},
		{"similar to last name", "Smithson77", UserInfo{FirstName: "Jo", LastName: "Smithson"},
			[]string{"password.too_similar:last name"}},
		{"similar to first name", "Rosalind!!", UserInfo{FirstName: "Rosalind", LastName: "Franklin"},
			[]string{"password.too_similar:first name"}},
		{"case and punctuation ignored", "zq8#Lm2!vX", UserInfo{Username: "zq8lm2vx"},
			[]string{"password.too_similar:username"}},
		{"only first failing attribute", "alice-smith", UserInfo{Username: "alice_smith", Email: "alice.smith@x.org"},
			[]string{"password.too_similar:username"}},
		{"too short", "abc", UserInfo{}, []string{short, "password.too_common"}},
		{"too short not common", "xq7!", UserInfo{}, []string{short}},
		{"common", "password", UserInfo{}, []string{"password.too_common"}},
		{"common after trim and lowercase", "  PASSWORD  ", UserInfo{}, []string{"password.too_common"}},
		{"common and numeric", "12345678901", UserInfo{}, []string{"password.too_common", "password.entirely_numeric"}},
		{"numeric only", "90817263549", UserInfo{}, []string{"password.entirely_numeric"}},
		{"arabic-indic digits", "١٢٣٤٥٦٧٨٩", UserInfo{}, []string{"password.entirely_numeric"}},
		{"all four in order", "12345", UserInfo{Username: "12345x"},
			[]string{"password.too_similar:username", short, "password.too_common", "password.entirely_numeric"}},
		{"strong", "correct-horse-battery-9", fullUser, nil},
		{"strong, no user", "correct-horse-battery-9", UserInfo{}, nil},
		{"attribute piece too different", "mary-jane-watson-99", UserInfo{FirstName: "Mary-Jane"}, nil},
		{"substring but not similar", "correcthorse", UserInfo{Username: "horse"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := msgKeys(Validate(tt.password, tt.user, DefaultValidators()))
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Validate(%q) = %v, want %v", tt.password, got, tt.want)
			}
		})
	}
}

func TestMessagesRenderFromCatalog(t *testing.T) {
	t.Parallel()
	cat := locales.New()
	tests := []struct {
		password string
		user     UserInfo
		want     []string
	}{
		{"alice123x", UserInfo{Email: "alice@example.com"}, []string{"The password is too similar to the email address."}},
		{"smithson1", UserInfo{FirstName: "smithson"}, []string{"The password is too similar to the first name."}},
		{"12345", UserInfo{}, []string{
			"This password is too short. It must contain at least 8 characters.",
			"This password is too common.",
			"This password is entirely numeric.",
		}},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range Validate(tt.password, tt.user, DefaultValidators()) {
			got = append(got, cat.Text("", m))
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.password, got, tt.want)
		}
	}
	for _, key := range []string{MsgTooSimilar, MsgTooShort, MsgTooCommon, MsgEntirelyNumeric} {
		if cat.Text("", locales.M(key)) == key {
			t.Errorf("catalog lacks %q", key)
		}
	}
}

func TestMinimumLengthCountsCharacters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v        MinimumLength
		password string
		fails    bool
	}{
		{MinimumLength{}, "日本語日本語日本", false}, // 8 runes, 24 bytes
		{MinimumLength{}, "日本語日本語日", true},   // 7 runes, 21 bytes
		{MinimumLength{Min: 12}, "abcdefghijk", true},
		{MinimumLength{Min: 12}, "abcdefghijkl", false},
	}
	for _, tt := range tests {
		msgs := tt.v.Validate(tt.password, UserInfo{})
		if (msgs != nil) != tt.fails {
			t.Errorf("%+v.Validate(%q) = %v, want fail=%v", tt.v, tt.password, msgs, tt.fails)
		}
		if tt.fails {
			want := tt.v.Min
			if want == 0 {
				want = 8
			}
			if len(msgs) != 1 || msgs[0].ID != MsgTooShort || msgs[0].Data["Min"] != want {
				t.Errorf("message = %+v, want too_short Min %d", msgs, want)
			}
		}
	}
}

func TestNumericPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password string
		fails    bool
	}{
		{"", false},
		{"0", true},
		{"0123456789", true},
		{"٠١٢", true}, // Arabic-Indic digits
		{"１２３", true}, // fullwidth digits
		{"123 456", false},
		{"12345a", false},
		{"-123", false},
	}
	for _, tt := range tests {
		msgs := NumericPassword{}.Validate(tt.password, UserInfo{})
		if (msgs != nil) != tt.fails {
			t.Errorf("Validate(%q) = %v, want fail=%v", tt.password, msgs, tt.fails)
		}
	}
}

func TestCommonPasswordList(t *testing.T) {
	t.Parallel()
	set, err := commonPasswords()
	if err != nil {
		t.Fatalf("embedded list: %v", err)
	}
	if len(set) != 19727 { // 19,726 newlines; the last line has none
		t.Fatalf("list has %d entries, want 19727", len(set))
	}
	for pw := range set {
		if pw != strings.ToLower(pw) {
			t.Fatalf("entry %q is not lowercase; lowercased input could never match it", pw)
		}
	}
	for _, pw := range []string{"password", "Password", "qwerty", "letmein\t", "12345678"} {
		if (CommonPasswords{}).Validate(pw, UserInfo{}) == nil {
			t.Errorf("%q not reported as common", pw)
		}
	}
	for _, pw := range []string{"correct-horse-battery-9", "pass word"} {
		if msgs := (CommonPasswords{}).Validate(pw, UserInfo{}); msgs != nil {
			t.Errorf("%q reported as common", pw)
		}
	}
}

func TestUserAttributeSimilarityOptions(t *testing.T) {
	t.Parallel()
	user := UserInfo{Username: "bob", Email: "marvellous@example.com"}
	tests := []struct {
		name     string
		v        UserAttributeSimilarity
		password string
		want     []string
	}{
		{"default attributes", UserAttributeSimilarity{}, "marvellous1", []string{"password.too_similar:email address"}},
		{"email not checked", UserAttributeSimilarity{Attributes: []string{"username"}}, "marvellous1", nil},
		{"empty list checks nothing", UserAttributeSimilarity{Attributes: []string{}}, "bobbob", nil},
		{"unknown attribute ignored", UserAttributeSimilarity{Attributes: []string{"nickname", "username"}}, "bobb", []string{"password.too_similar:username"}},
		// "marvel" vs "marvellous": quick ratio 12/16 = 0.75.
		{"stricter threshold passes", UserAttributeSimilarity{MaxSimilarity: 0.8}, "marvel", nil},
		{"default threshold fails", UserAttributeSimilarity{}, "marvel", []string{"password.too_similar:email address"}},
		// "b"+30*"x" vs "bob": 2/34 = 0.059, below the 0.1 floor but above 0.01.
		{"threshold floor 0.1", UserAttributeSimilarity{Attributes: []string{"username"}, MaxSimilarity: 0.01}, "b" + strings.Repeat("x", 30), nil},
		{"low threshold", UserAttributeSimilarity{Attributes: []string{"username"}, MaxSimilarity: 0.1}, "bxxxxxxxxxx", []string{"password.too_similar:username"}},
	}
	for _, tt := range tests {
		if got := msgKeys(tt.v.Validate(tt.password, user)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestUserAttributeSimilarityLongPasswordSkipped(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab", 2100) // 4200 bytes
	user := UserInfo{Username: long}
	if got := (UserAttributeSimilarity{}).Validate(long, user); got != nil {
		t.Fatalf("password over 4096 bytes was compared: %v", got)
	}
	// Just under the cap it is compared (and identical, so it fails).
	mid := long[:4096]
	if got := (UserAttributeSimilarity{}).Validate(mid, UserInfo{Username: mid}); got == nil {
		t.Fatal("password of 4096 bytes was not compared")
	}
}

func TestQuickRatioMatchesDifflib(t *testing.T) {
	t.Parallel()
	// Values from Python: difflib.SequenceMatcher(a=a, b=b).quick_ratio().
	tests := []struct {
		a, b string
		want float64
	}{
		{"password", "password1", 0.9411764705882353},
		{"alice123x", "alice", 0.7142857142857143},
		{"alice123x", "alice@example.com", 0.46153846153846156},
		{"abc", "", 0},
		{"", "", 1},
		{"aab", "abb", 0.6666666666666666},
		{"日本語", "本日", 0.8},
		{"hello", "world", 0.4},
	}
	for _, tt := range tests {
		if got := quickRatio([]rune(tt.a), []rune(tt.b)); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("quickRatio(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSplitNonWordMatchesPython(t *testing.T) {
	t.Parallel()
	// Values from Python: re.split(r"\W+", s).
	tests := []struct {
		s    string
		want []string
	}{
		{"alice@example.com", []string{"alice", "example", "com"}},
		{"-mary--jane_o'neil-", []string{"", "mary", "jane_o", "neil", ""}},
		{"josé.núñez+tag@mail.co.uk", []string{"josé", "núñez", "tag", "mail", "co", "uk"}},
		{"a b", []string{"a", "b"}},
		{"", []string{""}},
	}
	for _, tt := range tests {
		if got := splitNonWord(tt.s); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitNonWord(%q) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestValidateHelpers(t *testing.T) {
	t.Parallel()
	calls := 0
	custom := ValidatorFunc(func(pw string, u UserInfo) []locales.Message {
		calls++
		if strings.Contains(pw, u.Username) {
			return []locales.Message{{ID: "app.contains_username", Default: "Contains your username."}}
		}
		return nil
	})
	vs := append(DefaultValidators(), nil, custom)
	got := msgKeys(Validate("xx-carol-xx-77", UserInfo{Username: "carol"}, vs))
	if want := []string{"app.contains_username"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if calls != 1 {
		t.Fatalf("custom validator called %d times", calls)
	}
	if got := Validate("abc", UserInfo{}, nil); got != nil {
		t.Fatalf("no validators: got %v", got)
	}
	if n := len(DefaultValidators()); n != 4 {
		t.Fatalf("DefaultValidators has %d validators", n)
	}
}
