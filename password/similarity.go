package password

import (
	"strings"
	"unicode"

	"github.com/restauth/restauth/locales"
)

// DefaultMaxSimilarity is UserAttributeSimilarity's threshold when
// MaxSimilarity is zero, as in Django.
const DefaultMaxSimilarity = 0.7

// minMaxSimilarity is the lowest threshold allowed; Django refuses lower
// values, which would reject nearly every password.
const minMaxSimilarity = 0.1

// similarityMaxPasswordBytes caps the work UserAttributeSimilarity does:
// longer passwords are not compared at all.
const similarityMaxPasswordBytes = 4096

// DefaultUserAttributes returns the attribute names UserAttributeSimilarity
// checks by default: "username", "first_name", "last_name", "email".
func DefaultUserAttributes() []string {
	return []string{"username", "first_name", "last_name", "email"}
}

// attributeLabels holds the English names of the attributes; the
// message's "Field" data is the catalog's "attr.<name>" message, rendered
// in the request's language with this English text as its default.
var attributeLabels = map[string]string{
	"username":   "username",
	"first_name": "first name",
	"last_name":  "last name",
	"email":      "email address",
}

func attributeValue(u UserInfo, name string) string {
	switch name {
	case "username":
		return u.Username
	case "first_name":
		return u.FirstName
	case "last_name":
		return u.LastName
	case "email":
		return u.Email
	}
	return ""
}

// UserAttributeSimilarity rejects passwords too similar to the user's
// attributes, as Django's UserAttributeSimilarityValidator does: for each
// attribute in order, the lowercased password is compared with the
// lowercased value and with each piece of it split on runs of non-word
// characters (so an email's local part and domain labels count too), using
// Python difflib's SequenceMatcher.quick_ratio (2*M/T with M the size of
// the multiset intersection of the characters). A ratio of at least
// MaxSimilarity fails with the message MsgTooSimilar, data Field set to
// the attribute's name as a [locales.Message] (key "attr.<name>", its
// English name as Default); like Django it reports only the
// first attribute that fails. Like Django, a value is skipped when the
// password is at least ten times longer and so long that the ratio could
// not reach MaxSimilarity.
//
// Unlike Django, passwords longer than 4096 bytes are not checked at all, to
// bound the work a request can cause.
//
// A nil Attributes means DefaultUserAttributes (an empty non-nil slice
// checks nothing); names other than "username", "first_name", "last_name"
// and "email" are ignored. A zero MaxSimilarity means DefaultMaxSimilarity;
// values below 0.1 are raised to 0.1.
type UserAttributeSimilarity struct {
	// Attributes names the UserInfo fields to compare with, in order.
	Attributes []string
	// MaxSimilarity is the ratio at and above which a password fails.
	MaxSimilarity float64
}

// Validate implements Validator.
func (v UserAttributeSimilarity) Validate(password string, user UserInfo) []locales.Message {
	if len(password) > similarityMaxPasswordBytes {
		return nil
	}
	attrs := v.Attributes
	if attrs == nil {
		attrs = DefaultUserAttributes()
	}
	limit := v.MaxSimilarity
	if limit == 0 {
		limit = DefaultMaxSimilarity
	}
	limit = max(limit, minMaxSimilarity)

	pw := []rune(strings.ToLower(password))
	for _, name := range attrs {
		value := attributeValue(user, name)
		if value == "" {
			continue
		}
		lower := strings.ToLower(value)
		for _, part := range append(splitNonWord(lower), lower) {
			p := []rune(part)
			if exceedsLengthRatio(len(pw), len(p), limit) {
				continue
			}
			if quickRatio(pw, p) >= limit {
				return []locales.Message{locales.M(MsgTooSimilar, "Field", locales.Message{ID: "attr." + name, Default: attributeLabels[name]})}
			}
		}
	}
	return nil
}

// exceedsLengthRatio mirrors Django's exceeds_maximum_length_ratio: when
// the password is at least ten times as long as the value and the value is
// shorter than limit/2 of the password's length, no ratio can reach limit.
func exceedsLengthRatio(pwLen, valueLen int, limit float64) bool {
	return pwLen >= 10*valueLen && float64(valueLen) < limit/2*float64(pwLen)
}

// quickRatio is difflib.SequenceMatcher(a=a, b=b).quick_ratio(): twice the
// number of characters the two share (counted with multiplicity) over their
// total length, and 1 when both are empty.
func quickRatio(a, b []rune) float64 {
	total := len(a) + len(b)
	if total == 0 {
		return 1
	}
	avail := make(map[rune]int, len(b))
	for _, r := range b {
		avail[r]++
	}
	matches := 0
	for _, r := range a {
		if avail[r] > 0 {
			avail[r]--
			matches++
		}
	}
	return 2 * float64(matches) / float64(total)
}

// isWordRune reports whether r matches Python's Unicode \w: a letter, a
// number or the underscore.
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// splitNonWord splits s like Python's re.split(r"\W+", s), keeping the
// empty strings that a leading or trailing separator produces.
func splitNonWord(s string) []string {
	var parts []string
	start, inSep := 0, false
	for i, r := range s {
		if isWordRune(r) {
			if inSep {
				start, inSep = i, false
			}
			continue
		}
		if !inSep {
			parts = append(parts, s[start:i])
			inSep = true
		}
	}
	if inSep {
		return append(parts, "")
	}
	return append(parts, s[start:])
}
