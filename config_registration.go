package restauth

import (
	"strings"
	"time"
)

// EmailVerification is an email verification mode
// [ACCOUNT_EMAIL_VERIFICATION].
type EmailVerification string

// Email verification modes.
const (
	// VerificationNone sends no confirmation email.
	VerificationNone EmailVerification = "none"
	// VerificationOptional sends one; unverified users can log in.
	VerificationOptional EmailVerification = "optional"
	// VerificationMandatory sends one; registration issues no token and
	// users cannot log in until an address is verified.
	VerificationMandatory EmailVerification = "mandatory"
)

// RegistrationConfig configures registration/ and email verification
// (dj-rest-auth's registration app on allauth's account settings).
type RegistrationConfig struct {
	// Disabled removes the registration endpoints.
	Disabled bool
	// EmailVerification is none, optional or mandatory
	// [ACCOUNT_EMAIL_VERIFICATION]. Default optional.
	EmailVerification EmailVerification
	// EmailRequired makes email a required registration field
	// [ACCOUNT_EMAIL_REQUIRED]. nil means true.
	EmailRequired *bool
	// UsernameRequired makes username a required registration field
	// [ACCOUNT_USERNAME_REQUIRED]. nil means true; when false and none is
	// given, one is made from the email's local part.
	UsernameRequired *bool
	// EmailConfirmURL is the link in confirmation emails, with a {key}
	// placeholder. Default: SiteURL + the path of the group Register
	// mounted restauth on + "/registration/account-confirm-email/{key}/",
	// the confirmation page Register mounts.
	EmailConfirmURL string
	// ConfirmationExpire is how long a confirmation key works
	// [ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS]. Default 72 hours.
	ConfirmationExpire time.Duration
	// PreventEnumeration hides whether an email address has an account
	// [ACCOUNT_PREVENT_ENUMERATION]: registration with a taken address
	// answers as a fresh one does ("Verification e-mail sent.") and mails
	// the address's owner instead of creating a user. It needs mandatory
	// verification (otherwise a fresh sign-up answers with a token, which
	// a taken address cannot). Off by default.
	PreventEnumeration bool
	// ConfirmationCooldown is the least time between two confirmation
	// emails to one address [ACCOUNT_EMAIL_CONFIRMATION_COOLDOWN].
	// Default 180 seconds; a negative value turns the cooldown off.
	ConfirmationCooldown time.Duration
}

func (c *RegistrationConfig) withDefaults(loginByUsername bool) error {
	switch c.EmailVerification {
	case "":
		c.EmailVerification = VerificationOptional
	case VerificationNone, VerificationOptional, VerificationMandatory:
	default:
		return fieldError("Registration.EmailVerification", "%q: want none, optional or mandatory", c.EmailVerification)
	}
	if c.EmailRequired == nil {
		c.EmailRequired = Bool(true)
	}
	if c.UsernameRequired == nil {
		c.UsernameRequired = Bool(true)
	}
	if c.EmailVerification == VerificationMandatory && !*c.EmailRequired {
		return fieldError("Registration.EmailVerification", "mandatory needs Registration.EmailRequired")
	}
	if !*c.EmailRequired && !loginByUsername {
		return fieldError("Registration.EmailRequired", "false needs LoginMethods to include username")
	}
	if c.PreventEnumeration && c.EmailVerification != VerificationMandatory {
		return fieldError("Registration.PreventEnumeration", "needs Registration.EmailVerification mandatory")
	}
	if c.EmailConfirmURL != "" && !strings.Contains(c.EmailConfirmURL, "{key}") {
		return fieldError("Registration.EmailConfirmURL", "must contain {key}")
	}
	if c.ConfirmationExpire < 0 {
		return fieldError("Registration.ConfirmationExpire", "%v", errNegative)
	}
	if c.ConfirmationExpire == 0 {
		c.ConfirmationExpire = 72 * time.Hour
	}
	if c.ConfirmationCooldown == 0 {
		c.ConfirmationCooldown = 180 * time.Second
	}
	if c.ConfirmationCooldown < 0 {
		c.ConfirmationCooldown = 0
	}
	return nil
}
