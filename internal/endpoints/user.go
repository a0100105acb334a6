package endpoints

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// user is user/: GET shows the user, PUT and PATCH update it through the
// serializer.
func (h *API[U]) user(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodPut, http.MethodPatch:
		h.userUpdate(c)
		return
	}
	u, err := currentUser[U](c)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, h.Serializer.Represent(u))
}

func (h *API[U]) userUpdate(c *gin.Context) {
	cur, in, ok := h.userAndBody(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	// The snapshot is encoded, so a serializer that changes a slice, map
	// or pointer column in place is still seen to change it.
	before, err := h.Users.Snapshot(ctx, cur)
	if err != nil {
		h.fail(c, err)
		return
	}
	// Work on a copy of the user RequireAuth just loaded (no second
	// query).
	u := new(U)
	*u = *cur
	if err := h.Serializer.Update(ctx, u, in, c.Request.Method == http.MethodPatch); err != nil {
		h.fail(c, err)
		return
	}
	if err := h.Users.SaveChanged(ctx, before, u); err != nil {
		if err == users.ErrUsernameTaken {
			err = verr.Field("username", locales.M("user.username_taken"))
		}
		h.fail(c, err)
		return
	}
	c.Set(userKey, u)
	c.JSON(http.StatusOK, h.Serializer.Represent(u))
}
