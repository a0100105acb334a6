package handlers

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/core"
)

// UserSerializer renders a user and applies the writable fields of user/
// to it: the Go form of USER_DETAILS_SERIALIZER. Update must only change
// fields the client may change; restauth never saves the password, email,
// flags or dates through user/ whatever Update does.
type UserSerializer[U any] interface {
	// Represent returns the JSON value shown for u.
	Represent(u *U) any
	// Update validates the request's fields and writes them onto u.
	// partial is true for PATCH (absent keys stay as they are).
	Update(ctx context.Context, u *U, in *Input, partial bool) error
}

// DefaultUserSerializer is dj-rest-auth's UserDetailsSerializer: pk,
// username, email, first_name, last_name; username, first_name and
// last_name writable. Embed it in your own serializer to extend it.
type DefaultUserSerializer[U any] struct{}

// Details returns the default representation of u.
func (DefaultUserSerializer[U]) Details(u *U) dto.UserDetails {
	b := core.Base(u)
	return dto.UserDetails{PK: b.ID, Username: b.Username, Email: b.Email, FirstName: b.FirstName, LastName: b.LastName}
}

// Represent returns Details(u).
func (s DefaultUserSerializer[U]) Represent(u *U) any { return s.Details(u) }

// Update applies username, first_name and last_name.
func (DefaultUserSerializer[U]) Update(_ context.Context, u *U, in *Input, partial bool) error {
	var req dto.UserDetailsUpdate
	if err := in.Bind(&req, partial); err != nil {
		return err
	}
	b := core.Base(u)
	if req.Username != nil {
		b.Username = *req.Username
	}
	if req.FirstName != nil {
		b.FirstName = *req.FirstName
	}
	if req.LastName != nil {
		b.LastName = *req.LastName
	}
	return nil
}

func (h *Handlers[U]) userGet(c *gin.Context) {
	u, err := h.user(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.ext.UserSerializer.Represent(u))
}

func (h *Handlers[U]) userUpdate(c *gin.Context) {
	cur, in, ok := h.userAndBody(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// Work on a copy of the user RequireAuth just loaded (no second
	// query); a failed update leaves the request's user unchanged.
	before := *cur
	u := new(U)
	*u = before
	if err := h.ext.UserSerializer.Update(ctx, u, in, c.Request.Method == http.MethodPatch); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.svc.SaveUserDetails(ctx, &before, u); err != nil {
		h.fail(c, err)
		return
	}
	c.Set(userKey, u)
	c.JSON(http.StatusOK, h.ext.UserSerializer.Represent(u))
}
