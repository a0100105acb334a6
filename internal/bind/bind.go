// Package bind reads request bodies the way Django REST framework does and
// fills DTO structs from them.
//
// It exists because gin's binding is too lenient for an auth API: it ignores
// Content-Type, and encoding/json matches keys case-insensitively, so
// {"Password": ...} would reach a field tagged "password". Here keys match
// exactly, strings are trimmed, JSON numbers are accepted as their decimal
// text, NUL characters are refused, and every problem becomes a field error
// in DRF's shape.
package bind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/locales"
)

// Values are the decoded top-level fields of a request body. A value is a
// string (forms, JSON strings), json.Number, bool, nil, []any or
// map[string]any.
type Values map[string]any

// Read decodes the body of r as JSON, form-urlencoded or multipart form,
// reading at most maxBytes. An empty body gives empty Values.
func Read(r *http.Request, maxBytes int64) (Values, *apierr.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return Values{}, nil
	}
	if r.ContentLength > maxBytes {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge()
		}
		return nil, apierr.Detail(http.StatusBadRequest, locales.M("request.json_parse_error", "Reason", "could not read body"))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Values{}, nil
	}
	ct := r.Header.Get("Content-Type")
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	switch {
	case mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")):
		return readJSON(body)
	case mt == "application/x-www-form-urlencoded":
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, apierr.Detail(http.StatusBadRequest, locales.M("request.form_parse_error"))
		}
		return fromForm(q), nil
	case mt == "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, apierr.Detail(http.StatusBadRequest, locales.M("request.form_parse_error"))
		}
		rr := *r
		rr.Body = io.NopCloser(bytes.NewReader(body))
		rr.Form, rr.PostForm, rr.MultipartForm = nil, nil, nil
		if err := rr.ParseMultipartForm(maxBytes); err != nil {
			return nil, apierr.Detail(http.StatusBadRequest, locales.M("request.form_parse_error"))
		}
		if rr.MultipartForm != nil {
			defer func() { _ = rr.MultipartForm.RemoveAll() }()
			return fromForm(rr.MultipartForm.Value), nil
		}
		return Values{}, nil
	default:
		return nil, apierr.Detail(http.StatusUnsupportedMediaType, locales.M("request.unsupported_media_type", "Type", ct))
	}
}

func tooLarge() *apierr.Error {
	return apierr.Detail(http.StatusRequestEntityTooLarge, locales.M("request.body_too_large"))
}

func readJSON(body []byte) (Values, *apierr.Error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, parseError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, parseError(errors.New("extra data after the JSON value"))
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, apierr.Field(apierr.NonField, locales.M("request.expected_object", "Type", jsonType(v)))
	}
	return Values(obj), nil
}

func parseError(err error) *apierr.Error {
	reason := err.Error()
	if len(reason) > 200 {
		reason = reason[:200]
	}
	return apierr.Detail(http.StatusBadRequest, locales.M("request.json_parse_error", "Reason", reason))
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case json.Number:
		return "int"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	case []any:
		return "list"
	}
	return "object"
}

func fromForm(q map[string][]string) Values {
	out := make(Values, len(q))
	for k, vs := range q {
		if len(vs) > 0 {
			out[k] = vs[len(vs)-1] // Django's QueryDict gives the last value
		}
	}
	return out
}

// String returns the value of key as a trimmed string, reporting whether it
// is present and a field error when it is not a valid string.
func (v Values) String(key string) (s string, present bool, problem *locales.Message) {
	raw, ok := v[key]
	if !ok {
		return "", false, nil
	}
	var m locales.Message
	switch x := raw.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case nil:
		m = locales.M("field.null")
		return "", true, &m
	default:
		m = locales.M("field.not_string")
		return "", true, &m
	}
	if !utf8.ValidString(s) {
		m = locales.M("field.not_string")
		return "", true, &m
	}
	if strings.ContainsRune(s, 0) {
		m = locales.M("field.nul_byte")
		return "", true, &m
	}
	return strings.TrimSpace(s), true, nil
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
	usernameRe   = regexp.MustCompile(`^[\p{L}\p{N}@.+\-_]+$`)
)

func engine() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		_ = validate.RegisterValidation("username", func(fl validator.FieldLevel) bool {
			return usernameRe.MatchString(fl.Field().String())
		})
	})
	return validate
}

// Validator returns the go-playground validator bind uses (tag "binding"),
// so callers can register their own rules.
func Validator() *validator.Validate { return engine() }

// Struct fills dst, a pointer to a struct, from v. Fields are matched by the
// exact name in their `json` tag; embedded structs are walked. Supported
// field types are string and *string (nil when the key is absent). Each
// field's `binding` tag is checked with go-playground/validator; "required"
// is enforced only when partial is false. All field errors are returned
// together, one message per field.
func Struct(v Values, dst any, partial bool) *apierr.Error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return apierr.Unavailable(fmt.Errorf("bind: destination %T is not a pointer to a struct", dst))
	}
	var errs apierr.Fields
	fill(v, rv.Elem(), partial, &errs)
	return errs.Err()
}

func fill(v Values, sv reflect.Value, partial bool, errs *apierr.Fields) {
	st := sv.Type()
	for i := 0; i < st.NumField(); i++ {
		f := st.Field(i)
		fv := sv.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			fill(v, fv, partial, errs)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		isPtr := f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.String
		if f.Type.Kind() != reflect.String && !isPtr {
			continue
		}
		s, present, problem := v.String(name)
		if problem != nil {
			errs.Add(name, *problem)
			continue
		}
		rules := f.Tag.Get("binding")
		if !present {
			if !partial && hasRule(rules, "required") {
				errs.Add(name, locales.M("field.required"))
			}
			continue
		}
		if m := check(s, rules); m != nil {
			errs.Add(name, *m)
			continue
		}
		if isPtr {
			np := reflect.New(f.Type.Elem())
			np.Elem().SetString(s)
			fv.Set(np)
		} else {
			fv.SetString(s)
		}
	}
}

func hasRule(rules, name string) bool {
	for _, r := range strings.Split(rules, ",") {
		if r == name {
			return true
		}
	}
	return false
}

// check runs the rules one at a time, so the first failing rule gives the
// message (DRF reports blank before length before format).
func check(s string, rules string) *locales.Message {
	if rules == "" {
		return nil
	}
	for _, r := range strings.Split(rules, ",") {
		if r == "" || r == "omitempty" {
			continue
		}
		if s == "" && r != "required" {
			continue // optional field sent blank: the other rules do not apply
		}
		if err := engine().Var(s, r); err != nil {
			m := message(r)
			return &m
		}
	}
	return nil
}

func message(rule string) locales.Message {
	name, param, _ := strings.Cut(rule, "=")
	switch name {
	case "required":
		return locales.M("field.blank")
	case "max":
		n, _ := strconv.Atoi(param)
		return locales.M("field.max_length", "Max", n)
	case "min":
		n, _ := strconv.Atoi(param)
		return locales.M("field.min_length", "Min", n)
	case "email":
		return locales.M("field.invalid_email")
	case "username":
		return locales.M("user.invalid_username")
	}
	return locales.M("field.invalid")
}
