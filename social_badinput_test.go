package restauth_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// sxSocialSnapshot is every row restauth owns, social tables included.
func (e *env) sxSocialSnapshot() string {
	e.t.Helper()
	var accts []models.SocialAccount
	var auths, used []map[string]any
	if err := e.db.Order("id").Find(&accts).Error; err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Model(&models.SocialAuthorization{}).Order("id").Find(&auths).Error; err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.Model(&models.UsedIDToken{}).Order("id").Find(&used).Error; err != nil {
		e.t.Fatal(err)
	}
	// %+v shows ExtraData (which JSON leaves out), map keys sorted.
	b, _ := json.Marshal([]any{auths, used})
	return e.snapshot() + fmt.Sprintf("%+v", accts) + string(b)
}

// sxBad is one malformed social request body.
type sxBad struct {
	name        string
	contentType string
	body        string
	code        int
	field       string // the field of the message, "detail" for {"detail"}
	msg         string // the message (prefix for detail)
}

const (
	sxIncorrectInput = "Incorrect input. access_token or code is required."
	sxNotString      = "Not a valid string."
	sxNoNUL          = "Null characters are not allowed."
)

// sxBadBodies are sent to the login and connect endpoints. "tok-free"
// is a valid GitHub token of an identity nobody has: a request that
// reached it would sign up or connect, and change the database.
var sxBadBodies = []sxBad{
	{"malformed JSON", "application/json", `{"access_token": "tok-free",`, 400, "detail", "JSON parse error - "},
	{"trailing garbage", "application/json", `{"access_token": "tok-free"} {}`, 400, "detail", "JSON parse error - "},
	{"JSON array", "application/json", `[{"access_token":"tok-free"}]`, 400, "non_field_errors", "Invalid data. Expected a dictionary, but got list."},
	{"JSON string", "application/json", `"tok-free"`, 400, "non_field_errors", "Invalid data. Expected a dictionary, but got str."},
	{"number access_token", "application/json", `{"access_token": 5}`, 400, "non_field_errors", "Incorrect value"},
	{"list code", "application/json", `{"code": ["x"]}`, 400, "code", sxNotString},
	{"object access_token", "application/json", `{"access_token": {"a": 1}}`, 400, "access_token", sxNotString},
	{"bool access_token", "application/json", `{"access_token": true}`, 400, "access_token", sxNotString},
	{"null access_token", "application/json", `{"access_token": null}`, 400, "access_token", "This field may not be null."},
	{"NUL in access_token", "application/json", `{"access_token": "tok-\u0000free"}`, 400, "access_token", sxNoNUL},
	{"NUL in code", "application/json", `{"code": "c\u0000"}`, 400, "code", sxNoNUL},
	{"NUL in id_token", "application/json", `{"id_token": "\u0000"}`, 400, "id_token", sxNoNUL},
	{"2 MiB body", "application/json", `{"access_token":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "detail", "Request body too large."},
	{"9000-char access_token", "application/json", `{"access_token":"` + strings.Repeat("a", 9000) + `"}`, 400, "access_token", "Ensure this field has no more than 8192 characters."},
	{"17000-char id_token", "application/json", `{"id_token":"` + strings.Repeat("a", 17000) + `"}`, 400, "id_token", "Ensure this field has no more than 16384 characters."},
	{"unknown keys only", "application/json", `{"token":"tok-free","provider":"github","uid":"1","user":{"id":1}}`, 400, "non_field_errors", sxIncorrectInput},
	{"empty object", "application/json", `{}`, 400, "non_field_errors", sxIncorrectInput},
	{"blank access_token", "application/json", `{"access_token":"   ","code":""}`, 400, "non_field_errors", sxIncorrectInput},
	{"key in another case", "application/json", `{"Access_Token":"tok-free"}`, 400, "non_field_errors", sxIncorrectInput},
	{"keys upper case", "application/json", `{"ACCESS_TOKEN":"tok-free","Code":"c","ID_TOKEN":"x"}`, 400, "non_field_errors", sxIncorrectInput},
	{"text/plain JSON", "text/plain", `{"access_token":"tok-free"}`, 415, "detail", `Unsupported media type "text/plain" in request.`},
	{"no content type", "", `{"access_token":"tok-free"}`, 415, "detail", "Unsupported media type"},
	{"unknown state", "application/json", `{"code":"c","state":"` + strings.Repeat("e", 64) + `"}`, 400, "non_field_errors", "Invalid or expired authorization state."},
	{"state without code", "application/json", `{"state":"evil"}`, 400, "non_field_errors", sxIncorrectInput},
}

// sxCheckError fails unless r is a 4xx JSON answer in DRF's shape.
func sxCheckError(t *testing.T, r resp) {
	t.Helper()
	if r.Code < 400 || r.Code > 499 {
		t.Fatalf("status %d, want 4xx; body %s", r.Code, r.Raw)
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("Content-Type %q", r.Header.Get("Content-Type"))
	}
	checkShape(t, r)
}

func TestSocialXBadInput(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		s.gh.add("tok-free", ghUser{ID: 9001, Login: "free", Email: "free@example.com", Verified: true})
		s.gh.add("tok-own", ghUser{ID: 9002, Login: "owngh", Email: "own.gh@example.com", Verified: true})
		s.gh.add("tok-other", ghUser{ID: 9003, Login: "othergh", Email: "other@example.com", Verified: true})
		s.gh.code("code-free", "tok-free")
		s.user("owner", "owner@example.com")
		key := s.login("owner", goodPass)
		expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-own"}, tokenHeader(key)...), 200)
		key = s.login("owner", goodPass)
		expect(t, s.ghLogin("tok-other"), 200)
		own, other := s.account("github", "9002"), s.account("github", "9003")
		if own == nil || other == nil {
			t.Fatal("setup: accounts missing")
		}
		ownID, otherID := strconv.FormatUint(uint64(own.ID), 10), strconv.FormatUint(uint64(other.ID), 10)
		listBefore := s.do("GET", "/rest-auth/socialaccounts/", nil, tokenHeader(key)...).Raw

		type endpoint struct {
			method, path string
			authed       bool
			// status when the body is not read at all (0: the endpoint
			// reads it and answers the case's own status).
			ignores int
		}
		endpoints := []endpoint{
			{"POST", "/rest-auth/github/", false, 0},
			{"POST", "/rest-auth/github/connect/", true, 0},
			{"POST", "/rest-auth/socialaccounts/" + otherID + "/disconnect/", true, 404},
			{"GET", "/rest-auth/socialaccounts/", true, 200},
			{"POST", "/rest-auth/socialaccounts/", true, 405},
		}
		// The subtests run one after the other: each compares snapshots
		// of the whole database.
		for _, ep := range endpoints {
			for _, tc := range sxBadBodies {
				t.Run(ep.method+" "+ep.path+"/"+tc.name, func(t *testing.T) {
					e := s.on(t)
					before := e.sxSocialSnapshot()
					hdr := []string{"Content-Type", tc.contentType}
					if ep.authed {
						hdr = append(hdr, tokenHeader(key)...)
					}
					r := e.do(ep.method, ep.path, tc.body, hdr...)
					switch {
					case ep.ignores == 200:
						// A GET reads no body: the list, unchanged.
						expect(t, r, 200)
						if r.Raw != listBefore {
							t.Fatalf("list %s, want %s", r.Raw, listBefore)
						}
					case ep.ignores != 0:
						sxCheckError(t, r)
						expect(t, r, ep.ignores)
					default:
						sxCheckError(t, r)
						expect(t, r, tc.code)
						if tc.field == "detail" {
							if !strings.HasPrefix(r.detail(), tc.msg) {
								t.Fatalf("detail %q, want prefix %q", r.detail(), tc.msg)
							}
						} else if got := r.field(tc.field); len(got) != 1 || got[0] != tc.msg {
							t.Fatalf("%s = %q, want [%q]: %s", tc.field, got, tc.msg, r.Raw)
						}
					}
					if after := e.sxSocialSnapshot(); after != before {
						t.Fatalf("database changed:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}

		// Disconnect ids that are not one of the caller's accounts.
		badIDs := []string{
			"abc", "-1", "0", "99999999999999999999", "+" + ownID, "0x" + ownID, "1e3", "%20" + ownID, ownID + ".0",
			otherID,
			// 2^32 + own: a parse that truncates to 32 bits would find own.
			strconv.FormatUint(1<<32+uint64(own.ID), 10),
			// 2^64 + own overflows uint64.
			"18446744073709551616",
		}
		for _, id := range badIDs {
			t.Run("disconnect "+id, func(t *testing.T) {
				e := s.on(t)
				before := e.sxSocialSnapshot()
				r := e.do("POST", "/rest-auth/socialaccounts/"+id+"/disconnect/", nil, tokenHeader(key)...)
				sxCheckError(t, r)
				expectDetail(t, r, 404, "Not found.")
				if after := e.sxSocialSnapshot(); after != before {
					t.Fatalf("database changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		// callback/ with garbage queries: no flow matches, nothing moves.
		garbage := []struct{ query, cookie string }{
			{"", ""},
			{"?code=code-free", ""},
			{"?state=evil&code=code-free", ""},
			{"?state=" + strings.Repeat("e", 64) + "&code=code-free", strings.Repeat("0", 64)},
			{"?state=%00&code=%00", ""},
			{"?state=a&state=b&code=code-free", "not-hex"},
			{"?state[]=x&code[]=y", ""},
			{"?error=access_denied&error_description=%3Cscript%3E", ""},
			{"?state=" + strings.Repeat("s", 9000) + "&code=" + strings.Repeat("c", 9000), strings.Repeat("z", 5000)},
		}
		for i, g := range garbage {
			t.Run("callback "+strconv.Itoa(i), func(t *testing.T) {
				e := s.on(t)
				before := e.sxSocialSnapshot()
				hdr := []string{}
				if g.cookie != "" {
					hdr = append(hdr, "Cookie", "__Host-restauth_social_flow="+g.cookie)
				}
				r := e.do("GET", "/rest-auth/github/callback/"+g.query, nil, hdr...)
				sxCheckError(t, r)
				expectField(t, r, "non_field_errors", "Invalid or expired authorization state.")
				if after := e.sxSocialSnapshot(); after != before {
					t.Fatalf("database changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}

		// authorize/ ignores every parameter but redirect_uri, which must
		// be a registered one: the state is the server's, and nothing else
		// goes out.
		t.Run("authorize garbage", func(t *testing.T) {
			e := s.on(t)
			auths := e.count(&models.SocialAuthorization{})
			bad := httptest.NewRecorder()
			e.r.ServeHTTP(bad, httptest.NewRequest("GET", "/rest-auth/github/authorize/?redirect_uri="+url.QueryEscape("https://evil.example/cb"), nil))
			if bad.Code != 400 || bad.Header().Get("Location") != "" || e.count(&models.SocialAuthorization{}) != auths {
				t.Fatalf("authorize with an unregistered redirect_uri: %d %s", bad.Code, bad.Body.String())
			}
			q := "?state=evil&next=" + url.QueryEscape("https://evil.example/") +
				"&response_type=token&code_challenge=x&nonce=n&scope=admin&%00=%00&client_id=other"
			r := httptest.NewRecorder()
			e.r.ServeHTTP(r, httptest.NewRequest("GET", "/rest-auth/github/authorize/"+q, nil))
			if r.Code != 302 {
				t.Fatalf("authorize: %d %s", r.Code, r.Body.String())
			}
			loc, err := url.Parse(r.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			p := loc.Query()
			if loc.Host != "github.com" || p.Get("redirect_uri") != ghRedirect || p.Get("client_id") != "cid" ||
				p.Get("response_type") != "code" || len(p.Get("state")) < 32 || p.Get("state") == "evil" ||
				strings.Contains(loc.String(), "evil") || strings.Contains(loc.String(), "admin") || p.Get("nonce") == "n" {
				t.Fatalf("authorize went to %s", loc)
			}
			if got := e.count(&models.SocialAuthorization{}); got != auths+1 {
				t.Fatalf("authorizations %d -> %d, want one new flow", auths, got)
			}
		})

		// Nothing above reached the free identity or touched the accounts.
		if s.account("github", "9001") != nil {
			t.Fatal("a bad request logged the free identity in")
		}
		if s.account("github", "9002") == nil || s.account("github", "9003") == nil {
			t.Fatal("a bad request removed an account")
		}
	})
}
