package endpoints

import (
	"context"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/locales"
)

// langKey is the gin context key of a request's negotiated language.
const langKey = "restauth.lang"

// lang returns the language of c's messages and e-mails: what
// Settings.Language picks, else the Accept-Language header, matched
// against the catalog (English when nothing matches). It is negotiated
// once per request, only for answers that carry text, and named in the
// answer's Content-Language header.
func (h *API[U]) lang(c *gin.Context) string {
	if v, ok := c.Get(langKey); ok {
		if s, ok := v.(string); ok {
			return s
		}
	}
	// Set first: a hook that calls back into an answer with text does not
	// recurse.
	c.Set(langKey, "en")
	want := ""
	if h.Language != nil {
		want = h.askLanguage(c)
	}
	if want == "" {
		want = c.GetHeader("Accept-Language")
	}
	tag := h.Catalog.Match(want).String()
	c.Set(langKey, tag)
	c.Header("Content-Language", tag)
	// Caches must not give this answer to a client of another language.
	c.Writer.Header().Add("Vary", "Accept-Language")
	return tag
}

// askLanguage calls Settings.Language; a panic in it is logged and the
// header decides instead (http.ErrAbortHandler goes on up, as net/http
// means it to).
func (h *API[U]) askLanguage(c *gin.Context) (lang string) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if r == http.ErrAbortHandler {
			panic(r)
		}
		h.Log.ErrorContext(c.Request.Context(), "restauth: Config.Language panicked", "path", c.FullPath(), "panic", r, "stack", string(debug.Stack()))
		lang = ""
	}()
	return h.Language(c)
}

// text returns the renderer of c's messages in its language.
func (h *API[U]) text(c *gin.Context) func(locales.Message) string {
	lang := h.lang(c)
	return func(m locales.Message) string { return h.Catalog.Text(lang, m) }
}

// mailContext returns c's request context carrying c's language, for the
// services that may send an e-mail: it is written in that language.
func (h *API[U]) mailContext(c *gin.Context) context.Context {
	return mail.WithLang(c.Request.Context(), h.lang(c))
}
