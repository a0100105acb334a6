package socialauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"
	"github.com/markbates/goth/providers/azureadv2"
	"github.com/markbates/goth/providers/discord"
	"github.com/markbates/goth/providers/facebook"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/gitlab"
	"github.com/markbates/goth/providers/google"
	"github.com/markbates/goth/providers/openidConnect"
	"github.com/markbates/goth/providers/twitter"
	"golang.org/x/oauth2"
)

// Endpoints of the ready-made providers, written as literals so that no
// golang.org/x/oauth2 subpackage (and its cloud dependencies) is needed.
const (
	googleAuthURL    = "https://accounts.google.com/o/oauth2/v2/auth"
	googleTokenURL   = "https://oauth2.googleapis.com/token"
	googleIssuer     = "https://accounts.google.com"
	googleJWKSURL    = "https://www.googleapis.com/oauth2/v3/certs"
	githubAuthURL    = "https://github.com/login/oauth/authorize"
	githubTokenURL   = "https://github.com/login/oauth/access_token"
	facebookAuthURL  = "https://www.facebook.com/dialog/oauth"
	facebookTokenURL = "https://graph.facebook.com/oauth/access_token"
	microsoftURL     = "https://login.microsoftonline.com/"
	gitlabBaseURL    = "https://gitlab.com"
	discordAuthURL   = "https://discord.com/api/oauth2/authorize"
	discordTokenURL  = "https://discord.com/api/oauth2/token"
)

// newHTTPClient is the client each ready-made provider starts with.
func newHTTPClient() *http.Client {
	return &http.Client{Timeout: DefaultHTTPTimeout}
}

// firstOrEmpty is the goth callback URL: the first redirect URI, or "".
func firstOrEmpty(uris []string) string {
	if len(uris) == 0 {
		return ""
	}
	return uris[0]
}

// cloneStrings copies a slice so that a Provider never shares the
// caller's backing array.
func cloneStrings(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// neverVerified is the VerifiedEmail of providers whose email addresses
// are never taken as verified.
func neverVerified(context.Context, *http.Client, goth.User) (bool, error) {
	return false, nil
}

// discordVerifiedEmail reports Discord's "verified" flag of the profile.
func discordVerifiedEmail(_ context.Context, _ *http.Client, u goth.User) (bool, error) {
	return u.Email != "" && u.RawData["verified"] == true, nil
}

// Google returns the Google provider: profiles from an access token come
// from goth's google package (the v2 userinfo endpoint), codes are
// exchanged by restauth at Google's token endpoint, and id_tokens
// (Sign in with Google, One Tap) are verified against Google's keys with
// clientID as the audience. Access tokens are checked with
// CheckGoogleToken(clientID).
func Google(clientID, clientSecret string, redirectURIs ...string) Provider {
	scopes := []string{"openid", "email", "profile"}
	g := google.New(clientID, clientSecret, firstOrEmpty(redirectURIs), scopes...)
	g.HTTPClient = newHTTPClient()
	return Provider{
		Name: "google",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: googleAuthURL, TokenURL: googleTokenURL},
			Scopes:       scopes,
		},
		RedirectURIs: cloneStrings(redirectURIs),
		OIDC: &OIDCConfig{
			Issuer:    googleIssuer,
			JWKSURL:   googleJWKSURL,
			Audiences: []string{clientID},
			// Google's access tokens are not JWTs, and One Tap tokens
			// may carry no nonce.
			AllowMissingNonce: true,
		},
		CheckAccessToken: CheckGoogleToken(clientID),
	}
}

// GitHub returns the GitHub provider (an OAuth app): profiles come from
// goth's github package, access tokens are checked with
// CheckGitHubToken, and the profile email counts as verified only when
// GitHubVerifiedEmail finds it verified in the user's /user/emails list.
func GitHub(clientID, clientSecret string, redirectURIs ...string) Provider {
	scopes := []string{"read:user", "user:email"}
	g := github.New(clientID, clientSecret, firstOrEmpty(redirectURIs), scopes...)
	g.HTTPClient = newHTTPClient()
	return Provider{
		Name: "github",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: githubAuthURL, TokenURL: githubTokenURL},
			Scopes:       scopes,
		},
		RedirectURIs:     cloneStrings(redirectURIs),
		VerifiedEmail:    GitHubVerifiedEmail,
		CheckAccessToken: CheckGitHubToken(clientID, clientSecret),
	}
}

// Facebook returns the Facebook provider: profiles come from goth's
// facebook package (which signs its Graph calls with appsecret_proof),
// access tokens are checked with CheckFacebookToken, and Facebook email
// addresses are never taken as verified (as in allauth).
func Facebook(appID, appSecret string, redirectURIs ...string) Provider {
	g := facebook.New(appID, appSecret, firstOrEmpty(redirectURIs), "email")
	g.HTTPClient = newHTTPClient()
	return Provider{
		Name: "facebook",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     appID,
			ClientSecret: appSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: facebookAuthURL, TokenURL: facebookTokenURL},
			Scopes:       []string{"email"},
		},
		RedirectURIs:     cloneStrings(redirectURIs),
		VerifiedEmail:    neverVerified,
		CheckAccessToken: CheckFacebookToken(appID, appSecret),
	}
}

// Twitter returns the Twitter (X) OAuth1 provider: clients post
// access_token and token_secret, and goth's twitter package reads the
// profile. Twitter offers no way to check which app a token was issued
// to, so the access-token flow trusts the token's origin; its email
// addresses are never taken as verified.
//
// goth's twitter package ignores the HTTPClient field (it always uses
// http.DefaultTransport), so DefaultHTTPTimeout does not apply to it.
func Twitter(consumerKey, consumerSecret, callbackURL string) Provider {
	g := twitter.New(consumerKey, consumerSecret, callbackURL)
	g.HTTPClient = newHTTPClient()
	var uris []string
	if callbackURL != "" {
		uris = []string{callbackURL}
	}
	return Provider{
		Name:          "twitter",
		Goth:          g,
		OAuth1:        true,
		RedirectURIs:  uris,
		VerifiedEmail: neverVerified,
	}
}

// Microsoft returns the Microsoft identity platform (Azure AD v2)
// provider for tenant ("" means "common": work, school and personal
// accounts); goth's azureadv2 package reads the profile from Microsoft
// Graph (/v1.0/me). Microsoft's mail field is never taken as verified:
// it is editable by tenant admins (nOAuth). Microsoft offers no way to
// check which app an access token was issued to, so the access-token
// flow trusts the token's origin.
func Microsoft(clientID, clientSecret, tenant string, redirectURIs ...string) Provider {
	if tenant == "" {
		tenant = string(azureadv2.CommonTenant)
	}
	g := azureadv2.New(clientID, clientSecret, firstOrEmpty(redirectURIs), azureadv2.ProviderOptions{
		Tenant: azureadv2.TenantType(tenant),
		Scopes: []azureadv2.ScopeType{
			azureadv2.OpenIDScope, azureadv2.ProfileScope, azureadv2.EmailScope, azureadv2.UserReadScope,
		},
	})
	g.HTTPClient = newHTTPClient()
	g.SetName("microsoft")
	base := microsoftURL + tenant + "/oauth2/v2.0/"
	return Provider{
		Name: "microsoft",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: base + "authorize", TokenURL: base + "token"},
			Scopes:       []string{"openid", "profile", "email", "User.Read"},
		},
		RedirectURIs:  cloneStrings(redirectURIs),
		VerifiedEmail: neverVerified,
	}
}

// GitLab returns the GitLab provider for the instance at baseURL (""
// means https://gitlab.com); goth's gitlab package reads the profile
// from the v4 API (baseURL/api/v4/user). Access tokens are checked with
// CheckGitLabToken(clientID, baseURL) (the instance's /oauth/token/info
// must name this application), and GitLab email addresses are never
// taken as verified.
func GitLab(clientID, clientSecret, baseURL string, redirectURIs ...string) Provider {
	baseURL = strings.TrimRight(baseURL, "/")
	if baseURL == "" {
		baseURL = gitlabBaseURL
	}
	authURL, tokenURL := baseURL+"/oauth/authorize", baseURL+"/oauth/token"
	scopes := []string{"read_user"}
	g := gitlab.NewCustomisedURL(clientID, clientSecret, firstOrEmpty(redirectURIs),
		authURL, tokenURL, baseURL+"/api/v4/user", scopes...)
	g.HTTPClient = newHTTPClient()
	return Provider{
		Name: "gitlab",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL},
			Scopes:       scopes,
		},
		RedirectURIs:     cloneStrings(redirectURIs),
		VerifiedEmail:    neverVerified,
		CheckAccessToken: CheckGitLabToken(clientID, baseURL),
	}
}

// Discord returns the Discord provider: goth's discord package reads the
// profile (/users/@me), and the email counts as verified when Discord's
// "verified" flag is true. restauth exchanges codes itself (goth's
// discord exchange ignores the HTTP client). Access tokens are checked
// with CheckDiscordToken(clientID) (Discord's /oauth2/@me must name this
// application).
func Discord(clientID, clientSecret string, redirectURIs ...string) Provider {
	scopes := []string{discord.ScopeIdentify, discord.ScopeEmail}
	g := discord.New(clientID, clientSecret, firstOrEmpty(redirectURIs), scopes...)
	g.HTTPClient = newHTTPClient()
	return Provider{
		Name: "discord",
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint:     oauth2.Endpoint{AuthURL: discordAuthURL, TokenURL: discordTokenURL},
			Scopes:       scopes,
		},
		RedirectURIs:     cloneStrings(redirectURIs),
		VerifiedEmail:    discordVerifiedEmail,
		CheckAccessToken: CheckDiscordToken(clientID),
	}
}

// providerName is the syntax of Provider.Name.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// OIDC returns a generic OpenID Connect provider named name, found by
// OpenID Connect discovery at issuer (issuer + "/.well-known/openid-configuration").
//
// Discovery uses the HTTP client carried by ctx through oidc.ClientContext
// (pass yours that way, e.g. restauth's Config.Social.HTTPClient), or a
// client with DefaultHTTPTimeout; ctx also bounds the discovery request.
// The discovered authorization, token, userinfo and JWKS endpoints are
// used as they are: codes are exchanged by restauth, id_tokens are
// verified against the discovered keys with clientID as the audience and
// a required nonce, and the userinfo endpoint completes the profile. The
// goth provider (openidConnect, built without a second discovery) is named
// name and uses the same client.
func OIDC(ctx context.Context, name, issuer, clientID, clientSecret string, redirectURIs ...string) (Provider, error) {
	switch {
	case !providerName.MatchString(name):
		return Provider{}, fmt.Errorf("socialauth: OIDC: name %q must be lower-case letters, digits, '-' or '_', starting with a letter or digit", name)
	case issuer == "":
		return Provider{}, errors.New("socialauth: OIDC: issuer is empty")
	case clientID == "":
		return Provider{}, errors.New("socialauth: OIDC: clientID is empty")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	client, ok := ctx.Value(oauth2.HTTPClient).(*http.Client)
	if !ok || client == nil {
		client = newHTTPClient()
		ctx = oidc.ClientContext(ctx, client)
	}
	op, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: discovery at %s: %w", name, issuer, err)
	}
	var meta struct {
		AuthURL     string `json:"authorization_endpoint"`
		TokenURL    string `json:"token_endpoint"`
		UserInfoURL string `json:"userinfo_endpoint"`
		JWKSURL     string `json:"jwks_uri"`
	}
	if err := op.Claims(&meta); err != nil {
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: discovery document: %w", name, err)
	}
	switch {
	case meta.AuthURL == "":
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: discovery document has no authorization_endpoint", name)
	case meta.TokenURL == "":
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: discovery document has no token_endpoint", name)
	case meta.JWKSURL == "":
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: discovery document has no jwks_uri", name)
	}
	scopes := []string{oidc.ScopeOpenID, "email", "profile"}
	g, err := openidConnect.NewCustomisedURL(clientID, clientSecret, firstOrEmpty(redirectURIs),
		meta.AuthURL, meta.TokenURL, issuer, meta.UserInfoURL, "", scopes...)
	if err != nil {
		return Provider{}, fmt.Errorf("socialauth: OIDC %s: %w", name, err)
	}
	g.HTTPClient = client
	g.SetName(name)
	return Provider{
		Name: name,
		Goth: g,
		OAuth2: &oauth2.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   meta.AuthURL,
				TokenURL:  meta.TokenURL,
				AuthStyle: oauth2.AuthStyleAutoDetect,
			},
			Scopes: scopes,
		},
		RedirectURIs: cloneStrings(redirectURIs),
		OIDC: &OIDCConfig{
			Issuer:      issuer,
			JWKSURL:     meta.JWKSURL,
			Audiences:   []string{clientID},
			UserInfoURL: meta.UserInfoURL,
		},
	}, nil
}
