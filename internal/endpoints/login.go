package endpoints

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/login"
)

// passwordLogin is the last authenticator: dj-rest-auth's
// LoginSerializer (username, email, password).
func (h *API[U]) passwordLogin(ctx context.Context, in *handlers.Input) (*U, error) {
	var req dto.LoginRequest
	if err := in.Bind(&req, false); err != nil {
		return nil, err
	}
	return h.Password.Authenticate(ctx, req.Username, req.Email, req.Password)
}

// authenticateLogin runs the authenticators in order; the first that
// answers decides, the password one last.
func (h *API[U]) authenticateLogin(ctx context.Context, in *handlers.Input) (*U, error) {
	for _, a := range h.Authenticators {
		u, err := a.Authenticate(ctx, in)
		if err != nil || u != nil {
			return u, err
		}
	}
	return h.passwordLogin(ctx, in)
}

func (h *API[U]) login(c *gin.Context) {
	h.recordClient(c)
	ip := h.ipKey(c)
	if !h.limit(c, actLogin, ip) {
		return
	}
	in, err := h.read(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	// The account name the login is about, picked as the password
	// authenticator picks it; the same for unknown names, so a lockout
	// reveals nothing.
	var who struct {
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	_ = in.Bind(&who, true)
	name := h.lockoutName(who.Username, who.Email)
	if !h.peekLimit(c, actLoginFailedIP, ip) {
		return
	}
	// The attempt counts against the name before the (slow) password
	// check, so concurrent guesses cannot all get in; a successful login
	// gives the allowance back.
	if !h.limit(c, actLoginFailed, nameKey(name)) {
		return
	}
	ctx := c.Request.Context()
	u, err := h.authenticateLogin(ctx, in)
	if err != nil {
		if errors.Is(err, login.ErrInvalidCredentials) {
			h.loginFailed(c, name)
		}
		h.fail(c, err)
		return
	}
	h.clearLockout(ctx, name)
	cred, err := h.Login.Login(ctx, u)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respondCredentials(c, http.StatusOK, u, cred)
}

// lockoutName is the name a password login is about, chosen as
// login.Password.Authenticate chooses it.
func (h *API[U]) lockoutName(username, email string) string {
	m := h.Password.Methods
	switch {
	case m.Email && email != "":
		return email
	case m.Email && !m.Username && strings.Contains(username, "@"):
		return username
	case m.Username:
		return username
	}
	return ""
}

// LoginBody returns the body login/ answers for u's new credentials
// (without cookies: there is no request).
func (h *API[U]) LoginBody(u *U, cred login.Credentials) any {
	return h.credentialsBody(u, cred, false)
}
