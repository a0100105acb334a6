package restauth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/markbates/goth"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

// sxCounts are the row counts a social login can change.
type sxCounts struct {
	Users, Accounts, Addresses, Confirmations, Tokens int64
}

// sxCount counts the rows a social login can write (token mode).
func (e *env) sxCount() sxCounts {
	e.t.Helper()
	return sxCounts{
		Users:         e.count(&Customer{}),
		Accounts:      e.count(&models.SocialAccount{}),
		Addresses:     e.count(&models.EmailAddress{}),
		Confirmations: e.count(&models.EmailConfirmation{}),
		Tokens:        e.count(&models.Token{}),
	}
}

// sxUser loads the user with username (any case), failing when there is
// none.
func (e *env) sxUser(username string) Customer {
	e.t.Helper()
	var u Customer
	if err := e.db.Where("lower(username) = lower(?)", username).Take(&u).Error; err != nil {
		e.t.Fatalf("user %q: %v", username, err)
	}
	return u
}

// sxAccountUser returns the user who owns the github account uid.
func (s *socialEnv) sxAccountUser(uid string) Customer {
	s.t.Helper()
	a := s.account("github", uid)
	if a == nil {
		s.t.Fatalf("no github account %s", uid)
	}
	return s.reload(a.UserID)
}

// sxAddresses returns the user's EmailAddress rows.
func (e *env) sxAddresses(userID uint) []models.EmailAddress {
	e.t.Helper()
	var rows []models.EmailAddress
	if err := e.db.Where("user_id = ?", userID).Order("id").Find(&rows).Error; err != nil {
		e.t.Fatal(err)
	}
	return rows
}

// sxMails waits for the mails in flight and returns them, emptying the
// outbox.
func (e *env) sxMails() int {
	e.t.Helper()
	if err := e.auth.Shutdown(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	n := e.out.Len()
	e.out.Reset()
	return n
}

// sxMe returns the username user/ answers for a token key.
func (e *env) sxMe(key string) string {
	e.t.Helper()
	r := e.do("GET", "/api/me", nil, tokenHeader(key)...)
	expect(e.t, r, 200)
	return r.str("username")
}

func sxNonField(t testing.TB, r resp, msg string) {
	t.Helper()
	expectField(t, r, "non_field_errors", msg)
	if len(r.Body) != 1 {
		t.Fatalf("body has more than non_field_errors: %s", r.Raw)
	}
}

// sxLoginUser checks a 200 social login body for the mode and returns
// the username it logged in.
func (s *socialEnv) sxLoginUser(t testing.TB, r resp, jwt bool) string {
	t.Helper()
	expect(t, r, 200)
	if !jwt {
		key := r.str("key")
		if !keyRe.MatchString(key) || len(r.Body) != 1 {
			t.Fatalf("token body %s", r.Raw)
		}
		return s.on(t).sxMe(key)
	}
	if r.str("access") == "" || r.str("refresh") == "" {
		t.Fatalf("JWT body %s", r.Raw)
	}
	user, ok := r.Body["user"].(map[string]any)
	if !ok {
		t.Fatalf("no user in %s", r.Raw)
	}
	name, _ := user["username"].(string)
	if sub := payload(t, r.str("access"))["user_id"]; sub == nil {
		t.Fatalf("access token without user_id: %v", payload(t, r.str("access")))
	}
	return name
}

func TestSocialXSignupUsername(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		existing []string // usernames registered before the login
		gu       ghUser
		want     string // exact username, or
		wantRe   string // a pattern it must match
		first    string
		last     string
	}{
		{name: "provider login free", gu: ghUser{ID: 11, Login: "Hubot", Name: "Hu Bot", Email: "hubot@example.com", Verified: true},
			want: "Hubot", first: "Hu", last: "Bot"},
		{name: "login taken in another case", existing: []string{"Octo"}, gu: ghUser{ID: 12, Login: "octo", Name: "John Smith", Email: "john@example.com", Verified: true},
			want: "john", first: "John", last: "Smith"},
		{name: "login and first name taken", existing: []string{"taken1", "Mary"}, gu: ghUser{ID: 13, Login: "TAKEN1", Name: "Mary Jones", Email: "mary@example.com", Verified: true},
			wantRe: `^mary[0-9a-z]{1,6}$`, first: "Mary", last: "Jones"},
		{name: "login with spaces", gu: ghUser{ID: 14, Login: "bad login", Name: "Alice Walker", Email: "alice.w@example.com", Verified: true},
			want: "alice", first: "Alice", last: "Walker"},
		{name: "login of 200 characters", gu: ghUser{ID: 15, Login: strings.Repeat("z", 200), Name: "Zed Zulu", Email: "zed@example.com", Verified: true},
			want: "zed", first: "Zed", last: "Zulu"},
		{name: "login with a slash", gu: ghUser{ID: 16, Login: "evil/../x", Name: "Evan Ivy", Email: "evan@example.com", Verified: true},
			want: "evan", first: "Evan", last: "Ivy"},
		{name: "no name: email local part", existing: []string{"carol1"}, gu: ghUser{ID: 17, Login: "carol1", Email: "Carol.Ann+gh@example.com", Verified: true},
			want: "carol.ann+gh"},
		{name: "accented first name", existing: []string{"emile1"}, gu: ghUser{ID: 18, Login: "emile1", Name: "Émile Zola", Email: "emile@example.com", Verified: true},
			want: "emile", first: "Émile", last: "Zola"},
		{name: "nothing to build on", existing: []string{"nobody1"}, gu: ghUser{ID: 19, Login: "nobody1", Verified: true},
			wantRe: `^user([0-9a-z]{1,6})?$`},
		{name: "name split at the first space", gu: ghUser{ID: 20, Login: "jrr", Name: "John Ronald Reuel Tolkien", Email: "jrr@example.com", Verified: true},
			want: "jrr", first: "John", last: "Ronald Reuel Tolkien"},
	}
	for _, jwt := range []bool{false, true} {
		t.Run(map[bool]string{false: "token", true: "jwt"}[jwt], func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				s := newSocialEnv(t, db, jwt, false, nil)
				for _, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						t.Parallel()
						s := &socialEnv{env: s.on(t), gh: s.gh}
						for _, name := range tc.existing {
							s.user(name, "")
						}
						tok := "user-tok-" + itoa(tc.gu.ID)
						s.gh.add(tok, tc.gu)
						got := s.sxLoginUser(t, s.ghLogin(tok), jwt)
						if tc.want != "" && got != tc.want {
							t.Fatalf("username %q, want %q", got, tc.want)
						}
						if tc.wantRe != "" && !regexp.MustCompile(tc.wantRe).MatchString(got) {
							t.Fatalf("username %q does not match %s", got, tc.wantRe)
						}
						for _, name := range tc.existing {
							if strings.EqualFold(got, name) {
								t.Fatalf("username %q is an existing user's", got)
							}
						}
						u := s.sxAccountUser(itoa(tc.gu.ID))
						if u.Username != got {
							t.Fatalf("account's user is %q, the login answered %q", u.Username, got)
						}
						if u.FirstName != tc.first || u.LastName != tc.last || u.Email != tc.gu.Email {
							t.Fatalf("user %q %q %q, want %q %q %q", u.FirstName, u.LastName, u.Email, tc.first, tc.last, tc.gu.Email)
						}
						if password.IsUsable(u.Password) || !u.IsActive || u.IsStaff || u.IsSuperuser {
							t.Fatalf("new user %+v", u.User)
						}
					})
				}
			})
		})
	}
}

func TestSocialXSignupWithoutEmail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		// A user without an address exists: "" must not count as taken.
		s.user("blank", "")
		s.gh.add("ne-1", ghUser{ID: 501, Login: "ne1", Name: "No Mail", Verified: true})
		s.gh.add("ne-2", ghUser{ID: 502, Login: "ne2", Name: "Nor Mail", Verified: true})
		before := s.sxCount()
		for _, tc := range []struct{ tok, uid, login string }{{"ne-1", "501", "ne1"}, {"ne-2", "502", "ne2"}} {
			if got := s.sxLoginUser(t, s.ghLogin(tc.tok), false); got != tc.login {
				t.Fatalf("%s logged in as %q", tc.tok, got)
			}
			u := s.sxAccountUser(tc.uid)
			if u.Email != "" {
				t.Fatalf("email %q, want none", u.Email)
			}
			if rows := s.sxAddresses(u.ID); len(rows) != 0 {
				t.Fatalf("address rows for a provider without email: %+v", rows)
			}
		}
		after := s.sxCount()
		if after.Users != before.Users+2 || after.Accounts != before.Accounts+2 || after.Addresses != before.Addresses || after.Confirmations != before.Confirmations {
			t.Fatalf("counts %+v -> %+v", before, after)
		}
		if n := s.sxMails(); n != 0 {
			t.Fatalf("%d mails sent without an address", n)
		}
		// The second login of a no-email identity is a login, not a clash.
		if got := s.sxLoginUser(t, s.ghLogin("ne-1"), false); got != "ne1" {
			t.Fatalf("second login as %q", got)
		}
	})
}

// sxHookLog records the social and login hooks.
type sxHookLog struct {
	mu       sync.Mutex
	signups  []string // username|provider|uid|nickname|email of OnSocialSignUp
	signedUp []string // OnUserSignedUp usernames
	logins   []string // OnLogin usernames
}

func (h *sxHookLog) snapshot() (signups, signedUp, logins []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.signups...), append([]string(nil), h.signedUp...), append([]string(nil), h.logins...)
}

func (h *sxHookLog) options() []restauth.Option[Customer] {
	return []restauth.Option[Customer]{
		restauth.OnSocialSignUp(func(_ context.Context, u *Customer, acct *models.SocialAccount, gu goth.User) {
			h.mu.Lock()
			defer h.mu.Unlock()
			ok := acct != nil && acct.ID != 0 && acct.UserID == u.ID && u.ID != 0
			h.signups = append(h.signups, strings.Join([]string{u.Username, acct.Provider, acct.UID, gu.NickName, gu.Email, map[bool]string{true: "ok", false: "bad"}[ok]}, "|"))
		}),
		restauth.OnUserSignedUp(func(_ context.Context, u *Customer) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.signedUp = append(h.signedUp, u.Username)
		}),
		restauth.OnLogin(func(_ context.Context, u *Customer) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.logins = append(h.logins, u.Username)
		}),
	}
}

func TestSocialXSignupHooks(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := &sxHookLog{}
		s := newSocialEnv(t, db, false, false, nil, h.options()...)
		s.gh.add("hook-tok", ghUser{ID: 601, Login: "hooked", Name: "Hoo Ked", Email: "hooked@example.com", Verified: true})
		check := func(step string, signups, signedUp, logins []string) {
			t.Helper()
			gs, gsu, gl := h.snapshot()
			if strings.Join(gs, ",") != strings.Join(signups, ",") || strings.Join(gsu, ",") != strings.Join(signedUp, ",") || strings.Join(gl, ",") != strings.Join(logins, ",") {
				t.Fatalf("%s: OnSocialSignUp %q OnUserSignedUp %q OnLogin %q; want %q %q %q", step, gs, gsu, gl, signups, signedUp, logins)
			}
		}
		check("before", nil, nil, nil)
		s.sxLoginUser(t, s.ghLogin("hook-tok"), false)
		signup := []string{"hooked|github|601|hooked|hooked@example.com|ok"}
		check("first login", signup, []string{"hooked"}, []string{"hooked"})
		s.sxLoginUser(t, s.ghLogin("hook-tok"), false)
		check("second login", signup, []string{"hooked"}, []string{"hooked", "hooked"})
		// A refused login runs none of them.
		s.gh.add("hook-clash", ghUser{ID: 602, Login: "clash", Email: "HOOKED@example.com", Verified: true})
		sxNonField(t, s.ghLogin("hook-clash"), "User is already registered with this e-mail address.")
		check("refused login", signup, []string{"hooked"}, []string{"hooked", "hooked"})
	})
}

func TestSocialXSignupUserFields(t *testing.T) {
	t.Parallel()
	populate := restauth.WithSocialUserFields(func(_ context.Context, u *Customer, gu goth.User) error {
		login, _ := gu.RawData["login"].(string)
		switch login {
		case "refused":
			return handlers.FieldError("company_name", "No company for you.")
		case "broken":
			return errors.New("crm is down")
		}
		u.CompanyName = "Co-" + login
		// restauth's own columns stay restauth's.
		u.IsStaff, u.IsSuperuser, u.Password, u.ID = true, true, "plain", 9999
		return nil
	})
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil, populate)
		s.gh.add("acme", ghUser{ID: 701, Login: "acme", Name: "Ac Me", Email: "acme@example.com", Verified: true})
		s.gh.add("refused", ghUser{ID: 702, Login: "refused", Email: "refused@example.com", Verified: true})
		s.gh.add("broken", ghUser{ID: 703, Login: "broken", Email: "broken@example.com", Verified: true})

		r := s.ghLogin("acme")
		expect(t, r, 200)
		me := s.do("GET", "/api/me", nil, tokenHeader(r.str("key"))...)
		if me.str("company_name") != "Co-acme" || me.str("username") != "acme" {
			t.Fatalf("me %s", me.Raw)
		}
		u := s.sxAccountUser("701")
		if u.CompanyName != "Co-acme" || u.IsStaff || u.IsSuperuser || u.ID == 9999 || password.IsUsable(u.Password) {
			t.Fatalf("populated user %+v company %q", u.User, u.CompanyName)
		}

		before := s.sxCount()
		expectField(t, s.ghLogin("refused"), "company_name", "No company for you.")
		if after := s.sxCount(); after != before {
			t.Fatalf("refused sign-up wrote rows: %+v -> %+v", before, after)
		}
		if r := s.ghLogin("broken"); r.Code != 503 {
			t.Fatalf("hook failure: %d %s, want 503", r.Code, r.Raw)
		}
		if after := s.sxCount(); after != before {
			t.Fatalf("failed sign-up wrote rows: %+v -> %+v", before, after)
		}
		if s.sxMails() != 0 {
			t.Fatal("a refused sign-up sent mail")
		}
	})
}

func TestSocialXSignupClosed(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, func(c *restauth.Config) { c.Social.AutoSignup = restauth.Bool(false) })
		s.gh.add("new-tok", ghUser{ID: 801, Login: "newbie", Name: "New Bie", Email: "newbie@example.com", Verified: true})
		s.gh.add("ann-tok", ghUser{ID: 802, Login: "anngh", Name: "Ann Gh", Email: "ann.gh@example.com", Verified: true})
		s.user("ann", "ann@example.com")
		key := s.login("ann", goodPass)

		before := s.sxCount()
		sxNonField(t, s.ghLogin("new-tok"), "Sign up is closed.")
		if after := s.sxCount(); after != before {
			t.Fatalf("closed sign-up wrote rows: %+v -> %+v", before, after)
		}
		if s.sxMails() != 0 {
			t.Fatal("closed sign-up sent mail")
		}
		// An identity that already has an account still logs in.
		expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "ann-tok"}, tokenHeader(key)...), 200)
		r := s.ghLogin("ann-tok")
		if got := s.sxLoginUser(t, r, false); got != "ann" {
			t.Fatalf("existing account logged in as %q", got)
		}
		if s.count(&Customer{}) != before.Users {
			t.Fatal("a login with sign-up closed created a user")
		}
	})
}

func TestSocialXInactiveUser(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		sxMigrate(t, db)
		for _, jwt := range []bool{false, true} {
			t.Run(map[bool]string{false: "token", true: "jwt"}[jwt], func(t *testing.T) {
				t.Parallel()
				s := newSocialEnv(t, db, jwt, false, nil)
				uid := 901
				if jwt {
					uid = 902
				}
				tok := "ina-" + itoa(uid)
				s.gh.add(tok, ghUser{ID: uid, Login: "ina" + itoa(uid), Email: "ina" + itoa(uid) + "@example.com", Verified: true})
				s.sxLoginUser(t, s.ghLogin(tok), jwt)
				u := s.sxAccountUser(itoa(uid))
				if err := db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", false).Error; err != nil {
					t.Fatal(err)
				}
				countCreds := func() int64 {
					var n, m int64
					db.Model(&models.Token{}).Where("user_id = ?", u.ID).Count(&n)
					if jwt {
						db.Model(&models.OutstandingToken{}).Where("user_id = ?", u.ID).Count(&m)
					}
					return n + m
				}
				before := countCreds()
				if before == 0 {
					t.Fatal("the first login issued nothing")
				}
				r := s.ghLogin(tok)
				sxNonField(t, r, "User account is disabled.")
				if after := countCreds(); after != before {
					t.Fatalf("credentials %d -> %d for an inactive user", before, after)
				}
			})
		}
	})
}

func TestSocialXSignupVerification(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		mode     restauth.EmailVerification
		jwt      bool
		verified bool // the provider vouches for the address
		wantMail bool
	}{
		{"mandatory unverified", restauth.VerificationMandatory, false, false, true},
		{"mandatory unverified jwt", restauth.VerificationMandatory, true, false, true},
		{"mandatory verified", restauth.VerificationMandatory, false, true, false},
		{"optional unverified", restauth.VerificationOptional, false, false, true},
		{"optional verified", restauth.VerificationOptional, false, true, false},
		{"none unverified", restauth.VerificationNone, false, false, false},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		sxMigrate(t, db)
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSocialEnv(t, db, tc.jwt, false, func(c *restauth.Config) { c.Registration.EmailVerification = tc.mode })
				uid := 1000 + i
				login := "ver" + itoa(uid)
				email := login + "@example.com"
				tok := "ver-tok-" + itoa(uid)
				s.gh.add(tok, ghUser{ID: uid, Login: login, Name: "Vera Fied", Email: email, Verified: tc.verified})
				r := s.ghLogin(tok)
				refused := tc.mode == restauth.VerificationMandatory && !tc.verified
				if refused {
					sxNonField(t, r, "E-mail is not verified.")
				} else if got := s.sxLoginUser(t, r, tc.jwt); got != login {
					t.Fatalf("logged in as %q", got)
				}
				// The user, the account and the address exist either way.
				u := s.sxAccountUser(itoa(uid))
				if u.Username != login || u.Email != email {
					t.Fatalf("user %+v", u.User)
				}
				addrs := s.sxAddresses(u.ID)
				if len(addrs) != 1 || addrs[0].Email != email || !addrs[0].Primary || addrs[0].Verified != tc.verified {
					t.Fatalf("addresses %+v, want one primary with verified=%v", addrs, tc.verified)
				}
				var creds int64
				db.Model(&models.Token{}).Where("user_id = ?", u.ID).Count(&creds)
				if tc.jwt {
					var n int64
					db.Model(&models.OutstandingToken{}).Where("user_id = ?", u.ID).Count(&n)
					creds += n
				}
				if refused != (creds == 0) {
					t.Fatalf("%d credentials issued (refused=%v)", creds, refused)
				}
				if !tc.wantMail {
					if n := s.sxMails(); n != 0 {
						t.Fatalf("%d mails, want none", n)
					}
					return
				}
				key := s.confirmKey(email)
				if !refused {
					return
				}
				// Confirming the address lets the same social login in.
				expect(t, s.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": key}), 200)
				if got := s.sxLoginUser(t, s.ghLogin(tok), tc.jwt); got != login {
					t.Fatalf("after confirmation logged in as %q", got)
				}
				if s.count(&models.SocialAccount{}) < 1 {
					t.Fatal("account gone")
				}
			})
		}
	})
}

// sxMigrate creates every table of a social JWT env on db, so that
// parallel subtests building their own envs there need not migrate at
// once.
func sxMigrate(t testing.TB, db *gorm.DB) {
	t.Helper()
	newSocialEnv(t, db, true, false, func(c *restauth.Config) { c.Social.StoreTokens = true })
}

// sxPost sends a JSON POST without a testing.TB (for goroutines).
func sxPost(e *env, path, body string, hdr ...string) (int, string) {
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.r.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}
