package handlers

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/core"
	"github.com/restauth/restauth/locales"
)

// JWTSettings are the JWT-mode switches (dj-rest-auth's JWT_AUTH_*).
type JWTSettings struct {
	Enabled           bool
	LegacyResponse    bool // JWTResponseStyle "v0.9"
	ReturnExpiration  bool
	Rotate            bool
	CheckRevoked      bool
	Cookie            string
	RefreshCookie     string
	RefreshCookiePath string
	CookieDomain      string
	Secure            bool
	HTTPOnly          bool
	SameSite          http.SameSite
	UseCSRF           bool
	EnforceCSRF       bool // on unauthenticated requests too
	CSRFCookie        string
	CSRFHeader        string
}

// csrfOn reports whether CSRF checks can apply at all: they protect
// cookie-borne credentials.
func (j JWTSettings) csrfOn() bool {
	return j.Enabled && (j.Cookie != "" || j.RefreshCookie != "") && (j.UseCSRF || j.EnforceCSRF)
}

func (h *Handlers[U]) jwtRoutes(r gin.IRouter) {
	h.route(r, "token/refresh", map[string][]gin.HandlerFunc{http.MethodPost: {h.tokenRefresh}})
	h.route(r, "token/verify", map[string][]gin.HandlerFunc{http.MethodPost: {h.tokenVerify}})
}

// credentialsBody is the body of a login or registration; cookies tells
// whether the JWT cookies were set with it.
func (h *Handlers[U]) credentialsBody(u *U, cred core.Credentials, cookies bool) any {
	if !h.set.JWT.Enabled {
		if h.ext.TokenResponse != nil {
			return h.ext.TokenResponse(cred.Key, u)
		}
		return dto.TokenResponse{Key: cred.Key}
	}
	user := h.ext.UserSerializer.Represent(u)
	if h.set.JWT.LegacyResponse {
		return dto.LegacyJWTResponse{Token: cred.Access, User: user}
	}
	refresh := cred.Refresh
	if cookies {
		refresh = h.bodyRefresh(refresh)
	}
	r := dto.JWTResponse{Access: cred.Access, Refresh: refresh, User: user}
	if h.set.JWT.ReturnExpiration {
		r.AccessExpiration, r.RefreshExpiration = &cred.AccessExpires, &cred.RefreshExpires
	}
	return r
}

// bodyRefresh blanks the refresh token in a body only when it travels in
// an HttpOnly cookie instead, so it is never lost.
func (h *Handlers[U]) bodyRefresh(refresh string) string {
	if h.set.JWT.RefreshCookie != "" && h.set.JWT.HTTPOnly {
		return ""
	}
	return refresh
}

// respondCredentials sets the JWT cookies (if any) and writes the body.
func (h *Handlers[U]) respondCredentials(c *gin.Context, status int, u *U, cred core.Credentials) {
	if h.set.JWT.Enabled {
		h.setAuthCookies(c, cred)
		if h.set.JWT.csrfOn() {
			h.setCSRFCookie(c, true)
		}
	}
	c.JSON(status, h.credentialsBody(u, cred, true))
}

// cookie builds a JWT cookie with the configured attributes; a zero
// expires deletes it.
func (h *Handlers[U]) cookie(name, value, path string, expires time.Time) *http.Cookie {
	ck := &http.Cookie{
		Name: name, Value: value, Path: path, Domain: h.set.JWT.CookieDomain,
		Secure: h.set.JWT.Secure, HttpOnly: h.set.JWT.HTTPOnly, SameSite: h.set.JWT.SameSite,
	}
	if expires.IsZero() {
		ck.MaxAge = -1 // sent as Max-Age=0
		ck.Expires = time.Unix(0, 0)
		return ck
	}
	ck.Expires = expires.UTC()
	ck.MaxAge = int(expires.Sub(h.svc.Now()) / time.Second)
	if ck.MaxAge <= 0 {
		ck.MaxAge = -1
	}
	return ck
}

// setAuthCookies sets the access cookie and, when a refresh token was
// issued, the refresh cookie.
func (h *Handlers[U]) setAuthCookies(c *gin.Context, cred core.Credentials) {
	j := h.set.JWT
	if j.Cookie != "" && cred.Access != "" {
		http.SetCookie(c.Writer, h.cookie(j.Cookie, cred.Access, "/", cred.AccessExpires))
	}
	if j.RefreshCookie != "" && cred.Refresh != "" {
		http.SetCookie(c.Writer, h.cookie(j.RefreshCookie, cred.Refresh, j.RefreshCookiePath, cred.RefreshExpires))
	}
}

// unsetAuthCookies deletes the JWT cookies with the attributes they were
// set with (a browser keeps a cookie whose path or domain differs).
func (h *Handlers[U]) unsetAuthCookies(c *gin.Context) {
	j := h.set.JWT
	if j.Cookie != "" {
		http.SetCookie(c.Writer, h.cookie(j.Cookie, "", "/", time.Time{}))
	}
	if j.RefreshCookie != "" {
		http.SetCookie(c.Writer, h.cookie(j.RefreshCookie, "", j.RefreshCookiePath, time.Time{}))
	}
}

func (h *Handlers[U]) accessCookie(c *gin.Context) string {
	if !h.set.JWT.Enabled || h.set.JWT.Cookie == "" {
		return ""
	}
	v, err := c.Cookie(h.set.JWT.Cookie)
	if err != nil {
		return ""
	}
	return v
}

func (h *Handlers[U]) refreshCookie(c *gin.Context) string {
	if h.set.JWT.RefreshCookie == "" {
		return ""
	}
	v, err := c.Cookie(h.set.JWT.RefreshCookie)
	if err != nil {
		return ""
	}
	return v
}

// setCSRFCookie gives the client a CSRF token (readable by its scripts,
// which echo it in the X-CSRFToken header). fresh replaces an existing one
// (at login); otherwise a request that has one keeps it.
func (h *Handlers[U]) setCSRFCookie(c *gin.Context, fresh bool) {
	if _, done := c.Get(csrfKey); done {
		return
	}
	if !fresh {
		if v, err := c.Cookie(h.set.JWT.CSRFCookie); err == nil && v != "" {
			return
		}
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return
	}
	ck := &http.Cookie{
		Name: h.set.JWT.CSRFCookie, Value: hex.EncodeToString(b[:]), Path: "/", Domain: h.set.JWT.CookieDomain,
		Secure: h.set.JWT.Secure, SameSite: h.set.JWT.SameSite, MaxAge: 365 * 24 * 3600,
	}
	http.SetCookie(c.Writer, ck)
	c.Set(csrfKey, true)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// csrfCheck enforces the double-submit rule on unsafe requests without a
// Token or Bearer Authorization header: when they carry a JWT cookie, access or refresh
// (JWTAuthCookieUseCSRF; so no other site can refresh or log out with the
// cookie either), or always (JWTAuthCookieEnforceCSRFOnUnauthenticated).
func (h *Handlers[U]) csrfCheck(c *gin.Context) *apierr.Error {
	j := h.set.JWT
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
		return apierr.Detail(http.StatusForbidden, locales.M("csrf.failed", "Reason", h.cat.Text(c.GetHeader("Accept-Language"), locales.M(reason))))
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

// csrfGuard runs in front of restauth's own endpoints: it hands out the
// CSRF cookie and enforces the check.
func (h *Handlers[U]) csrfGuard(c *gin.Context) {
	h.setCSRFCookie(c, false)
	if e := h.csrfCheck(c); e != nil {
		h.fail(c, e)
		return
	}
	c.Next()
}

func jwtDetail(id string) *apierr.Error {
	e := apierr.Detail(http.StatusUnauthorized, locales.M(id))
	e.Code = "token_not_valid"
	e.Header = map[string]string{"WWW-Authenticate": bearerChallenge}
	return e
}

func (h *Handlers[U]) tokenRefresh(c *gin.Context) {
	var req dto.RefreshRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	raw := req.Refresh
	if raw == "" {
		raw = h.refreshCookie(c)
	}
	if raw == "" {
		h.fail(c, jwtDetail("jwt.no_refresh"))
		return
	}
	rotate := h.set.JWT.Rotate
	cred, err := h.svc.Refresh(c.Request.Context(), raw, rotate)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setAuthCookies(c, cred)
	out := dto.RefreshResponse{Access: cred.Access, AccessExpiration: cred.AccessExpires}
	if rotate {
		r := h.bodyRefresh(cred.Refresh)
		out.Refresh, out.RefreshExpiration = &r, &cred.RefreshExpires
	}
	c.JSON(http.StatusOK, out)
}

func (h *Handlers[U]) tokenVerify(c *gin.Context) {
	var req dto.VerifyRequest
	if _, ok := h.bindBody(c, &req); !ok {
		return
	}
	if err := h.svc.VerifyToken(c.Request.Context(), req.Token, h.set.JWT.CheckRevoked); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// logoutJWT is logout/ in JWT mode: it deletes the cookies and blacklists
// the refresh token from the body or the refresh cookie. Without a usable
// one, a token key is revoked as in token mode, or else a valid access
// token ends its own login. It answers 200 whatever was (or was not)
// presented: logout is idempotent and tells nothing about a token. A
// blacklisted refresh token presented again still revokes its family.
func (h *Handlers[U]) logoutJWT(c *gin.Context, in *Input) {
	ctx := c.Request.Context()
	var req dto.RefreshRequest
	if in != nil {
		if err := in.Bind(&req, false); err != nil {
			h.fail(c, err)
			return
		}
	}
	h.unsetAuthCookies(c)
	raw := req.Refresh
	if raw == "" {
		raw = h.refreshCookie(c)
	}
	if raw != "" {
		u, err := h.svc.LogoutRefresh(ctx, raw)
		if err == nil {
			h.finishLogout(c, u, "")
			return
		}
		if ae := asAPIError(err); ae.Status >= 500 {
			h.fail(c, ae)
			return
		}
	}
	if u, key := h.optionalUser(c); key != "" {
		h.finishLogout(c, u, key)
		return
	}
	if u, ok := h.endAccessSession(ctx, c); ok {
		h.finishLogout(c, u, "")
		return
	}
	h.finishLogout(c, nil, "")
}

// endAccessSession revokes the refresh family of a valid access token
// (header or cookie) and returns its user.
func (h *Handlers[U]) endAccessSession(ctx context.Context, c *gin.Context) (*U, bool) {
	scheme, raw, perr := h.authHeader(c)
	if perr != nil {
		return nil, false
	}
	switch scheme {
	case "bearer":
	case "":
		raw = h.accessCookie(c)
	default:
		return nil, false
	}
	if raw == "" {
		return nil, false
	}
	cl, id, ok := h.accessClaims(raw)
	if !ok {
		return nil, false
	}
	if err := h.svc.RevokeSession(ctx, id, cl.SID); err != nil {
		return nil, false
	}
	u, _ := h.svc.UserByID(ctx, id)
	return u, true
}

func (h *Handlers[U]) finishLogout(c *gin.Context, u *U, key string) {
	if err := h.svc.Logout(c.Request.Context(), u, key); err != nil {
		h.fail(c, err)
		return
	}
	h.detail(c, http.StatusOK, "logout.success")
}
