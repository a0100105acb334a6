package restauth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/restauth/restauth/socialauth"
)

// SocialConfig configures social login (dj-rest-auth's social views on
// allauth's socialaccount settings). Each provider is mounted at
// <Name>/ (login) and <Name>/connect/, and, when it has OAuth2 and
// RedirectURIs, <Name>/authorize/ and <Name>/callback/;
// socialaccounts/ lists and disconnects accounts.
type SocialConfig struct {
	// Providers are the providers offered (see package socialauth for
	// ready-made ones). None by default: no social routes are mounted.
	Providers []socialauth.Provider
	// AutoSignup creates a user for an identity no user has yet
	// [SOCIALACCOUNT_AUTO_SIGNUP]. nil means true; when false such logins
	// answer "Sign up is closed.".
	AutoSignup *bool
	// StoreTokens keeps each account's provider token (and refresh token
	// or OAuth1 secret), encrypted with a key derived from SecretKey
	// [SOCIALACCOUNT_STORE_TOKENS]; read them with Plugin.SocialToken.
	StoreTokens bool
	// HTTPClient makes restauth's own calls to providers: code exchanges,
	// key sets, discovery, audience checks. Default: a client with a
	// 5-second timeout [SOCIALACCOUNT_REQUESTS_TIMEOUT]. A goth
	// provider's profile calls use that provider's HTTPClient field.
	HTTPClient *http.Client
	// LoginRedirectURL is where <Name>/callback/ sends the browser after
	// a login started by <Name>/authorize/ in JWT cookie mode (errors as
	// ?error=<code>). Without it, or without cookies, the callback answers
	// the login body as JSON. An absolute http(s) URL or a path; never
	// taken from the request.
	LoginRedirectURL string
	// AuthorizationExpire is how long a flow started by <Name>/authorize/
	// may take. Default 10 minutes.
	AuthorizationExpire time.Duration
}

// providerName is the form of a provider's route name.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// reservedNames are the first segments of restauth's own routes.
var reservedNames = map[string]bool{
	"login": true, "logout": true, "password": true, "user": true, "registration": true,
	"token": true, "socialaccounts": true, "openapi.json": true,
}

func (c *SocialConfig) withDefaults(siteURL string) error {
	if c.AutoSignup == nil {
		c.AutoSignup = Bool(true)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: socialauth.DefaultHTTPTimeout}
	}
	if c.AuthorizationExpire < 0 {
		return fieldError("Social.AuthorizationExpire", "%v", errNegative)
	}
	if c.AuthorizationExpire == 0 {
		c.AuthorizationExpire = 10 * time.Minute
	}
	if c.LoginRedirectURL != "" {
		u, err := url.Parse(c.LoginRedirectURL)
		abs := err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
		path := err == nil && u.Scheme == "" && u.Host == "" && strings.HasPrefix(c.LoginRedirectURL, "/") && !strings.HasPrefix(c.LoginRedirectURL, "//")
		if !abs && !path {
			return fieldError("Social.LoginRedirectURL", "%q must be an absolute http(s) URL or a path", c.LoginRedirectURL)
		}
	}
	providers := make([]socialauth.Provider, len(c.Providers))
	copy(providers, c.Providers)
	seen := map[string]bool{}
	for i := range providers {
		p := &providers[i]
		if p.Name == "" && p.Goth != nil {
			p.Name = p.Goth.Name()
		}
		path := "Social.Providers[" + p.Name + "]"
		switch {
		case !providerName.MatchString(p.Name):
			return fieldError(path+".Name", "%q must be lower-case letters, digits, '-' and '_'", p.Name)
		case reservedNames[p.Name]:
			return fieldError(path+".Name", "%q is one of restauth's own routes", p.Name)
		case seen[p.Name]:
			return fieldError(path+".Name", "%q is used twice", p.Name)
		case p.Goth == nil && p.OIDC == nil:
			return fieldError(path, "needs Goth or OIDC")
		case p.OAuth1 && p.Goth == nil:
			return fieldError(path+".OAuth1", "needs Goth")
		case p.OIDC != nil && p.OIDC.Issuer == "":
			return fieldError(path+".OIDC.Issuer", "must be set")
		case p.OIDC != nil && len(p.OIDC.Audiences) == 0 && (p.OAuth2 == nil || p.OAuth2.ClientID == ""):
			return fieldError(path+".OIDC.Audiences", "must be set when OAuth2 has no ClientID")
		}
		switch {
		case p.EmailAuthenticationAutoConnect && !p.EmailAuthentication:
			return fieldError(path+".EmailAuthenticationAutoConnect", "needs EmailAuthentication")
		case p.FormPost && !strings.HasPrefix(siteURL, "https://"):
			// The provider's cross-site POST carries the flow cookie only
			// as SameSite=None, which browsers accept only when Secure.
			return fieldError(path+".FormPost", "needs an https SiteURL")
		}
		if p.OIDC != nil {
			for _, alg := range p.OIDC.Algorithms {
				if strings.EqualFold(alg, "none") || strings.HasPrefix(strings.ToUpper(alg), "HS") {
					return fieldError(path+".OIDC.Algorithms", "%q is not allowed", alg)
				}
			}
		}
		for _, r := range p.RedirectURIs {
			// Native apps use custom schemes (com.example.app:/cb): a
			// redirect URI needs a scheme, not a host.
			if u, err := url.Parse(r); err != nil || u.Scheme == "" {
				return fieldError(path+".RedirectURIs", "%q must be an absolute URI", r)
			}
		}
		seen[p.Name] = true
	}
	c.Providers = providers
	return nil
}
