package restauth_test

// Fuzz targets for every endpoint through an in-memory engine (issue 11,
// point 10). Plain `go test` runs the seeds; CI runs each target for a
// few seconds with
//
//	go test -run NONE -fuzz '^FuzzEndpoints$' -fuzztime 5s .
//	go test -run NONE -fuzz '^FuzzEndpointsJWT$' -fuzztime 5s .
//
// Each input picks a method, a route, a content type, a way to
// authenticate, flags, a path parameter (or callback query), an
// Accept-Language header and a body. Placeholders in the body and the
// parameter ($KEY, $ACCESS, $REFRESH, $UID, $TOKEN, $CONFIRM, $SOCIAL,
// $SESSION) are
// replaced by live credentials of the seeded users, so an input means the
// same thing in every worker process. The invariants: no panic, no 5xx;
// a JSON body (an object, or an array for a list) except where the route
// documents otherwise (OPTIONS, the confirmation page, redirects); every
// 4xx in DRF's shape and leaving the database as it was.
//
// The database is SQLite; RESTAUTH_FUZZ_DB=postgres (with
// RESTAUTH_TEST_POSTGRES) fuzzes on a PostgreSQL schema instead.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// fzRoute is one route the fuzzers call.
type fzRoute struct {
	path    string   // with {p} for the fuzzed path parameter
	methods []string // the methods the router has for it
	list    bool     // GET answers a JSON array
	html    bool     // GET answers an HTML page
	query   bool     // the fuzzed parameter is the raw query
	redir   bool     // may answer a redirect
}

var (
	fzAll    = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
	fzAllGet = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"}
)

// fzRoutes are the routes of both targets; fzJWTRoutes are added in JWT
// mode.
var fzRoutes = []fzRoute{
	{path: "/rest-auth/login/", methods: fzAll},
	{path: "/rest-auth/logout/", methods: fzAllGet}, // Logout.OnGet
	{path: "/rest-auth/password/reset/", methods: fzAll},
	{path: "/rest-auth/password/reset/confirm/", methods: fzAll},
	{path: "/rest-auth/password/change/", methods: fzAll},
	{path: "/rest-auth/user/", methods: fzAllGet},
	{path: "/rest-auth/registration/", methods: fzAll},
	{path: "/rest-auth/registration/verify-email/", methods: fzAll},
	{path: "/rest-auth/registration/resend-email/", methods: fzAll},
	{path: "/rest-auth/registration/account-confirm-email/{p}/", methods: fzAllGet, html: true},
	{path: "/rest-auth/github/", methods: fzAll},
	{path: "/rest-auth/github/connect/", methods: fzAll},
	{path: "/rest-auth/github/authorize/", methods: fzAllGet, redir: true},
	{path: "/rest-auth/github/callback/", methods: fzAllGet, query: true, redir: true},
	{path: "/rest-auth/socialaccounts/", methods: fzAllGet, list: true},
	{path: "/rest-auth/socialaccounts/{p}/disconnect/", methods: fzAll},
	{path: "/rest-auth/sessions/", methods: fzAllGet, list: true},
	{path: "/rest-auth/sessions/revoke-others/", methods: fzAll},
	{path: "/rest-auth/sessions/{p}/revoke/", methods: fzAll},
	{path: "/api/me", methods: []string{"GET"}},
}

var fzJWTRoutes = []fzRoute{
	{path: "/rest-auth/token/refresh/", methods: fzAll},
	{path: "/rest-auth/token/verify/", methods: fzAll},
	{path: "/api/action", methods: []string{"POST"}},
	{path: "/api/claims", methods: []string{"GET"}},
}

// fzContentTypes are the Content-Type headers inputs pick from.
var fzContentTypes = []string{
	"application/json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=XX",
	"text/plain",
	"",
	"application/xml",
	"application/json; charset=utf-8",
	"application/merge-patch+json",
	"multipart/form-data",
	"application/json; charset",
}

// Flags of an input.
const (
	fzAcceptJSON = 1 << iota // Accept: application/json (authorize/ answers JSON)
	fzNoSlash                // the path without its trailing slash
	fzChunked                // no Content-Length
	fzFlowCookie             // a restauth_social_flow cookie made of the parameter
	fzUserAgent              // the language string goes in User-Agent instead
	fzForwarded              // X-Forwarded-For: the parameter
)

// fzMaxBody is the env's MaxBodyBytes: small, so "too large" inputs stay
// cheap to mutate.
const fzMaxBody = 32 << 10

// fzEnv is one fully featured plugin with seeded users, shared by every
// input of a fuzz target within one process.
type fzEnv struct {
	*socialEnv
	jwt    bool
	routes []fzRoute
	logs   *fzLog

	mu    sync.Mutex
	alice Customer // logged in, verified, GitHub 9002 connected
	bob   Customer // the password reset target
	carol Customer // unverified: $CONFIRM verifies her address

	key, access, refresh string // alice's live credentials
	uid, token           string // bob's reset link
	confirm              string // carol's confirmation key
	social               string // alice's GitHub account id
	session              string // the id of alice's current session
	last                 string // state() after the last input; "" after a 2xx or 3xx
}

// fzLog records restauth's error logs, to show why an input got a 5xx.
type fzLog struct {
	mu   sync.Mutex
	recs []string
}

func (l *fzLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }

func (l *fzLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	if len(l.recs) > 20 {
		l.recs = l.recs[len(l.recs)-20:]
	}
	l.mu.Unlock()
	return nil
}

func (l *fzLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *fzLog) WithGroup(string) slog.Handler      { return l }

// take returns and clears the records.
func (l *fzLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.recs
	l.recs = nil
	return out
}

// newFzEnv builds the env of a fuzz target: token mode, or JWT mode with
// cookies, CSRF, rotation and revocation checks.
func newFzEnv(f *testing.F, jwt bool) *fzEnv {
	f.Helper()
	logs := &fzLog{}
	fe := &fzEnv{jwt: jwt, logs: logs, routes: fzRoutes}
	if jwt {
		fe.routes = append(append([]fzRoute(nil), fzRoutes...), fzJWTRoutes...)
	}
	db := testdb.SQLite(f)
	if os.Getenv("RESTAUTH_FUZZ_DB") == "postgres" {
		// Column sizes and types are enforced: a value the validation
		// let through but the database refuses is a 5xx here.
		db = testdb.Postgres(f)
	}
	fe.socialEnv = newSocialEnv(f, db, jwt, false, func(c *restauth.Config) {
		c.Logger = slog.New(logs)
		c.MaxBodyBytes = fzMaxBody
		c.Logout.OnGet = true
		c.PasswordChange.OldPasswordFieldEnabled = !jwt
		c.PasswordChange.LogoutOnPasswordChange = jwt
		c.Registration.ConfirmationCooldown = -1
		c.Social.StoreTokens = true
		if jwt {
			c.JWT.RotateRefreshTokens = true
			c.JWT.CheckRevoked = true
			c.JWT.ReturnExpiration = true
			c.JWT.Cookie = "jwt-access"
			c.JWT.RefreshCookie = "jwt-refresh"
			c.JWT.CookieUseCSRF = true
			c.Social.LoginRedirectURL = "/done"
		}
	})
	s := fe.socialEnv
	s.gh.add("tok-free", ghUser{ID: 9001, Login: "free", Email: "free@example.com", Verified: true})
	s.gh.add("tok-own", ghUser{ID: 9002, Login: "owngh", Email: "own.gh@example.com", Verified: true})
	s.gh.add("tok-other", ghUser{ID: 9003, Login: "othergh", Email: "other@example.com", Verified: true})
	s.gh.add("tok-alice", ghUser{ID: 9004, Login: "alicegh", Email: "alice@example.com", Verified: true})
	fe.alice = *s.user("alice", "alice@example.com")
	fe.bob = *s.user("bob", "bob@example.com")
	fe.carol = *s.user("carol", "carol@example.com")
	if err := s.auth.MarkEmailVerified(context.Background(), &fe.alice); err != nil {
		f.Fatal(err)
	}
	// The originals restore() writes back: reload what the database holds.
	fe.alice, fe.bob, fe.carol = s.reload(fe.alice.ID), s.reload(fe.bob.ID), s.reload(fe.carol.ID)
	if err := fe.restore(); err != nil {
		f.Fatal(err)
	}
	// One account of another user, whose id alice may not disconnect.
	if r := fe.send("POST", "/rest-auth/github/", "", "application/json", `{"access_token":"tok-other"}`, nil); r.Code != 200 {
		f.Fatalf("setup: github login: %d %s", r.Code, r.Body.String())
	}
	return fe
}

// send serves one request on the engine.
func (fe *fzEnv) send(method, path, rawQuery, ctype, body string, hdr http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/", strings.NewReader(body))
	req.URL.Path, req.URL.RawQuery = path, rawQuery
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	fe.r.ServeHTTP(w, req)
	return w
}

// restore puts the seeded users back as they were and issues fresh
// credentials, after an input that may have changed them (a 2xx).
func (fe *fzEnv) restore() error {
	ctx := context.Background()
	for _, u := range []Customer{fe.alice, fe.bob, fe.carol} {
		if err := fe.db.Save(&u).Error; err != nil {
			return fmt.Errorf("restore user %s: %w", u.Username, err)
		}
	}
	login, err := fe.auth.Login(ctx, &fe.alice)
	if err != nil {
		return fmt.Errorf("restore: login: %w", err)
	}
	fe.key, fe.access, fe.refresh = login.Key, login.Access, login.Refresh
	fe.uid, fe.token = fe.auth.PasswordResetToken(&fe.bob)
	fe.gh.code("code-free", "tok-free")

	// carol's confirmation key, unless the last one is still unused.
	var addr models.EmailAddress
	if err := fe.db.Where("user_id = ?", fe.carol.ID).Take(&addr).Error; err != nil {
		return fmt.Errorf("restore: carol's address: %w", err)
	}
	if fe.confirm == "" || addr.Verified {
		if err := fe.db.Model(&addr).Update("verified", false).Error; err != nil {
			return err
		}
		_ = fe.auth.Shutdown(ctx)
		fe.out.Reset()
		r := fe.send("POST", "/rest-auth/registration/resend-email/", "", "application/json", `{"email":"carol@example.com"}`, nil)
		if r.Code != 200 {
			return fmt.Errorf("restore: resend: %d %s", r.Code, r.Body.String())
		}
		_ = fe.auth.Shutdown(ctx)
		fe.confirm = ""
		for _, m := range fe.out.Messages() {
			if len(m.To) == 1 && m.To[0] == "carol@example.com" {
				if k := confirmLinkRe.FindStringSubmatch(m.Text); k != nil {
					fe.confirm = k[1]
				}
			}
		}
		if fe.confirm == "" {
			return fmt.Errorf("restore: no confirmation email to carol")
		}
	}
	fe.out.Reset()

	// alice's GitHub account.
	var acct models.SocialAccount
	res := fe.db.Where("user_id = ? AND provider = ? AND uid = ?", fe.alice.ID, "github", "9002").Limit(1).Find(&acct)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		hdr := http.Header{"Authorization": {fe.authValue()}}
		r := fe.send("POST", "/rest-auth/github/connect/", "", "application/json", `{"access_token":"tok-own"}`, hdr)
		if r.Code != 200 {
			return fmt.Errorf("restore: connect: %d %s", r.Code, r.Body.String())
		}
		if err := fe.db.Where("user_id = ? AND provider = ? AND uid = ?", fe.alice.ID, "github", "9002").Take(&acct).Error; err != nil {
			return err
		}
	}
	fe.social = strconv.FormatUint(uint64(acct.ID), 10)

	// alice's current session.
	r := fe.send("GET", "/rest-auth/sessions/", "", "", "", http.Header{"Authorization": {fe.authValue()}})
	var list []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	if err := json.Unmarshal(r.Body.Bytes(), &list); r.Code != 200 || err != nil {
		return fmt.Errorf("restore: sessions: %d %s", r.Code, r.Body.String())
	}
	fe.session = ""
	for _, x := range list {
		if x.Current {
			fe.session = x.ID
		}
	}
	if fe.session == "" {
		return fmt.Errorf("restore: no current session in %s", r.Body.String())
	}
	return nil
}

// authValue is alice's Authorization header.
func (fe *fzEnv) authValue() string {
	if fe.jwt {
		return "Bearer " + fe.access
	}
	return "Token " + fe.key
}

// fill replaces the placeholders with live values.
func (fe *fzEnv) fill(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	return strings.NewReplacer(
		"$KEY", fe.key, "$ACCESS", fe.access, "$REFRESH", fe.refresh,
		"$UID", fe.uid, "$TOKEN", fe.token, "$CONFIRM", fe.confirm, "$SOCIAL", fe.social, "$SESSION", fe.session,
	).Replace(s)
}

// headers returns the authentication headers of mode.
func (fe *fzEnv) headers(mode uint8, param string) http.Header {
	h := http.Header{}
	csrf := "csrf-" + strconv.Itoa(int(mode))
	cookies := func(access, refresh bool, header string) {
		var c []string
		if access {
			c = append(c, "jwt-access="+fe.access)
		}
		if refresh {
			c = append(c, "jwt-refresh="+fe.refresh)
		}
		c = append(c, "csrftoken="+csrf)
		h.Set("Cookie", strings.Join(c, "; "))
		if header != "" {
			h.Set("X-CSRFToken", header)
		}
	}
	if !fe.jwt {
		switch mode % 8 {
		case 1:
			h.Set("Authorization", "Token "+fe.key)
		case 2:
			h.Set("Authorization", "Token 0123456789abcdef0123456789abcdef01234567")
		case 3:
			h.Set("Authorization", "Bearer "+fe.key)
		case 4:
			h.Set("Authorization", "Token")
		case 5:
			h.Set("Authorization", "Token "+fe.key+" extra")
		case 6:
			h.Set("Authorization", "Basic YWxpY2U6VHIxY2t5LVN1bmZsb3dlci00Mg==")
		case 7:
			h.Set("Authorization", fe.fill(param))
		}
		return h
	}
	switch mode % 8 {
	case 1:
		h.Set("Authorization", "Bearer "+fe.access)
	case 2:
		cookies(true, true, csrf)
	case 3:
		cookies(true, true, "")
	case 4:
		cookies(false, true, csrf)
	case 5:
		h.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJ1c2VyX2lkIjoxfQ.")
	case 6:
		cookies(true, true, "other")
	case 7:
		h.Set("Authorization", fe.fill(param))
	}
	return h
}

// fzState is the database as far as the invariant "a 4xx changes no row"
// sees it: row counts of every table, and the rows of users, addresses
// and social accounts (a session's last use may be written by any
// authenticated request, so sessions are only counted).
func (fe *fzEnv) state() (string, error) {
	var b strings.Builder
	tables := []any{&Customer{}, &models.Token{}, &models.EmailAddress{}, &models.EmailConfirmation{},
		&models.SocialAccount{}, &models.SocialToken{}, &models.SocialAuthorization{}, &models.UsedIDToken{}, &models.Session{}}
	if fe.jwt {
		tables = append(tables, &models.OutstandingToken{}, &models.BlacklistedToken{})
	}
	for _, m := range tables {
		var n int64
		if err := fe.db.Model(m).Count(&n).Error; err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%T=%d ", m, n)
	}
	var users []Customer
	var addrs []models.EmailAddress
	var accts []models.SocialAccount
	h := sha256.New()
	for _, rows := range []any{&users, &addrs, &accts} {
		if err := fe.db.Order("id").Find(rows).Error; err != nil {
			return "", err
		}
		// %+v shows every column, ExtraData's map keys sorted.
		fmt.Fprintf(h, "%+v", rows)
	}
	b.WriteString(hex.EncodeToString(h.Sum(nil)))
	return b.String(), nil
}

// fzInput is one decoded fuzz input.
type fzInput struct {
	method, ctype, path, query string
	route                      fzRoute
	hdr                        http.Header
	body                       string
	chunked                    bool
}

func (in fzInput) String() string {
	b := in.body
	if len(b) > 300 {
		b = b[:300] + fmt.Sprintf("...(%d bytes)", len(in.body))
	}
	return fmt.Sprintf("%s %s?%s Content-Type=%q headers=%v body=%q", in.method, in.path, in.query, in.ctype, in.hdr, b)
}

// decode turns the raw fuzz arguments into a request.
func (fe *fzEnv) decode(method, route, ctype, auth, flags uint8, param, lang string, body []byte) fzInput {
	rt := fe.routes[int(route)%len(fe.routes)]
	in := fzInput{route: rt, method: rt.methods[int(method)%len(rt.methods)], ctype: fzContentTypes[int(ctype)%len(fzContentTypes)]}
	param = fe.fill(param)
	path := rt.path
	if strings.Contains(path, "{p}") {
		// The parameter is one path segment (the router would not match
		// an empty or slashed one; a 404 there is gin's, not restauth's).
		p := strings.ReplaceAll(param, "/", "%2F")
		if p == "" {
			p = "0"
		}
		path = strings.Replace(path, "{p}", p, 1)
	}
	if rt.query {
		in.query = param
	}
	if flags&fzNoSlash != 0 && strings.HasSuffix(path, "/") {
		path = strings.TrimSuffix(path, "/")
	}
	in.path = path
	in.hdr = fe.headers(auth, param)
	if flags&fzAcceptJSON != 0 {
		in.hdr.Set("Accept", "application/json")
	}
	if flags&fzFlowCookie != 0 {
		in.hdr.Add("Cookie", "__Host-restauth_social_flow="+param)
	}
	switch {
	case lang == "":
	case flags&fzUserAgent != 0:
		in.hdr.Set("User-Agent", lang)
	default:
		in.hdr.Set("Accept-Language", lang)
	}
	if flags&fzForwarded != 0 {
		in.hdr.Set("X-Forwarded-For", param)
	}
	in.chunked = flags&fzChunked != 0
	in.body = fe.fill(string(body))
	return in
}

// run serves in and checks the invariants; it returns the problem found,
// or "".
func (fe *fzEnv) run(in fzInput) (problem string) {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fe.logs.take()
	// Nothing but the inputs touches the database: the state after the
	// last input is the state before this one.
	before := fe.last
	if before == "" {
		var err error
		if before, err = fe.state(); err != nil {
			return "state: " + err.Error()
		}
	}
	fe.last = ""
	req := httptest.NewRequest(in.method, "/", strings.NewReader(in.body))
	req.URL.Path, req.URL.RawQuery = in.path, in.query
	if in.chunked {
		req.ContentLength = -1
	}
	if in.ctype != "" {
		req.Header.Set("Content-Type", in.ctype)
	}
	for k, vs := range in.hdr {
		req.Header[k] = vs
	}
	w := httptest.NewRecorder()
	fe.r.ServeHTTP(w, req)
	_ = fe.auth.Shutdown(context.Background())
	fe.out.Reset()

	problem = fzCheckAnswer(in, w)
	if problem == "" && w.Code >= 400 {
		after, err := fe.state()
		switch {
		case err != nil:
			problem = "state: " + err.Error()
		case after != before:
			problem = fmt.Sprintf("a %d answer changed the database:\nbefore %s\nafter  %s", w.Code, before, after)
		default:
			fe.last = after
		}
	}
	if problem != "" {
		return fmt.Sprintf("%s\nrequest: %s\nanswer: %d %v %q\nlogs: %q", problem, in, w.Code, w.Header(), w.Body.String(), fe.logs.take())
	}
	safe := in.method == "GET" || in.method == "HEAD" || in.method == "OPTIONS"
	if w.Code < 400 && (!safe || strings.Contains(in.path, "/logout")) {
		if err := fe.restore(); err != nil {
			return fmt.Sprintf("restore after %s: %v", in, err)
		}
	}
	return ""
}

// fzCheckAnswer checks the status, content type and body shape.
func fzCheckAnswer(in fzInput, w *httptest.ResponseRecorder) string {
	ct := w.Header().Get("Content-Type")
	body := w.Body.Bytes()
	switch {
	case w.Code >= 500:
		return fmt.Sprintf("status %d", w.Code)
	case w.Code < 200:
		return fmt.Sprintf("status %d", w.Code)
	case in.method == "OPTIONS":
		if w.Code != 200 || w.Header().Get("Allow") == "" {
			return "OPTIONS: want 200 with Allow"
		}
		return ""
	case in.method == "HEAD":
		return ""
	case w.Code >= 300 && w.Code < 400:
		if !in.route.redir || w.Header().Get("Location") == "" {
			return "unexpected redirect"
		}
		return ""
	case w.Code == 200 && in.route.html && in.method == "GET":
		if !strings.HasPrefix(ct, "text/html") {
			return "confirmation page: Content-Type " + ct
		}
		return ""
	case w.Code == 204 && len(body) == 0:
		return ""
	}
	if !strings.HasPrefix(ct, "application/json") {
		return "Content-Type " + ct
	}
	if w.Code < 300 {
		if in.route.list && in.method == "GET" {
			var list []any
			if err := json.Unmarshal(body, &list); err != nil {
				return "not a JSON array: " + err.Error()
			}
			return ""
		}
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			return "not a JSON object: " + err.Error()
		}
		return ""
	}
	return fzShape(body)
}

// fzShape returns "" when body is DRF's error shape: {"detail": string}
// (with simplejwt's "code" and "messages" beside it) or
// {"field": [string, ...], ...}.
func fzShape(body []byte) string {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return "error body is not a JSON object: " + err.Error()
	}
	if len(obj) == 0 {
		return "empty error body"
	}
	if d, ok := obj["detail"]; ok {
		if s, ok := d.(string); !ok || s == "" {
			return "detail is not a string"
		}
		for k, v := range obj {
			switch k {
			case "detail":
			case "code":
				if _, ok := v.(string); !ok {
					return "code is not a string"
				}
			case "messages":
				if _, ok := v.([]any); !ok {
					return "messages is not a list"
				}
			default:
				return "unexpected key beside detail: " + k
			}
		}
		return ""
	}
	for k, v := range obj {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return k + " is not a list of messages"
		}
		for _, m := range list {
			if s, ok := m.(string); !ok || s == "" {
				return k + " holds a non-string message"
			}
		}
	}
	return ""
}

// fzSeed is one seed input.
type fzSeed struct {
	method, route, ctype, auth, flags uint8
	param, lang                       string
	body                              string
}

// fzSeeds builds the seed corpus: the bodies of the bad-input tables
// (badinput_test.go, social_badinput_test.go) on every route that reads
// a body, plus requests that reach the success paths through the
// placeholders.
func fzSeeds(routes []fzRoute, jwt bool) []fzSeed {
	ctIndex := func(ct string) uint8 {
		for i, c := range fzContentTypes {
			if c == ct {
				return uint8(i)
			}
		}
		panic("content type " + ct + " missing from fzContentTypes")
	}
	routeIndex := func(path string) uint8 {
		for i, r := range routes {
			if r.path == path {
				return uint8(i)
			}
		}
		panic("route " + path + " missing")
	}
	methodIndex := func(rt uint8, m string) uint8 {
		for i, x := range routes[rt].methods {
			if x == m {
				return uint8(i)
			}
		}
		panic(m + " missing")
	}
	tooLarge := `{"username":"` + strings.Repeat("a", fzMaxBody) + `"}`
	var seeds []fzSeed
	add := func(method, path string, ct string, auth uint8, param, body string) {
		rt := routeIndex(path)
		seeds = append(seeds, fzSeed{method: methodIndex(rt, method), route: rt, ctype: ctIndex(ct), auth: auth, param: param, body: body})
	}
	posts := []string{"/rest-auth/login/", "/rest-auth/password/reset/", "/rest-auth/password/reset/confirm/",
		"/rest-auth/password/change/", "/rest-auth/registration/", "/rest-auth/registration/verify-email/",
		"/rest-auth/registration/resend-email/", "/rest-auth/logout/"}
	if jwt {
		posts = append(posts, "/rest-auth/token/refresh/", "/rest-auth/token/verify/")
	}
	for _, tc := range badCases {
		body := tc.body
		if len(body) > fzMaxBody {
			body = tooLarge
		}
		for _, p := range posts {
			add("POST", p, tc.contentType, 1, "", body)
		}
		add("PUT", "/rest-auth/user/", tc.contentType, 1, "", body)
		add("PATCH", "/rest-auth/user/", tc.contentType, 1, "", body)
	}
	for _, tc := range sxBadBodies {
		body := tc.body
		if len(body) > fzMaxBody {
			body = tooLarge
		}
		add("POST", "/rest-auth/github/", tc.contentType, 0, "", body)
		add("POST", "/rest-auth/github/connect/", tc.contentType, 1, "", body)
	}
	// Success paths, through the placeholders.
	j := "application/json"
	add("POST", "/rest-auth/login/", j, 0, "", `{"username":"alice","password":"`+goodPass+`"}`)
	add("POST", "/rest-auth/login/", j, 0, "", `{"email":"ALICE@example.com","password":"`+goodPass+`"}`)
	add("POST", "/rest-auth/logout/", j, 1, "", `{"refresh":"$REFRESH"}`)
	add("GET", "/rest-auth/logout/", "", 1, "", "")
	add("GET", "/rest-auth/user/", "", 1, "", "")
	add("PUT", "/rest-auth/user/", j, 1, "", `{"username":"alice2","first_name":"A"}`)
	add("PATCH", "/rest-auth/user/", j, 1, "", `{"last_name":"L","company_name":"ACME"}`)
	add("POST", "/rest-auth/password/reset/", j, 0, "", `{"email":"bob@example.com"}`)
	add("POST", "/rest-auth/password/reset/confirm/", j, 0, "", `{"uid":"$UID","token":"$TOKEN","new_password1":"N3w-Passw0rd-Kite","new_password2":"N3w-Passw0rd-Kite"}`)
	add("POST", "/rest-auth/password/reset/confirm/", j, 0, "", `{"uid":"$UID","token":"$TOKEN","new_password1":"a","new_password2":"b"}`)
	add("POST", "/rest-auth/password/change/", j, 1, "", `{"old_password":"`+goodPass+`","new_password1":"N3w-Passw0rd-Kite","new_password2":"N3w-Passw0rd-Kite"}`)
	add("POST", "/rest-auth/registration/", j, 0, "", `{"username":"newbie","email":"newbie@example.com","password1":"N3w-Passw0rd-Kite","password2":"N3w-Passw0rd-Kite"}`)
	add("POST", "/rest-auth/registration/", j, 0, "", `{"username":"ｍain","email":"ALICE@EXAMPLE.COM","password1":"x","password2":"y"}`)
	add("POST", "/rest-auth/registration/verify-email/", j, 0, "", `{"key":"$CONFIRM"}`)
	add("POST", "/rest-auth/registration/resend-email/", j, 0, "", `{"email":"carol@example.com"}`)
	add("GET", "/rest-auth/registration/account-confirm-email/{p}/", "", 0, "$CONFIRM", "")
	add("GET", "/rest-auth/registration/account-confirm-email/{p}/", "", 0, strings.Repeat("k", 201), "")
	add("POST", "/rest-auth/github/", j, 0, "", `{"access_token":"tok-free"}`)
	add("POST", "/rest-auth/github/", j, 0, "", `{"access_token":"tok-alice"}`)
	add("POST", "/rest-auth/github/", j, 0, "", `{"code":"code-free"}`)
	add("POST", "/rest-auth/github/connect/", j, 1, "", `{"access_token":"tok-other"}`)
	add("GET", "/rest-auth/github/authorize/", "", 0, "", "")
	add("GET", "/rest-auth/github/callback/", "", 0, "state=evil&code=code-free", "")
	add("GET", "/rest-auth/github/callback/", "", 0, "error=access_denied&error_description=%3Cscript%3E", "")
	add("GET", "/rest-auth/socialaccounts/", "", 1, "", "")
	add("POST", "/rest-auth/socialaccounts/{p}/disconnect/", "", 1, "$SOCIAL", "")
	for _, id := range []string{"abc", "-1", "0", "99999999999999999999", "+$SOCIAL", "0x1", "1e3", " 1", "$SOCIAL.0", "18446744073709551616"} {
		add("POST", "/rest-auth/socialaccounts/{p}/disconnect/", "", 1, id, "")
	}
	// Forms and multipart carry raw bytes into the values, where a JSON
	// body would need an escape: mutations reach the fields sooner.
	mp := func(kv ...string) string {
		var b strings.Builder
		for i := 0; i+1 < len(kv); i += 2 {
			b.WriteString("--XX\r\nContent-Disposition: form-data; name=\"" + kv[i] + "\"\r\n\r\n" + kv[i+1] + "\r\n")
		}
		return b.String() + "--XX--\r\n"
	}
	m, fm := "multipart/form-data; boundary=XX", "application/x-www-form-urlencoded"
	add("POST", "/rest-auth/login/", m, 0, "", mp("username", "alice", "password", goodPass))
	add("POST", "/rest-auth/login/", fm, 0, "", "username=nobody&username=alice&password="+goodPass)
	add("POST", "/rest-auth/registration/", m, 0, "", mp("username", "newbie2", "email", "n2@example.com", "password1", "N3w-Passw0rd-Kite", "password2", "N3w-Passw0rd-Kite"))
	add("POST", "/rest-auth/password/reset/confirm/", fm, 0, "", "uid=$UID&token=$TOKEN&new_password1=N3w-Passw0rd-Kite&new_password2=N3w-Passw0rd-Kite")
	add("PATCH", "/rest-auth/user/", m, 1, "", mp("first_name", "\x01\x7f", "username", "alice"))
	add("POST", "/rest-auth/github/", fm, 0, "", "access_token=tok-own&code=&id_token=")
	add("POST", "/rest-auth/registration/verify-email/", m, 0, "", mp("key", "$CONFIRM"))
	add("POST", "/rest-auth/login/", j, 0, "", `{"username":"\u0001\ud800","password":"\u2028"}`)
	add("GET", "/rest-auth/sessions/", "", 1, "", "")
	add("POST", "/rest-auth/sessions/{p}/revoke/", "", 1, "$SESSION", "")
	add("POST", "/rest-auth/sessions/revoke-others/", "", 1, "", "")
	for _, id := range []string{"0", "$SESSION0", "$SESSION\x00", strings.Repeat("f", 32), "%00", "1"} {
		add("POST", "/rest-auth/sessions/{p}/revoke/", "", 1, id, "")
	}
	add("GET", "/api/me", "", 1, "", "")
	add("GET", "/api/me", "", 7, "Token $KEY\x00", "")
	if jwt {
		add("POST", "/rest-auth/token/refresh/", j, 0, "", `{"refresh":"$REFRESH"}`)
		add("POST", "/rest-auth/token/refresh/", j, 2, "", `{}`)
		add("POST", "/rest-auth/token/verify/", j, 0, "", `{"token":"$ACCESS"}`)
		add("POST", "/rest-auth/token/verify/", j, 0, "", `{"token":"$REFRESH"}`)
		add("POST", "/rest-auth/logout/", j, 2, "", ``)
		add("POST", "/rest-auth/logout/", j, 3, "", ``)
		add("POST", "/api/action", "", 2, "", "")
		add("POST", "/api/action", "", 6, "", "")
		add("GET", "/api/claims", "", 1, "", "")
		add("GET", "/api/claims", "", 7, "Bearer $REFRESH", "")
	}
	// Every method on one route, headers of every kind, odd languages.
	for m := range fzAllGet {
		seeds = append(seeds, fzSeed{method: uint8(m), route: routeIndex("/rest-auth/user/"), auth: 1, flags: fzNoSlash | fzChunked})
	}
	for a := range 8 {
		seeds = append(seeds, fzSeed{route: routeIndex("/rest-auth/user/"), auth: uint8(a), param: "Token $KEY"})
	}
	for _, lang := range []string{"fr", "*", "xx-YY;q=0.5, de;q=abc", strings.Repeat("en-", 100), "\xff"} {
		seeds = append(seeds, fzSeed{method: 1, route: routeIndex("/rest-auth/login/"), lang: lang, body: `{}`})
	}
	// A login from an odd client: its User-Agent and address are stored.
	login := `{"username":"alice","password":"` + goodPass + `"}`
	for _, ua := range []string{strings.Repeat("é", 200), "\xff\xfe", "ua\x00"} {
		seeds = append(seeds, fzSeed{method: 1, route: routeIndex("/rest-auth/login/"), flags: fzUserAgent, lang: ua, body: login})
	}
	for _, ip := range []string{"ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "1.2.3.4, 5.6.7.8", "fe80::1%eth0", "::ffff:1.2.3.4", "999.1.1.1"} {
		seeds = append(seeds, fzSeed{method: 1, route: routeIndex("/rest-auth/login/"), flags: fzForwarded, param: ip, body: login})
	}
	return seeds
}

func fuzzEndpoints(f *testing.F, jwt bool) {
	fe := newFzEnv(f, jwt)
	for _, s := range fzSeeds(fe.routes, jwt) {
		f.Add(s.method, s.route, s.ctype, s.auth, s.flags, s.param, s.lang, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, route, ctype, auth, flags uint8, param, lang string, body []byte) {
		in := fe.decode(method, route, ctype, auth, flags, param, lang, body)
		if p := fe.run(in); p != "" {
			t.Fatal(p)
		}
	})
}

// FuzzEndpoints fuzzes every route of a token-mode plugin with
// registration and GitHub login.
func FuzzEndpoints(f *testing.F) { fuzzEndpoints(f, false) }

// FuzzEndpointsJWT fuzzes every route of a JWT-mode plugin with cookies,
// CSRF, refresh rotation and revocation checks.
func FuzzEndpointsJWT(f *testing.F) { fuzzEndpoints(f, true) }
