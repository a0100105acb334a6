package endpoints

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/sessions"
	"github.com/restauth/restauth/locales"
)

// credentialsBody is the body of a login or registration; cookies tells
// whether the JWT cookies were set with it.
func (h *API[U]) credentialsBody(u *U, cred login.Credentials, cookies bool) any {
	if h.JWT == nil {
		if h.TokenResponse != nil {
			return h.TokenResponse(cred.Key, u)
		}
		return dto.TokenResponse{Key: cred.Key}
	}
	user := h.Serializer.Represent(u)
	if h.JWT.Legacy {
		return dto.LegacyJWTResponse{Token: cred.Access, User: user}
	}
	refresh := cred.Refresh
	if cookies {
		refresh = h.bodyRefresh(refresh)
	}
	r := dto.JWTResponse{Access: cred.Access, Refresh: refresh, User: user}
	if h.JWT.ReturnExpiration {
		r.AccessExpiration, r.RefreshExpiration = &cred.AccessExpires, &cred.RefreshExpires
	}
	return r
}

// bodyRefresh blanks the refresh token in a body only when it travels in
// an HttpOnly cookie instead, so it is never lost.
func (h *API[U]) bodyRefresh(refresh string) string {
	if h.JWT.RefreshCookie != "" && h.JWT.HTTPOnly {
		return ""
	}
	return refresh
}

// noStore keeps an answer that carries a credential out of every cache
// (browsers, proxies), as RFC 6749 §5.1 asks of token responses.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// respondCredentials sets the JWT cookies (if any) and writes the body,
// uncacheable.
func (h *API[U]) respondCredentials(c *gin.Context, status int, u *U, cred login.Credentials) {
	noStore(c)
	if h.JWT != nil {
		h.setAuthCookies(c, cred)
		if h.JWT.csrfOn() {
			h.setCSRFCookie(c, true)
		}
	}
	c.JSON(status, h.credentialsBody(u, cred, true))
}

// cookie builds a JWT cookie with the configured attributes; a zero
// expires deletes it.
func (h *API[U]) cookie(name, value, path string, expires time.Time) *http.Cookie {
	j := h.JWT
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, Domain: j.CookieDomain,
		Secure: j.Secure, HttpOnly: j.HTTPOnly, SameSite: j.SameSite,
	}
	if expires.IsZero() {
		ck.MaxAge = -1 // sent as Max-Age=0
		ck.Expires = time.Unix(0, 0)
		return ck
	}
	ck.Expires = expires.UTC()
	ck.MaxAge = int(expires.Sub(h.Now().UTC()) / time.Second)
	if ck.MaxAge <= 0 {
		ck.MaxAge = -1
	}
	return ck
}

// setAuthCookies sets the access cookie and, when a refresh token was
// issued, the refresh cookie.
func (h *API[U]) setAuthCookies(c *gin.Context, cred login.Credentials) {
	j := h.JWT
	if j.Cookie != "" && cred.Access != "" {
		http.SetCookie(c.Writer, h.cookie(j.Cookie, cred.Access, "/", cred.AccessExpires))
	}
	if j.RefreshCookie != "" && cred.Refresh != "" {
		http.SetCookie(c.Writer, h.cookie(j.RefreshCookie, cred.Refresh, j.RefreshCookiePath, cred.RefreshExpires))
	}
}

// unsetAuthCookies deletes the JWT cookies with the attributes they were
// set with (a browser keeps a cookie whose path or domain differs).
func (h *API[U]) unsetAuthCookies(c *gin.Context) {
	j := h.JWT
	if j.Cookie != "" {
		http.SetCookie(c.Writer, h.cookie(j.Cookie, "", "/", time.Time{}))
	}
	if j.RefreshCookie != "" {
		http.SetCookie(c.Writer, h.cookie(j.RefreshCookie, "", j.RefreshCookiePath, time.Time{}))
	}
}

func (h *API[U]) accessCookie(c *gin.Context) string {
	if h.JWT == nil || h.JWT.Cookie == "" {
		return ""
	}
	v, err := c.Cookie(h.JWT.Cookie)
	if err != nil {
		return ""
	}
	return v
}

func (h *API[U]) refreshCookie(c *gin.Context) string {
	if h.JWT == nil || h.JWT.RefreshCookie == "" {
		return ""
	}
	v, err := c.Cookie(h.JWT.RefreshCookie)
	if err != nil {
		return ""
	}
	return v
}

// setCSRFCookie gives the client a CSRF token (readable by its scripts,
// which echo it in the X-CSRFToken header). fresh replaces an existing one
// (at login); otherwise a request that has one keeps it.
func (h *API[U]) setCSRFCookie(c *gin.Context, fresh bool) {
	if _, done := c.Get(csrfKey); done {
		return
	}
	j := h.JWT
	if !fresh {
		if v, err := c.Cookie(j.CSRFCookie); err == nil && v != "" {
			return
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return
	}
	ck := &http.Cookie{
		Name: j.CSRFCookie, Value: hex.EncodeToString(b[:]), Path: "/", Domain: j.CookieDomain,
		Secure: j.Secure, SameSite: j.SameSite, MaxAge: 365 * 24 * 3600,
	}
	http.SetCookie(c.Writer, ck)
	c.Set(csrfKey, true)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// csrfCheck enforces the double-submit rule on unsafe requests without a
// Token or Bearer Authorization header: when they carry a JWT cookie,
// access or refresh (CookieUseCSRF; so no other site can refresh or log
// out with the cookie either), or always (EnforceCSRFOnUnauthenticated).
func (h *API[U]) csrfCheck(c *gin.Context) *apierr.Error {
	j := h.JWT
	if !j.csrfOn() || safeMethod(c.Request.Method) {
		return nil
	}
	// Only a header that authenticates makes a request header-borne: a
	// browser adds cached Basic credentials to cross-site posts by itself.
	if scheme, _, perr := h.authHeader(c); perr == nil && (scheme == "token" || scheme == "bearer") {
		return nil
	}
	if !j.EnforceCSRF && h.accessCookie(c) == "" && h.refreshCookie(c) == "" {
		return nil
	}
	fail := func(reason string) *apierr.Error {
		return apierr.Detail(http.StatusForbidden, locales.M("csrf.failed", "Reason", locales.M(reason)))
	}
	want, err := c.Cookie(j.CSRFCookie)
	if err != nil || want == "" {
		return fail("csrf.no_cookie")
	}
	got := c.GetHeader(j.CSRFHeader)
	if got == "" {
		return fail("csrf.missing")
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fail("csrf.incorrect")
	}
	return nil
}

// csrfPass hands out the CSRF cookie and enforces the check; on failure
// it has answered and reports false.
func (h *API[U]) csrfPass(c *gin.Context) bool {
	h.setCSRFCookie(c, false)
	if e := h.csrfCheck(c); e != nil {
		h.fail(c, e)
		return false
	}
	return true
}

// csrfGuard is csrfPass as middleware in front of restauth's routes.
func (h *API[U]) csrfGuard(c *gin.Context) {
	if h.csrfPass(c) {
		c.Next()
	}
}

func (h *API[U]) tokenRefresh(c *gin.Context) {
	if !h.limit(c, actTokenRefresh, h.ipKey(c)) {
		return
	}
	var req dto.RefreshRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	raw := req.Refresh
	if raw == "" {
		raw = h.refreshCookie(c)
	}
	if raw == "" {
		h.fail(c, jwtError("jwt.no_refresh", "token_not_valid"))
		return
	}
	pair, err := h.Sessions.Refresh(c.Request.Context(), raw)
	if err != nil {
		h.fail(c, err)
		return
	}
	noStore(c)
	h.touchFamily(c, pair.Family)
	h.setAuthCookies(c, login.Credentials{Pair: pair})
	out := dto.RefreshResponse{Access: pair.Access, AccessExpiration: pair.AccessExpires}
	if pair.Refresh != "" {
		r := h.bodyRefresh(pair.Refresh)
		out.Refresh, out.RefreshExpiration = &r, &pair.RefreshExpires
	}
	c.JSON(http.StatusOK, out)
}

func (h *API[U]) tokenVerify(c *gin.Context) {
	var req dto.VerifyRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	ctx := c.Request.Context()
	if err := h.Sessions.Verify(ctx, req.Token); err != nil {
		h.fail(c, err)
		return
	}
	// An access token of a revoked login is no longer valid here either,
	// as RequireAuth refuses it.
	if claims, _, ok := h.Sessions.Access(req.Token); ok && h.Revoked != nil && !h.JWT.CheckRevoked {
		rev, err := h.Revoked.Revoked(ctx, claims.SID)
		if err != nil {
			h.Log.WarnContext(ctx, "restauth: revoked logins not refreshed; using the last set", "err", err)
		}
		if rev {
			h.fail(c, sessions.ErrInvalid)
			return
		}
	}
	c.JSON(http.StatusOK, gin.H{})
}
