package endpoints

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/signup"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// requireField adds "required"/"blank" for a field the config makes
// mandatory but the DTO cannot declare as such.
func requireField(f *verr.Fields, in *handlers.Input, name, value string) {
	if f.Has(name) || value != "" {
		return
	}
	if in.Has(name) {
		f.Add(name, locales.M("field.blank"))
	} else {
		f.Add(name, locales.M("field.required"))
	}
}

func (h *API[U]) register(c *gin.Context) {
	if h.RegisterPermission != nil {
		if err := h.RegisterPermission(c); err != nil {
			msg := err.Error()
			if msg == "" {
				h.fail(c, apierr.Detail(http.StatusForbidden, locales.M("registration.forbidden")))
				return
			}
			h.fail(c, apierr.Detail(http.StatusForbidden, locales.Message{ID: msg, Default: msg}))
			return
		}
	}
	if !h.limit(c, actSignup, h.ipKey(c)) {
		return
	}
	h.recordClient(c)
	in, err := h.read(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	var req dto.RegisterRequest
	var f verr.Fields
	if err := in.Bind(&req, false); !f.Merge(err) {
		h.fail(c, err)
		return
	}
	if h.UsernameRequired {
		requireField(&f, in, "username", req.Username)
	}
	if h.EmailRequired {
		requireField(&f, in, "email", req.Email)
	}
	ctx := h.mailContext(c)
	u := new(U)
	if h.RegisterFields != nil {
		if err := h.RegisterFields(ctx, u, in); !f.Merge(err) {
			h.fail(c, err)
			return
		}
	}
	form := signup.Form{Username: req.Username, Email: req.Email, Password1: req.Password1, Password2: req.Password2}
	cred, err := h.Signup.Register(ctx, u, form, f)
	if err != nil {
		h.fail(c, err)
		return
	}
	if cred == nil {
		h.detail(c, http.StatusCreated, "registration.verification_sent")
		return
	}
	h.respondCredentials(c, http.StatusCreated, u, *cred)
}

func (h *API[U]) verifyEmail(c *gin.Context) {
	var req dto.VerifyEmailRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	if _, err := h.Signup.ConfirmEmail(c.Request.Context(), req.Key); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "registration.ok")
}

func (h *API[U]) resendEmail(c *gin.Context) {
	if !h.limit(c, actResendIP, h.ipKey(c)) {
		return
	}
	var req dto.ResendEmailRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	if err := h.Signup.Resend(h.mailContext(c), req.Email); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "registration.ok")
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="{{.Lang}}" dir="{{.Dir}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="referrer" content="no-referrer"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font-size:1.1rem;padding:.5rem 1.5rem}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p>
<form method="post" action="{{.Action}}"><input type="hidden" name="key" value="{{.Key}}"><button type="submit">{{.Button}}</button></form>
</body></html>
`))

// confirmPage is the GET page the default email link opens. It does not
// confirm by itself (mail scanners prefetch links); its button POSTs the
// key to verify-email/.
func (h *API[U]) confirmPage(c *gin.Context) {
	lang := h.lang(c)
	t := func(id string) string { return h.Catalog.Text(lang, locales.M(id)) }
	dir := "ltr"
	if locales.RightToLeft(lang) {
		dir = "rtl"
	}
	key := c.Param("key")
	if len(key) > 200 {
		key = ""
	}
	// The form posts to verify-email/ relative to this page, whose link
	// may have lost its trailing slash.
	action := "../../verify-email/"
	if !strings.HasSuffix(c.Request.URL.Path, "/") {
		action = "../verify-email/"
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = confirmPage.Execute(c.Writer, map[string]string{
		"Lang": lang, "Dir": dir, "Title": t("confirm_page.title"), "Text": t("confirm_page.text"), "Button": t("confirm_page.button"), "Key": key, "Action": action,
	})
}
