package endpoints

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/restauth/restauth/dto"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/apidoc"
)

// OpenAPI are the settings of the OpenAPI document.
type OpenAPI struct {
	Title, Version, Description string
	// Serve mounts openapi.json.
	Serve bool
}

// userSchemas describes the user as the serializer shows it (its
// Represent of a zero user, reflected) and the bodies of PUT and PATCH
// user/ (the serializer's UpdateBody when it declares one).
func (h *API[U]) userSchemas(doc *apidoc.Doc) userSchemas {
	var us userSchemas
	shown := safeCall(func() any { return h.Serializer.Represent(new(U)) })
	us.user = h.namedSchema(doc, "User", shown, apidoc.Out)
	var body any
	if d, ok := h.Serializer.(handlers.UpdateBodyDescriber); ok {
		body = safeCall(d.UpdateBody)
	}
	us.put = h.namedSchema(doc, "UserUpdate", body, apidoc.In)
	if v := doc.Resolve(us.put); v != nil && len(v.Required) > 0 {
		c := *v
		c.Required = nil
		us.patch = c.NewRef()
	} else {
		us.patch = us.put
	}
	return us
}

// namedSchema is the schema of v's type as component name (a free-form
// object when v is nil or not a struct).
func (h *API[U]) namedSchema(doc *apidoc.Doc, name string, v any, side bool) *openapi3.SchemaRef {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return doc.Component(name, openapi3.NewObjectSchema())
	}
	return doc.Component(name, doc.Object(reflect.New(t).Elem().Interface(), side))
}

// safeCall returns fn's value, or nil when it panics (an app's
// serializer may not expect a zero user).
func safeCall(fn func() any) (v any) {
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	return fn()
}

// credentialsSchema is the body that login/ (and every endpoint that
// logs in) answers in this configuration.
func (h *API[U]) credentialsSchema(doc *apidoc.Doc, user *openapi3.SchemaRef) *openapi3.SchemaRef {
	if h.JWT == nil {
		if h.TokenResponse != nil {
			v := safeCall(func() any { return h.TokenResponse("", new(U)) })
			return h.namedSchema(doc, "LoginResponse", v, apidoc.Out)
		}
		return doc.Schema(dto.TokenResponse{}, apidoc.Out)
	}
	var s *openapi3.Schema
	if h.JWT.Legacy {
		s = doc.Resolve(doc.Schema(dto.LegacyJWTResponse{}, apidoc.Out))
	} else {
		s = doc.Resolve(doc.Schema(dto.JWTResponse{}, apidoc.Out))
	}
	c := *s
	c.Properties = openapi3.Schemas{}
	for k, v := range s.Properties {
		c.Properties[k] = v
	}
	c.Properties["user"] = user
	if h.JWT.Legacy {
		return doc.Component("LegacyJWTLoginResponse", &c)
	}
	if h.bodyRefresh("x") == "" {
		empty := openapi3.NewStringSchema().WithMaxLength(0)
		empty.Description = "Empty: the refresh token is in its HttpOnly cookie."
		c.Properties["refresh"] = empty.NewRef()
	}
	return doc.Component("JWTLoginResponse", &c)
}

// Document returns the OpenAPI document of every endpoint Register
// mounts, with paths relative to server (the mount point).
func (h *API[U]) Document(server string) ([]byte, error) {
	doc := apidoc.NewDoc()
	e := h.table()
	var ops []apidoc.Operation
	for _, r := range h.routes(e, doc) {
		for _, o := range r.ops {
			o.doc.Path = docPath(r.path)
			ops = append(ops, o.doc)
		}
	}
	if h.OpenAPI.Serve {
		ops = append(ops, apidoc.Operation{
			Method: http.MethodGet, Path: "openapi.json", ID: "openapi", Tag: "meta", Summary: "This document",
			Responses: []apidoc.Response{{Status: http.StatusOK, Description: "The OpenAPI document.", Schema: openapi3.NewObjectSchema().NewRef()}},
		})
	}
	info := apidoc.Info{Server: server, Token: h.TokenAuth, Bearer: h.JWT != nil}
	info.Title, info.Version, info.Description = h.OpenAPI.Title, h.OpenAPI.Version, h.OpenAPI.Description
	if info.Title == "" {
		info.Title = "restauth"
	}
	if info.Version == "" {
		info.Version = "1"
	}
	if h.JWT != nil {
		info.CookieName = h.JWT.Cookie
		if h.JWT.csrfOn() {
			info.CSRFHeader = h.JWT.CSRFHeader
		}
	}
	d, err := doc.Build(info, ops)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("apidoc: encode: %w", err)
	}
	return b, nil
}

// docPath turns a gin path into the document's: {name} parameters and a
// trailing slash.
func docPath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/") + "/"
}

// openAPIHandler serves the document built once for server.
func (h *API[U]) openAPIHandler(server string) gin.HandlerFunc {
	body, err := h.Document(server)
	if err != nil {
		h.Log.Error("restauth: the OpenAPI document cannot be built; openapi.json answers 503", "err", err)
	}
	return func(c *gin.Context) {
		if err != nil {
			h.detail(c, http.StatusServiceUnavailable, "request.service_unavailable")
			return
		}
		c.Data(http.StatusOK, "application/json", body)
	}
}
