package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/locales"
)

func (h *Handlers[U]) passwordReset(c *gin.Context) {
	var req dto.PasswordResetRequest
	_, ok := h.bindBody(c, &req)
	if !ok {
		return
	}
	if err := h.svc.SendPasswordReset(c.Request.Context(), req.Email); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "password_reset.sent")
}

func (h *Handlers[U]) passwordResetConfirm(c *gin.Context) {
	var req dto.PasswordResetConfirmRequest
	in, ok := h.bindBody(c, &req)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var extra func(u *U) error
	if h.ext.PasswordResetConfirmCheck != nil {
		extra = func(u *U) error { return h.ext.PasswordResetConfirmCheck(ctx, u, in) }
	}
	if _, err := h.svc.ConfirmPasswordReset(ctx, req.UID, req.Token, req.NewPassword1, req.NewPassword2, extra); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "password_reset.done")
}

func (h *Handlers[U]) passwordChange(c *gin.Context) {
	u, in, ok := h.userAndBody(c)
	if !ok {
		return
	}
	var req dto.PasswordChangeRequest
	bindErr := in.Bind(&req, false)
	old := ""
	if h.set.OldPasswordFieldEnabled {
		var f apierr.Fields
		if req.OldPassword == nil || *req.OldPassword == "" {
			if !in.Has("old_password") {
				f.Add("old_password", locales.M("field.required"))
			} else if req.OldPassword != nil || bindErr == nil {
				f.Add("old_password", locales.M("field.blank"))
			}
		} else {
			old = *req.OldPassword
		}
		if bindErr != nil || len(f) > 0 {
			h.fail(c, JoinFieldErrors(bindErr, f.Err()))
			return
		}
	} else if bindErr != nil {
		// The field does not exist in this configuration: ignore it.
		if ae, ok := bindErr.(*apierr.Error); ok && ae.Fields != nil {
			delete(ae.Fields, "old_password")
			if len(ae.Fields) == 0 {
				bindErr = nil
			}
		}
		if bindErr != nil {
			h.fail(c, bindErr)
			return
		}
	}
	ctx := c.Request.Context()
	if h.ext.PasswordChangeCheck != nil {
		if err := h.ext.PasswordChangeCheck(ctx, u, in); err != nil {
			h.fail(c, err)
			return
		}
	}
	err := h.svc.ChangePassword(ctx, u, session(c), old, h.set.OldPasswordFieldEnabled, req.NewPassword1, req.NewPassword2)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "password_change.done")
}
