package emails

import (
	"embed"
	"io/fs"
)

// Names of the emails restauth renders. Each name is the stem of three
// template files: NAME_subject.txt, NAME.txt and NAME.html (see the package
// documentation).
const (
	// TemplatePasswordReset is the password reset email; its data is a
	// PasswordResetData.
	TemplatePasswordReset = "password_reset"
	// TemplateEmailConfirmation is the email address confirmation email; its
	// data is an EmailConfirmationData.
	TemplateEmailConfirmation = "email_confirmation"
	// TemplateAccountAlreadyExists tells the owner of an address that
	// someone tried to register with it (sent instead of an error when
	// Config.Registration.PreventEnumeration is on); its data is an
	// AccountAlreadyExistsData.
	TemplateAccountAlreadyExists = "account_already_exists"
)

// PasswordResetData is the data of the password reset templates.
type PasswordResetData struct {
	// Username is the user's login name.
	Username string
	// Email is the address the email is sent to.
	Email string
	// ResetURL is the page where the user chooses a new password.
	ResetURL string
	// UID is the encoded user id carried by ResetURL.
	UID string
	// Token is the reset token carried by ResetURL.
	Token string
	// SiteName is the human name of the site.
	SiteName string
	// SiteURL is the site's home page.
	SiteURL string
}

// EmailConfirmationData is the data of the email confirmation templates.
type EmailConfirmationData struct {
	// User is the user's login name.
	User string
	// ActivateURL is the page that confirms the address.
	ActivateURL string
	// SiteName is the human name of the site.
	SiteName string
	// Key is the confirmation key carried by ActivateURL.
	Key string
}

// AccountAlreadyExistsData is the data of the account-already-exists
// templates.
type AccountAlreadyExistsData struct {
	// Email is the address the email is sent to.
	Email string
	// SiteName is the human name of the site.
	SiteName string
	// SiteURL is the site's home page.
	SiteURL string
}

//go:embed templates/*.txt templates/*.html
var embedded embed.FS

// DefaultTemplates returns the templates restauth uses when
// restauth.Config.EmailTemplates does not override them: the files
// password_reset_subject.txt, password_reset.txt, password_reset.html,
// email_confirmation_subject.txt, email_confirmation.txt,
// email_confirmation.html, account_already_exists_subject.txt,
// account_already_exists.txt and account_already_exists.html, at its root.
// They are written in no language: every sentence is a catalog message
// rendered with t in the email's language (see the package
// documentation). Apps can copy them as a starting point for their own,
// at the root of their override for every language, or in a directory
// named by a language tag ("de/password_reset.txt") for that language
// only.
func DefaultTemplates() fs.FS {
	sub, err := fs.Sub(embedded, "templates")
	if err != nil {
		// Unreachable: "templates" is a valid path.
		panic("emails: " + err.Error())
	}
	return sub
}
