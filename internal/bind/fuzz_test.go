package bind_test

// Fuzz targets for the body decoder (issue 11, point 10). Plain `go test`
// runs the seeds; CI runs each target for a few seconds with
//
//	go test -run NONE -fuzz '^FuzzRead$' -fuzztime 5s ./internal/bind/
//	go test -run NONE -fuzz '^FuzzStruct$' -fuzztime 5s ./internal/bind/

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/bind"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
)

// fzContentTypes are the Content-Type headers FuzzRead picks from.
var fzContentTypes = []string{
	"application/json",
	"application/json; charset=utf-8",
	"application/vnd.api+json",
	"APPLICATION/JSON",
	"application/json; charset", // unparsable parameters
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=XX",
	"multipart/form-data",
	"text/plain",
	"",
}

// fzLimits are the MaxBodyBytes FuzzRead picks from.
var fzLimits = []int64{1 << 20, 64, 1}

// fzSeeds are bodies from the bad-input tables of the root package
// (badinput_test.go, social_badinput_test.go) and DRF's edge cases.
var fzSeeds = []string{
	``,
	`   `,
	"\u00a0",
	`{}`,
	`{"username": "alice",`,
	`{"username": "alice"} x`,
	`{"access_token": "tok-free"} {}`,
	`[1,2]`,
	`[{"access_token":"tok-free"}]`,
	`"alice"`,
	`null`,
	`true`,
	`12`,
	`<a/>`,
	`username=alice`,
	`{"username":"al\u0000ice","email":"a\u0000@x.io","password":"p\u0000w"}`,
	`{"username":123,"email":5,"password":456,"key":7}`,
	`{"username":{"$ne":""},"email":true,"password":["x"],"new_password1":{},"uid":[]}`,
	`{"username":null,"email":null,"password":null}`,
	`{"USERNAME":"alice","Password":"x","Email":"alice@example.com"}`,
	`{"is_staff":true,"is_superuser":true,"pk":7}`,
	`{"a":1e999,"b":-0,"c":1.5e-400,"d":123456789012345678901234567890}`,
	`{"a":"\ud800","b":"\xff"}`,
	"{\"a\":\"\xff\xfe\"}",
	`{"a":1,"a":2}`,
	`{"a":{"b":{"c":[[[[[]]]]]}}}`,
	"username=%ff%fe&password=%ff&email=%ff",
	"username=nobody&username=alice&password=x",
	"a=%zz",
	"a;b=c",
	"--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\npw\r\n--XX--\r\n",
	"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\ndata\r\n--XX--\r\n",
	"--XX\r\n\r\n",
	`{"username":"` + strings.Repeat("a", 300) + `"}`,
}

// FuzzRead feeds any bytes to Read under each content type and size
// limit: it never panics, answers either Values or a client error in
// DRF's shape, and agrees with encoding/json and net/url on what parses.
func FuzzRead(f *testing.F) {
	for i, s := range fzSeeds {
		for ct := range fzContentTypes {
			f.Add(uint8(ct), uint8(i%len(fzLimits)), i%2 == 0, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, ct, limit uint8, unknownLength bool, body []byte) {
		ctype := fzContentTypes[int(ct)%len(fzContentTypes)]
		maxBytes := fzLimits[int(limit)%len(fzLimits)]
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		if unknownLength {
			r.ContentLength = -1 // chunked: the limit is met while reading
		}
		v, e := bind.Read(r, maxBytes)
		if (v == nil) == (e == nil) {
			t.Fatalf("Read gave values %v and error %v: want exactly one", v, e)
		}
		if e != nil {
			fzCheckReadError(t, e)
		} else {
			fzCheckValues(t, v, 0)
		}

		tooBig := int64(len(body)) > maxBytes
		if tooBig != (e != nil && e.Status == http.StatusRequestEntityTooLarge) {
			t.Fatalf("%d bytes, limit %d: got %v", len(body), maxBytes, e)
		}
		if tooBig {
			return
		}
		// Blank means bytes.TrimSpace's blank, Unicode spaces included: a
		// body of U+00A0 reads as empty (DRF would answer a parse error).
		if len(bytes.TrimSpace(body)) == 0 {
			if e != nil || len(v) != 0 {
				t.Fatalf("blank body: got %v, %v; want empty values", v, e)
			}
			return
		}
		// A header whose parameters do not parse is taken whole, as its
		// type: "application/json; charset" is not JSON (DRF would read
		// it as JSON; restauth answers 415).
		mt, _, perr := mime.ParseMediaType(ctype)
		if perr != nil {
			mt = strings.ToLower(strings.TrimSpace(ctype))
		}
		switch mt {
		case "application/json", "application/vnd.api+json":
			// encoding/json is the oracle: exactly one valid JSON value.
			var want any
			var jerr error
			if !json.Valid(body) {
				jerr = errors.New("not one valid JSON value")
			} else {
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.UseNumber()
				jerr = dec.Decode(&want)
			}
			obj, isObj := want.(map[string]any)
			switch {
			case jerr != nil:
				if e == nil || e.Status != http.StatusBadRequest || e.Detail == nil || e.Detail.ID != "request.json_parse_error" {
					t.Fatalf("invalid JSON (%v): got %v, %v; want a 400 parse error", jerr, v, e)
				}
			case !isObj:
				if e == nil || e.Status != http.StatusBadRequest || len(e.Fields[apierr.NonField]) != 1 {
					t.Fatalf("JSON %T: got %v, %v; want a non_field_errors 400", want, v, e)
				}
			default:
				if e != nil {
					t.Fatalf("JSON object refused: %v", e)
				}
				if !reflect.DeepEqual(map[string]any(v), obj) {
					t.Fatalf("values %#v, encoding/json gives %#v", v, obj)
				}
			}
		case "application/x-www-form-urlencoded":
			q, qerr := url.ParseQuery(string(body))
			if qerr != nil {
				if e == nil || e.Status != http.StatusBadRequest || e.Detail == nil {
					t.Fatalf("bad form (%v): got %v, %v; want a 400 detail", qerr, v, e)
				}
				return
			}
			if e != nil {
				t.Fatalf("form refused: %v", e)
			}
			if len(v) != len(q) {
				t.Fatalf("values %v, form %v", v, q)
			}
			for k, vs := range q {
				if v[k] != vs[len(vs)-1] {
					t.Fatalf("%q = %#v, want the last value %q", k, v[k], vs[len(vs)-1])
				}
			}
		case "multipart/form-data":
			if e != nil && e.Status != http.StatusBadRequest {
				t.Fatalf("multipart: %v", e)
			}
		default:
			if e == nil || e.Status != http.StatusUnsupportedMediaType {
				t.Fatalf("content type %q: got %v, %v; want 415", ctype, v, e)
			}
		}
	})
}

// fzCheckReadError fails unless e is a client error of Read's kinds,
// rendered in DRF's shape with every message in the catalog.
func fzCheckReadError(t *testing.T, e *apierr.Error) {
	t.Helper()
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
	default:
		t.Fatalf("status %d: %v", e.Status, e)
	}
	if e.Cause != nil {
		t.Fatalf("a client error carries a cause: %v", e)
	}
	if (e.Detail != nil) == (len(e.Fields) != 0) {
		t.Fatalf("want a detail or fields, not both or neither: %v", e)
	}
	if e.Detail != nil {
		fzCheckMessage(t, *e.Detail)
	}
	for k, msgs := range e.Fields {
		if k != apierr.NonField || len(msgs) != 1 {
			t.Fatalf("fields %v: want one non_field_errors message", e.Fields)
		}
		fzCheckMessage(t, msgs[0])
	}
	raw, err := json.Marshal(e.Body(func(m locales.Message) string { return catalog.Text("", m) }))
	if err != nil {
		t.Fatalf("body does not marshal: %v", err)
	}
	fzCheckShape(t, raw)
}

// fzCheckMessage fails unless m is in the catalog (or carries its own
// English text) and renders to valid UTF-8.
func fzCheckMessage(t *testing.T, m locales.Message) {
	t.Helper()
	s := catalog.Text("", m)
	if s == "" || (s == m.ID && m.Default == "") {
		t.Fatalf("message %q is not in the catalog", m.ID)
	}
	if !utf8.ValidString(s) {
		t.Fatalf("message %q renders to invalid UTF-8: %q", m.ID, s)
	}
}

// fzCheckShape fails unless raw is {"detail": string} or
// {"field": [string, ...], ...}.
func fzCheckShape(t *testing.T, raw []byte) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil || len(body) == 0 {
		t.Fatalf("error body %s is not a JSON object", raw)
	}
	if d, ok := body["detail"]; ok {
		if s, ok := d.(string); !ok || s == "" || len(body) != 1 {
			t.Fatalf("detail body %s", raw)
		}
		return
	}
	for k, x := range body {
		list, ok := x.([]any)
		if !ok || len(list) == 0 {
			t.Fatalf("%s is not a list of messages: %s", k, raw)
		}
		for _, m := range list {
			if s, ok := m.(string); !ok || s == "" {
				t.Fatalf("%s holds a non-string message: %s", k, raw)
			}
		}
	}
}

// fzCheckValues fails unless every value is of a kind Values documents.
func fzCheckValues(t *testing.T, v any, depth int) {
	t.Helper()
	if depth > 10_000 {
		t.Fatal("values nested beyond reason")
	}
	switch x := v.(type) {
	case bind.Values:
		for _, y := range x {
			fzCheckValues(t, y, depth+1)
		}
	case map[string]any:
		for _, y := range x {
			fzCheckValues(t, y, depth+1)
		}
	case []any:
		for _, y := range x {
			fzCheckValues(t, y, depth+1)
		}
	case json.Number:
		if _, err := json.Marshal(x); err != nil {
			t.Fatalf("json.Number %q is not a number", string(x))
		}
	case string, bool, nil:
	default:
		t.Fatalf("value of type %T", v)
	}
}

// fzLevel is a named integer type, as an app's enum would be.
type fzLevel int16

// fzEmbedded is embedded by value in fzDTO: its fields bind too.
type fzEmbedded struct {
	Note  string  `json:"note" binding:"max=5"`
	Level fzLevel `json:"level" binding:"gte=-3,lte=3"`
}

// fzDTO has a field of every kind Struct supports, with rules like dto's.
type fzDTO struct {
	Username string     `json:"username" binding:"required,max=150,username"`
	Email    string     `json:"email" binding:"max=254,email"`
	Password string     `json:"password" binding:"required,max=64"`
	Name     *string    `json:"name" binding:"max=10"`
	Age      int        `json:"age" binding:"min=0,max=150"`
	Small    int8       `json:"small"`
	Count    *uint16    `json:"count" binding:"required"`
	Big      uint64     `json:"big"`
	Neg      int64      `json:"neg"`
	Score    float32    `json:"score"`
	Ratio    *float64   `json:"ratio" binding:"min=0,max=1"`
	Active   bool       `json:"active"`
	Opt      *bool      `json:"opt"`
	Must     *bool      `json:"must" binding:"required"`
	When     time.Time  `json:"when"`
	Until    *time.Time `json:"until"`
	Ignored  string     // no json name: never bound
	fzEmbedded
}

// fzNames are fzDTO's json names.
var fzNames = []string{"username", "email", "password", "name", "age", "small", "count", "big", "neg",
	"score", "ratio", "active", "opt", "must", "when", "until", "note", "level"}

// FuzzStruct binds decoded bodies, and one fuzzed value under every
// key, into fzDTO: it never panics, every error is a field error on a
// known field with one message from the catalog, a field's error does not
// depend on the other fields, and what binds obeys the rules.
func FuzzStruct(f *testing.F) {
	for _, s := range fzSeeds {
		f.Add([]byte(s), "x", false)
	}
	for _, s := range []string{"", " ", "null", "NULL", "0", "-0", "1", "1.0", "3.", "1e3", "1e-400", "1e999",
		"255", "256", "-129", "65536", "18446744073709551615", "18446744073709551616", "-9223372036854775809",
		"0x10", "NaN", "Inf", "+5", " 7 ", "on", "Yes", "t", "2024-05-06T07:08Z", "2024-05-06 07:08:09.123456+02:00",
		"2024-02-30T00:00", "0000-01-01T00:00Z", "9999-12-31T23:59:59.999999999-23:59", "alice", "al\x00ice",
		"\xff", "a@b.c", strings.Repeat("a", 151), "ｍain"} {
		f.Add([]byte(`{"username":"alice","password":"pw","count":1,"must":true}`), s, true)
		f.Add([]byte(`{}`), s, false)
	}
	f.Fuzz(func(t *testing.T, body []byte, s string, partial bool) {
		var sets []bind.Values
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if v, e := bind.Read(r, 1<<20); e == nil {
			sets = append(sets, v)
		}
		// s as a form string under every key, and s decoded as JSON.
		str := bind.Values{}
		for _, k := range fzNames {
			str[k] = s
		}
		sets = append(sets, str)
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var x any
		if dec.Decode(&x) == nil {
			js := bind.Values{}
			for _, k := range fzNames {
				js[k] = x
			}
			sets = append(sets, js)
		}
		for _, v := range sets {
			fzBind(t, v, partial)
		}
	})
}

// fzBind binds v and checks the invariants of FuzzStruct.
func fzBind(t *testing.T, v bind.Values, partial bool) {
	t.Helper()
	var got fzDTO
	got.Ignored = "kept"
	errs := fzFieldErrors(t, bind.Struct(v, &got, partial))
	if got.Ignored != "kept" {
		t.Fatal("a field without a json name was written")
	}
	// Deterministic.
	var again fzDTO
	again.Ignored = "kept"
	if e2 := fzFieldErrors(t, bind.Struct(v, &again, partial)); !reflect.DeepEqual(errs, e2) || !fzSame(got, again) {
		t.Fatalf("two binds differ: %v / %v", errs, e2)
	}
	for _, k := range fzNames {
		raw, present := v[k]
		if !present {
			if msgs := errs[k]; len(msgs) > 0 && (partial || msgs[0] != "field.required") {
				t.Fatalf("absent %s: errors %v", k, msgs)
			}
			continue
		}
		// The error of a present field depends on its value alone.
		var one fzDTO
		alone := fzFieldErrors(t, bind.Struct(bind.Values{k: raw}, &one, true))
		if !reflect.DeepEqual(alone[k], errs[k]) {
			t.Fatalf("%s = %#v: alone %v, with the others %v", k, raw, alone[k], errs[k])
		}
	}
	// What bound obeys the rules.
	if _, bad := errs["username"]; !bad {
		if s, ok := v["username"].(string); ok && got.Username != strings.TrimSpace(s) {
			t.Fatalf("username %q bound as %q: want it trimmed", s, got.Username)
		}
		if utf8.RuneCountInString(got.Username) > 150 || strings.ContainsRune(got.Username, 0) {
			t.Fatalf("username %q passed its rules", got.Username)
		}
	}
	if _, bad := errs["password"]; !bad && utf8.RuneCountInString(got.Password) > 64 {
		t.Fatalf("password of %d characters passed max=64", utf8.RuneCountInString(got.Password))
	}
	if _, bad := errs["name"]; !bad && got.Name != nil && utf8.RuneCountInString(*got.Name) > 10 {
		t.Fatalf("name %q passed max=10", *got.Name)
	}
	if _, bad := errs["note"]; !bad && utf8.RuneCountInString(got.Note) > 5 {
		t.Fatalf("note %q passed max=5", got.Note)
	}
	if got.Age < 0 || got.Age > 150 {
		t.Fatalf("age %d passed min=0,max=150", got.Age)
	}
	if got.Level < -3 || got.Level > 3 {
		t.Fatalf("level %d passed gte=-3,lte=3", got.Level)
	}
	if got.Ratio != nil && (*got.Ratio < 0 || *got.Ratio > 1 || math.IsNaN(*got.Ratio)) {
		t.Fatalf("ratio %v passed min=0,max=1", *got.Ratio)
	}
	if math.IsNaN(float64(got.Score)) || math.IsInf(float64(got.Score), 0) {
		t.Fatalf("score %v is not finite", got.Score)
	}
	for _, s := range []string{got.Username, got.Email, got.Password, got.Note} {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || s != strings.TrimSpace(s) {
			t.Fatalf("string %q bound: want valid UTF-8, no NUL, trimmed", s)
		}
	}
	if !partial {
		for _, k := range []string{"username", "password", "count", "must"} {
			if _, present := v[k]; !present && len(errs[k]) == 0 {
				t.Fatalf("required %s absent without an error", k)
			}
		}
	}
}

// fzFieldErrors checks that err is nil or a field error on fzDTO's
// fields, one catalog message each, and returns field -> message IDs.
func fzFieldErrors(t *testing.T, err error) map[string][]string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *verr.Error
	if !errors.As(err, &ve) {
		t.Fatalf("not a field error: %v", err)
	}
	if len(ve.Fields) == 0 {
		t.Fatal("a field error with no fields")
	}
	out := map[string][]string{}
	for k, msgs := range ve.Fields {
		if !fzKnown(k) {
			t.Fatalf("error on unknown field %q", k)
		}
		if len(msgs) != 1 {
			t.Fatalf("%s: %d messages, want 1", k, len(msgs))
		}
		fzCheckMessage(t, msgs[0])
		out[k] = []string{msgs[0].ID, catalog.Text("", msgs[0])}
	}
	return out
}

func fzKnown(k string) bool {
	for _, n := range fzNames {
		if n == k {
			return true
		}
	}
	return false
}

// fzSame compares two binds, times by instant.
func fzSame(a, b fzDTO) bool {
	if !a.When.Equal(b.When) || (a.Until == nil) != (b.Until == nil) || (a.Until != nil && !a.Until.Equal(*b.Until)) {
		return false
	}
	a.When, b.When, a.Until, b.Until = time.Time{}, time.Time{}, nil, nil
	return reflect.DeepEqual(a, b)
}
