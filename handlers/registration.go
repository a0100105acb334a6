package handlers

import (
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/locales"
)

func (h *Handlers[U]) registerRoutes(r gin.IRouter) {
	h.route(r, "registration", map[string][]gin.HandlerFunc{http.MethodPost: {h.register}})
	h.route(r, "registration/verify-email", map[string][]gin.HandlerFunc{http.MethodPost: {h.verifyEmail}})
	h.route(r, "registration/resend-email", map[string][]gin.HandlerFunc{http.MethodPost: {h.resendEmail}})
	h.route(r, "registration/account-confirm-email/:key", map[string][]gin.HandlerFunc{http.MethodGet: {h.confirmPage}})
}

// requireField adds "required"/"blank" for a field the config makes
// mandatory but the DTO cannot declare as such.
func requireField(f *apierr.Fields, in *Input, name, value string) {
	if f.Has(name) || value != "" {
		return
	}
	if in.Has(name) {
		f.Add(name, locales.M("field.blank"))
	} else {
		f.Add(name, locales.M("field.required"))
	}
}

func (h *Handlers[U]) register(c *gin.Context) {
	if h.ext.RegisterPermission != nil {
		if err := h.ext.RegisterPermission(c); err != nil {
			msg := err.Error()
			if msg == "" {
				h.fail(c, apierr.Detail(http.StatusForbidden, locales.M("registration.forbidden")))
				return
			}
			h.fail(c, apierr.Detail(http.StatusForbidden, locales.Message{ID: msg, Default: msg}))
			return
		}
	}
	in, err := h.read(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	var req dto.RegisterRequest
	var f apierr.Fields
	if e := bindErr(in.Bind(&req, false)); e != nil && !f.Merge(e) {
		h.fail(c, e)
		return
	}
	if h.set.UsernameRequired {
		requireField(&f, in, "username", req.Username)
	}
	if h.set.EmailRequired {
		requireField(&f, in, "email", req.Email)
	}
	ctx := c.Request.Context()
	u := new(U)
	if h.ext.RegisterFields != nil {
		if err := h.ext.RegisterFields(ctx, u, in); err != nil {
			e := bindErr(err)
			if e == nil || !f.Merge(e) {
				h.fail(c, err)
				return
			}
		}
	}
	su := core.Signup{Username: req.Username, Email: req.Email, Password1: req.Password1, Password2: req.Password2}
	res, err := h.svc.Register(ctx, u, su, h.set.TokenAuth, f)
	if err != nil {
		h.fail(c, err)
		return
	}
	if h.set.Verification == core.VerificationMandatory {
		h.detail(c, http.StatusCreated, "registration.verification_sent")
		return
	}
	h.respondCredentials(c, http.StatusCreated, u, res.Credentials)
}

// bindErr returns err as an *apierr.Error when it is one.
func bindErr(err error) *apierr.Error {
	if err == nil {
		return nil
	}
	if ae, ok := err.(*apierr.Error); ok {
		return ae
	}
	return apierr.Unavailable(err)
}

func (h *Handlers[U]) verifyEmail(c *gin.Context) {
	var req dto.VerifyEmailRequest
	_, ok := h.bindBody(c, &req)
	if !ok {
		return
	}
	if _, err := h.svc.ConfirmEmail(c.Request.Context(), req.Key); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "registration.ok")
}

func (h *Handlers[U]) resendEmail(c *gin.Context) {
	var req dto.ResendEmailRequest
	_, ok := h.bindBody(c, &req)
	if !ok {
		return
	}
	if err := h.svc.ResendConfirmation(c.Request.Context(), req.Email); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "registration.ok")
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.5rem 1.5rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
<form method="post" action="../../verify-email/"><input type="hidden" name="key" value="{{.Key}}"><button type="submit">{{.Button}}</button></form>
</body></html>
`))

// confirmPage is the GET page the default email link opens. It does not
// confirm by itself (mail scanners prefetch links); its button POSTs the
// key to verify-email/.
func (h *Handlers[U]) confirmPage(c *gin.Context) {
	lang := c.GetHeader("Accept-Language")
	t := func(id string) string { return h.cat.Text(lang, locales.M(id)) }
	key := c.Param("key")
	if len(key) > 200 {
		key = ""
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = confirmPage.Execute(c.Writer, map[string]string{
		"Lang": "en", "Title": t("confirm_page.title"), "Text": t("confirm_page.text"), "Button": t("confirm_page.button"), "Key": key,
	})
}
