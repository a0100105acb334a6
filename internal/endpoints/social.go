package endpoints

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/identity"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/socialauth"
)

// Social is the social-login service set (nil without providers).
type Social[U any] struct {
	// Providers in configuration order.
	Providers      []*socialauth.Provider
	Verifier       *identity.Verifier
	Accounts       *social.Accounts[U]
	Authorizations *social.Authorizations
	// LoginRedirectURL is where callback/ sends the browser in JWT
	// cookie mode.
	LoginRedirectURL string
	// Expire is the lifetime of an authorization flow (and its cookie).
	Expire time.Duration
	// SecureCookie marks the flow cookie Secure.
	SecureCookie bool
}

// flowCookie binds authorization flows to the browser that started them.
// Over HTTPS it carries the __Host- prefix, so a sibling subdomain cannot
// plant one.
const flowCookie = "restauth_social_flow"

func (h *API[U]) flowCookieName() string {
	if h.Social.SecureCookie {
		return "__Host-" + flowCookie
	}
	return flowCookie
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (h *API[U]) rules(p *socialauth.Provider) social.Rules {
	return social.Rules{Name: p.Name, EmailAuthentication: p.EmailAuthentication, AutoConnect: p.EmailAuthenticationAutoConnect}
}

// socialIdentity reads a social login body and verifies the identity it
// carries.
func (h *API[U]) socialIdentity(c *gin.Context, p *socialauth.Provider) (social.Identity, error) {
	in, err := h.read(c)
	if err != nil {
		return social.Identity{}, err
	}
	ctx := c.Request.Context()
	if p.OAuth1 {
		var req dto.SocialOAuth1Request
		if err := in.Bind(&req, false); err != nil {
			return social.Identity{}, err
		}
		return h.Social.Verifier.Resolve(ctx, p, identity.Request{AccessToken: req.AccessToken, TokenSecret: req.TokenSecret})
	}
	var req dto.SocialLoginRequest
	if err := in.Bind(&req, false); err != nil {
		return social.Identity{}, err
	}
	r := identity.Request{
		AccessToken: req.AccessToken, Code: req.Code, IDToken: req.IDToken,
		CodeVerifier: req.CodeVerifier, RedirectURI: req.RedirectURI, Nonce: req.Nonce,
	}
	if r.AccessToken == "" {
		r.AccessToken = req.AccessTokenCamel
	}
	if req.State != "" && r.AccessToken == "" {
		// A flow started by authorize/: its secrets, never the body's.
		if r.Code == "" {
			return social.Identity{}, social.ErrIncorrectInput
		}
		pend, err := h.Social.Authorizations.Take(ctx, p.Name, req.State, h.flowBrowser(c))
		if err != nil {
			return social.Identity{}, err
		}
		r.CodeVerifier, r.RedirectURI, r.Nonce, r.IDToken = pend.Verifier, pend.RedirectURI, pend.Nonce, ""
		r.FromAuthorization = true
	}
	id, err := h.Social.Verifier.Resolve(ctx, p, r)
	if err != nil {
		return social.Identity{}, err
	}
	if p.AcceptNames {
		if req.FirstName != "" {
			id.FirstName = req.FirstName
		}
		if req.LastName != "" {
			id.LastName = req.LastName
		}
	}
	return id, nil
}

// socialLogin is POST <name>/: it ignores credentials the request
// carries (as login/ does).
func (h *API[U]) socialLogin(p *socialauth.Provider) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !h.limit(c, actSocial, h.ipKey(c)) {
			return
		}
		h.recordClient(c)
		id, err := h.socialIdentity(c, p)
		if err != nil {
			h.fail(c, err)
			return
		}
		res, err := h.Social.Accounts.Login(h.mailContext(c), h.rules(p), id)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.respondCredentials(c, http.StatusOK, res.User, res.Credentials)
	}
}

// socialConnect is POST <name>/connect/ for an authenticated user.
func (h *API[U]) socialConnect(p *socialauth.Provider) gin.HandlerFunc {
	return h.authed(func(c *gin.Context) {
		if !h.limit(c, actSocial, h.ipKey(c)) {
			return
		}
		h.recordClient(c)
		u, err := currentUser[U](c)
		if err != nil {
			h.fail(c, err)
			return
		}
		id, err := h.socialIdentity(c, p)
		if err != nil {
			h.fail(c, err)
			return
		}
		cred, err := h.Social.Accounts.Connect(c.Request.Context(), u, h.rules(p), id)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.respondCredentials(c, http.StatusOK, u, cred)
	})
}

// socialAccounts is GET socialaccounts/.
func (h *API[U]) socialAccounts(c *gin.Context) {
	u, err := currentUser[U](c)
	if err != nil {
		h.fail(c, err)
		return
	}
	rows, err := h.Social.Accounts.List(c.Request.Context(), users.Base(u).ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]dto.SocialAccount, len(rows))
	for i, r := range rows {
		out[i] = dto.SocialAccount{ID: r.ID, Provider: r.Provider, UID: r.UID, LastLogin: r.LastLogin.UTC(), DateJoined: r.DateJoined.UTC()}
	}
	c.JSON(http.StatusOK, out)
}

// socialDisconnect is POST socialaccounts/:id/disconnect/.
func (h *API[U]) socialDisconnect(c *gin.Context) {
	u, err := currentUser[U](c)
	if err != nil {
		h.fail(c, err)
		return
	}
	id, perr := strconv.ParseUint(c.Param("id"), 10, 32)
	if perr != nil || id == 0 {
		h.fail(c, social.ErrNotFound)
		return
	}
	if err := h.Social.Accounts.Disconnect(c.Request.Context(), u, uint(id)); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// flowBrowser is the browser's flow secret ("" when it has none).
func (h *API[U]) flowBrowser(c *gin.Context) string {
	v, err := c.Cookie(h.flowCookieName())
	if err != nil || !hex64.MatchString(v) {
		return ""
	}
	return v
}

// socialAuthorize is GET <name>/authorize/: it starts a code flow with a
// server-side state, PKCE verifier and nonce bound to this browser, and
// sends the browser to the provider (or, asked for JSON, answers the
// URL). Request parameters (state, redirect targets) are ignored.
func (h *API[U]) socialAuthorize(p *socialauth.Provider) gin.HandlerFunc {
	return func(c *gin.Context) {
		noStore(c)
		if !h.limit(c, actSocial, h.ipKey(c)) {
			return
		}
		// ?redirect_uri= picks one of the provider's RedirectURIs (a
		// single-page app's own callback page, say); anything else is
		// refused before a flow starts.
		redirect, ok := h.Social.Verifier.RedirectURI(p, c.Query("redirect_uri"))
		if !ok {
			h.fail(c, verr.Field("redirect_uri", locales.M("social.redirect_uri_not_allowed")))
			return
		}
		pend, err := h.Social.Authorizations.Start(c.Request.Context(), p.Name, redirect, h.flowBrowser(c))
		if err != nil {
			h.fail(c, err)
			return
		}
		u, err := h.Social.Verifier.AuthCodeURL(p, pend.State, pend.Verifier, pend.Nonce, redirect)
		if err != nil {
			h.fail(c, err)
			return
		}
		// A form POST back from the provider is a cross-site request: the
		// cookie must be SameSite=None for it (possible over HTTPS only).
		same := http.SameSiteLaxMode
		if p.FormPost && h.Social.SecureCookie {
			same = http.SameSiteNoneMode
		}
		http.SetCookie(c.Writer, &http.Cookie{
			Name: h.flowCookieName(), Value: pend.Browser, Path: "/", MaxAge: int(h.Social.Expire / time.Second),
			HttpOnly: true, Secure: h.Social.SecureCookie, SameSite: same,
		})
		if strings.Contains(c.GetHeader("Accept"), "application/json") {
			c.JSON(http.StatusOK, dto.AuthorizationResponse{AuthorizationURL: u, State: pend.State})
			return
		}
		c.Redirect(http.StatusFound, u)
	}
}

// callbackError is the ?error= code of a failed callback.
func callbackError(err error) string {
	switch {
	case errors.Is(err, social.ErrInvalidState):
		return "invalid_state"
	case errors.Is(err, social.ErrExchange):
		return "exchange_failed"
	case errors.Is(err, social.ErrIncorrectValue), errors.Is(err, social.ErrIncorrectInput):
		return "incorrect_value"
	case errors.Is(err, social.ErrEmailTaken):
		return "email_taken"
	case errors.Is(err, social.ErrSignupClosed):
		return "signup_closed"
	case errors.Is(err, login.ErrInactive):
		return "account_disabled"
	case errors.Is(err, login.ErrUnverified):
		return "email_not_verified"
	}
	if login.IsRefusal(err) {
		return "login_refused"
	}
	return "server_error"
}

// socialCallback is GET <name>/callback/, where the provider sends the
// browser back: the state must be this browser's pending flow. In JWT
// cookie mode with a LoginRedirectURL the credentials go out as cookies
// and the browser goes to that URL; otherwise the answer is login/'s.
func (h *API[U]) socialCallback(p *socialauth.Provider) gin.HandlerFunc {
	return func(c *gin.Context) {
		noStore(c)
		ctx := h.mailContext(c)
		if c.Request.Method == http.MethodHead {
			// A HEAD must not use up the flow.
			c.Header("Allow", "GET, OPTIONS")
			c.AbortWithStatus(http.StatusMethodNotAllowed)
			return
		}
		if !h.limit(c, actSocial, h.ipKey(c)) {
			return
		}
		h.recordClient(c)
		cookieMode := h.JWT != nil && h.JWT.Cookie != "" && h.Social.LoginRedirectURL != ""
		fail := func(err error) {
			if cookieMode {
				h.logCallback(ctx, p, err)
				c.Redirect(http.StatusFound, withQuery(h.Social.LoginRedirectURL, "error", callbackError(err)))
				return
			}
			h.fail(c, err)
		}
		param := c.Query
		if c.Request.Method == http.MethodPost {
			// The provider's form POST (response_mode=form_post).
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.MaxBodyBytes)
			param = c.PostForm
		}
		pend, err := h.Social.Authorizations.Take(ctx, p.Name, param("state"), h.flowBrowser(c))
		if err != nil {
			fail(err)
			return
		}
		code := param("code")
		if code == "" || param("error") != "" {
			fail(social.ErrExchange)
			return
		}
		id, err := h.Social.Verifier.Resolve(ctx, p, identity.Request{
			Code: code, CodeVerifier: pend.Verifier, RedirectURI: pend.RedirectURI, Nonce: pend.Nonce, FromAuthorization: true,
		})
		if err != nil {
			fail(err)
			return
		}
		if p.AcceptNames {
			formNames(&id, param("user"))
		}
		res, err := h.Social.Accounts.Login(ctx, h.rules(p), id)
		if err != nil {
			fail(err)
			return
		}
		if !cookieMode {
			h.respondCredentials(c, http.StatusOK, res.User, res.Credentials)
			return
		}
		h.setAuthCookies(c, res.Credentials)
		if h.JWT.csrfOn() {
			h.setCSRFCookie(c, true)
		}
		c.Redirect(http.StatusFound, h.Social.LoginRedirectURL)
	}
}

// formNames takes the name from Apple's form field user
// ({"name":{"firstName","lastName"}}), sent on the first login only.
func formNames(id *social.Identity, user string) {
	if user == "" || len(user) > 4096 {
		return
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if json.Unmarshal([]byte(user), &u) != nil {
		return
	}
	if f := strings.TrimSpace(u.Name.FirstName); f != "" && !strings.ContainsRune(f, 0) {
		id.FirstName = truncateRunes(f, 150)
	}
	if l := strings.TrimSpace(u.Name.LastName); l != "" && !strings.ContainsRune(l, 0) {
		id.LastName = truncateRunes(l, 150)
	}
}

// truncateRunes cuts s to n characters.
func truncateRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

func (h *API[U]) logCallback(ctx context.Context, p *socialauth.Provider, err error) {
	var ve *verr.Error
	if errors.As(err, &ve) {
		return
	}
	h.Log.ErrorContext(ctx, "restauth: social callback failed", "provider", p.Name, "err", err)
}

// withQuery adds k=v to the query of u.
func withQuery(u, k, v string) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := pu.Query()
	q.Set(k, v)
	pu.RawQuery = q.Encode()
	return pu.String()
}

// socialTable adds the social endpoints to e.
func (h *API[U]) socialTable(e *handlers.Endpoints) {
	if h.Social == nil {
		return
	}
	e.SocialAccounts = h.authed(h.socialAccounts)
	e.SocialAccountDisconnect = h.authed(h.socialDisconnect)
	e.Social = make(map[string]handlers.SocialEndpoints, len(h.Social.Providers))
	for _, p := range h.Social.Providers {
		se := handlers.SocialEndpoints{Login: h.socialLogin(p), Connect: h.socialConnect(p)}
		if p.OAuth2 != nil && len(p.RedirectURIs) > 0 {
			se.Authorize, se.Callback = h.socialAuthorize(p), h.socialCallback(p)
		}
		e.Social[p.Name] = se
	}
}
