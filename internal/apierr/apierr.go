// Package apierr is the HTTP layer's error: a status, headers and a body
// of detail or field messages, rendered in the shape Django REST framework
// uses. The services return plain errors and verr field errors; the HTTP
// layer turns them into an Error.
package apierr

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/restauth/restauth/locales"
)

// NonField is the key DRF uses for object-level validation errors.
const NonField = "non_field_errors"

// Error is a client-facing error. Either Detail is set ({"detail": ...}) or
// Fields is ({"field": ["msg", ...]}). Cause, when set, is logged and never
// shown.
type Error struct {
	Status int
	Detail *locales.Message
	Code   string
	Fields map[string][]locales.Message
	Header map[string]string
	// Extra holds further keys of a detail body (simplejwt's "messages").
	Extra map[string]any
	Cause error
}

// Error describes e for logs.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apierr %d", e.Status)
	if e.Detail != nil {
		fmt.Fprintf(&b, " detail=%s", e.Detail.ID)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ids := make([]string, len(e.Fields[k]))
		for i, m := range e.Fields[k] {
			ids[i] = m.ID
		}
		fmt.Fprintf(&b, " %s=%v", k, ids)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %v", e.Cause)
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Detail returns an error rendered as {"detail": m} with the given status.
func Detail(status int, m locales.Message) *Error {
	return &Error{Status: status, Detail: &m}
}

// Field returns a 400 error with messages for one field.
func Field(name string, msgs ...locales.Message) *Error {
	return &Error{Status: http.StatusBadRequest, Fields: map[string][]locales.Message{name: msgs}}
}

// Body renders e into the JSON body, translating messages with text.
func (e *Error) Body(text func(locales.Message) string) map[string]any {
	if e.Detail != nil || len(e.Fields) == 0 {
		out := map[string]any{}
		if e.Detail != nil {
			out["detail"] = text(*e.Detail)
		}
		if e.Code != "" {
			out["code"] = e.Code
		}
		for k, v := range e.Extra {
			out[k] = v
		}
		return out
	}
	out := make(map[string]any, len(e.Fields))
	for k, msgs := range e.Fields {
		s := make([]string, len(msgs))
		for i, m := range msgs {
			s[i] = text(m)
		}
		out[k] = s
	}
	return out
}

// Unavailable wraps an unexpected server-side failure (database down, ...)
// into a 503 whose cause is logged, never shown.
func Unavailable(cause error) *Error {
	e := Detail(http.StatusServiceUnavailable, locales.M("request.service_unavailable"))
	e.Cause = cause
	return e
}
