// Package apidoc builds the OpenAPI 3.0 document of the endpoints a
// configuration mounts, from the route table the HTTP layer registers and
// the DTO types its handlers bind and answer (never from a hand-written
// file), and validates it with kin-openapi.
package apidoc

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Security scheme names of the document.
const (
	SchemeToken  = "TokenAuth"  // Authorization: Token <key>
	SchemeBearer = "BearerAuth" // Authorization: Bearer <access JWT>
	SchemeCookie = "CookieAuth" // the JWT access cookie
	SchemeCSRF   = "CSRFHeader" // the CSRF header that must echo the CSRF cookie
)

// Operation describes one method on one path.
type Operation struct {
	Method string
	// Path is relative to the mount point, with {name} parameters and a
	// trailing slash ("sessions/{id}/revoke/").
	Path        string
	ID          string
	Summary     string
	Description string
	Tag         string
	// Auth is set when the endpoint needs an authenticated user.
	Auth bool
	// Body is the request body: a struct value of the DTO the handler
	// binds (its json and binding tags), or nil for none.
	Body any
	// BodySchema, when set, replaces the schema reflected from Body.
	BodySchema *openapi3.SchemaRef
	// FormOnly: the body is read as a form only (a provider's form POST),
	// not as JSON or multipart.
	FormOnly bool
	// Query lists optional query parameters.
	Query []Param
	// Responses are the endpoint's own answers; Build adds the errors
	// every endpoint shares (see Errors).
	Responses []Response
	// Errors are the statuses of the shared error answers this endpoint
	// can give (400, 401, 403, 404, 413, 415, 429, 503).
	Errors []int
}

// Param is a query parameter.
type Param struct {
	Name, Description string
}

// Response is one documented answer.
type Response struct {
	Status      int
	Description string
	// Body is a value of the answer's Go type (reflected), nil for none.
	Body any
	// Schema, when set, is used instead of Body.
	Schema *openapi3.SchemaRef
	// HTML marks a text/html answer.
	HTML bool
	// Headers names the answer's headers (Location, Set-Cookie...).
	Headers []string
}

// Info is the document's header and security settings.
type Info struct {
	Title, Version, Description string
	// Server is the URL the paths are relative to (the mount point).
	Server string
	// Token, Bearer and Cookie say which credentials this configuration
	// accepts; CookieName and CSRFHeader name the JWT cookie and the CSRF
	// header (CSRFHeader "" when no CSRF check applies).
	Token, Bearer bool
	CookieName    string
	CSRFHeader    string
}

// Doc collects schemas while a document is built.
type Doc struct {
	s *schemas
}

// NewDoc returns an empty Doc.
func NewDoc() *Doc { return &Doc{s: newSchemas()} }

// Schema returns the schema of v's Go type on the given side
// (Request or Response); named struct types become components.
func (d *Doc) Schema(v any, req bool) *openapi3.SchemaRef {
	return d.s.of(reflect.TypeOf(v), req)
}

// Object returns the schema of struct value v's fields, inline (not a
// component), on the given side.
func (d *Doc) Object(v any, req bool) *openapi3.Schema {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return d.s.object(t, req)
}

// Component registers schema under name and returns a reference to it.
func (d *Doc) Component(name string, schema *openapi3.Schema) *openapi3.SchemaRef {
	d.s.comps[name] = schema.NewRef()
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

// Build assembles and validates the document.
func (d *Doc) Build(info Info, ops []Operation) (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info:    &openapi3.Info{Title: info.Title, Version: info.Version, Description: info.Description},
		Servers: openapi3.Servers{{URL: info.Server}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:         d.s.comps,
			SecuritySchemes: openapi3.SecuritySchemes{},
			Responses:       openapi3.ResponseBodies{},
		},
	}
	d.errorComponents(doc)
	d.securitySchemes(doc, info)
	for _, op := range ops {
		if err := d.add(doc, info, op); err != nil {
			return nil, err
		}
	}
	// The document is checked as a client sees it: encoded, loaded (every
	// $ref resolved) and validated.
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("apidoc: encode: %w", err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("apidoc: load: %w", err)
	}
	if err := loaded.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apidoc: invalid document: %w", err)
	}
	return loaded, nil
}

// errorComponents adds DRF's error shapes and the shared error answers.
func (d *Doc) errorComponents(doc *openapi3.T) {
	str := openapi3.NewStringSchema()
	message := openapi3.NewObjectSchema().WithProperty("token_class", str).WithProperty("token_type", str).WithProperty("message", str)
	detail := openapi3.NewObjectSchema().
		WithProperty("detail", str).
		WithProperty("code", str).
		WithProperty("messages", openapi3.NewArraySchema().WithItems(message))
	detail.Required = []string{"detail"}
	detail.Description = `{"detail": message}; simplejwt's token errors add "code" and "messages".`
	d.Component("Detail", detail)
	fields := openapi3.NewObjectSchema().WithAdditionalProperties(openapi3.NewArraySchema().WithItems(str))
	fields.Description = `Field errors: each field (or "non_field_errors") with its messages.`
	d.Component("ValidationError", fields)
	bad := openapi3.NewSchema()
	bad.AnyOf = openapi3.SchemaRefs{ref("ValidationError"), ref("Detail")}
	d.Component("BadRequest", bad)

	add := func(name, desc, schema string, headers ...string) {
		r := openapi3.NewResponse().WithDescription(desc).WithJSONSchemaRef(ref(schema))
		// Every error carries text, in the language Content-Language names.
		r.Headers = headerMap(append(headers, "Content-Language"))
		doc.Components.Responses[name] = &openapi3.ResponseRef{Value: r}
	}
	add("BadRequest", "Invalid input: field errors, or a detail for an unreadable body.", "BadRequest")
	add("Unauthorized", "No valid credentials.", "Detail", "WWW-Authenticate")
	add("Forbidden", "Refused: CSRF check failed, or not allowed.", "Detail")
	add("NotFound", "No such object.", "Detail")
	add("TooLarge", "The body is larger than the limit.", "Detail")
	add("UnsupportedMediaType", "The body's Content-Type is not JSON, a form or multipart.", "Detail")
	add("TooManyRequests", "Rate limited; Retry-After says when to try again.", "Detail", "Retry-After")
	add("Unavailable", "The database or the rate-limit store cannot be reached; try again.", "Detail")
}

var errorResponses = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
	413: "TooLarge", 415: "UnsupportedMediaType", 429: "TooManyRequests", 503: "Unavailable",
}

func ref(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

func headerMap(names []string) openapi3.Headers {
	if len(names) == 0 {
		return nil
	}
	h := openapi3.Headers{}
	for _, n := range names {
		h[n] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Schema: openapi3.NewStringSchema().NewRef(),
		}}}
	}
	return h
}

// securitySchemes declares the credentials this configuration accepts.
func (d *Doc) securitySchemes(doc *openapi3.T, info Info) {
	s := doc.Components.SecuritySchemes
	if info.Token {
		s[SchemeToken] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "apiKey", In: "header", Name: "Authorization",
			Description: `A token key from login/, sent as "Authorization: Token <key>".`,
		}}
	}
	if info.Bearer {
		s[SchemeBearer] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "http", Scheme: "bearer", BearerFormat: "JWT",
			Description: "An access token from login/ or token/refresh/.",
		}}
	}
	if info.CookieName != "" {
		s[SchemeCookie] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "apiKey", In: "cookie", Name: info.CookieName,
			Description: "The access token cookie set by login/ (HttpOnly).",
		}}
	}
	if info.CSRFHeader != "" {
		s[SchemeCSRF] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
			Type: "apiKey", In: "header", Name: info.CSRFHeader,
			Description: "Unsafe requests that carry the JWT cookies must echo the CSRF cookie's value in this header.",
		}}
	}
}

// security returns an operation's security requirements.
func security(info Info, op Operation) *openapi3.SecurityRequirements {
	reqs := openapi3.NewSecurityRequirements()
	if !op.Auth {
		if info.CSRFHeader != "" && !safe(op.Method) {
			// Anyone may call it, but a request that carries the JWT
			// cookies (a refresh, a logout, a login over an old session)
			// must send the CSRF header.
			reqs.With(openapi3.NewSecurityRequirement())
			reqs.With(openapi3.NewSecurityRequirement().Authenticate(SchemeCSRF))
		}
		return reqs // explicitly none
	}
	if info.Token {
		reqs.With(openapi3.NewSecurityRequirement().Authenticate(SchemeToken))
	}
	if info.Bearer {
		reqs.With(openapi3.NewSecurityRequirement().Authenticate(SchemeBearer))
	}
	if info.CookieName != "" {
		r := openapi3.NewSecurityRequirement().Authenticate(SchemeCookie)
		if info.CSRFHeader != "" && !safe(op.Method) {
			r.Authenticate(SchemeCSRF)
		}
		reqs.With(r)
	}
	return reqs
}

func safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// add puts one operation into doc.
func (d *Doc) add(doc *openapi3.T, info Info, op Operation) error {
	o := openapi3.NewOperation()
	o.OperationID, o.Summary, o.Description = op.ID, op.Summary, op.Description
	if op.Tag != "" {
		o.Tags = []string{op.Tag}
	}
	o.Security = security(info, op)
	for _, name := range pathParams(op.Path) {
		o.AddParameter(openapi3.NewPathParameter(name).WithSchema(openapi3.NewStringSchema()))
	}
	o.AddParameter(openapi3.NewHeaderParameter("Accept-Language").
		WithDescription("The languages the client reads; messages and e-mails come in the best match (English when none), named by Content-Language.").
		WithSchema(openapi3.NewStringSchema()))
	for _, q := range op.Query {
		o.AddParameter(openapi3.NewQueryParameter(q.Name).WithDescription(q.Description).WithSchema(openapi3.NewStringSchema()))
	}
	if op.Body != nil || op.BodySchema != nil {
		schema := op.BodySchema
		if schema == nil {
			schema = d.Schema(op.Body, In)
		}
		content := openapi3.Content{"application/x-www-form-urlencoded": openapi3.NewMediaType().WithSchemaRef(schema)}
		if !op.FormOnly {
			content["application/json"] = openapi3.NewMediaType().WithSchemaRef(schema)
			content["multipart/form-data"] = openapi3.NewMediaType().WithSchemaRef(schema)
		}
		body := openapi3.NewRequestBody().WithContent(content)
		o.RequestBody = &openapi3.RequestBodyRef{Value: body}
	}
	o.Responses = openapi3.NewResponses()
	o.Responses.Delete("default")
	for _, r := range op.Responses {
		res := openapi3.NewResponse().WithDescription(r.Description)
		switch {
		case r.HTML:
			res.WithContent(openapi3.Content{"text/html": openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema())})
		case r.Schema != nil:
			res.WithJSONSchemaRef(r.Schema)
		case r.Body != nil:
			res.WithJSONSchemaRef(d.Schema(r.Body, Out))
		}
		res.Headers = headerMap(r.Headers)
		o.Responses.Set(strconv.Itoa(r.Status), &openapi3.ResponseRef{Value: res})
	}
	errs := slices.Clone(op.Errors)
	slices.Sort(errs)
	for _, status := range slices.Compact(errs) {
		name, ok := errorResponses[status]
		if !ok {
			return fmt.Errorf("apidoc: %s %s: no shared answer for status %d", op.Method, op.Path, status)
		}
		o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Ref: "#/components/responses/" + name})
	}
	path := "/" + op.Path
	item := doc.Paths.Value(path)
	if item == nil {
		item = &openapi3.PathItem{}
		doc.Paths.Set(path, item)
	}
	if item.GetOperation(op.Method) != nil {
		return fmt.Errorf("apidoc: %s %s described twice", op.Method, path)
	}
	item.SetOperation(op.Method, o)
	return nil
}

// pathParams returns the {name} parameters of a path.
func pathParams(p string) []string {
	var names []string
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// Resolve returns the schema a reference points to among the Doc's
// components (or the inline schema).
func (d *Doc) Resolve(r *openapi3.SchemaRef) *openapi3.Schema {
	if r == nil {
		return nil
	}
	if r.Ref == "" {
		return r.Value
	}
	c := d.s.comps[strings.TrimPrefix(r.Ref, "#/components/schemas/")]
	if c == nil {
		return nil
	}
	return c.Value
}
