package restauth_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/socialauth"
)

// sxTwitterRewrite sends api.twitter.com requests to a fake through the
// transport it replaced (never through http.DefaultTransport, which is
// itself).
type sxTwitterRewrite struct {
	orig   http.RoundTripper
	target *url.URL
}

func (rw sxTwitterRewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != "api.twitter.com" {
		return rw.orig.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("X-Original-Host", r.URL.Host)
	r.URL.Scheme, r.URL.Host, r.Host = rw.target.Scheme, rw.target.Host, rw.target.Host
	return rw.orig.RoundTrip(r)
}

// sxTwitterAccount is what the fake answers for one access token.
type sxTwitterAccount struct {
	secret  string
	status  int
	profile map[string]any
}

// sxOAuthEscape is RFC 5849's percent-encoding.
func sxOAuthEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%7E", "~")
}

// sxTwitterFake is Twitter's verify_credentials endpoint: it checks the
// OAuth1 HMAC-SHA1 signature with consumer secret "cs" and the token's
// secret, so a login that drops or alters token_secret gets a 401.
type sxTwitterFake struct {
	accounts map[string]sxTwitterAccount
	calls    atomic.Int64
}

func (f *sxTwitterFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet || r.URL.Path != "/1.1/account/verify_credentials.json" || r.Header.Get("X-Original-Host") != "api.twitter.com" {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	oauth := map[string]string{}
	for _, part := range strings.Split(auth, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		v, _ = url.QueryUnescape(strings.Trim(v, `"`))
		oauth[k] = v
	}
	acct, known := f.accounts[oauth["oauth_token"]]
	if !known || oauth["oauth_consumer_key"] != "ck" || oauth["oauth_signature_method"] != "HMAC-SHA1" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var params []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			params = append(params, sxOAuthEscape(k)+"="+sxOAuthEscape(v))
		}
	}
	for k, v := range oauth {
		if k != "oauth_signature" {
			params = append(params, sxOAuthEscape(k)+"="+sxOAuthEscape(v))
		}
	}
	sort.Strings(params)
	base := "GET&" + sxOAuthEscape("https://api.twitter.com"+r.URL.Path) + "&" + sxOAuthEscape(strings.Join(params, "&"))
	mac := hmac.New(sha1.New, []byte(sxOAuthEscape("cs")+"&"+sxOAuthEscape(acct.secret)))
	mac.Write([]byte(base))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(oauth["oauth_signature"])) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"code":32,"message":"Could not authenticate you."}]}`))
		return
	}
	if acct.status != 0 {
		w.WriteHeader(acct.status)
		_, _ = w.Write([]byte(`{"errors":[{"code":89,"message":"Invalid or expired token."}]}`))
		return
	}
	_ = json.NewEncoder(w).Encode(acct.profile)
}

// sxTwitterProfile is a complete profile (goth's twitter code panics
// when one of these keys is missing).
func sxTwitterProfile(id, screen, name, email string) map[string]any {
	p := map[string]any{"id_str": id, "screen_name": screen, "name": name, "description": "", "profile_image_url": "", "location": ""}
	if email != "" {
		p["email"] = email
	}
	return p
}

// TestSocialXTwitter is not parallel: goth's twitter provider ignores
// its HTTPClient and always uses http.DefaultTransport, which this test
// replaces while it runs (parallel tests start only after it).
func TestSocialXTwitter(t *testing.T) {
	noName := sxTwitterProfile("4444", "noname", "", "noname@example.com")
	delete(noName, "name")
	fake := &sxTwitterFake{accounts: map[string]sxTwitterAccount{
		"tw-ok":      {secret: "tw-sec", profile: sxTwitterProfile("4242", "jack", "Jack Dorsey", "jack@example.com")},
		"tw-noemail": {secret: "tw-sec2", profile: sxTwitterProfile("4343", "ev", "Evan Williams", "")},
		"tw-clash":   {secret: "tw-sec3", profile: sxTwitterProfile("4545", "biz", "Biz Stone", "Taken@Example.com")},
		"tw-noname":  {secret: "tw-sec4", profile: noName},
		"tw-revoked": {secret: "tw-sec5", status: http.StatusUnauthorized},
		"tw-link":    {secret: "tw-sec6", profile: sxTwitterProfile("4646", "linked", "Linked One", "")},
	}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	target, _ := url.Parse(srv.URL)
	orig := http.DefaultTransport
	http.DefaultTransport = sxTwitterRewrite{orig: orig, target: target}
	t.Cleanup(func() { http.DefaultTransport = orig })

	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.Social.Providers = []socialauth.Provider{socialauth.Twitter("ck", "cs", "https://app.example/cb")}
	})
	e.user("taken", "taken@example.com")
	e.user("blank", "")
	post := func(body any) resp { return e.do("POST", "/rest-auth/twitter/", body) }
	fieldsOnly := func(t *testing.T, r resp, want map[string]string) {
		t.Helper()
		expect(t, r, 400)
		if len(r.Body) != len(want) {
			t.Fatalf("body %s, want fields %v", r.Raw, want)
		}
		for f, msg := range want {
			if got := r.field(f); len(got) != 1 || got[0] != msg {
				t.Fatalf("%s = %q, want [%q]: %s", f, got, msg, r.Raw)
			}
		}
	}
	account := func(uid string) *models.SocialAccount {
		var rows []models.SocialAccount
		if err := e.db.Where("provider = ? AND uid = ?", "twitter", uid).Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			return nil
		}
		return &rows[0]
	}

	t.Run("login", func(t *testing.T) {
		e := e.on(t)
		calls := fake.calls.Load()
		r := post(map[string]any{"access_token": "tw-ok", "token_secret": "tw-sec"})
		expect(t, r, 200)
		if !keyRe.MatchString(r.str("key")) || len(r.Body) != 1 {
			t.Fatalf("body %s", r.Raw)
		}
		if fake.calls.Load() != calls+1 {
			t.Fatalf("%d profile calls, want 1", fake.calls.Load()-calls)
		}
		a := account("4242")
		if a == nil || a.ExtraData["screen_name"] != "jack" {
			t.Fatalf("account %+v", a)
		}
		u := e.reload(a.UserID)
		if u.Username != "jack" || u.Email != "jack@example.com" || u.FirstName != "Jack" || u.LastName != "Dorsey" {
			t.Fatalf("user %+v", u.User)
		}
		// Twitter addresses are never taken as verified.
		if addrs := e.sxAddresses(u.ID); len(addrs) != 1 || addrs[0].Verified {
			t.Fatalf("addresses %+v", addrs)
		}
		if e.sxMe(r.str("key")) != "jack" {
			t.Fatal("key of another user")
		}
		// The second login is the same user.
		r = post(map[string]any{"access_token": "tw-ok", "token_secret": "tw-sec"})
		expect(t, r, 200)
		if e.sxMe(r.str("key")) != "jack" || e.count(&models.SocialAccount{}) != 1 {
			t.Fatal("second login did not reuse the account")
		}
	})

	t.Run("no email: no clash check", func(t *testing.T) {
		e := e.on(t)
		r := post(map[string]any{"access_token": "tw-noemail", "token_secret": "tw-sec2"})
		expect(t, r, 200)
		a := account("4343")
		if a == nil {
			t.Fatal("no account")
		}
		if u := e.reload(a.UserID); u.Username != "ev" || u.Email != "" || len(e.sxAddresses(u.ID)) != 0 {
			t.Fatalf("user %+v", u.User)
		}
	})

	t.Run("connect", func(t *testing.T) {
		e := e.on(t)
		key := e.login("blank", goodPass)
		body := map[string]any{"access_token": "tw-link", "token_secret": "tw-sec6"}
		expectDetail(t, e.do("POST", "/rest-auth/twitter/connect/", body), 401, "Authentication credentials were not provided.")
		r := e.do("POST", "/rest-auth/twitter/connect/", body, tokenHeader(key)...)
		expect(t, r, 200)
		a := account("4646")
		if a == nil || e.reload(a.UserID).Username != "blank" {
			t.Fatalf("connected account %+v", a)
		}
	})

	refusals := []struct {
		name string
		body any
		want map[string]string
	}{
		{"token_secret missing", map[string]any{"access_token": "tw-ok"}, map[string]string{"token_secret": "This field is required."}},
		{"token_secret blank", map[string]any{"access_token": "tw-ok", "token_secret": ""}, map[string]string{"token_secret": "This field may not be blank."}},
		{"token_secret spaces", map[string]any{"access_token": "tw-ok", "token_secret": "   "}, map[string]string{"token_secret": "This field may not be blank."}},
		{"access_token blank", map[string]any{"access_token": " ", "token_secret": "tw-sec"}, map[string]string{"access_token": "This field may not be blank."}},
		{"both missing", map[string]any{}, map[string]string{"access_token": "This field is required.", "token_secret": "This field is required."}},
		{"code instead", map[string]any{"code": "c"}, map[string]string{"access_token": "This field is required.", "token_secret": "This field is required."}},
		{"token_secret in another case", map[string]any{"access_token": "tw-ok", "Token_Secret": "tw-sec"}, map[string]string{"token_secret": "This field is required."}},
		{"wrong secret", map[string]any{"access_token": "tw-ok", "token_secret": "not-it"}, map[string]string{"non_field_errors": "Incorrect value"}},
		{"unknown token", map[string]any{"access_token": "tw-nobody", "token_secret": "x"}, map[string]string{"non_field_errors": "Incorrect value"}},
		{"profile without name (goth panics)", map[string]any{"access_token": "tw-noname", "token_secret": "tw-sec4"}, map[string]string{"non_field_errors": "Incorrect value"}},
		{"provider answers 401", map[string]any{"access_token": "tw-revoked", "token_secret": "tw-sec5"}, map[string]string{"non_field_errors": "Incorrect value"}},
		// SOCIAL.md §4.5 rule 4 applies to every provider (upstream's
		// Twitter serializer skips it).
		{"email of another user", map[string]any{"access_token": "tw-clash", "token_secret": "tw-sec3"}, map[string]string{"non_field_errors": "User is already registered with this e-mail address."}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			e := e.on(t)
			before := e.sxCount()
			fieldsOnly(t, post(tc.body), tc.want)
			if after := e.sxCount(); after != before {
				t.Fatalf("rows %+v -> %+v", before, after)
			}
		})
	}
	for _, uid := range []string{"4444", "4545"} {
		if account(uid) != nil {
			t.Fatalf("refused identity %s has an account", uid)
		}
	}
}
