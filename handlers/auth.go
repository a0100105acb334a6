package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/locales"
)

type ctxKey struct{ name string }

var (
	userKey   = &ctxKey{"user"}
	tokenKey  = &ctxKey{"token"}
	claimsKey = &ctxKey{"claims"}
	csrfKey   = &ctxKey{"csrf"}
)

// principal is a JWT-authenticated user not loaded yet: a valid access
// token needs no database query until a handler asks for the user.
type principal[U any] struct {
	load func() (*U, error)
	user *U
	err  error
	done bool
}

func (p *principal[U]) get() (*U, error) {
	if !p.done {
		p.user, p.err = p.load()
		p.done = true
	}
	return p.user, p.err
}

// CurrentUser returns the user RequireAuth authenticated for c. For a JWT
// it loads the user on first use (one query) and reports false if the
// user is gone, inactive or cannot be loaded.
func CurrentUser[U any](c *gin.Context) (*U, bool) {
	u, err := currentUser[U](c)
	return u, err == nil && u != nil
}

func currentUser[U any](c *gin.Context) (*U, error) {
	v, ok := c.Get(userKey)
	if !ok {
		return nil, unauthenticated("auth.not_authenticated", "Token")
	}
	switch x := v.(type) {
	case *U:
		return x, nil
	case *principal[U]:
		return x.get()
	}
	return nil, unauthenticated("auth.not_authenticated", "Token")
}

// CurrentToken returns the credential (token key or JWT) the request was
// authenticated with, or "".
func CurrentToken(c *gin.Context) string {
	s, _ := c.Get(tokenKey)
	k, _ := s.(string)
	return k
}

// CurrentClaims returns the claims of the access token a JWT-authenticated
// request carried (no database query).
func CurrentClaims(c *gin.Context) (map[string]any, bool) {
	v, ok := c.Get(claimsKey)
	if !ok {
		return nil, false
	}
	cl, ok := v.(*jwtauth.Claims)
	if !ok {
		return nil, false
	}
	return cl.All, true
}

// session names the credential of the request for a password change.
func session(c *gin.Context) core.Session {
	if v, ok := c.Get(claimsKey); ok {
		if cl, ok := v.(*jwtauth.Claims); ok {
			return core.Session{Family: cl.SID}
		}
	}
	return core.Session{Key: CurrentToken(c)}
}

func unauthenticated(id, scheme string) *apierr.Error {
	e := apierr.Detail(http.StatusUnauthorized, locales.M(id))
	e.Header = map[string]string{"WWW-Authenticate": scheme}
	return e
}

const bearerChallenge = `Bearer realm="api"`

// challenge is the WWW-Authenticate value of a 401 without credentials.
func (h *Handlers[U]) challenge() string {
	if h.set.JWT.Enabled {
		return bearerChallenge
	}
	return "Token"
}

// authHeader splits the Authorization header into its scheme ("token",
// "bearer", "" when absent, or "other") and credential, with DRF's and
// simplejwt's errors for malformed ones.
func (h *Handlers[U]) authHeader(c *gin.Context) (scheme, cred string, e *apierr.Error) {
	v := c.GetHeader("Authorization")
	if v == "" {
		return "", "", nil
	}
	parts := strings.Fields(v)
	switch {
	case len(parts) > 0 && strings.EqualFold(parts[0], "token") && h.set.TokenAuth:
		switch {
		case len(parts) == 1:
			return "", "", unauthenticated("auth.invalid_header_no_credentials", "Token")
		case len(parts) > 2:
			return "", "", unauthenticated("auth.invalid_header_spaces", "Token")
		}
		key := parts[1]
		for i := 0; i < len(key); i++ {
			if key[i] < 0x21 || key[i] > 0x7e {
				return "", "", unauthenticated("auth.invalid_header_chars", "Token")
			}
		}
		return "token", key, nil
	case len(parts) > 0 && strings.EqualFold(parts[0], "bearer") && h.set.JWT.Enabled:
		if len(parts) != 2 {
			e := unauthenticated("jwt.bad_header", bearerChallenge)
			e.Code = "bad_authorization_header"
			return "", "", e
		}
		return "bearer", parts[1], nil
	}
	return "other", "", nil
}

// RequireAuth returns middleware that authenticates the request (token
// key, Bearer JWT, or the JWT access cookie) and stores the user for
// CurrentUser; without valid credentials it answers 401 in DRF's shape.
func (h *Handlers[U]) RequireAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h.authenticate(c); err != nil {
			h.fail(c, err)
			return
		}
		c.Next()
	}
}

// authenticate resolves the request's credentials into the context.
func (h *Handlers[U]) authenticate(c *gin.Context) *apierr.Error {
	scheme, cred, perr := h.authHeader(c)
	if perr != nil {
		return perr
	}
	switch scheme {
	case "token":
		u, err := h.svc.UserByToken(c.Request.Context(), cred)
		if err != nil {
			ae := asAPIError(err)
			if ae.Status == http.StatusUnauthorized {
				ae.Header = map[string]string{"WWW-Authenticate": "Token"}
			}
			return ae
		}
		c.Set(userKey, u)
		c.Set(tokenKey, cred)
		return nil
	case "bearer":
		return h.authenticateJWT(c, cred)
	case "":
		if raw := h.accessCookie(c); raw != "" {
			if e := h.csrfCheck(c); e != nil {
				return e
			}
			return h.authenticateJWT(c, raw)
		}
		if e := h.csrfCheck(c); e != nil {
			return e
		}
	}
	return unauthenticated("auth.not_authenticated", h.challenge())
}

// invalidJWT is simplejwt's answer to a bad access token.
func invalidJWT() *apierr.Error {
	e := unauthenticated("jwt.not_valid_any_type", bearerChallenge)
	e.Code = "token_not_valid"
	e.Extra = map[string]any{"messages": []map[string]string{{
		"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired",
	}}}
	return e
}

// authenticateJWT verifies an access token. Unless JWTCheckRevoked is on,
// a valid token costs no database query: the user loads on first use.
func (h *Handlers[U]) authenticateJWT(c *gin.Context, raw string) *apierr.Error {
	claims, id, ok := h.accessClaims(raw)
	if !ok {
		return invalidJWT()
	}
	ctx := c.Request.Context()
	p := &principal[U]{load: func() (*U, error) {
		u, err := h.svc.UserByID(ctx, id)
		if err != nil {
			return nil, apierr.Unavailable(err)
		}
		if u == nil || !core.Base(u).IsActive {
			return nil, unauthenticated("auth.user_inactive", bearerChallenge)
		}
		return u, nil
	}}
	if h.set.JWT.CheckRevoked {
		live, err := h.svc.SessionLive(ctx, claims.SID)
		if err != nil {
			return apierr.Unavailable(err)
		}
		if !live {
			return invalidJWT()
		}
		if _, err := p.get(); err != nil {
			return asAPIError(err)
		}
	}
	c.Set(userKey, p)
	c.Set(tokenKey, raw)
	c.Set(claimsKey, claims)
	return nil
}

// asAPIError returns err as an *apierr.Error (a 503 when it is not one).
func asAPIError(err error) *apierr.Error {
	if ae, ok := err.(*apierr.Error); ok {
		return ae
	}
	return apierr.Unavailable(err)
}

// user returns the authenticated user for handlers behind RequireAuth.
func (h *Handlers[U]) user(c *gin.Context) (*U, error) { return currentUser[U](c) }

// userAndBody returns the authenticated user and the decoded body; on
// failure it has already answered and reports false.
func (h *Handlers[U]) userAndBody(c *gin.Context) (*U, *Input, bool) {
	u, err := h.user(c)
	if err == nil {
		var in *Input
		if in, err = h.read(c); err == nil {
			return u, in, true
		}
	}
	h.fail(c, err)
	return nil, nil, false
}

// accessClaims verifies raw as an access token and returns its claims
// and user id.
func (h *Handlers[U]) accessClaims(raw string) (*jwtauth.Claims, uint, bool) {
	claims, err := h.svc.JWT().Parse(raw, jwtauth.Access)
	if err != nil {
		return nil, 0, false
	}
	id, ok := core.ParseUserID(claims.UserID)
	return claims, id, ok
}

// optionalUser resolves the request's token key if it has a valid one;
// anything else is ignored (public endpoints never 401).
func (h *Handlers[U]) optionalUser(c *gin.Context) (*U, string) {
	scheme, key, perr := h.authHeader(c)
	if perr != nil || scheme != "token" {
		return nil, ""
	}
	u, err := h.svc.UserByToken(c.Request.Context(), key)
	if err != nil {
		return nil, key
	}
	return u, key
}
