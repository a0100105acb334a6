package restauth_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// snapshot returns every row restauth owns, to prove a request changed
// nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	var users, tokens, addrs, confs []map[string]any
	if err := e.db.Model(&models.EmailAddress{}).Order("id").Find(&addrs).Error; err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Model(&models.EmailConfirmation{}).Order("id").Find(&confs).Error; err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Model(&Customer{}).Order("id").Find(&users).Error; err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Model(&models.Token{}).Order("id").Find(&tokens).Error; err != nil {
		e.t.Fatal(err)
	}
	b, _ := json.Marshal([]any{users, tokens, addrs, confs})
	return string(b)
}

// checkShape fails unless body is {"detail": string[, "code"]} or
// {"field": [string, ...], ...}.
func checkShape(t *testing.T, r resp) {
	t.Helper()
	if len(r.Body) == 0 {
		t.Fatalf("empty error body %q", r.Raw)
	}
	if d, ok := r.Body["detail"]; ok {
		if _, ok := d.(string); !ok {
			t.Fatalf("detail is not a string: %s", r.Raw)
		}
		return
	}
	for k, v := range r.Body {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			t.Fatalf("%s is not a list of messages: %s", k, r.Raw)
		}
		for _, m := range list {
			if s, ok := m.(string); !ok || s == "" {
				t.Fatalf("%s holds a non-string message: %s", k, r.Raw)
			}
		}
	}
}

var big = `{"username":"` + strings.Repeat("a", 2<<20) + `","password":"x"}`
var long = strings.Repeat("u", 10_000)

// bad is one kind of malformed request.
type bad struct {
	name        string
	contentType string
	body        string
	code        int    // 0: any 4xx
	detail      string // expected detail prefix, if any
	fieldsOnly  bool   // needs an endpoint that reads fields
	// badRefresh: the refresh field itself is malformed, so even JWT
	// logout/, which reads nothing else, refuses it.
	badRefresh bool
	// okOnPatch, okOnPut: a valid request for user/ (DRF accepts it:
	// numbers are their text, other keys are ignored).
	okOnPatch, okOnPut bool
	// echo: what user/ then answers for the fields it changed (they are
	// restored afterwards).
	echo map[string]any
}

// badCases are sent to every endpoint that reads a body.
var badCases = []bad{
	{name: "malformed JSON", contentType: "application/json", body: `{"username": "alice",`, code: 400, detail: "JSON parse error - "},
	{name: "trailing garbage", contentType: "application/json", body: `{"username": "alice"} x`, code: 400, detail: "JSON parse error - "},
	{name: "wrong content type", contentType: "text/plain", body: `username=alice`, code: 415, detail: `Unsupported media type "text/plain" in request.`},
	{name: "xml", contentType: "application/xml", body: `<a/>`, code: 415, detail: `Unsupported media type "application/xml" in request.`},
	{name: "2 MiB body", contentType: "application/json", body: big, code: 413, detail: "Request body too large."},
	{name: "top-level array", contentType: "application/json", body: `[1,2]`, code: 400},
	{name: "top-level string", contentType: "application/json", body: `"alice"`, code: 400},
	{name: "NUL bytes", contentType: "application/json", body: `{"username":"al\u0000ice","email":"a\u0000@x.io","password":"p\u0000w","new_password1":"a\u0000","new_password2":"a\u0000","uid":"M\u0000Q","token":"\u0000","refresh":"r\u0000","first_name":"\u0000","password1":"\u0000","password2":"x","key":"\u0000"}`, code: 400, fieldsOnly: true, badRefresh: true},
	{name: "10 kB username", contentType: "application/json", body: `{"username":"` + long + `","password":"` + goodPass + `","email":"` + long + `@x.io"}`, fieldsOnly: true},
	{name: "numbers for strings", contentType: "application/json", body: `{"username":123,"email":5,"password":456,"new_password1":1,"new_password2":2,"uid":1,"token":2,"first_name":3,"password1":1,"password2":2,"key":7}`, fieldsOnly: true,
		okOnPatch: true, okOnPut: true, echo: map[string]any{"username": "123", "first_name": "3"}},
	{name: "objects and bools for strings", contentType: "application/json", body: `{"username":{"$ne":""},"email":true,"password":["x"],"new_password1":{},"new_password2":false,"uid":[],"token":{},"refresh":[],"first_name":true,"password1":[],"password2":{},"key":true}`, code: 400, fieldsOnly: true, badRefresh: true},
	{name: "nulls", contentType: "application/json", body: `{"username":null,"email":null,"password":null,"new_password1":null,"new_password2":null,"uid":null,"token":null,"refresh":null,"first_name":null,"password1":null,"password2":null,"key":null}`, code: 400, fieldsOnly: true, badRefresh: true},
	{name: "keys in other letter case", contentType: "application/json", body: `{"USERNAME":"alice","Password":"` + goodPass + `","Email":"alice@example.com","New_Password1":"x","NEW_PASSWORD2":"x","UID":"MQ","Token":"t","Username":"x","Password1":"x","KEY":"k"}`, code: 400, fieldsOnly: true, okOnPatch: true},
	{name: "unknown fields only", contentType: "application/json", body: `{"is_staff":true,"is_superuser":true,"pk":7}`, code: 400, fieldsOnly: true, okOnPatch: true},
	{name: "invalid UTF-8 in a form", contentType: "application/x-www-form-urlencoded", body: "username=%ff%fe&password=%ff&email=%ff&new_password1=%ff&new_password2=%ff&uid=%ff&token=%ff&first_name=%ff&password1=%ff&password2=%ff&key=%ff", code: 400, fieldsOnly: true},
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := badCases
	type endpoint struct {
		method, path string
		authed       bool
		reads        bool // reads fields (so field-level bad input must fail)
		user         bool
	}
	endpoints := []endpoint{
		{"POST", "/rest-auth/login/", false, true, false},
		{"POST", "/rest-auth/logout/", true, false, false},
		{"POST", "/rest-auth/password/reset/", false, true, false},
		{"POST", "/rest-auth/password/reset/confirm/", false, true, false},
		{"POST", "/rest-auth/password/change/", true, true, false},
		{"POST", "/rest-auth/registration/", false, true, false},
		{"POST", "/rest-auth/registration/verify-email/", false, true, false},
		{"POST", "/rest-auth/registration/resend-email/", false, true, false},
		{"PUT", "/rest-auth/user/", true, true, true},
		{"PATCH", "/rest-auth/user/", true, true, true},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		// The subtests run one after the other: each compares snapshots
		// of the whole database.
		for _, ep := range endpoints {
			for _, tc := range cases {
				if tc.fieldsOnly && !ep.reads {
					continue
				}
				t.Run(fmt.Sprintf("%s %s/%s", ep.method, ep.path, tc.name), func(t *testing.T) {
					e := e.on(t)
					before := e.snapshot()
					hdr := []string{"Content-Type", tc.contentType}
					if ep.authed {
						hdr = append(hdr, tokenHeader(key)...)
					}
					r := e.do(ep.method, ep.path, tc.body, hdr...)
					if ep.user && (ep.method == "PATCH" && tc.okOnPatch || ep.method == "PUT" && tc.okOnPut) {
						// DRF accepts these: numbers are their text, other
						// keys are ignored. Nothing but the named fields moves.
						expect(t, r, 200)
						for k, v := range tc.echo {
							if r.Body[k] != v {
								t.Fatalf("%s = %v, want %v (numbers taken as text): %s", k, r.Body[k], v, r.Raw)
							}
						}
						if tc.echo != nil {
							e.do("PATCH", ep.path, map[string]any{"username": "alice", "first_name": ""}, tokenHeader(key)...)
						}
						if after := e.snapshot(); after != before {
							t.Fatalf("database changed:\nbefore %s\nafter  %s", before, after)
						}
						return
					}
					if r.Code < 400 || r.Code > 499 {
						t.Fatalf("status %d, want 4xx; body %s", r.Code, r.Raw)
					}
					if tc.code != 0 && r.Code != tc.code {
						t.Fatalf("status %d, want %d; body %s", r.Code, tc.code, r.Raw)
					}
					if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
						t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
					}
					checkShape(t, r)
					if tc.detail != "" && !strings.HasPrefix(r.detail(), tc.detail) {
						t.Fatalf("detail %q, want prefix %q", r.detail(), tc.detail)
					}
					if after := e.snapshot(); after != before {
						t.Fatalf("database changed:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
		// Specific messages DRF gives.
		expectField(t, e.do("POST", "/rest-auth/login/", `{"username":"al\u0000ice","password":"x"}`), "username", "Null characters are not allowed.")
		expectField(t, e.do("POST", "/rest-auth/login/", `{"username":true,"password":"x"}`), "username", "Not a valid string.")
		expectField(t, e.do("POST", "/rest-auth/login/", `{"username":"alice","password":null}`), "password", "This field may not be null.")
		expectField(t, e.do("POST", "/rest-auth/login/", `[]`), "non_field_errors", "Invalid data. Expected a dictionary, but got list.")
		// A JSON number is its decimal text (DRF): password 12345678 logs in.
		u := e.user("numeric", "")
		if err := e.auth.SetPassword(u, "12345678"); err != nil {
			t.Fatal(err)
		}
		db.Model(&Customer{}).Where("id = ?", u.ID).Update("password", u.Password)
		expect(t, e.do("POST", "/rest-auth/login/", `{"username":"numeric","password":12345678}`), 200)
		// Forms and multipart work like JSON.
		expect(t, e.do("POST", "/rest-auth/login/", "username=alice&password="+goodPass, "Content-Type", "application/x-www-form-urlencoded"), 200)
		// Repeated form keys: the last value counts, as in Django.
		expect(t, e.do("POST", "/rest-auth/login/", "username=nobody&username=alice&password="+goodPass, "Content-Type", "application/x-www-form-urlencoded"), 200)
		mp := "--XX\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice\r\n--XX\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n" + goodPass + "\r\n--XX--\r\n"
		expect(t, e.do("POST", "/rest-auth/login/", mp, "Content-Type", "multipart/form-data; boundary=XX"), 200)
	})
}

func TestJWTBadInput(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := jwtEnv(t, db, func(c *restauth.Config) { c.JWT.RotateRefreshTokens = true })
		e.user("alice", "alice@example.com")
		live := e.loginJWT("alice")
		rows := func(t *testing.T) string {
			t.Helper()
			var out, bl []map[string]any
			if err := e.db.Model(&models.OutstandingToken{}).Order("id").Find(&out).Error; err != nil {
				t.Fatal(err)
			}
			if err := e.db.Model(&models.BlacklistedToken{}).Order("id").Find(&bl).Error; err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal([]any{out, bl})
			return string(b)
		}
		endpoints := []struct {
			path string
			// onlyRefresh: the endpoint reads no field but refresh, and
			// is idempotent: bad other fields log out (nothing) with 200.
			onlyRefresh bool
		}{
			{"/rest-auth/token/refresh/", false},
			{"/rest-auth/token/verify/", false},
			{"/rest-auth/logout/", true},
		}
		// The subtests run one after the other: each compares snapshots
		// of the refresh-token tables.
		for _, ep := range endpoints {
			for _, tc := range badCases {
				t.Run(ep.path+"/"+tc.name, func(t *testing.T) {
					e := e.on(t)
					before := rows(t)
					r := e.do("POST", ep.path, tc.body, "Content-Type", tc.contentType)
					if ep.onlyRefresh && tc.fieldsOnly && !tc.badRefresh {
						expectDetail(t, r, 200, "Successfully logged out.")
					} else {
						if r.Code < 400 || r.Code > 499 {
							t.Fatalf("status %d, want 4xx; body %s", r.Code, r.Raw)
						}
						if tc.code == 413 || tc.code == 415 || (tc.code == 400 && tc.detail != "") {
							expect(t, r, tc.code)
						}
						checkShape(t, r)
					}
					if after := rows(t); after != before {
						t.Fatalf("refresh-token rows changed:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}
		// The live session survived all of it.
		expect(t, e.do("POST", "/rest-auth/token/refresh/", map[string]any{"refresh": live.str("refresh")}), 200)
	})
}

// TestHeadOnPostRoutes: HEAD on a route without GET answers DRF's JSON
// 405 with Allow, as the other methods do (found by FuzzEndpoints).
func TestHeadOnPostRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t), nil)
	for _, path := range []string{"/rest-auth/login/", "/rest-auth/password/reset", "/rest-auth/registration/"} {
		r := e.raw("HEAD", path)
		if r.Code != 405 || r.Header.Get("Allow") != "POST, OPTIONS" {
			t.Fatalf("HEAD %s: %d, Allow %q", path, r.Code, r.Header.Get("Allow"))
		}
	}
}
