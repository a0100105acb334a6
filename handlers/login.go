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
	body, err := h.LoginResponse(c.Request.Context(), u)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, body)
}

// LoginResponse logs u in (last_login, token, hooks) and returns the body
// a login answers with.
func (h *Handlers[U]) LoginResponse(ctx context.Context, u *U) (any, error) {
	key, err := h.svc.Login(ctx, u, h.set.TokenAuth)
	if err != nil {
		return nil, err
	}
	if h.ext.TokenResponse != nil {
		return h.ext.TokenResponse(key, u), nil
	}
	return dto.TokenResponse{Key: key}, nil
}

func (h *Handlers[U]) logout(c *gin.Context) {
	if c.Request.Method == http.MethodPost {
		// Drain and check the body like any other endpoint, though logout
		// reads no field from it.
		if _, err := h.read(c); err != nil {
			h.fail(c, err)
			return
		}
	}
	u, key := h.optionalUser(c)
	if err := h.svc.Logout(c.Request.Context(), u, key); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "logout.success")
}
