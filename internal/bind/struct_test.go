package bind_test

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/restauth/restauth/internal/bind"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// Expected field errors, as "id: English text".
const (
	invInt   = "field.invalid_integer: A valid integer is required."
	invNum   = "field.invalid_number: A valid number is required."
	invBool  = "field.invalid_boolean: Must be a valid boolean."
	invTime  = "field.invalid_datetime: Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
	isNull   = "field.null: This field may not be null."
	required = "field.required: This field is required."
	blank    = "field.blank: This field may not be blank."
	invalid  = "field.invalid: Invalid value"
	notStr   = "field.not_string: Not a valid string."
)

func minV(n string) string {
	return "field.min_value: Ensure this value is greater than or equal to " + n + "."
}

func maxV(n string) string {
	return "field.max_value: Ensure this value is less than or equal to " + n + "."
}

func ptr[T any](v T) *T { return &v }

func num(s string) json.Number { return json.Number(s) }

var catalog = locales.New()

// render turns a bind error into field -> "id: text"; it fails the test on
// anything but a 400 field error with one message per field.
func render(t *testing.T, err error) map[string]string {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *verr.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a field error, got %v", err)
	}
	out := make(map[string]string, len(e.Fields))
	for k, msgs := range e.Fields {
		if len(msgs) != 1 {
			t.Errorf("field %s: %d messages, want 1", k, len(msgs))
		}
		out[k] = msgs[0].ID + ": " + catalog.Text("", msgs[0])
	}
	return out
}

type bindCase struct {
	name    string
	v       bind.Values
	partial bool
	dst     any // pointer to the struct to fill, possibly prefilled
	want    any // what dst must point to afterwards
	errs    map[string]string
}

func runCases(t *testing.T, cases []bindCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, bind.Struct(tc.v, tc.dst, tc.partial))
			if len(got) != 0 || len(tc.errs) != 0 {
				if !reflect.DeepEqual(got, tc.errs) {
					t.Errorf("errors\n got %v\nwant %v", got, tc.errs)
				}
			}
			if !reflect.DeepEqual(tc.dst, tc.want) {
				t.Errorf("dst\n got %+v\nwant %+v", deref(tc.dst), deref(tc.want))
			}
		})
	}
}

func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }

type level int16

type ints struct {
	I   int    `json:"i"`
	I8  int8   `json:"i8"`
	I16 int16  `json:"i16"`
	I32 int32  `json:"i32"`
	I64 int64  `json:"i64"`
	U   uint   `json:"u"`
	U8  uint8  `json:"u8"`
	U16 uint16 `json:"u16"`
	U32 uint32 `json:"u32"`
	U64 uint64 `json:"u64"`
	P   *int   `json:"p"`
	PU8 *uint8 `json:"pu8"`
	L   level  `json:"l"`
	PL  *level `json:"pl"`
}

func TestIntegers(t *testing.T) {
	t.Parallel()
	one := func(key string, raw any, want ints, errs ...string) bindCase {
		c := bindCase{name: key + "=" + describe(raw), v: bind.Values{key: raw}, dst: &ints{}, want: &want}
		if len(errs) > 0 {
			c.errs = map[string]string{key: errs[0]}
		}
		return c
	}
	runCases(t, []bindCase{
		one("i", num("42"), ints{I: 42}),
		one("i", num("-7"), ints{I: -7}),
		one("i", num("0"), ints{}),
		one("i", num("-0"), ints{}),
		one("i", num("3.0"), ints{I: 3}),
		one("i", num("-2.000"), ints{I: -2}),
		one("i", num("1e3"), ints{I: 1000}),
		one("i", num("2.5E1"), ints{I: 25}),
		one("i", num("-0e5"), ints{}),
		one("i", num("1e-400"), ints{}), // underflows to 0, as in Python
		one("i", "42", ints{I: 42}),
		one("i", "  -7\t", ints{I: -7}),
		one("i", "+5", ints{I: 5}),
		one("i", "007", ints{I: 7}),
		one("i", "3.0", ints{I: 3}),
		one("i", "3.", ints{I: 3}),
		one("i", "-0", ints{}),
		one("l", "-12", ints{L: -12}),
		one("pl", num("12"), ints{PL: ptr(level(12))}),
		one("p", num("5"), ints{P: ptr(5)}),
		one("p", "-5", ints{P: ptr(-5)}),
		one("pu8", "255", ints{PU8: ptr(uint8(255))}),

		// Not integers.
		one("i", num("1.5"), ints{}, invInt),
		one("i", num("0.1"), ints{}, invInt),
		one("i", num("1e-1"), ints{}, invInt),
		one("i", num("1.25e1"), ints{}, invInt),
		one("i", "1.5", ints{}, invInt),
		one("i", "1.01", ints{}, invInt),
		one("i", "1e3", ints{}, invInt),
		one("i", "", ints{}, invInt),
		one("i", "   ", ints{}, invInt),
		one("i", ".0", ints{}, invInt),
		one("i", "-", ints{}, invInt),
		one("i", "+-1", ints{}, invInt),
		one("i", "abc", ints{}, invInt),
		one("i", "12abc", ints{}, invInt),
		one("i", "1_000", ints{}, invInt),
		one("i", "1,000", ints{}, invInt),
		one("i", "0x10", ints{}, invInt),
		one("i", "١٢", ints{}, invInt), // Arabic-Indic digits
		one("i", "1\x00", ints{}, invInt),
		one("i", "NaN", ints{}, invInt),
		one("i", true, ints{}, invInt),
		one("i", false, ints{}, invInt),
		one("i", []any{num("1")}, ints{}, invInt),
		one("i", map[string]any{"v": num("1")}, ints{}, invInt),
		one("p", "x", ints{}, invInt),
		one("p", "", ints{}, invInt),

		// Ranges.
		one("i8", num("127"), ints{I8: 127}),
		one("i8", num("-128"), ints{I8: -128}),
		one("i8", num("128"), ints{}, maxV("127")),
		one("i8", "-129", ints{}, minV("-128")),
		one("i16", num("32767"), ints{I16: 32767}),
		one("i16", num("32768"), ints{}, maxV("32767")),
		one("i16", num("-32769"), ints{}, minV("-32768")),
		one("l", num("40000"), ints{}, maxV("32767")),
		one("i32", num("2147483647"), ints{I32: math.MaxInt32}),
		one("i32", num("-2147483648"), ints{I32: math.MinInt32}),
		one("i32", num("2147483648"), ints{}, maxV("2147483647")),
		one("i32", num("-2147483649"), ints{}, minV("-2147483648")),
		one("i64", num("9223372036854775807"), ints{I64: math.MaxInt64}),
		one("i64", num("-9223372036854775808"), ints{I64: math.MinInt64}),
		one("i64", num("9223372036854775808"), ints{}, maxV("9223372036854775807")),
		one("i64", num("-9223372036854775809"), ints{}, minV("-9223372036854775808")),
		one("i64", num("1e19"), ints{}, maxV("9223372036854775807")),
		one("i64", num("-1e400"), ints{}, minV("-9223372036854775808")),
		one("i", num("1e400"), ints{}, maxV("9223372036854775807")),
		one("i", strings.Repeat("9", 100), ints{}, maxV("9223372036854775807")),
		one("i", "-"+strings.Repeat("9", 100), ints{}, minV("-9223372036854775808")),
		one("i", "0000000000000000000000000000001", ints{I: 1}),
		one("u8", num("255"), ints{U8: 255}),
		one("u8", num("256"), ints{}, maxV("255")),
		one("u8", "-0", ints{}),
		one("u8", "-1", ints{}, minV("0")),
		one("u", num("-1"), ints{}, minV("0")),
		one("u64", "-"+strings.Repeat("9", 30), ints{}, minV("0")),
		one("u64", num("-1e400"), ints{}, minV("0")),
		one("u16", num("65535"), ints{U16: 65535}),
		one("u16", num("65536"), ints{}, maxV("65535")),
		one("u32", num("4294967295"), ints{U32: math.MaxUint32}),
		one("u32", num("4294967296"), ints{}, maxV("4294967295")),
		one("u64", num("18446744073709551615"), ints{U64: math.MaxUint64}),
		one("u64", num("18446744073709551616"), ints{}, maxV("18446744073709551615")),
		one("u64", num("1e20"), ints{}, maxV("18446744073709551615")),
		one("u", num("18446744073709551615"), ints{U: math.MaxUint}),
		one("pu8", "256", ints{}, maxV("255")),
	})
}

func describe(raw any) string {
	switch x := raw.(type) {
	case json.Number:
		return "num(" + x.String() + ")"
	case string:
		return "str(" + x + ")"
	case nil:
		return "null"
	}
	b, _ := json.Marshal(raw)
	return string(b)
}

type floats struct {
	F   float64  `json:"f"`
	F32 float32  `json:"f32"`
	P   *float64 `json:"p"`
}

func TestFloats(t *testing.T) {
	t.Parallel()
	one := func(key string, raw any, want floats, errs ...string) bindCase {
		c := bindCase{name: key + "=" + describe(raw), v: bind.Values{key: raw}, dst: &floats{}, want: &want}
		if len(errs) > 0 {
			c.errs = map[string]string{key: errs[0]}
		}
		return c
	}
	runCases(t, []bindCase{
		one("f", num("2.5"), floats{F: 2.5}),
		one("f", num("-1e3"), floats{F: -1000}),
		one("f", num("7"), floats{F: 7}),
		one("f", "1.25", floats{F: 1.25}),
		one("f", " -0.5 ", floats{F: -0.5}),
		one("f", ".5", floats{F: 0.5}),
		one("f", "5.", floats{F: 5}),
		one("f", "+3", floats{F: 3}),
		one("f", "1e3", floats{F: 1000}),
		one("f32", num("1.5"), floats{F32: 1.5}),
		one("p", "0.25", floats{P: ptr(0.25)}),

		one("f", "", floats{}, invNum),
		one("f", "abc", floats{}, invNum),
		one("f", "1.2.3", floats{}, invNum),
		one("f", "nan", floats{}, invNum),
		one("f", "NaN", floats{}, invNum),
		one("f", "inf", floats{}, invNum),
		one("f", "-Infinity", floats{}, invNum),
		one("f", "0x1p3", floats{}, invNum),
		one("f", "1_0", floats{}, invNum),
		one("f", "1e", floats{}, invNum),
		one("f", ".", floats{}, invNum),
		one("f", num("1e400"), floats{}, invNum),
		one("f32", num("1e39"), floats{}, invNum),
		one("f", true, floats{}, invNum),
		one("f", []any{}, floats{}, invNum),
		one("p", "x", floats{}, invNum),
	})
}

type bools struct {
	B   bool  `json:"b"`
	P   *bool `json:"p"`
	Req *bool `json:"req" binding:"required"`
}

func TestBooleans(t *testing.T) {
	t.Parallel()
	var cases []bindCase
	for _, s := range []string{"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"} {
		cases = append(cases, bindCase{name: "true/" + s, v: bind.Values{"b": s}, dst: &bools{}, want: &bools{B: true}})
	}
	for _, s := range []string{"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"} {
		// Prefilled with true, so that binding false is visible.
		cases = append(cases, bindCase{name: "false/" + s, v: bind.Values{"b": s}, dst: &bools{B: true}, want: &bools{}})
	}
	for _, raw := range []any{true, num("1"), num("1.0"), num("1e0")} {
		cases = append(cases, bindCase{name: "true/" + describe(raw), v: bind.Values{"b": raw}, dst: &bools{}, want: &bools{B: true}})
	}
	for _, raw := range []any{false, num("0"), num("0.0"), num("-0")} {
		cases = append(cases, bindCase{name: "false/" + describe(raw), v: bind.Values{"b": raw}, dst: &bools{B: true}, want: &bools{}})
	}
	for _, raw := range []any{"", "null", "maybe", "2", " true", "true ", "tRUE", "oN", "1.0", "yes\x00", num("2"), num("0.5"), num("-1"), []any{true}, map[string]any{}} {
		cases = append(cases, bindCase{
			name: "invalid/" + describe(raw), v: bind.Values{"b": raw}, dst: &bools{B: true}, want: &bools{B: true},
			errs: map[string]string{"b": invBool},
		})
	}
	cases = append(cases,
		bindCase{name: "pointer true", v: bind.Values{"p": "on"}, dst: &bools{}, want: &bools{P: ptr(true)}},
		bindCase{name: "pointer false", v: bind.Values{"p": false}, dst: &bools{}, want: &bools{P: ptr(false)}},
		// DRF's NULL_VALUES for an optional (allow_null) field.
		bindCase{name: "pointer empty string", v: bind.Values{"p": ""}, dst: &bools{P: ptr(true)}, want: &bools{}},
		bindCase{name: "pointer null string", v: bind.Values{"p": "null"}, dst: &bools{P: ptr(true)}, want: &bools{}},
		bindCase{name: "pointer NULL string", v: bind.Values{"p": "NULL"}, dst: &bools{P: ptr(true)}, want: &bools{}},
		bindCase{name: "pointer null", v: bind.Values{"p": nil}, dst: &bools{P: ptr(true)}, want: &bools{}},
		bindCase{name: "pointer none string", v: bind.Values{"p": "none"}, dst: &bools{}, want: &bools{}, errs: map[string]string{"p": invBool}},
		bindCase{name: "required pointer empty", v: bind.Values{"req": ""}, dst: &bools{}, want: &bools{}, errs: map[string]string{"req": invBool}},
		bindCase{name: "required pointer null string", v: bind.Values{"req": "null"}, dst: &bools{}, want: &bools{}, errs: map[string]string{"req": invBool}},
		bindCase{name: "required pointer null", v: bind.Values{"req": nil}, dst: &bools{}, want: &bools{}, errs: map[string]string{"req": isNull}},
		bindCase{name: "required pointer false", v: bind.Values{"req": "0"}, dst: &bools{}, want: &bools{Req: ptr(false)}},
		bindCase{name: "non-pointer null", v: bind.Values{"b": nil}, dst: &bools{B: true}, want: &bools{B: true}, errs: map[string]string{"b": isNull}},
	)
	for i := range cases {
		cases[i].partial = true // "req" is absent from most bodies
	}
	runCases(t, cases)
}

type times struct {
	T   time.Time  `json:"t"`
	P   *time.Time `json:"p"`
	Req *time.Time `json:"req" binding:"required"`
}

func TestDatetimes(t *testing.T) {
	t.Parallel()
	utc := func(s string) time.Time {
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	valid := []struct {
		in     string
		want   time.Time
		offset int // seconds east of UTC
	}{
		{"2024-05-06T07:08:09Z", utc("2024-05-06T07:08:09Z"), 0},
		{"2024-05-06T07:08:09.123456Z", utc("2024-05-06T07:08:09.123456Z"), 0},
		{"2024-05-06T07:08:09,5Z", utc("2024-05-06T07:08:09.5Z"), 0},
		{"2024-05-06T07:08:09+02:00", utc("2024-05-06T05:08:09Z"), 7200},
		{"2024-05-06T07:08:09.5-05:30", utc("2024-05-06T12:38:09.5Z"), -19800},
		{"2024-05-06T07:08:09+0200", utc("2024-05-06T05:08:09Z"), 7200},
		{"2024-05-06T07:08:09+02", utc("2024-05-06T05:08:09Z"), 7200},
		{"2024-05-06T07:08Z", utc("2024-05-06T07:08:00Z"), 0},
		{"2024-05-06T07:08+01:00", utc("2024-05-06T06:08:00Z"), 3600},
		{"2024-05-06T07:08+0100", utc("2024-05-06T06:08:00Z"), 3600},
		{"2024-05-06T07:08-01", utc("2024-05-06T08:08:00Z"), -3600},
		{"2024-05-06T07:08:09", utc("2024-05-06T07:08:09Z"), 0},
		{"2024-05-06T07:08:09.25", utc("2024-05-06T07:08:09.25Z"), 0},
		{"2024-05-06T07:08", utc("2024-05-06T07:08:00Z"), 0},
		{"2024-05-06 07:08:09Z", utc("2024-05-06T07:08:09Z"), 0},
		{"2024-05-06T7:08:09Z", utc("2024-05-06T07:08:09Z"), 0}, // Django allows a one-digit hour
		{"  2024-05-06T07:08:09Z ", utc("2024-05-06T07:08:09Z"), 0},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			for _, key := range []string{"t", "p", "req"} {
				var dst times
				if e := bind.Struct(bind.Values{key: tc.in}, &dst, true); e != nil {
					t.Fatalf("%s: %v", key, e)
				}
				got := dst.T
				switch key {
				case "p":
					if dst.P == nil {
						t.Fatalf("p is nil")
					}
					got = *dst.P
				case "req":
					if dst.Req == nil {
						t.Fatalf("req is nil")
					}
					got = *dst.Req
				}
				if !got.Equal(tc.want) {
					t.Errorf("%s: got %v, want %v", key, got, tc.want)
				}
				if _, off := got.Zone(); off != tc.offset {
					t.Errorf("%s: offset %d, want %d", key, off, tc.offset)
				}
			}
		})
	}

	var cases []bindCase
	for _, raw := range []any{
		"", "2024-05-06", "07:08:09", "06/05/2024 07:08", "2024-5-6T07:08:09Z",
		"2024-02-30T00:00:00Z", "2024-05-06T25:00:00Z", "2024-05-06T07:08:09 +02:00", "2024-05-06t07:08:09z",
		"2024-05-06T07:08:09Zjunk", "Mon, 06 May 2024 07:08:09 GMT", "1714979289",
		num("1714979289"), true, []any{"2024-05-06T07:08:09Z"},
	} {
		cases = append(cases, bindCase{
			name: "invalid/" + describe(raw), v: bind.Values{"t": raw}, partial: true, dst: &times{}, want: &times{},
			errs: map[string]string{"t": invTime},
		})
	}
	prev := ptr(time.Unix(1, 0))
	cases = append(cases,
		bindCase{name: "null", v: bind.Values{"t": nil}, partial: true, dst: &times{}, want: &times{}, errs: map[string]string{"t": isNull}},
		bindCase{name: "pointer null", v: bind.Values{"p": nil}, partial: true, dst: &times{P: prev}, want: &times{}},
		bindCase{name: "pointer empty", v: bind.Values{"p": ""}, partial: true, dst: &times{}, want: &times{}, errs: map[string]string{"p": invTime}},
		bindCase{name: "required pointer null", v: bind.Values{"req": nil}, dst: &times{}, want: &times{}, errs: map[string]string{"req": isNull}},
		bindCase{name: "required absent", v: bind.Values{}, dst: &times{}, want: &times{}, errs: map[string]string{"req": required}},
	)
	runCases(t, cases)
}

type rules struct {
	Age     int      `json:"age" binding:"required,min=18,max=120"`
	Score   *int64   `json:"score" binding:"gte=-5,lte=5"`
	Ratio   float64  `json:"ratio" binding:"min=0.5,max=1"`
	Tier    uint8    `json:"tier" binding:"oneof=1 2 3"`
	Flag    bool     `json:"flag" binding:"required"`
	Count   *int     `json:"count" binding:"required"`
	Percent *float32 `json:"percent" binding:"omitempty,max=100"`
}

func TestRulesAndRequired(t *testing.T) {
	t.Parallel()
	full := func(extra bind.Values) bind.Values {
		v := bind.Values{"age": num("30"), "flag": false, "count": num("0")}
		for k, x := range extra {
			if x == nil {
				delete(v, k)
			} else {
				v[k] = x
			}
		}
		return v
	}
	base := rules{Age: 30, Count: ptr(0)}
	with := func(f func(*rules)) *rules {
		r := base
		f(&r)
		return &r
	}
	runCases(t, []bindCase{
		{name: "zero values satisfy required", v: full(nil), dst: &rules{Flag: true}, want: &base},
		{name: "min boundary", v: full(bind.Values{"age": "18"}), dst: &rules{}, want: with(func(r *rules) { r.Age = 18 })},
		{name: "below min", v: full(bind.Values{"age": num("17")}), dst: &rules{}, want: with(func(r *rules) { r.Age = 0 }),
			errs: map[string]string{"age": minV("18")}},
		{name: "above max", v: full(bind.Values{"age": "121"}), dst: &rules{}, want: with(func(r *rules) { r.Age = 0 }),
			errs: map[string]string{"age": maxV("120")}},
		{name: "type error before rules", v: full(bind.Values{"age": "x"}), dst: &rules{}, want: with(func(r *rules) { r.Age = 0 }),
			errs: map[string]string{"age": invInt}},
		{name: "gte", v: full(bind.Values{"score": num("-6")}), dst: &rules{}, want: &base,
			errs: map[string]string{"score": minV("-5")}},
		{name: "lte", v: full(bind.Values{"score": num("6")}), dst: &rules{}, want: &base,
			errs: map[string]string{"score": maxV("5")}},
		{name: "in range pointer", v: full(bind.Values{"score": num("-5")}), dst: &rules{}, want: with(func(r *rules) { r.Score = ptr(int64(-5)) })},
		{name: "float min", v: full(bind.Values{"ratio": num("0.4")}), dst: &rules{}, want: &base,
			errs: map[string]string{"ratio": minV("0.5")}},
		{name: "float max", v: full(bind.Values{"ratio": "1.01"}), dst: &rules{}, want: &base,
			errs: map[string]string{"ratio": maxV("1")}},
		{name: "float ok", v: full(bind.Values{"ratio": "0.75"}), dst: &rules{}, want: with(func(r *rules) { r.Ratio = 0.75 })},
		{name: "other rule", v: full(bind.Values{"tier": num("4")}), dst: &rules{}, want: &base,
			errs: map[string]string{"tier": invalid}},
		{name: "other rule ok", v: full(bind.Values{"tier": "2"}), dst: &rules{}, want: with(func(r *rules) { r.Tier = 2 })},
		{name: "omitempty does not skip a sent value", v: full(bind.Values{"percent": num("101")}), dst: &rules{}, want: &base,
			errs: map[string]string{"percent": maxV("100")}},
		{name: "omitempty zero", v: full(bind.Values{"percent": num("0")}), dst: &rules{}, want: with(func(r *rules) { r.Percent = ptr(float32(0)) })},
		{name: "required absent", v: bind.Values{}, dst: &rules{}, want: &rules{},
			errs: map[string]string{"age": required, "flag": required, "count": required}},
		{name: "required pointer absent", v: full(bind.Values{"count": nil}), dst: &rules{}, want: with(func(r *rules) { r.Count = nil }),
			errs: map[string]string{"count": required}},
		{name: "several errors at once", v: bind.Values{"age": "x", "score": "y", "ratio": true, "tier": num("1.5"), "flag": "maybe", "count": nil, "percent": "z"},
			dst: &rules{}, want: &rules{},
			errs: map[string]string{"age": invInt, "score": invInt, "ratio": invNum, "tier": invInt, "flag": invBool, "count": isNull, "percent": invNum}},
	})
}

func TestNull(t *testing.T) {
	t.Parallel()
	type nulls struct {
		I    int      `json:"i"`
		P    *int     `json:"p"`
		F    float64  `json:"f"`
		PF   *float64 `json:"pf"`
		PReq *uint    `json:"preq" binding:"required"`
		S    string   `json:"s"`
		PS   *string  `json:"ps"`
	}
	runCases(t, []bindCase{
		{name: "non-pointer int", v: bind.Values{"i": nil}, partial: true, dst: &nulls{I: 3}, want: &nulls{I: 3}, errs: map[string]string{"i": isNull}},
		{name: "non-pointer float", v: bind.Values{"f": nil}, partial: true, dst: &nulls{}, want: &nulls{}, errs: map[string]string{"f": isNull}},
		{name: "pointer int", v: bind.Values{"p": nil}, partial: true, dst: &nulls{P: ptr(3)}, want: &nulls{}},
		{name: "pointer float", v: bind.Values{"pf": nil}, partial: true, dst: &nulls{PF: ptr(1.5)}, want: &nulls{}},
		{name: "required pointer", v: bind.Values{"preq": nil}, dst: &nulls{}, want: &nulls{}, errs: map[string]string{"preq": isNull}},
		{name: "required pointer partial", v: bind.Values{"preq": nil}, partial: true, dst: &nulls{}, want: &nulls{}, errs: map[string]string{"preq": isNull}},
		// Strings keep their existing rule: null is refused, pointer or not.
		{name: "string", v: bind.Values{"s": nil}, partial: true, dst: &nulls{}, want: &nulls{}, errs: map[string]string{"s": isNull}},
		{name: "string pointer", v: bind.Values{"ps": nil}, partial: true, dst: &nulls{}, want: &nulls{}, errs: map[string]string{"ps": isNull}},
		{name: "absent pointer untouched", v: bind.Values{"preq": num("1")}, dst: &nulls{P: ptr(3)}, want: &nulls{P: ptr(3), PReq: ptr(uint(1))}},
	})
}

func TestPartial(t *testing.T) {
	t.Parallel()
	type patch struct {
		Age   int     `json:"age" binding:"required,min=18"`
		Admin *bool   `json:"admin" binding:"required"`
		Name  string  `json:"name" binding:"required,max=5"`
		Nick  *string `json:"nick" binding:"required"`
	}
	runCases(t, []bindCase{
		{name: "absent required fields pass", v: bind.Values{}, partial: true, dst: &patch{Age: 40}, want: &patch{Age: 40}},
		{name: "absent required fields fail when not partial", v: bind.Values{}, dst: &patch{}, want: &patch{},
			errs: map[string]string{"age": required, "admin": required, "name": required, "nick": required}},
		{name: "present values still checked", v: bind.Values{"age": num("12"), "admin": "perhaps", "name": "", "nick": "toolong"}, partial: true,
			dst: &patch{}, want: &patch{Nick: ptr("toolong")},
			errs: map[string]string{"age": minV("18"), "admin": invBool, "name": blank}},
		{name: "present values bound", v: bind.Values{"age": "19", "admin": "no"}, partial: true,
			dst: &patch{}, want: &patch{Age: 19, Admin: ptr(false)}},
	})
}

type Base struct {
	Age  int    `json:"age" binding:"min=1"`
	Name string `json:"name"`
}

type inner struct {
	Flag bool `json:"flag"`
}

type embedding struct {
	Base
	inner
	Inner2 struct {
		When time.Time `json:"when"`
	} `json:"-"`
	Score float64 `json:"score"`
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	runCases(t, []bindCase{
		{name: "fields of embedded structs", v: bind.Values{"age": "21", "name": " Ann ", "flag": "on", "score": num("1.5")},
			dst: &embedding{}, want: &embedding{Base: Base{Age: 21, Name: "Ann"}, inner: inner{Flag: true}, Score: 1.5}},
		{name: "errors of embedded fields", v: bind.Values{"age": num("0"), "flag": "x"},
			dst: &embedding{}, want: &embedding{},
			errs: map[string]string{"age": minV("1"), "flag": invBool}},
	})
}

func TestExactKeys(t *testing.T) {
	t.Parallel()
	type exact struct {
		Age  int        `json:"age" binding:"required"`
		Flag *bool      `json:"flag"`
		When *time.Time `json:"when"`
		Rate float64    `json:"rate"`
	}
	runCases(t, []bindCase{
		{name: "other spellings ignored", v: bind.Values{"Age": num("20"), "AGE": "21", "age ": "22", "Flag": true, "WHEN": "2024-05-06T07:08Z", "Rate": num("1")},
			dst: &exact{}, want: &exact{}, errs: map[string]string{"age": required}},
		{name: "exact key binds", v: bind.Values{"Age": num("20"), "age": num("30")},
			dst: &exact{}, want: &exact{Age: 30}},
	})
}

// Existing string behaviour, unchanged by the other kinds.
func TestStrings(t *testing.T) {
	t.Parallel()
	type strs struct {
		S   string  `json:"s" binding:"max=5"`
		Req string  `json:"req" binding:"required,min=2"`
		P   *string `json:"p"`
	}
	runCases(t, []bindCase{
		{name: "trimmed", v: bind.Values{"s": "  ab ", "req": "xy"}, dst: &strs{}, want: &strs{S: "ab", Req: "xy"}},
		{name: "number text", v: bind.Values{"s": num("1.50"), "p": num("-2")}, partial: true, dst: &strs{}, want: &strs{S: "1.50", P: ptr("-2")}},
		{name: "bool refused", v: bind.Values{"s": true}, partial: true, dst: &strs{}, want: &strs{}, errs: map[string]string{"s": notStr}},
		{name: "blank required", v: bind.Values{"req": "   "}, dst: &strs{}, want: &strs{}, errs: map[string]string{"req": blank}},
		{name: "lengths", v: bind.Values{"s": "abcdef", "req": "a"}, dst: &strs{}, want: &strs{},
			errs: map[string]string{
				"s":   "field.max_length: Ensure this field has no more than 5 characters.",
				"req": "field.min_length: Ensure this field has at least 2 characters.",
			}},
		{name: "nul", v: bind.Values{"s": "a\x00"}, partial: true, dst: &strs{}, want: &strs{},
			errs: map[string]string{"s": "field.nul_byte: Null characters are not allowed."}},
		{name: "absent pointer", v: bind.Values{"req": "ok"}, dst: &strs{}, want: &strs{Req: "ok"}},
	})
}

func TestUnsupportedTypes(t *testing.T) {
	t.Parallel()
	type Meta struct{ A string }
	type (
		withStruct struct {
			M Meta `json:"m"`
		}
		withSlice struct {
			L []string `json:"l"`
		}
		withMap struct {
			M map[string]any `json:"m"`
		}
		withIface struct {
			X any `json:"x"`
		}
		withStructP struct {
			M *Meta `json:"m"`
		}
		withPtrPtr struct {
			P **int `json:"p"`
		}
		withDuration struct {
			D time.Duration `json:"d"`
		}
		withComplex struct {
			C complex128 `json:"c"`
		}
		withUintptr struct {
			U uintptr `json:"u"`
		}
		withEmbedPtr struct {
			S string `json:"s"`
			*Base
		}
		withDeep struct {
			S string `json:"s"`
			Outer
		}
	)
	cases := []struct {
		dst   any
		cause string
	}{
		{&withStruct{}, "bind: field M of *bind_test.withStruct has unsupported type bind_test.Meta"},
		{&withSlice{}, "bind: field L of *bind_test.withSlice has unsupported type []string"},
		{&withMap{}, "bind: field M of *bind_test.withMap has unsupported type map[string]interface {}"},
		{&withIface{}, "bind: field X of *bind_test.withIface has unsupported type interface {}"},
		{&withStructP{}, "bind: field M of *bind_test.withStructP has unsupported type *bind_test.Meta"},
		{&withPtrPtr{}, "bind: field P of *bind_test.withPtrPtr has unsupported type **int"},
		{&withDuration{}, "bind: field D of *bind_test.withDuration has unsupported type time.Duration"},
		{&withComplex{}, "bind: field C of *bind_test.withComplex has unsupported type complex128"},
		{&withUintptr{}, "bind: field U of *bind_test.withUintptr has unsupported type uintptr"},
		{&withEmbedPtr{S: "kept"}, "bind: field Base of *bind_test.withEmbedPtr has unsupported type *bind_test.Base"},
		{&withDeep{S: "kept"}, "bind: field Outer.Tags of *bind_test.withDeep has unsupported type []string"},
	}
	for _, tc := range cases {
		t.Run(tc.cause, func(t *testing.T) {
			t.Parallel()
			before := deref(tc.dst)
			// The error does not depend on the body: even valid values fail.
			for _, v := range []bind.Values{{}, {"s": "changed", "m": "x", "l": "x"}} {
				e := bind.Struct(v, tc.dst, false)
				if e == nil {
					t.Fatal("no error")
				}
				var ve *verr.Error
				if errors.As(e, &ve) {
					t.Fatalf("want a server error, got field errors %v", e)
				}
				if e.Error() != tc.cause {
					t.Fatalf("error %v\n want %s", e, tc.cause)
				}
				if !reflect.DeepEqual(deref(tc.dst), before) {
					t.Fatalf("dst changed: %+v", deref(tc.dst))
				}
			}
		})
	}
}

type Outer struct {
	Tags []string `json:"tags"`
}

// Fields without a json name, with "-" or unexported are not bound, so
// their type does not matter.
func TestIgnoredFields(t *testing.T) {
	t.Parallel()
	type ignored struct {
		NoTag    map[string]any
		Dash     []string `json:"-"`
		private  []int
		OnlyOpts chan int `json:",omitempty"`
		Age      int      `json:"age"`
	}
	dst := &ignored{private: []int{1}}
	e := bind.Struct(bind.Values{"age": "5", "NoTag": "x", "-": "y", "private": "z", "OnlyOpts": "w"}, dst, false)
	if e != nil {
		t.Fatalf("error: %v", e)
	}
	if dst.Age != 5 || dst.NoTag != nil || dst.Dash != nil || !reflect.DeepEqual(dst.private, []int{1}) || dst.OnlyOpts != nil {
		t.Fatalf("dst %+v", dst)
	}
}

func TestNotAStructPointer(t *testing.T) {
	t.Parallel()
	var n int
	for _, dst := range []any{nil, ints{}, &n} {
		if e := bind.Struct(bind.Values{}, dst, false); e == nil || errors.As(e, new(*verr.Error)) {
			t.Errorf("%T: %v", dst, e)
		}
	}
}

// Bodies read by Read reach Struct with their JSON numbers and form strings.
func TestReadThenStruct(t *testing.T) {
	t.Parallel()
	type dto struct {
		Age   uint8      `json:"age" binding:"required,min=18"`
		OK    bool       `json:"ok"`
		Ratio float32    `json:"ratio"`
		When  *time.Time `json:"when"`
		Name  string     `json:"name"`
	}
	when := time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC)
	cases := []struct {
		name, ct, body string
		want           dto
		errs           map[string]string
	}{
		{"json", "application/json", `{"age": 1e2, "ok": 1, "ratio": 0.5, "when": "2024-05-06T07:08Z", "name": 7}`,
			dto{Age: 100, OK: true, Ratio: 0.5, When: &when, Name: "7"}, nil},
		{"form", "application/x-www-form-urlencoded", "age=42&ok=on&ratio=.25&when=2024-05-06+07:08&name=x",
			dto{Age: 42, OK: true, Ratio: 0.25, When: &when, Name: "x"}, nil},
		{"json errors", "application/json", `{"age": 17.5, "ok": "sure", "ratio": "half", "when": 0}`,
			dto{}, map[string]string{"age": invInt, "ok": invBool, "ratio": invNum, "when": invTime}},
		{"json range", "application/json", `{"age": 300}`, dto{}, map[string]string{"age": maxV("255")}},
		{"json min", "application/json", `{"age": 17}`, dto{}, map[string]string{"age": minV("18")}},
		{"form empty", "application/x-www-form-urlencoded", "age=&ok=", dto{}, map[string]string{"age": invInt, "ok": invBool}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", tc.ct)
			v, e := bind.Read(r, 1<<20)
			if e != nil {
				t.Fatalf("read: %v", e)
			}
			var got dto
			errs := render(t, bind.Struct(v, &got, false))
			if len(errs) != 0 || len(tc.errs) != 0 {
				if !reflect.DeepEqual(errs, tc.errs) {
					t.Errorf("errors\n got %v\nwant %v", errs, tc.errs)
				}
			}
			if got.When != nil && tc.want.When != nil && got.When.Equal(*tc.want.When) {
				got.When = tc.want.When
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
