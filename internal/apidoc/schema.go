package apidoc

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
)

// Request and Response say which side of an exchange a Go type describes:
// a request struct's required fields are those its binding tag requires,
// a response struct's are those always written (no omitempty).
const (
	In  = true
	Out = false
)

// schemas turns Go types into OpenAPI schemas, named struct types into
// components referenced by name.
type schemas struct {
	comps openapi3.Schemas
	// names maps a struct type (and side) to its component name.
	names map[typeKey]string
	// taken holds every component name in use or reserved.
	taken map[string]bool
}

type typeKey struct {
	t   reflect.Type
	req bool
}

// reserved are the component names Doc gives its own schemas; a
// reflected type of the same name gets a numbered one.
var reserved = []string{"Detail", "ValidationError", "BadRequest", "User", "UserUpdate",
	"LoginResponse", "JWTLoginResponse", "LegacyJWTLoginResponse"}

func newSchemas() *schemas {
	s := &schemas{comps: openapi3.Schemas{}, names: map[typeKey]string{}, taken: map[string]bool{}}
	for _, n := range reserved {
		s.taken[n] = true
	}
	return s
}

// unique returns name, or name with the first free number appended.
func (s *schemas) unique(name string) string {
	n := name
	for i := 2; s.taken[n]; i++ {
		n = name + strconv.Itoa(i)
	}
	s.taken[n] = true
	return n
}

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// named returns a reference to the component name, built from t the first
// time.
func (s *schemas) named(name string, t reflect.Type, req bool) *openapi3.SchemaRef {
	k := typeKey{t, req}
	if n, ok := s.names[k]; ok {
		return openapi3.NewSchemaRef("#/components/schemas/"+n, nil)
	}
	name = s.unique(name)
	s.names[k] = name
	s.comps[name] = &openapi3.SchemaRef{} // placeholder for recursive types
	s.comps[name] = s.object(t, req).NewRef()
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

// of returns the schema of a value of type t.
func (s *schemas) of(t reflect.Type, req bool) *openapi3.SchemaRef {
	if t == nil {
		return openapi3.NewSchema().NewRef() // any JSON value
	}
	if t.Kind() == reflect.Pointer {
		ref := s.of(t.Elem(), req)
		if req {
			return ref
		}
		return nullable(ref) // a nil pointer is written as null
	}
	switch {
	case t == timeType:
		return openapi3.NewDateTimeSchema().NewRef()
	case t == rawMessageType || t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		return openapi3.NewSchema().NewRef() // its own encoding: any JSON value
	case t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType):
		return openapi3.NewStringSchema().NewRef()
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		b := openapi3.NewBytesSchema() // base64
		if !req {
			b.Nullable = true
		}
		return b.NewRef()
	}
	switch t.Kind() {
	case reflect.String:
		return openapi3.NewStringSchema().NewRef()
	case reflect.Bool:
		return openapi3.NewBoolSchema().NewRef()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return openapi3.NewIntegerSchema().NewRef()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return openapi3.NewIntegerSchema().WithMin(0).NewRef()
	case reflect.Float32, reflect.Float64:
		return openapi3.NewFloat64Schema().NewRef()
	case reflect.Slice, reflect.Array:
		a := openapi3.NewArraySchema()
		a.Items = s.of(t.Elem(), req)
		a.Nullable = !req && t.Kind() == reflect.Slice // a nil slice is written as null
		return a.NewRef()
	case reflect.Map:
		m := openapi3.NewObjectSchema()
		m.AdditionalProperties = openapi3.AdditionalProperties{Schema: s.of(t.Elem(), req)}
		m.Nullable = !req
		return m.NewRef()
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t, req).NewRef()
		}
		return s.named(componentName(t, req), t, req)
	}
	return openapi3.NewSchema().NewRef()
}

// nullable returns ref allowing null too: a copy of an inline schema,
// or an allOf wrapper around a reference (OpenAPI 3.0 ignores siblings of
// $ref).
func nullable(ref *openapi3.SchemaRef) *openapi3.SchemaRef {
	if ref.Ref == "" {
		v := *ref.Value
		v.Nullable = true
		return v.NewRef()
	}
	w := openapi3.NewSchema()
	w.AllOf = openapi3.SchemaRefs{ref}
	w.Nullable = true
	return w.NewRef()
}

// componentName is t's name, exported, with "Request" appended for the
// request side of a type not already named so.
func componentName(t reflect.Type, req bool) string {
	r := []rune(t.Name())
	r[0] = unicode.ToUpper(r[0])
	n := string(r)
	if req && !strings.HasSuffix(n, "Request") && !strings.HasSuffix(n, "Update") {
		n += "Request"
	}
	return n
}

// object is the schema of struct type t: its JSON fields (embedded
// structs flattened), with lengths and formats from binding tags.
//
// A response object is closed (additionalProperties: false): Go writes
// exactly these fields, so an extra key in an answer (a leaked column,
// say) does not match. A request object stays open: the app's hooks may
// read more fields.
func (s *schemas) object(t reflect.Type, req bool) *openapi3.Schema {
	o := openapi3.NewObjectSchema()
	o.Properties = openapi3.Schemas{}
	s.fields(o, t, req)
	if !req {
		o.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	}
	return o
}

func (s *schemas) fields(o *openapi3.Schema, t reflect.Type, req bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				s.fields(o, ft, req)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		ref := s.of(f.Type, req)
		binding := f.Tag.Get("binding")
		if ref.Ref == "" {
			v := *ref.Value
			applyBinding(&v, binding)
			if doc := f.Tag.Get("doc"); doc != "" {
				v.Description = doc
			}
			ref = v.NewRef()
		}
		o.Properties[name] = ref
		omit := strings.Contains(","+opts+",", ",omitempty,")
		switch {
		case req && hasRule(binding, "required"):
			o.Required = append(o.Required, name)
		case !req && !omit:
			o.Required = append(o.Required, name)
		}
	}
}

// hasRule reports whether a binding tag has rule.
func hasRule(binding, rule string) bool {
	for r := range strings.SplitSeq(binding, ",") {
		if r == rule {
			return true
		}
	}
	return false
}

// applyBinding adds what a binding tag checks (max, min, email) to a
// string schema.
func applyBinding(v *openapi3.Schema, binding string) {
	if v.Type == nil || !v.Type.Is(openapi3.TypeString) {
		return
	}
	for r := range strings.SplitSeq(binding, ",") {
		k, arg, _ := strings.Cut(r, "=")
		n, err := strconv.ParseUint(arg, 10, 64)
		switch {
		case k == "max" && err == nil:
			v.MaxLength = &n
		case k == "min" && err == nil:
			v.MinLength = n
		case k == "email":
			v.Format = "email"
		}
	}
}
