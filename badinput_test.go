package restauth_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"

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
	validOnUser bool   // a valid request for user/ (DRF accepts it)
}

// badCases are sent to every endpoint that reads a body.
var badCases = []bad{
	{"malformed JSON", "application/json", `{"username": "alice",`, 400, "JSON parse error - ", false, false},
	{"trailing garbage", "application/json", `{"username": "alice"} x`, 400, "JSON parse error - ", false, false},
	{"wrong content type", "text/plain", `username=alice`, 415, `Unsupported media type "text/plain" in request.`, false, false},
	{"xml", "application/xml", `<a/>`, 415, `Unsupported media type "application/xml" in request.`, false, false},
	{"2 MiB body", "application/json", big, 413, "Request body too large.", false, false},
	{"top-level array", "application/json", `[1,2]`, 400, "", false, false},
	{"top-level string", "application/json", `"alice"`, 400, "", false, false},
	{"NUL bytes", "application/json", `{"username":"al\u0000ice","email":"a\u0000@x.io","password":"p\u0000w","new_password1":"a\u0000","new_password2":"a\u0000","uid":"M\u0000Q","token":"\u0000","refresh":"r\u0000","first_name":"\u0000","password1":"\u0000","password2":"x","key":"\u0000"}`, 400, "", true, false},
	{"10 kB username", "application/json", `{"username":"` + long + `","password":"` + goodPass + `","email":"` + long + `@x.io"}`, 0, "", true, false},
	{"numbers for strings", "application/json", `{"username":123,"email":5,"password":456,"new_password1":1,"new_password2":2,"uid":1,"token":2,"first_name":3,"password1":1,"password2":2,"key":7}`, 0, "", true, true},
	{"objects and bools for strings", "application/json", `{"username":{"$ne":""},"email":true,"password":["x"],"new_password1":{},"new_password2":false,"uid":[],"token":{},"refresh":[],"first_name":true,"password1":[],"password2":{},"key":true}`, 400, "", true, false},
	{"nulls", "application/json", `{"username":null,"email":null,"password":null,"new_password1":null,"new_password2":null,"uid":null,"token":null,"refresh":null,"first_name":null,"password1":null,"password2":null,"key":null}`, 400, "", true, false},
	{"keys in other letter case", "application/json", `{"USERNAME":"alice","Password":"` + goodPass + `","Email":"alice@example.com","New_Password1":"x","NEW_PASSWORD2":"x","UID":"MQ","Token":"t","Username":"x","Password1":"x","KEY":"k"}`, 400, "", true, true},
	{"unknown fields only", "application/json", `{"is_staff":true,"is_superuser":true,"pk":7}`, 400, "", true, true},
	{"invalid UTF-8 in a form", "application/x-www-form-urlencoded", "username=%ff%fe&password=%ff&email=%ff&new_password1=%ff&new_password2=%ff&uid=%ff&token=%ff&first_name=%ff&password1=%ff&password2=%ff&key=%ff", 400, "", true, false},
}

func TestBadInput(t *testing.T) {
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
		e := newEnv(t, db, nil)
		e.user("alice", "alice@example.com")
		key := e.login("alice", goodPass)
		for _, ep := range endpoints {
			for _, tc := range cases {
				if tc.fieldsOnly && !ep.reads {
					continue
				}
				t.Run(fmt.Sprintf("%s %s/%s", ep.method, ep.path, tc.name), func(t *testing.T) {
					before := e.snapshot()
					hdr := []string{"Content-Type", tc.contentType}
					if ep.authed {
						hdr = append(hdr, tokenHeader(key)...)
					}
					r := e.do(ep.method, ep.path, tc.body, hdr...)
					if ep.user && tc.validOnUser && (ep.method == "PATCH" || tc.name == "numbers for strings") {
						// DRF accepts these: numbers are their text, other
						// keys are ignored. Nothing but the named fields moves.
						expect(t, r, 200)
						if tc.name == "numbers for strings" {
							if r.Body["username"] != "123" || r.Body["first_name"] != "3" {
								t.Fatalf("numbers not taken as text: %s", r.Raw)
							}
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

// djangoPBKDF2 builds a hash the way Django's PBKDF2PasswordHasher does:
// pbkdf2_sha256$<iterations>$<salt>$<base64(sha256 PBKDF2, 32 bytes)>.
func djangoPBKDF2(t *testing.T, pw, salt string, iterations int) string {
	dk, err := pbkdf2.Key(sha256.New, pw, []byte(salt), iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iterations, salt, base64.StdEncoding.EncodeToString(dk))
}

func TestDjangoHashLogsInAndIsRehashed(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		imported := &Customer{User: models.User{Username: "legacy", Email: "legacy@example.com", IsActive: true,
			Password: djangoPBKDF2(t, "django-era-pass", "Yp8Q3cFzVb2n", 870000)}}
		if err := db.Create(imported).Error; err != nil {
			t.Fatal(err)
		}
		expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": "legacy", "password": "wrong-pass"}),
			"non_field_errors", "Unable to log in with provided credentials.")
		if !strings.HasPrefix(e.reload(imported.ID).Password, "pbkdf2_sha256$") {
			t.Fatal("a failed login re-hashed the password")
		}
		e.login("legacy", "django-era-pass")
		h := e.reload(imported.ID).Password
		if !strings.HasPrefix(h, "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash after login %q, want Argon2id", h)
		}
		e.login("legacy", "django-era-pass") // the new hash works
	})
}

var _ = reflect.DeepEqual
