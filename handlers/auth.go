package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/locales"
)

type ctxKey struct{ name string }

var (
	userKey  = &ctxKey{"user"}
	tokenKey = &ctxKey{"token"}
)

// CurrentUser returns the user RequireAuth authenticated for c.
func CurrentUser[U any](c *gin.Context) (*U, bool) {
	v, ok := c.Get(userKey)
	if !ok {
		return nil, false
	}
	u, ok := v.(*U)
	return u, ok && u != nil
}

// CurrentToken returns the credential (token key) the request was
// authenticated with, or "".
func CurrentToken(c *gin.Context) string {
	s, _ := c.Get(tokenKey)
	k, _ := s.(string)
	return k
}

func unauthenticated(id string) *apierr.Error {
	e := apierr.Detail(http.StatusUnauthorized, locales.M(id))
	e.Header = map[string]string{"WWW-Authenticate": "Token"}
	return e
}

// tokenFromHeader parses "Authorization: Token <key>" (keyword in any
// case). It returns "" and no error when the header is absent or uses
// another scheme.
func tokenFromHeader(c *gin.Context) (string, *apierr.Error) {
	h := c.GetHeader("Authorization")
	if h == "" {
		return "", nil
	}
	parts := strings.Fields(h)
	if len(parts) == 0 || !strings.EqualFold(parts[0], "token") {
		return "", nil
	}
	switch {
	case len(parts) == 1:
		return "", unauthenticated("auth.invalid_header_no_credentials")
	case len(parts) > 2:
		return "", unauthenticated("auth.invalid_header_spaces")
	}
	key := parts[1]
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return "", unauthenticated("auth.invalid_header_chars")
		}
	}
	return key, nil
}

// RequireAuth returns middleware that authenticates the request with a
// token and stores the user for CurrentUser; without valid credentials it
// answers 401 in DRF's shape.
func (h *Handlers[U]) RequireAuth() gin.HandlerFunc {
	return func(c *gin.Context) {
		key, perr := tokenFromHeader(c)
		if perr != nil {
			h.fail(c, perr)
			return
		}
		if key == "" || !h.set.TokenAuth {
			h.fail(c, unauthenticated("auth.not_authenticated"))
			return
		}
		u, err := h.svc.UserByToken(c.Request.Context(), key)
		if err != nil {
			if ae, ok := err.(*apierr.Error); ok && ae.Status == http.StatusUnauthorized {
				ae.Header = map[string]string{"WWW-Authenticate": "Token"}
			}
			h.fail(c, err)
			return
		}
		c.Set(userKey, u)
		c.Set(tokenKey, key)
		c.Next()
	}
}

// optionalUser resolves the request's token if it has a valid one;
// anything else is ignored (public endpoints never 401).
func (h *Handlers[U]) optionalUser(c *gin.Context) (*U, string) {
	key, perr := tokenFromHeader(c)
	if perr != nil || key == "" || !h.set.TokenAuth {
		return nil, ""
	}
	u, err := h.svc.UserByToken(c.Request.Context(), key)
	if err != nil {
		return nil, key
	}
	return u, key
}
