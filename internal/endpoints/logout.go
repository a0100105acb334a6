package endpoints

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/hooks"
)

// logout is logout/. It answers 200 "Successfully logged out." whatever
// credential was (or was not) presented: logout is idempotent and tells
// nothing about a token. A failure of the server to revoke a credential
// answers 503, never 200.
//
// Token mode revokes the request's token key. JWT mode deletes the
// cookies and blacklists the refresh token from the body or the refresh
// cookie (a blacklisted one presented again revokes its whole login);
// without a usable one, a token key is revoked as in token mode, or else
// a valid access token ends its own login.
func (h *API[U]) logout(c *gin.Context) {
	if c.Request.Method == http.MethodHead {
		// HEAD is routed with GET (Logout.OnGet); it must not log out.
		c.Status(http.StatusOK)
		return
	}
	var in *handlers.Input
	if c.Request.Method == http.MethodPost {
		// Drain and check the body like any other endpoint; only JWT mode
		// reads a field from it.
		var err error
		if in, err = h.read(c); err != nil {
			h.fail(c, err)
			return
		}
	}
	u, err := h.endLogin(c, in)
	if err != nil {
		h.fail(c, err)
		return
	}
	if u != nil {
		hooks.Run(c.Request.Context(), h.Hooks.OnLogout, u)
	}
	h.detail(c, http.StatusOK, "logout.success")
}

// endLogin revokes the credential the request presents and returns its
// user (nil when none was valid). Only server failures are errors.
func (h *API[U]) endLogin(c *gin.Context, in *handlers.Input) (*U, error) {
	ctx := c.Request.Context()
	if h.JWT == nil {
		return h.revokeKey(c)
	}
	var req dto.RefreshRequest
	if in != nil {
		if err := in.Bind(&req, false); err != nil {
			return nil, err
		}
	}
	h.unsetAuthCookies(c)
	raw := req.Refresh
	if raw == "" {
		raw = h.refreshCookie(c)
	}
	if raw != "" {
		id, err := h.Sessions.Logout(ctx, raw)
		if err == nil {
			u, _ := h.Users.ByID(ctx, id) // the logout itself succeeded
			return u, nil
		}
		if httpError(err).Status >= 500 {
			return nil, err
		}
	}
	if u, err := h.revokeKey(c); err != nil || u != nil {
		return u, err
	}
	return h.endAccessLogin(ctx, c)
}

// revokeKey deletes the request's token key, if it has one.
func (h *API[U]) revokeKey(c *gin.Context) (*U, error) {
	u, key := h.optionalUser(c)
	if key == "" {
		return nil, nil
	}
	if err := h.Keys.Revoke(c.Request.Context(), key); err != nil {
		return nil, err
	}
	return u, nil
}

// endAccessLogin revokes the login (refresh family) of a valid access
// token, from the header or the cookie, and returns its user.
func (h *API[U]) endAccessLogin(ctx context.Context, c *gin.Context) (*U, error) {
	scheme, raw, perr := h.authHeader(c)
	if perr != nil {
		return nil, nil
	}
	switch scheme {
	case "bearer":
	case "":
		raw = h.accessCookie(c)
	default:
		return nil, nil
	}
	if raw == "" {
		return nil, nil
	}
	cl, id, ok := h.Sessions.Access(raw)
	if !ok {
		return nil, nil
	}
	if err := h.Sessions.RevokeFamily(ctx, id, cl.SID); err != nil {
		return nil, err
	}
	u, _ := h.Users.ByID(ctx, id) // the logout itself succeeded
	return u, nil
}
