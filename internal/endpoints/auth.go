package endpoints

import (
	"context"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
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
	load func(ctx context.Context) (*U, error)
	user *U
	err  error
	done bool
}

// get loads the user once, with the context of the request asking.
func (p *principal[U]) get(ctx context.Context) (*U, error) {
	if !p.done {
		p.user, p.err = p.load(ctx)
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
		return x.get(c.Request.Context())
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
	return cl.All(), true
}

// current names the credential of the request for a password change.
func current(c *gin.Context) passwords.Current {
	if v, ok := c.Get(claimsKey); ok {
		if cl, ok := v.(*jwtauth.Claims); ok {
			return passwords.Current{Family: cl.SID}
		}
	}
	return passwords.Current{Key: CurrentToken(c)}
}

func unauthenticated(id, scheme string) *apierr.Error {
	e := apierr.Detail(http.StatusUnauthorized, locales.M(id))
	e.Header = map[string]string{"WWW-Authenticate": scheme}
	return e
}

const bearerChallenge = `Bearer realm="api"`

// jwtError is simplejwt's 401 with a code.
func jwtError(id, code string) *apierr.Error {
	e := unauthenticated(id, bearerChallenge)
	e.Code = code
	return e
}

// challenge is the WWW-Authenticate value of a 401 without credentials.
func (h *API[U]) challenge() string {
	if h.JWT != nil {
		return bearerChallenge
	}
	return "Token"
}

// authHeader splits the Authorization header into its scheme ("token",
// "bearer", "" when absent, or "other") and credential, with DRF's and
// simplejwt's errors for malformed ones.
func (h *API[U]) authHeader(c *gin.Context) (scheme, cred string, e *apierr.Error) {
	v := c.GetHeader("Authorization")
	if v == "" {
		return "", "", nil
	}
	parts := strings.Fields(v)
	switch {
	case len(parts) > 0 && strings.EqualFold(parts[0], "token") && h.TokenAuth:
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
	case len(parts) > 0 && strings.EqualFold(parts[0], "bearer") && h.JWT != nil:
		if len(parts) != 2 {
			return "", "", jwtError("jwt.bad_header", "bad_authorization_header")
		}
		return "bearer", parts[1], nil
	}
	return "other", "", nil
}

// RequireAuth returns middleware that authenticates the request (token
// key, Bearer JWT, or the JWT access cookie) and stores the user for
// CurrentUser; without valid credentials it answers 401 in DRF's shape.
// Its database lookups are bounded by RequestTimeout (a 503 when they
// time out); the app handler after it keeps the request's own context.
func (h *API[U]) RequireAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		err := func() error {
			defer h.bound(c)()
			return h.authenticate(c)
		}()
		if err != nil {
			h.fail(c, err)
			return
		}
		c.Next()
	}
}

// userByToken resolves a token key (whose digest is digest) to its
// active user, with DRF's 401s: in the default store by one join of the
// token row to its user, in another store by its lookup, then the user.
func (h *API[U]) userByToken(c *gin.Context, key, digest string) (*U, error) {
	ctx := c.Request.Context()
	var u *U
	if h.Keys.Joinable() {
		var err error
		if u, err = h.Users.ByTokenDigest(ctx, digest, h.Now()); err != nil {
			return nil, err
		}
		if u == nil {
			return nil, tokens.ErrNotFound
		}
	} else {
		id, err := h.Keys.User(ctx, key)
		if err != nil {
			return nil, err
		}
		if u, err = h.Users.ByID(ctx, id); err != nil {
			return nil, err
		}
	}
	if u == nil || !users.Base(u).IsActive {
		return nil, unauthenticated("auth.user_inactive", "Token")
	}
	return u, nil
}

// authenticate resolves the request's credentials into the context.
func (h *API[U]) authenticate(c *gin.Context) error {
	scheme, cred, perr := h.authHeader(c)
	if perr != nil {
		return perr
	}
	switch scheme {
	case "token":
		digest := secret.Digest(cred)
		u, err := h.userByToken(c, cred, digest)
		if err != nil {
			return err
		}
		c.Set(userKey, u)
		c.Set(tokenKey, cred)
		h.touchDigest(c, digest)
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
	e := jwtError("jwt.not_valid_any_type", "token_not_valid")
	e.Extra = map[string]any{"messages": []map[string]string{{
		"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired",
	}}}
	return e
}

// authenticateJWT verifies an access token. Unless CheckRevoked is on, a
// valid token costs no database query: the user loads on first use.
func (h *API[U]) authenticateJWT(c *gin.Context, raw string) error {
	claims, id, ok := h.Sessions.Access(raw)
	if !ok {
		return invalidJWT()
	}
	ctx := c.Request.Context()
	p := &principal[U]{load: func(lctx context.Context) (*U, error) {
		// The user may load after RequireAuth returned, in the app's
		// handler: bound this lookup by itself, unless it runs in the
		// context that is bounded already (one of restauth's endpoints).
		if lctx != ctx {
			var cancel context.CancelFunc
			lctx, cancel = h.withTimeout(lctx)
			defer cancel()
		}
		u, err := h.Users.ByID(lctx, id)
		if err != nil {
			return nil, err
		}
		if u == nil || !users.Base(u).IsActive {
			return nil, unauthenticated("auth.user_inactive", bearerChallenge)
		}
		return u, nil
	}}
	if h.Revoked != nil && !h.JWT.CheckRevoked {
		// No query, but at most once per RevocationInterval.
		rev, err := h.Revoked.Revoked(ctx, claims.SID)
		if err != nil {
			h.Log.WarnContext(ctx, "restauth: revoked logins not refreshed; using the last set", "err", err)
		}
		if rev {
			return invalidJWT()
		}
	}
	if h.JWT.CheckRevoked {
		live, err := h.Sessions.Live(ctx, claims.SID)
		if err != nil {
			return err
		}
		if !live {
			return invalidJWT()
		}
		if _, err := p.get(ctx); err != nil {
			return err
		}
	}
	c.Set(userKey, p)
	c.Set(tokenKey, raw)
	c.Set(claimsKey, claims)
	h.touchFamily(c, claims.SID)
	return nil
}

// userAndBody returns the authenticated user and the decoded body; on
// failure it has already answered and reports false.
func (h *API[U]) userAndBody(c *gin.Context) (*U, *handlers.Input, bool) {
	u, err := currentUser[U](c)
	if err == nil {
		var in *handlers.Input
		if in, err = h.read(c); err == nil {
			return u, in, true
		}
	}
	h.fail(c, err)
	return nil, nil, false
}

// optionalUser resolves the request's token key if it has a valid one;
// anything else is ignored (public endpoints never 401).
func (h *API[U]) optionalUser(c *gin.Context) (*U, string) {
	scheme, key, perr := h.authHeader(c)
	if perr != nil || scheme != "token" {
		return nil, ""
	}
	u, err := h.userByToken(c, key, secret.Digest(key))
	if err != nil {
		return nil, key
	}
	return u, key
}
