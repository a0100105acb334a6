package endpoints

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

func (h *API[U]) passwordReset(c *gin.Context) {
	if !h.limit(c, actPasswordResetIP, h.ipKey(c)) {
		return
	}
	var req dto.PasswordResetRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	if !h.limit(c, actPasswordReset, nameKey(req.Email)) {
		return
	}
	if err := h.Passwords.SendReset(h.mailContext(c), req.Email); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "password_reset.sent")
}

func (h *API[U]) passwordResetConfirm(c *gin.Context) {
	if !h.limit(c, actPasswordResetConfirm, h.ipKey(c)) {
		return
	}
	var req dto.PasswordResetConfirmRequest
	in, ok := h.bindBody(c, &req)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var extra func(u *U) error
	if h.PasswordResetConfirmCheck != nil {
		extra = func(u *U) error { return h.PasswordResetConfirmCheck(ctx, u, in) }
	}
	u, err := h.Passwords.ConfirmReset(ctx, req.UID, req.Token, req.NewPassword1, req.NewPassword2, extra)
	if err != nil {
		h.fail(c, err)
		return
	}
	// The owner proved control of the address: failed logins no longer
	// lock the account.
	b := users.Base(u)
	h.clearLockout(ctx, b.Username, b.Email)
	h.detail(c, http.StatusOK, "password_reset.done")
}

// oldPassword reads old_password when the field is enabled; without it
// the field does not exist and its errors are dropped.
func (h *API[U]) oldPassword(in *handlers.Input, req *dto.PasswordChangeRequest, bindErr error) (*string, error) {
	if !h.OldPasswordField {
		var ve *verr.Error
		if bindErr != nil && asVerr(bindErr, &ve) {
			delete(ve.Fields, "old_password")
			if len(ve.Fields) == 0 {
				bindErr = nil
			}
		}
		return nil, bindErr
	}
	var f verr.Fields
	if req.OldPassword == nil || *req.OldPassword == "" {
		if !in.Has("old_password") {
			f.Add("old_password", locales.M("field.required"))
		} else if req.OldPassword != nil || bindErr == nil {
			f.Add("old_password", locales.M("field.blank"))
		}
	}
	if bindErr != nil || len(f) > 0 {
		return nil, handlers.JoinFieldErrors(bindErr, f.Err())
	}
	return req.OldPassword, nil
}

func (h *API[U]) passwordChange(c *gin.Context) {
	u, in, ok := h.userAndBody(c)
	if !ok {
		return
	}
	if !h.limit(c, actPasswordChange, "user:"+strconv.FormatUint(uint64(users.Base(u).ID), 10)) {
		return
	}
	var req dto.PasswordChangeRequest
	old, err := h.oldPassword(in, &req, in.Bind(&req, false))
	if err != nil {
		h.fail(c, err)
		return
	}
	ctx := c.Request.Context()
	if h.PasswordChangeCheck != nil {
		if err := h.PasswordChangeCheck(ctx, u, in); err != nil {
			h.fail(c, err)
			return
		}
	}
	if err := h.Passwords.Change(ctx, u, current(c), old, req.NewPassword1, req.NewPassword2); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "password_change.done")
}
