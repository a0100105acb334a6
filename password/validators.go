package password

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/restauth/restauth/locales"
)

// Message keys the validators return.
const (
	// MsgTooSimilar is UserAttributeSimilarity's key; its data "Field" is
	// the attribute's name, itself a [locales.Message] (key
	// "attr.<name>") that the catalog renders in the same language.
	MsgTooSimilar = "password.too_similar"
	// MsgTooShort is MinimumLength's key; its data "Min" is the minimum.
	MsgTooShort = "password.too_short"
	// MsgTooCommon is CommonPasswords' key.
	MsgTooCommon = "password.too_common"
	// MsgEntirelyNumeric is NumericPassword's key.
	MsgEntirelyNumeric = "password.entirely_numeric"
)

// DefaultMinLength is MinimumLength's minimum when Min is zero, as in
// Django.
const DefaultMinLength = 8

// UserInfo holds the attributes of the user whose new password is checked,
// for validators that compare the password with them, such as
// UserAttributeSimilarity.
type UserInfo struct {
	// Username, FirstName, LastName and Email are the user's values; empty
	// ones are not compared.
	Username, FirstName, LastName, Email string
}

// Validator checks a new password; it returns the problems found (nil if
// none). Validators must be safe for concurrent use and must not log or
// keep the password; see "Writing a Validator" in the package
// documentation.
type Validator interface {
	// Validate returns the messages describing what is wrong with
	// password for user, or nil.
	Validate(password string, user UserInfo) []locales.Message
}

// ValidatorFunc adapts a function to Validator, for rules that need no
// settings.
type ValidatorFunc func(password string, user UserInfo) []locales.Message

// Validate calls f.
func (f ValidatorFunc) Validate(password string, user UserInfo) []locales.Message {
	return f(password, user)
}

// DefaultValidators returns Django's four default validators in Django's
// order, with Django's settings: UserAttributeSimilarity, MinimumLength of
// 8, CommonPasswords and NumericPassword. It returns a new slice each time,
// which the caller may change or append to.
func DefaultValidators() []Validator {
	return []Validator{
		UserAttributeSimilarity{Attributes: DefaultUserAttributes(), MaxSimilarity: DefaultMaxSimilarity},
		MinimumLength{Min: DefaultMinLength},
		CommonPasswords{},
		NumericPassword{},
	}
}

// Validate runs every validator on password and returns all their messages
// in order, as Django reports all failures together. Nil validators are
// skipped. The result is nil when the password passes.
func Validate(password string, user UserInfo, validators []Validator) []locales.Message {
	var msgs []locales.Message
	for _, v := range validators {
		if v == nil {
			continue
		}
		msgs = append(msgs, v.Validate(password, user)...)
	}
	return msgs
}

// MinimumLength rejects passwords shorter than Min characters (Unicode code
// points, as Django counts), with the message MsgTooShort and data Min, as
// Django's MinimumLengthValidator does. A zero Min means DefaultMinLength.
type MinimumLength struct {
	// Min is the fewest characters a password may have.
	Min int
}

// Validate implements Validator.
func (v MinimumLength) Validate(password string, _ UserInfo) []locales.Message {
	limit := v.Min
	if limit == 0 {
		limit = DefaultMinLength
	}
	if utf8.RuneCountInString(password) < limit {
		return []locales.Message{locales.N(MsgTooShort, limit, "Min", limit)}
	}
	return nil
}

// NumericPassword rejects passwords made only of digits, with the message
// MsgEntirelyNumeric, as Django's NumericPasswordValidator does. Digits are Unicode decimal digits (category
// Nd), which is Python's str.isdigit except for the few superscript and
// circled digits Python also counts. The empty password passes.
type NumericPassword struct{}

// Validate implements Validator.
func (NumericPassword) Validate(password string, _ UserInfo) []locales.Message {
	if password == "" {
		return nil
	}
	if strings.IndexFunc(password, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0 {
		return nil
	}
	return []locales.Message{locales.M(MsgEntirelyNumeric)}
}
