// Package bind reads request bodies the way Django REST framework does and
// fills DTO structs from them.
//
// It exists because gin's binding is too lenient for an auth API: it ignores
// Content-Type, and encoding/json matches keys case-insensitively, so
// {"Password": ...} would reach a field tagged "password". Here keys match
// exactly, strings are trimmed, JSON numbers are accepted as their decimal
// text, NUL characters are refused, numbers, booleans and datetimes follow
// DRF's IntegerField, FloatField, BooleanField and DateTimeField (see
// Struct), and every problem becomes a field error in DRF's shape.
package bind

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
	"golang.org/x/text/unicode/norm"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/verr"
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
			// As Django, on the NFKC form the name is stored in
			// ("E" + combining acute is "É").
			return usernameRe.MatchString(norm.NFKC.String(fl.Field().String()))
		})
	})
	return validate
}

// Struct fills dst, a pointer to a struct, from v. Fields are matched by the
// exact name in their `json` tag ("Age" never fills `json:"age"`); fields
// without a json name are skipped, and embedded structs (by value) are
// walked. Supported field types, each also as a pointer (nil when the key
// is absent), following the DRF field of the same kind:
//
//   - string kinds (CharField): strings and JSON numbers, trimmed;
//   - int, int8..int64, uint, uint8..uint64 (IntegerField): JSON numbers
//     with an integral value, or strings holding a decimal integer
//     ("42", " -7 ", "3.0"); values outside the type's range get the
//     min/max value message;
//   - float32, float64 (FloatField): JSON numbers or decimal strings;
//   - bool (BooleanField): true/false, the numbers 1 and 0, or the strings
//     DRF accepts ("true", "false", "1", "0", "yes", "no", "on", "off",
//     "t", "f", "y", "n" and their capitalised spellings); for an optional
//     pointer, "", "null" also mean null;
//   - time.Time (DateTimeField, ISO 8601): "YYYY-MM-DDThh:mm[:ss[.fff]]"
//     with a "Z" or ±hh:mm offset, or none (UTC).
//
// Named types of these kinds work too, except time.Duration. Any other
// type with a json name (or an embedded pointer to a struct) is a
// programming error: Struct returns a 503 error whose cause names the
// field, without touching dst.
//
// JSON null is refused ("This field may not be null.") for string fields,
// for non-pointer fields and for fields whose rules include "required"; an
// optional pointer field of another type is set to nil.
//
// Each field's `binding` tag is checked with go-playground/validator, one
// rule at a time so the first failing rule gives the message. "required"
// is enforced only when partial is false and, for non-string fields, means
// only that the key must be present (0 and false are values). For numbers,
// min/gte and max/lte give DRF's min_value/max_value messages. All field
// errors are returned together, one message per field.
func Struct(v Values, dst any, partial bool) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("bind: destination %T is not a pointer to a struct", dst)
	}
	p := planFor(rv.Elem().Type())
	if p.badType != nil {
		return fmt.Errorf("bind: field %s of %T has unsupported type %s", p.badField, dst, p.badType)
	}
	var errs verr.Fields
	sv := rv.Elem()
	for _, f := range p.fields {
		if f.kind == kindString {
			fillString(v, sv.FieldByIndex(f.index), f, partial, &errs)
		} else {
			fillValue(v, sv.FieldByIndex(f.index), f, partial, &errs)
		}
	}
	return errs.Err()
}

// valueKind is how a field's value is read.
type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindUint
	kindFloat
	kindBool
	kindTime
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
)

// field is one bindable struct field.
type field struct {
	index []int
	name  string // json name
	rules string // binding tag
	kind  valueKind
	elem  reflect.Type // the field type, or what it points to
	ptr   bool
}

// plan is the bindable fields of a struct type, or the first field whose
// type is not supported.
type plan struct {
	fields   []field
	badField string
	badType  reflect.Type
}

var plans sync.Map // reflect.Type -> *plan

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	p := &plan{}
	p.badField, p.badType = walk(t, nil, &p.fields)
	plans.Store(t, p)
	return p
}

// walk appends the bindable fields of struct type t to out, returning the
// (dotted) name and type of the first unsupported field.
func walk(t reflect.Type, index []int, out *[]field) (string, reflect.Type) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		idx := append(append([]int(nil), index...), i)
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Struct && ft != timeType {
				if name, bad := walk(ft, idx, out); bad != nil {
					return f.Name + "." + name, bad
				}
				continue
			}
			if ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct && ft.Elem() != timeType {
				// Its fields would be silently ignored: refuse it.
				return f.Name, ft
			}
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		elem, ptr := f.Type, false
		if elem.Kind() == reflect.Pointer {
			elem, ptr = elem.Elem(), true
		}
		k, ok := kindOf(elem)
		if !ok {
			return f.Name, f.Type
		}
		*out = append(*out, field{index: idx, name: name, rules: f.Tag.Get("binding"), kind: k, elem: elem, ptr: ptr})
	}
	return "", nil
}

func kindOf(t reflect.Type) (valueKind, bool) {
	switch {
	case t == timeType:
		return kindTime, true
	case t == durationType:
		return 0, false // integer nanoseconds would surprise every client
	}
	switch t.Kind() {
	case reflect.String:
		return kindString, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint, true
	case reflect.Float32, reflect.Float64:
		return kindFloat, true
	case reflect.Bool:
		return kindBool, true
	}
	return 0, false
}

// fillString binds a string or *string field.
func fillString(v Values, fv reflect.Value, f field, partial bool, errs *verr.Fields) {
	name, rules := f.name, f.rules
	s, present, problem := v.String(name)
	if problem != nil {
		errs.Add(name, *problem)
		return
	}
	if !present {
		if !partial && hasRule(rules, "required") {
			errs.Add(name, locales.M("field.required"))
		}
		return
	}
	if m := check(s, rules); m != nil {
		errs.Add(name, *m)
		return
	}
	if f.ptr {
		np := reflect.New(f.elem)
		np.Elem().SetString(s)
		fv.Set(np)
	} else {
		fv.SetString(s)
	}
}

// fillValue binds a number, bool or time field (or a pointer to one).
func fillValue(v Values, fv reflect.Value, f field, partial bool, errs *verr.Fields) {
	raw, present := v[f.name]
	required := hasRule(f.rules, "required")
	if !present {
		if !partial && required {
			errs.Add(f.name, locales.M("field.required"))
		}
		return
	}
	nullable := f.ptr && !required
	if raw == nil {
		if !nullable {
			errs.Add(f.name, locales.M("field.null"))
			return
		}
		fv.SetZero()
		return
	}
	val, null, m := convert(raw, f, nullable)
	if m != nil {
		errs.Add(f.name, *m)
		return
	}
	if null {
		fv.SetZero()
		return
	}
	if m := checkValue(val, f.rules); m != nil {
		errs.Add(f.name, *m)
		return
	}
	if f.ptr {
		np := reflect.New(f.elem)
		np.Elem().Set(val)
		fv.Set(np)
	} else {
		fv.Set(val)
	}
}

// convert turns raw (not nil) into a value of type f.elem. null reports a
// value that means null for a nullable field ("" or "null" for a bool).
func convert(raw any, f field, nullable bool) (val reflect.Value, null bool, m *locales.Message) {
	val = reflect.New(f.elem).Elem()
	switch f.kind {
	case kindInt, kindUint:
		neg, mag, overflow, problem := integer(raw)
		if problem != nil {
			return val, false, problem
		}
		if m := setInteger(val, neg, mag, overflow); m != nil {
			return val, false, m
		}
	case kindFloat:
		x, ok := float(raw, f.elem.Bits())
		if !ok {
			return val, false, invalidNumber()
		}
		val.SetFloat(x)
	case kindBool:
		b, isNull, ok := boolean(raw, nullable)
		if isNull {
			return val, true, nil
		}
		if !ok {
			m := withDefault(locales.M("field.invalid_boolean"), "Must be a valid boolean.")
			return val, false, &m
		}
		val.SetBool(b)
	case kindTime:
		t, ok := datetime(raw)
		if !ok {
			m := withDefault(locales.M("field.invalid_datetime"),
				"Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].")
			return val, false, &m
		}
		val.Set(reflect.ValueOf(t))
	}
	return val, false, nil
}

func withDefault(m locales.Message, text string) locales.Message {
	m.Default = text
	return m
}

func invalidInteger() *locales.Message {
	m := withDefault(locales.M("field.invalid_integer"), "A valid integer is required.")
	return &m
}

func invalidNumber() *locales.Message {
	m := withDefault(locales.M("field.invalid_number"), "A valid number is required.")
	return &m
}

func minValue(limit any) locales.Message {
	return withDefault(locales.M("field.min_value", "Min", limit),
		fmt.Sprintf("Ensure this value is greater than or equal to %v.", limit))
}

func maxValue(limit any) locales.Message {
	return withDefault(locales.M("field.max_value", "Max", limit),
		fmt.Sprintf("Ensure this value is less than or equal to %v.", limit))
}

// integer reads raw as DRF's IntegerField does: a JSON number with an
// integral value, or a string holding a decimal integer, optionally
// followed by a point and zeros ("3.0"). It returns the sign and the
// magnitude, or overflow when the magnitude does not fit in a uint64 (it
// is then out of range of every type).
func integer(raw any) (neg bool, mag uint64, overflow bool, m *locales.Message) {
	var s string
	switch x := raw.(type) {
	case json.Number:
		s = string(x)
		if strings.ContainsAny(s, "eE") {
			f, err := strconv.ParseFloat(s, 64)
			switch {
			case math.IsInf(f, 0) || math.Abs(f) >= 1<<64:
				return f < 0, 0, true, nil
			case err != nil || f != math.Trunc(f):
				return false, 0, false, invalidInteger()
			}
			return f < 0, uint64(math.Abs(f)), false, nil
		}
	case string:
		s = strings.TrimSpace(x)
	default:
		return false, 0, false, invalidInteger()
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if strings.Trim(s[i+1:], "0") != "" {
			return false, 0, false, invalidInteger()
		}
		s = s[:i]
	}
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return false, 0, false, invalidInteger()
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		return false, 0, false, nil
	}
	mag, err := strconv.ParseUint(s, 10, 64)
	if err != nil { // only ErrRange is possible here
		return neg, 0, true, nil
	}
	return neg, mag, false, nil
}

// setInteger stores ±mag in val, an integer of any size, or returns the
// message for a value outside the type's range.
func setInteger(val reflect.Value, neg bool, mag uint64, overflow bool) *locales.Message {
	bits := val.Type().Bits()
	if val.CanUint() {
		limit := uint64(math.MaxUint64) >> (64 - bits)
		switch {
		case neg && (mag != 0 || overflow):
			m := minValue(0)
			return &m
		case overflow || mag > limit:
			m := maxValue(limit)
			return &m
		}
		val.SetUint(mag)
		return nil
	}
	limit := uint64(1)<<(bits-1) - 1
	switch {
	case !neg && (overflow || mag > limit):
		m := maxValue(int64(limit))
		return &m
	case neg && (overflow || mag > limit+1):
		m := minValue(-int64(limit) - 1)
		return &m
	}
	if neg {
		val.SetInt(-int64(mag)) // mag == limit+1 wraps to the minimum, as wanted
	} else {
		val.SetInt(int64(mag))
	}
	return nil
}

var decimalRe = regexp.MustCompile(`^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$`)

// float reads raw as a finite number of the given size: a JSON number or a
// decimal string (no hex, NaN or infinity).
func float(raw any, bits int) (float64, bool) {
	var s string
	switch x := raw.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return 0, false
	}
	if !decimalRe.MatchString(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, bits)
	if err != nil { // out of range: ±Inf
		return 0, false
	}
	return f, true
}

// DRF BooleanField's TRUE_VALUES, FALSE_VALUES and NULL_VALUES (strings).
var (
	trueStrings = map[string]bool{"t": true, "T": true, "y": true, "Y": true, "yes": true, "Yes": true, "YES": true,
		"true": true, "True": true, "TRUE": true, "on": true, "On": true, "ON": true, "1": true}
	falseStrings = map[string]bool{"f": true, "F": true, "n": true, "N": true, "no": true, "No": true, "NO": true,
		"false": true, "False": true, "FALSE": true, "off": true, "Off": true, "OFF": true, "0": true}
	nullStrings = map[string]bool{"": true, "null": true, "Null": true, "NULL": true}
)

func boolean(raw any, nullable bool) (b, null, ok bool) {
	switch x := raw.(type) {
	case bool:
		return x, false, true
	case json.Number:
		// Python: 1 == 1.0 == True, 0 == 0.0 == False.
		f, err := strconv.ParseFloat(string(x), 64)
		if err == nil && (f == 0 || f == 1) {
			return f == 1, false, true
		}
	case string:
		switch {
		case trueStrings[x]:
			return true, false, true
		case falseStrings[x]:
			return false, false, true
		case nullable && nullStrings[x]:
			return false, true, false
		}
	}
	return false, false, false
}

var datetimeLayouts = []string{
	"2006-01-02T15:04:05Z07:00", // a fractional second is accepted after :05
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04Z07",
	"2006-01-02T15:04",
}

// datetime parses an ISO 8601 date and time as Django's parse_datetime
// does: "T" or a space between date and time, optional seconds and
// fraction, and an optional zone; without one the time is UTC.
func datetime(raw any) (time.Time, bool) {
	s, ok := raw.(string)
	if !ok {
		return time.Time{}, false
	}
	s = strings.TrimSpace(s)
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// checkValue runs the rules on a non-string value, one at a time.
// "required" was handled already: 0 and false are values.
func checkValue(val reflect.Value, rules string) *locales.Message {
	if rules == "" {
		return nil
	}
	for _, r := range strings.Split(rules, ",") {
		if r == "" || r == "omitempty" || r == "required" {
			continue
		}
		if err := engine().Var(val.Interface(), r); err != nil {
			name, param, _ := strings.Cut(r, "=")
			var m locales.Message
			switch name {
			case "min", "gte":
				m = minValue(param)
			case "max", "lte":
				m = maxValue(param)
			default:
				m = locales.M("field.invalid")
			}
			return &m
		}
	}
	return nil
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
		return locales.N("field.max_length", n, "Max", n)
	case "min":
		n, _ := strconv.Atoi(param)
		return locales.N("field.min_length", n, "Min", n)
	case "email":
		return locales.M("field.invalid_email")
	case "username":
		return locales.M("user.invalid_username")
	}
	return locales.M("field.invalid")
}
