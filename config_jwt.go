package restauth

import (
	"crypto"
	"net/http"
	"regexp"
	"time"

	"github.com/restauth/restauth/internal/secret"
)

// JWTConfig configures JSON Web Token mode: logins answer
// {"access","refresh","user"} and RequireAuth accepts "Authorization:
// Bearer <access>" (dj-rest-auth with simplejwt). Token keys keep working
// unless Token.Disabled is set.
type JWTConfig struct {
	// Enabled switches logins, registration and token/refresh/ to JWTs
	// [REST_USE_JWT].
	Enabled bool
	// Keys is the signing key set [SIGNING_KEY, VERIFYING_KEY,
	// ALGORITHM]. The first key that can sign signs and names itself in
	// the kid header; every key verifies the tokens whose kid names it,
	// so adding a new key first and keeping the old one (public part
	// only is enough) rotates keys without logging anyone out. Default:
	// DefaultJWTKey(SecretKey).
	Keys []JWTKey
	// AccessLifetime is an access token's life [ACCESS_TOKEN_LIFETIME].
	// Default 5 minutes.
	AccessLifetime time.Duration
	// RefreshLifetime is a refresh token's life [REFRESH_TOKEN_LIFETIME].
	// Default 1 day.
	RefreshLifetime time.Duration
	// RotateRefreshTokens makes token/refresh/ return a new refresh token
	// and blacklist the one presented [ROTATE_REFRESH_TOKENS,
	// BLACKLIST_AFTER_ROTATION]. Presenting a blacklisted refresh token
	// revokes its whole family (theft detection). Default false.
	RotateRefreshTokens bool
	// CheckRevoked makes every access token cost two queries: its user
	// must be active and its login (refresh family) not revoked, at the
	// very moment of the request. Default false: RevocationInterval's
	// in-memory check already ends revoked logins within a second at no
	// per-request cost; turn this on for strict immediacy.
	CheckRevoked bool
	// RevocationInterval is how stale the in-memory set of revoked logins
	// may be: RequireAuth refuses the access tokens of a login revoked
	// (logout, password change or reset, a revoked session,
	// Plugin.RevokeSessions) on any instance at most this long ago,
	// reading the database at most once per interval, only when requests
	// come. Default 1 s; negative turns the check off (access tokens then
	// live to their expiry, as in simplejwt).
	RevocationInterval time.Duration
	// ResponseStyle picks the body of logins. Default JWTResponseDefault.
	ResponseStyle JWTResponseStyle
	// ReturnExpiration adds access_expiration and refresh_expiration to
	// login bodies [JWT_AUTH_RETURN_EXPIRATION].
	ReturnExpiration bool
	// Cookie names the access-token cookie [JWT_AUTH_COOKIE]; "" sets
	// none. RequireAuth reads it when no Authorization header is sent.
	Cookie string
	// RefreshCookie names the refresh-token cookie
	// [JWT_AUTH_REFRESH_COOKIE]; "" sets none. token/refresh/ and logout/
	// read it when the body has no refresh.
	RefreshCookie string
	// RefreshCookiePath is the refresh cookie's Path
	// [JWT_AUTH_REFRESH_COOKIE_PATH]. Default "/".
	RefreshCookiePath string
	// Secure marks the cookies Secure [JWT_AUTH_SECURE]. Set it in
	// production (HTTPS).
	Secure bool
	// HTTPOnly marks the JWT cookies HttpOnly [JWT_AUTH_HTTPONLY]; with a
	// refresh cookie, bodies then carry "refresh": "". nil means true.
	HTTPOnly *bool
	// SameSite is the cookies' SameSite [JWT_AUTH_SAMESITE]. Default
	// http.SameSiteLaxMode; None needs Secure.
	SameSite http.SameSite
	// CookieDomain is the cookies' Domain [JWT_AUTH_COOKIE_DOMAIN].
	CookieDomain string
	// CookieUseCSRF requires the CSRF token on unsafe requests carrying
	// the access or refresh cookie [JWT_AUTH_COOKIE_USE_CSRF]: header
	// X-CSRFToken must equal cookie csrftoken (double submit).
	CookieUseCSRF bool
	// EnforceCSRFOnUnauthenticated requires it on every unsafe request
	// without a Token or Bearer Authorization header, login included
	// [JWT_AUTH_COOKIE_ENFORCE_CSRF_ON_UNAUTHENTICATED]. restauth's
	// endpoints hand out the csrftoken cookie on any answer.
	EnforceCSRFOnUnauthenticated bool
	// CSRFCookieName and CSRFHeaderName name the CSRF cookie and header
	// [CSRF_COOKIE_NAME, CSRF_HEADER_NAME]. Defaults "csrftoken" and
	// "X-CSRFToken".
	CSRFCookieName string
	CSRFHeaderName string
}

// JWTResponseStyle is the shape of a JWT-mode login body.
type JWTResponseStyle string

// JWT response styles.
const (
	// JWTResponseDefault is dj-rest-auth's {"access","refresh","user"}.
	JWTResponseDefault JWTResponseStyle = ""
	// JWTResponseV09 is django-rest-auth 0.9's {"token","user"}, for old
	// clients; they refresh through the refresh cookie only.
	JWTResponseV09 JWTResponseStyle = "v0.9"
)

// JWTKey is one key of JWTConfig.Keys. ID is its kid; Algorithm one of
// HS256/384/512 (Secret, at least 32 bytes), RS256/384/512 (RSA, at least
// 2048 bits), ES256/384/512 (ECDSA, curve matching) or EdDSA (Ed25519).
// Give Secret or PrivateKey to sign, or only PublicKey to keep verifying
// tokens of a retired key. ParseJWTKey reads one from PEM.
type JWTKey struct {
	ID         string
	Algorithm  string
	Secret     []byte
	PrivateKey crypto.Signer
	PublicKey  crypto.PublicKey
}

// DefaultJWTKey returns the HS256 key JWT mode uses when JWTConfig.Keys is
// empty (derived from secretKey, no kid). Keep it in Keys, after a new
// key, to rotate away from it without logging anyone out.
func DefaultJWTKey(secretKey string) JWTKey {
	return JWTKey{Algorithm: "HS256", Secret: secret.Derive(secretKey, "jwt")}
}

// cookieNameRe matches RFC 6265 cookie names (HTTP tokens).
var cookieNameRe = regexp.MustCompile("^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$")

func (c *JWTConfig) withDefaults(secretKey string) error {
	if c.AccessLifetime < 0 {
		return fieldError("JWT.AccessLifetime", "%v", errNegative)
	}
	if c.RefreshLifetime < 0 {
		return fieldError("JWT.RefreshLifetime", "%v", errNegative)
	}
	if c.AccessLifetime == 0 {
		c.AccessLifetime = 5 * time.Minute
	}
	if c.RefreshLifetime == 0 {
		c.RefreshLifetime = 24 * time.Hour
	}
	if c.RevocationInterval == 0 {
		c.RevocationInterval = time.Second
	}
	if len(c.Keys) == 0 {
		c.Keys = []JWTKey{DefaultJWTKey(secretKey)}
	}
	switch c.ResponseStyle {
	case JWTResponseDefault, JWTResponseV09:
	default:
		return fieldError("JWT.ResponseStyle", "%q: want JWTResponseDefault or JWTResponseV09", c.ResponseStyle)
	}
	if c.RefreshCookiePath == "" {
		c.RefreshCookiePath = "/"
	}
	if c.HTTPOnly == nil {
		c.HTTPOnly = Bool(true)
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if c.SameSite == http.SameSiteNoneMode && !c.Secure {
		return fieldError("JWT.SameSite", "None needs JWT.Secure (browsers drop such cookies otherwise)")
	}
	if c.CSRFCookieName == "" {
		c.CSRFCookieName = "csrftoken"
	}
	if c.CSRFHeaderName == "" {
		c.CSRFHeaderName = "X-CSRFToken"
	}
	names := map[string]string{}
	for _, n := range []struct{ field, name string }{
		{"JWT.Cookie", c.Cookie}, {"JWT.RefreshCookie", c.RefreshCookie}, {"JWT.CSRFCookieName", c.CSRFCookieName},
	} {
		if n.name == "" {
			continue
		}
		if !cookieNameRe.MatchString(n.name) {
			return fieldError(n.field, "%q is not a valid cookie name", n.name)
		}
		if other, dup := names[n.name]; dup {
			return fieldError(n.field, "names the same cookie %q as Config.%s", n.name, other)
		}
		names[n.name] = n.field
	}
	return nil
}

// csrfOn reports whether CSRF checks can apply at all: they protect
// cookie-borne credentials.
func (c *JWTConfig) csrfOn() bool {
	return c.Enabled && (c.Cookie != "" || c.RefreshCookie != "") && (c.CookieUseCSRF || c.EnforceCSRFOnUnauthenticated)
}
