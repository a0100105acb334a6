// Package verr holds validation errors: messages per field, the way
// Django REST framework reports them ({"field": ["message", ...]}). It
// knows nothing of HTTP; the HTTP layer answers them with 400.
package verr

import (
	"errors"
	"sort"
	"strings"

	"github.com/restauth/restauth/locales"
)

// NonField is the key DRF uses for object-level validation errors.
const NonField = "non_field_errors"

// Error is a set of field errors.
type Error struct {
	Fields map[string][]locales.Message
}

// Error lists the fields and message IDs, for logs.
func (e *Error) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("validation failed:")
	for _, k := range keys {
		b.WriteString(" " + k + "=[")
		for i, m := range e.Fields[k] {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(m.ID)
		}
		b.WriteString("]")
	}
	return b.String()
}

// Field returns an error with messages for one field.
func Field(name string, msgs ...locales.Message) *Error {
	return &Error{Fields: map[string][]locales.Message{name: msgs}}
}

// NonFieldError returns an object-level error with one message.
func NonFieldError(m locales.Message) *Error { return Field(NonField, m) }

// Fields collects field errors; its zero value is ready to use.
type Fields map[string][]locales.Message

// Add records m for field name.
func (f *Fields) Add(name string, m ...locales.Message) {
	if *f == nil {
		*f = make(Fields)
	}
	(*f)[name] = append((*f)[name], m...)
}

// Has reports whether name has an error.
func (f Fields) Has(name string) bool { return len(f[name]) > 0 }

// Err returns the fields as an *Error, or nil when there are none.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Fields: map[string][]locales.Message(f)}
}

// Merge adds the field errors of err into f. It reports false when err
// is not a field error (it must then be returned as it is); nil merges.
func (f *Fields) Merge(err error) bool {
	if err == nil {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	for k, v := range e.Fields {
		f.Add(k, v...)
	}
	return true
}
