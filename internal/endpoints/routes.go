package endpoints

import (
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/apidoc"
)

// routeDef is one path of the route table: what Register mounts and what
// the OpenAPI document describes, from the same values.
type routeDef struct {
	// path is relative to the mount point, in gin's syntax, without the
	// trailing slash ("sessions/:id/revoke").
	path string
	// plain routes are mounted without the CSRF guard (social callbacks,
	// protected by their state and flow cookie).
	plain bool
	ops   []opDef
}

// opDef is one method of a route: its handler and its description.
type opDef struct {
	handler gin.HandlerFunc
	doc     apidoc.Operation // Method is the route's method
}

// userSchemas are the schemas of the user as the serializer shows it and
// of the bodies PUT and PATCH user/ accept.
type userSchemas struct {
	user, put, patch *openapi3.SchemaRef
}

// routes is the route table of this configuration: every endpoint of e
// at its dj-rest-auth path, with its description. doc collects the
// schemas the descriptions use (nil when only mounting).
func (h *API[U]) routes(e handlers.Endpoints, doc *apidoc.Doc) []routeDef {
	var us userSchemas
	var creds *openapi3.SchemaRef
	if doc != nil {
		// Only a document asks the app's serializer and token response
		// for their shapes (with a zero user).
		us = h.userSchemas(doc)
		creds = h.credentialsSchema(doc, us.user)
	} else {
		doc = apidoc.NewDoc()
	}
	var rs []routeDef
	add := func(path string, ops ...opDef) {
		var kept []opDef
		for _, o := range ops {
			if o.handler != nil {
				kept = append(kept, o)
			}
		}
		if len(kept) > 0 {
			rs = append(rs, routeDef{path: path, ops: kept})
		}
	}
	// Errors every endpoint can give: a store or database outage, and a
	// rate limit where limits are on. Body endpoints add 400, 413 and 415;
	// authenticated ones 401; unsafe ones behind the CSRF guard 403.
	common := func(method string, body, auth bool, extra ...int) []int {
		errs := append([]int{http.StatusServiceUnavailable}, extra...)
		if auth {
			errs = append(errs, http.StatusUnauthorized)
		}
		if h.Limits != nil {
			errs = append(errs, http.StatusTooManyRequests)
		}
		if body {
			errs = append(errs, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
		}
		if h.JWT.csrfOn() && !safeMethod(method) {
			errs = append(errs, http.StatusForbidden)
		}
		return errs
	}
	op := func(method string, fn gin.HandlerFunc, o apidoc.Operation) opDef {
		o.Method = method
		body := o.Body != nil || o.BodySchema != nil || method == http.MethodPost
		o.Errors = append(o.Errors, common(method, body, o.Auth)...)
		return opDef{handler: fn, doc: o}
	}
	detail := func(status int, desc string) apidoc.Response {
		return apidoc.Response{Status: status, Description: desc, Schema: refTo("Detail")}
	}
	emptyObject := openapi3.NewObjectSchema()
	emptyObject.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	empty := apidoc.Response{Status: http.StatusOK, Description: "Done: {}.", Schema: emptyObject.NewRef()}
	credentials := func(status int, desc string) apidoc.Response {
		r := apidoc.Response{Status: status, Description: desc, Schema: creds}
		if h.JWT != nil && (h.JWT.Cookie != "" || h.JWT.RefreshCookie != "") {
			r.Headers = []string{"Set-Cookie"}
		}
		return r
	}

	login := doc.Schema(dto.LoginRequest{}, apidoc.In)
	loginDesc := "Username or e-mail (as the login methods allow) and password; answers a token key, or JWTs in JWT mode."
	if len(h.Authenticators) > 0 {
		// The app's authenticators read their own fields first.
		login = optionalProps(doc, login)
		loginDesc += " The app's own authenticators accept other fields too, and may not need a password."
	}
	add("login", op(http.MethodPost, e.Login, apidoc.Operation{
		ID: "login", Tag: "auth", Summary: "Log in",
		Description: loginDesc,
		BodySchema:  login, Errors: []int{http.StatusForbidden}, // an app's authenticator or check
		Responses: []apidoc.Response{credentials(http.StatusOK, "Logged in.")},
	}))
	var logoutBody any
	if h.JWT != nil {
		logoutBody = dto.RefreshRequest{}
	}
	logout := []opDef{op(http.MethodPost, e.Logout, apidoc.Operation{
		ID: "logout", Tag: "auth", Summary: "Log out", Errors: []int{http.StatusUnauthorized},
		Description: "Ends the credential the request presents (token key; in JWT mode the refresh token's login); answers 200 even without one.",
		Body:        logoutBody,
		Responses:   []apidoc.Response{detail(http.StatusOK, "Logged out.")},
	})}
	if h.LogoutOnGet {
		logout = append(logout, op(http.MethodGet, e.Logout, apidoc.Operation{
			ID: "logoutGet", Tag: "auth", Summary: "Log out (GET, ACCOUNT_LOGOUT_ON_GET)",
			Responses: []apidoc.Response{detail(http.StatusOK, "Logged out.")},
		}))
	}
	add("logout", logout...)
	add("password/reset", op(http.MethodPost, e.PasswordReset, apidoc.Operation{
		ID: "passwordReset", Tag: "password", Summary: "Ask for a password-reset e-mail",
		Description: "Answers the same whether or not the address belongs to an account.",
		Body:        dto.PasswordResetRequest{},
		Responses:   []apidoc.Response{detail(http.StatusOK, "Sent if the address has an account.")},
	}))
	add("password/reset/confirm", op(http.MethodPost, e.PasswordResetConfirm, apidoc.Operation{
		ID: "passwordResetConfirm", Tag: "password", Summary: "Set a new password with the uid and token of a reset e-mail",
		Body: dto.PasswordResetConfirmRequest{}, Errors: []int{http.StatusForbidden}, // an app's check
		Responses: []apidoc.Response{detail(http.StatusOK, "Password changed.")},
	}))
	change := doc.Schema(dto.PasswordChangeRequest{}, apidoc.In)
	if h.OldPasswordField {
		change = requireProps(doc, change, "old_password")
	}
	add("password/change", op(http.MethodPost, e.PasswordChange, apidoc.Operation{
		ID: "passwordChange", Tag: "password", Summary: "Change the password", Auth: true,
		BodySchema: change, Errors: []int{http.StatusForbidden}, // an app's check
		Responses: []apidoc.Response{detail(http.StatusOK, "Password changed.")},
	}))
	userOK := apidoc.Response{Status: http.StatusOK, Description: "The user.", Schema: us.user}
	add("user",
		op(http.MethodGet, e.User, apidoc.Operation{ID: "userRead", Tag: "user", Summary: "The logged-in user", Auth: true,
			Responses: []apidoc.Response{userOK}}),
		op(http.MethodPut, e.User, apidoc.Operation{ID: "userUpdate", Tag: "user", Summary: "Replace the user's writable fields", Auth: true,
			BodySchema: us.put, Responses: []apidoc.Response{userOK}}),
		op(http.MethodPatch, e.User, apidoc.Operation{ID: "userPartialUpdate", Tag: "user", Summary: "Change some of the user's writable fields", Auth: true,
			BodySchema: us.patch, Responses: []apidoc.Response{userOK}}),
	)
	if e.Register != nil {
		reg := doc.Schema(dto.RegisterRequest{}, apidoc.In)
		var req []string
		if h.UsernameRequired {
			req = append(req, "username")
		}
		if h.EmailRequired {
			req = append(req, "email")
		}
		reg = requireProps(doc, reg, req...)
		created := credentials(http.StatusCreated, "Registered and logged in.")
		if h.MandatoryVerification {
			created = detail(http.StatusCreated, "Registered; a confirmation e-mail was sent (log in after confirming).")
		}
		add("registration", op(http.MethodPost, e.Register, apidoc.Operation{
			ID: "register", Tag: "registration", Summary: "Create an account",
			BodySchema: reg, Responses: []apidoc.Response{created}, Errors: []int{http.StatusForbidden},
		}))
		add("registration/verify-email", op(http.MethodPost, e.VerifyEmail, apidoc.Operation{
			ID: "verifyEmail", Tag: "registration", Summary: "Confirm an e-mail address with the key of its confirmation e-mail",
			Body: dto.VerifyEmailRequest{}, Responses: []apidoc.Response{detail(http.StatusOK, "Confirmed.")},
			Errors: []int{http.StatusNotFound},
		}))
		add("registration/resend-email", op(http.MethodPost, e.ResendEmail, apidoc.Operation{
			ID: "resendEmail", Tag: "registration", Summary: "Send the confirmation e-mail again",
			Description: "Answers the same whether or not the address needs confirming.",
			Body:        dto.ResendEmailRequest{}, Responses: []apidoc.Response{detail(http.StatusOK, "Sent if the address awaits confirmation.")},
		}))
		add("registration/account-confirm-email/:key", op(http.MethodGet, e.ConfirmEmailPage, apidoc.Operation{
			ID: "confirmEmailPage", Tag: "registration", Summary: "The page a confirmation e-mail links to",
			Description: "An HTML page whose button posts the key to verify-email/; opening it confirms nothing.",
			Responses:   []apidoc.Response{{Status: http.StatusOK, Description: "The page.", HTML: true}},
		}))
	}
	if e.TokenRefresh != nil {
		add("token/refresh", op(http.MethodPost, e.TokenRefresh, apidoc.Operation{
			ID: "tokenRefresh", Tag: "jwt", Summary: "A new access token for a refresh token (from the body or the refresh cookie)",
			Errors: []int{http.StatusUnauthorized},
			Body:   dto.RefreshRequest{}, Responses: []apidoc.Response{credentialsLike(http.StatusOK, "Refreshed.", doc.Schema(dto.RefreshResponse{}, apidoc.Out), h.JWT.Cookie != "")},
		}))
		add("token/verify", op(http.MethodPost, e.TokenVerify, apidoc.Operation{
			ID: "tokenVerify", Tag: "jwt", Summary: "Check a token's signature and lifetime",
			Body: dto.VerifyRequest{}, Responses: []apidoc.Response{empty}, Errors: []int{http.StatusUnauthorized},
		}))
	}
	if e.Sessions != nil {
		add("sessions", op(http.MethodGet, e.Sessions, apidoc.Operation{
			ID: "sessionsList", Tag: "sessions", Summary: "The user's sessions (logins), the current one marked", Auth: true,
			Responses: []apidoc.Response{{Status: http.StatusOK, Description: "The sessions.", Body: []dto.Session{}}},
		}))
		add("sessions/revoke-others", op(http.MethodPost, e.SessionRevokeOthers, apidoc.Operation{
			ID: "sessionsRevokeOthers", Tag: "sessions", Summary: "End every session but the current one", Auth: true,
			Responses: []apidoc.Response{empty},
		}))
		add("sessions/:id/revoke", op(http.MethodPost, e.SessionRevoke, apidoc.Operation{
			ID: "sessionRevoke", Tag: "sessions", Summary: "End one session", Auth: true,
			Responses: []apidoc.Response{empty}, Errors: []int{http.StatusNotFound},
		}))
	}
	rs = append(rs, h.socialRoutes(e, doc, op, credentials, empty)...)
	return rs
}

// opFunc builds an opDef for a method (the routes closure).
type opFunc func(method string, fn gin.HandlerFunc, o apidoc.Operation) opDef

// socialRoutes is the social part of the route table.
func (h *API[U]) socialRoutes(e handlers.Endpoints, doc *apidoc.Doc, op opFunc,
	credentials func(int, string) apidoc.Response, empty apidoc.Response) []routeDef {
	if e.Social == nil {
		return nil
	}
	rs := []routeDef{
		{path: "socialaccounts", ops: []opDef{op(http.MethodGet, e.SocialAccounts, apidoc.Operation{
			ID: "socialAccountsList", Tag: "social", Summary: "The social accounts connected to the user", Auth: true,
			Responses: []apidoc.Response{{Status: http.StatusOK, Description: "The accounts.", Body: []dto.SocialAccount{}}},
		})}},
		{path: "socialaccounts/:id/disconnect", ops: []opDef{op(http.MethodPost, e.SocialAccountDisconnect, apidoc.Operation{
			ID: "socialAccountDisconnect", Tag: "social", Summary: "Disconnect a social account", Auth: true,
			Responses: []apidoc.Response{empty}, Errors: []int{http.StatusNotFound},
		})}},
	}
	for _, p := range h.Social.Providers {
		se := e.Social[p.Name]
		var body any = dto.SocialLoginRequest{}
		if p.OAuth1 {
			body = dto.SocialOAuth1Request{}
		}
		id := operationName(p.Name)
		rs = append(rs,
			routeDef{path: p.Name, ops: []opDef{op(http.MethodPost, se.Login, apidoc.Operation{
				ID: "socialLogin" + id, Tag: "social", Summary: "Log in (or sign up) with " + p.Name,
				Body: body, Responses: []apidoc.Response{credentials(http.StatusOK, "Logged in.")},
			})}},
			routeDef{path: p.Name + "/connect", ops: []opDef{op(http.MethodPost, se.Connect, apidoc.Operation{
				ID: "socialConnect" + id, Tag: "social", Summary: "Connect a " + p.Name + " account to the user", Auth: true,
				Body: body, Responses: []apidoc.Response{credentials(http.StatusOK, "Connected.")},
			})}},
		)
		if se.Authorize == nil {
			continue
		}
		rs = append(rs, routeDef{path: p.Name + "/authorize", ops: []opDef{op(http.MethodGet, se.Authorize, apidoc.Operation{
			ID: "socialAuthorize" + id, Tag: "social", Summary: "Start a login at " + p.Name,
			Description: "Redirects to the provider, or with Accept: application/json answers the URL and state. Sets the flow cookie.",
			Query:       []apidoc.Param{{Name: "redirect_uri", Description: "One of the provider's registered redirect URIs (default: the first)."}},
			Responses: []apidoc.Response{
				{Status: http.StatusOK, Description: "The authorization URL (Accept: application/json).", Body: dto.AuthorizationResponse{}, Headers: []string{"Set-Cookie"}},
				{Status: http.StatusFound, Description: "To the provider.", Headers: []string{"Location", "Set-Cookie"}},
			},
			Errors: []int{http.StatusBadRequest},
		})}})
		cbDoc := apidoc.Operation{
			ID: "socialCallback" + id, Tag: "social", Summary: "Where " + p.Name + " sends the browser back",
			Query: []apidoc.Param{{Name: "code"}, {Name: "state"}, {Name: "error"}},
			Responses: []apidoc.Response{
				credentials(http.StatusOK, "Logged in."),
				{Status: http.StatusFound, Description: "JWT cookie mode: to the login redirect URL (?error= on failure).", Headers: []string{"Location", "Set-Cookie"}},
			},
			Errors: []int{http.StatusBadRequest, http.StatusForbidden},
		}
		cb := routeDef{path: p.Name + "/callback", plain: true, ops: []opDef{op(http.MethodGet, se.Callback, cbDoc)}}
		if p.FormPost {
			post := cbDoc
			post.ID += "Post"
			post.Query = nil
			post.FormOnly = true
			post.BodySchema = openapi3.NewObjectSchema().
				WithProperty("code", openapi3.NewStringSchema()).
				WithProperty("state", openapi3.NewStringSchema()).
				WithProperty("user", openapi3.NewStringSchema()).NewRef()
			cb.ops = append(cb.ops, op(http.MethodPost, se.Callback, post))
		}
		rs = append(rs, cb)
	}
	return rs
}

// operationName turns a provider name into an operation id part.
func operationName(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if r == '-' || r == '_' || r == '.' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func refTo(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

// credentialsLike is a credentials answer with its own schema.
func credentialsLike(status int, desc string, schema *openapi3.SchemaRef, cookies bool) apidoc.Response {
	r := apidoc.Response{Status: status, Description: desc, Schema: schema}
	if cookies {
		r.Headers = []string{"Set-Cookie"}
	}
	return r
}

// requireProps returns schema (resolved through doc's components) with
// names required, as an inline copy.
func requireProps(doc *apidoc.Doc, schema *openapi3.SchemaRef, names ...string) *openapi3.SchemaRef {
	v := doc.Resolve(schema)
	if v == nil || len(names) == 0 {
		return schema
	}
	c := *v
	c.Required = append(append([]string(nil), v.Required...), names...)
	return c.NewRef()
}

// optionalProps returns schema with no required property, as an inline
// copy.
func optionalProps(doc *apidoc.Doc, schema *openapi3.SchemaRef) *openapi3.SchemaRef {
	v := doc.Resolve(schema)
	if v == nil {
		return schema
	}
	c := *v
	c.Required = nil
	return c.NewRef()
}
