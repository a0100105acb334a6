package endpoints

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/devices"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// client describes the request's client for the sessions its logins
// record: the address the rate limits use (Config.RateLimits.ClientIP)
// or gin's ClientIP, and the User-Agent.
func (h *API[U]) client(c *gin.Context) devices.Client {
	var ip string
	if h.Limits != nil && h.Limits.ClientIP != nil {
		ip = h.Limits.ClientIP(c)
	} else {
		ip = c.ClientIP()
	}
	return devices.Client{IP: ip, UserAgent: c.Request.UserAgent()}
}

// withClient returns ctx carrying the request's client, for the logins
// made under it.
func (h *API[U]) withClient(ctx context.Context, c *gin.Context) context.Context {
	if h.Devices == nil {
		return ctx
	}
	return devices.WithClient(ctx, h.client(c))
}

// recordClient puts the request's client (IP, user agent) in its context
// for the session a login records. Only the endpoints that issue
// credentials call it: the others need no client address.
func (h *API[U]) recordClient(c *gin.Context) {
	if h.Devices != nil {
		c.Request = c.Request.WithContext(h.withClient(c.Request.Context(), c))
	}
}

// currentSession names the session of the request's credential: the
// access token's family, or the token key's digest.
func currentSession(c *gin.Context) (kind, handle string) {
	if v, ok := c.Get(claimsKey); ok {
		if cl, ok := v.(*jwtauth.Claims); ok {
			return devices.JWT, cl.SID
		}
	}
	if k := CurrentToken(c); k != "" {
		return devices.Token, secret.Digest(k)
	}
	return "", ""
}

// touch records that the session of a credential was used (a write at
// most once a minute); a failure is logged, never answered.
func (h *API[U]) touch(c *gin.Context, kind, handle string) {
	if h.Devices == nil {
		return
	}
	ctx := c.Request.Context()
	if err := h.Devices.Touch(ctx, kind, handle); err != nil {
		h.Log.WarnContext(ctx, "restauth: record session use", "err", err)
	}
}

// touchDigest is touch for a token key, by its digest.
func (h *API[U]) touchDigest(c *gin.Context, digest string) {
	if h.Devices != nil && h.Devices.Tracks(devices.Token) {
		h.touch(c, devices.Token, digest)
	}
}

// touchFamily is touch for a JWT refresh family (no query but the
// once-a-minute write).
func (h *API[U]) touchFamily(c *gin.Context, family string) { h.touch(c, devices.JWT, family) }

// sessionsList is GET sessions/: the caller's live sessions, newest
// first, the one of the request's credential marked current.
func (h *API[U]) sessionsList(c *gin.Context) {
	u, err := currentUser[U](c)
	if err != nil {
		h.fail(c, err)
		return
	}
	rows, err := h.Devices.List(c.Request.Context(), users.Base(u).ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	kind, handle := currentSession(c)
	out := make([]dto.Session, len(rows))
	for i, s := range rows {
		out[i] = dto.Session{
			ID: s.PublicID, Kind: s.Kind, Created: s.CreatedAt.UTC(), LastUsed: s.LastUsedAt.UTC(),
			IP: s.IP, UserAgent: s.UserAgent, Current: s.Kind == kind && s.Handle == handle,
		}
	}
	noStore(c)
	c.JSON(http.StatusOK, out)
}

// sessionNotFound is the answer for an id that is not one of the
// caller's live sessions.
func sessionNotFound() *apierr.Error {
	return apierr.Detail(http.StatusNotFound, locales.M("request.not_found"))
}

// publicID reports whether id has the shape of a session's public id
// (32 lowercase hex), so that others cost no query.
func publicID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if (id[i] < '0' || id[i] > '9') && (id[i] < 'a' || id[i] > 'f') {
			return false
		}
	}
	return true
}

// endSession revokes the credential of s: its token key (by digest) or
// its refresh family.
func (h *API[U]) endSession(ctx context.Context, s models.Session) error {
	switch {
	case s.Kind == devices.Token:
		return h.Keys.RevokeDigest(ctx, s.UserID, s.Handle)
	case s.Kind == devices.JWT && h.Sessions != nil:
		return h.Sessions.RevokeFamily(ctx, s.UserID, s.Handle)
	}
	return devices.ErrNotFound
}

// sessionRevoke is POST sessions/:id/revoke/: it ends one of the
// caller's sessions (the current one too, like a logout) and answers
// 200 {}, or 404 for an id that is not one of the caller's live
// sessions.
func (h *API[U]) sessionRevoke(c *gin.Context) {
	u, _, ok := h.userAndBody(c)
	if !ok {
		return
	}
	noStore(c)
	id := c.Param("id")
	if !publicID(id) {
		h.fail(c, sessionNotFound())
		return
	}
	_, err := h.Devices.Revoke(c.Request.Context(), users.Base(u).ID, id, h.endSession)
	if errors.Is(err, devices.ErrNotFound) {
		err = sessionNotFound()
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}

// sessionRevokeOthers is POST sessions/revoke-others/: it ends every
// session of the caller but the current one (every token key but the
// request's, every refresh family but the access token's) and answers
// 200 {}.
func (h *API[U]) sessionRevokeOthers(c *gin.Context) {
	u, _, ok := h.userAndBody(c)
	if !ok {
		return
	}
	noStore(c)
	ctx := c.Request.Context()
	id := users.Base(u).ID
	kind, handle := currentSession(c)
	var keepKey, keepFamily string
	switch kind {
	case devices.Token:
		keepKey = CurrentToken(c)
	case devices.JWT:
		keepFamily = handle
	}
	if err := h.Keys.RevokeUser(ctx, id, keepKey); err != nil {
		h.fail(c, err)
		return
	}
	if h.Sessions != nil {
		if err := h.Sessions.RevokeUser(ctx, id, keepFamily); err != nil {
			h.fail(c, err)
			return
		}
	}
	if err := h.Devices.DeleteUser(ctx, id, kind, handle); err != nil {
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{})
}
