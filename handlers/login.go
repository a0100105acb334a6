package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
)

// DefaultLogin authenticates with dj-rest-auth's rules: fields username,
// email and password.
func (h *Handlers[U]) DefaultLogin(ctx context.Context, in *Input) (*U, error) {
	var req dto.LoginRequest
	if err := in.Bind(&req, false); err != nil {
		return nil, err
	}
	return h.svc.Authenticate(ctx, req.Username, req.Email, req.Password)
}

func (h *Handlers[U]) login(c *gin.Context) {
	in, err := h.read(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	authenticate := h.ext.Login
	if authenticate == nil {
		authenticate = h.DefaultLogin
	}
	u, err := authenticate(c.Request.Context(), in)
	if err != nil {
		h.fail(c, err)
		return
	}
	cred, err := h.svc.Login(c.Request.Context(), u, h.set.TokenAuth)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respondCredentials(c, http.StatusOK, u, cred)
}

// LoginResponse logs u in (last_login, credentials, hooks) and returns the
// body a login answers with (no cookies: there is no request).
func (h *Handlers[U]) LoginResponse(ctx context.Context, u *U) (any, error) {
	cred, err := h.svc.Login(ctx, u, h.set.TokenAuth)
	if err != nil {
		return nil, err
	}
	return h.credentialsBody(u, cred, false), nil
}

func (h *Handlers[U]) logout(c *gin.Context) {
	if c.Request.Method == http.MethodHead {
		// HEAD is routed with GET (LogoutOnGet); it must not log out.
		c.Status(http.StatusOK)
		return
	}
	var in *Input
	if c.Request.Method == http.MethodPost {
		// Drain and check the body like any other endpoint; only JWT mode
		// reads a field from it.
		var err error
		if in, err = h.read(c); err != nil {
			h.fail(c, err)
			return
		}
	}
	if h.set.JWT.Enabled {
		h.logoutJWT(c, in)
		return
	}
	u, key := h.optionalUser(c)
	if err := h.svc.Logout(c.Request.Context(), u, key); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "logout.success")
}
