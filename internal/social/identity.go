// Package social keeps the links between users and their social
// identities: it logs a verified identity in (existing account, email
// authentication, sign-up), connects and disconnects accounts, stores
// provider tokens encrypted, remembers used id_tokens and pending
// authorization flows. It trusts its Identity input: internal/identity
// verifies it. It knows nothing of HTTP.
package social

import (
	"net/mail"
	"strings"
	"time"

	"github.com/markbates/goth"

	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// Identity is a verified identity at a provider.
type Identity struct {
	// UID is the provider's subject id (1 to 191 characters).
	UID string
	// Email is the profile's address ("" when the provider gave none);
	// EmailVerified says whether the provider vouches for it.
	Email         string
	EmailVerified bool
	// Username is the provider's user name (GitHub login, OIDC
	// preferred_username, ...), used at sign-up when it is free.
	Username            string
	FirstName, LastName string
	// ExtraData is stored in SocialAccount.ExtraData.
	ExtraData map[string]any
	// User is the profile as goth describes it (for the app's hooks).
	User goth.User
	// Token, Secret (refresh token or OAuth1 secret) and ExpiresAt are
	// stored when the app keeps provider tokens.
	Token, Secret string
	ExpiresAt     *time.Time
}

// Refusals of social logins (SOCIAL.md §4.3).
var (
	// ErrIncorrectInput (E1): no usable credential in the request.
	ErrIncorrectInput = verr.NonFieldError(locales.M("social.incorrect_input"))
	// ErrExchange (E2): the code could not be exchanged.
	ErrExchange = verr.NonFieldError(locales.M("social.exchange_failed"))
	// ErrIncorrectValue (E3): the provider did not confirm an identity.
	ErrIncorrectValue = verr.NonFieldError(locales.M("social.incorrect_value"))
	// ErrEmailTaken (E4): a new identity's email belongs to a user.
	ErrEmailTaken = verr.NonFieldError(locales.M("social.email_taken"))
	// ErrConnectedOther (E5): connect of an identity another user owns.
	ErrConnectedOther = verr.NonFieldError(locales.M("social.connected_other"))
	// ErrSignupClosed (E8): no account and automatic sign-up is off.
	ErrSignupClosed = verr.NonFieldError(locales.M("social.signup_closed"))
	// ErrNoPassword (D2): disconnecting the last account of a user
	// without a usable password.
	ErrNoPassword = verr.NonFieldError(locales.M("social.no_password"))
	// ErrNoVerifiedEmail (D2): disconnecting the last account of a user
	// without a verified address under mandatory verification.
	ErrNoVerifiedEmail = verr.NonFieldError(locales.M("social.no_verified_email"))
	// ErrInvalidState: an authorization flow's state is unknown, used,
	// expired or belongs to another browser.
	ErrInvalidState = verr.NonFieldError(locales.M("social.invalid_state"))
)

// sanitized returns id fitted to the user columns: names cut to 150
// characters, an email that is not a plain valid address of at most 254
// characters dropped (allauth's valid_email_or_none).
func (id Identity) sanitized() Identity {
	id.FirstName, id.LastName = cut(id.FirstName, 150), cut(id.LastName, 150)
	if id.Email != "" {
		a, err := mail.ParseAddress(id.Email)
		if err != nil || a.Address != id.Email || len(id.Email) > 254 || strings.ContainsAny(id.Email, "\x00\r\n") {
			id.Email, id.EmailVerified = "", false
		}
	}
	if id.ExtraData == nil {
		id.ExtraData = map[string]any{}
	}
	return id
}

// cut shortens s to n characters.
func cut(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
