package restauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
	"github.com/restauth/restauth/socialauth"
)

const (
	msgIncorrectInput = "Incorrect input. access_token or code is required."
	msgIncorrectValue = "Incorrect value"
	msgEmailTaken     = "User is already registered with this e-mail address."
	msgConnectedOther = "The third-party account is already connected to a different account."
	msgExchange       = "Failed to exchange code for access token"
)

// TestSocialLogin mirrors upstream's social tests (S01-S05) with
// restauth's fixes, in token and JWT mode.
func TestSocialLogin(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		for _, jwt := range []bool{false, true} {
			name := "token"
			if jwt {
				name = "jwt"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := newSocialEnv(t, testdb.Fresh(t, db), jwt, false, nil)
				s.gh.add("tok-1", ghUser{ID: 1, Login: "octo", Name: "Octo Cat", Email: "octo@example.com", Verified: true})
				s.gh.add("tok-2", ghUser{ID: 2, Login: "hubot", Name: "Hu Bot", Email: "hubot@example.com", Verified: false})
				s.gh.add("tok-foreign", ghUser{ID: 3, Login: "mal", Email: "mal@example.com"})
				s.gh.mu.Lock()
				s.gh.other["tok-foreign"] = true
				s.gh.mu.Unlock()

				// A failed profile: 400, no user.
				r := s.ghLogin("tok-unknown")
				expectField(t, r, "non_field_errors", msgIncorrectValue)
				// A token issued to another app never reaches the profile.
				before := s.gh.profile.Load()
				r = s.ghLogin("tok-foreign")
				expectField(t, r, "non_field_errors", msgIncorrectValue)
				if s.gh.profile.Load() != before {
					t.Fatal("profile fetched for a token of another app")
				}
				for _, body := range []map[string]any{{}, {"access_token": ""}, {"access_token": "  "}, {"id_token": "x.y.z"}, {"code": ""}} {
					r = s.do("POST", "/rest-auth/github/", body)
					expectField(t, r, "non_field_errors", msgIncorrectInput)
				}
				if n := s.count(&Customer{}); n != 0 {
					t.Fatalf("%d users after refusals", n)
				}

				// Login twice: one user, one account, last_login moves.
				r = s.ghLogin("tok-1", tokenHeader("stale-garbage")...)
				expect(t, r, 200)
				if jwt {
					if r.str("access") == "" || r.str("refresh") == "" {
						t.Fatalf("jwt body %s", r.Raw)
					}
					user, _ := r.Body["user"].(map[string]any)
					if user["username"] != "octo" || user["email"] != "octo@example.com" {
						t.Fatalf("user in body %v", user)
					}
				} else if r.str("key") == "" || len(r.Body) != 1 {
					t.Fatalf("token body %s", r.Raw)
				}
				first := s.account("github", "1")
				s.clock.Advance(time.Hour)
				expect(t, s.ghLogin("tok-1"), 200)
				if n := s.count(&Customer{}); n != 1 {
					t.Fatalf("%d users after two logins", n)
				}
				again := s.account("github", "1")
				if !again.LastLogin.After(first.LastLogin) || !again.DateJoined.Equal(first.DateJoined) {
					t.Fatalf("last_login %v -> %v, date_joined %v -> %v", first.LastLogin, again.LastLogin, first.DateJoined, again.DateJoined)
				}
				// The credentials work.
				r = s.ghLogin("tok-1")
				auth := tokenHeader(r.str("key"))
				if jwt {
					auth = bearer(r.str("access"))
				}
				expect(t, s.do("GET", "/rest-auth/user/", nil, auth...), 200)

				// An unverified provider email gives an unverified address.
				expect(t, s.ghLogin("tok-2"), 200)
				var addr models.EmailAddress
				if err := s.db.Where("lower(email) = ?", "hubot@example.com").First(&addr).Error; err != nil || addr.Verified {
					t.Fatalf("address %+v %v", addr, err)
				}
			})
		}
	})
}

// TestSocialTakeover: a new identity never logs into a local account by
// email unless the provider verified it and the provider is trusted.
func TestSocialTakeover(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		cases := []struct {
			name          string
			emailAuth     bool
			autoConnect   bool
			providerCheck bool // provider says the email is verified
			localVerified bool
			wantCode      int
		}{
			{"unverified provider email", false, false, false, true, 400},
			{"verified provider email, email auth off", false, false, true, true, 400},
			{"email auth on, provider unverified", true, false, false, true, 400},
			{"email auth on, verified", true, false, true, true, 200},
			{"email auth + auto connect", true, true, true, true, 200},
			{"email auth, local address unverified", true, false, true, false, 200},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newSocialEnv(t, testdb.Fresh(t, db), false, false, func(c *restauth.Config) {
					c.Social.Providers[0].EmailAuthentication = tc.emailAuth
					c.Social.Providers[0].EmailAuthenticationAutoConnect = tc.autoConnect
				})
				victim := s.user("victim", "victim@example.com")
				if tc.localVerified {
					if err := s.auth.MarkEmailVerified(context.Background(), victim); err != nil {
						t.Fatal(err)
					}
				}
				key := s.login("victim", goodPass)
				s.gh.add("tok-v", ghUser{ID: 77, Login: "attacker", Email: "VICTIM@example.com", Verified: tc.providerCheck})
				r := s.ghLogin("tok-v")
				if r.Code != tc.wantCode {
					t.Fatalf("status %d: %s", r.Code, r.Raw)
				}
				acct := s.account("github", "77")
				oldKey := s.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...)
				got := s.reload(victim.ID)
				if tc.wantCode == 400 {
					expectField(t, r, "non_field_errors", msgEmailTaken)
					if acct != nil || s.count(&Customer{}) != 1 {
						t.Fatal("clash created an account or a user")
					}
					expect(t, oldKey, 200)
					return
				}
				// Logged in as the victim.
				me := s.do("GET", "/rest-auth/user/", nil, tokenHeader(r.str("key"))...)
				if me.str("username") != "victim" {
					t.Fatalf("logged in as %s", me.Raw)
				}
				if (acct != nil) != tc.autoConnect {
					t.Fatalf("account %+v with auto connect %v", acct, tc.autoConnect)
				}
				if tc.localVerified {
					expect(t, oldKey, 200)
					if !password.IsUsable(got.Password) {
						t.Fatal("verified owner's password wiped")
					}
					return
				}
				// Pre-hijack defence: the unverified local account loses its
				// password and its sessions.
				if password.IsUsable(got.Password) {
					t.Fatal("password of the unverified local account still usable")
				}
				expect(t, oldKey, 401)
				r = s.do("POST", "/rest-auth/login/", map[string]any{"username": "victim", "password": goodPass})
				expect(t, r, 400)
			})
		}
		t.Run("provider names do not mix", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, true, nil)
			// A github account with uid "jane" is not the OIDC identity
			// with sub "jane".
			owner := s.user("owner", "owner@example.com")
			if err := s.db.Create(&models.SocialAccount{UserID: owner.ID, Provider: "github", UID: "1234", ExtraData: map[string]any{}, LastLogin: s.clock.Now(), DateJoined: s.clock.Now()}).Error; err != nil {
				t.Fatal(err)
			}
			r := s.oidcLogin(t, mockUser("1234", "fresh@example.com", true))
			expect(t, r, 200)
			me := s.do("GET", "/rest-auth/user/", nil, tokenHeader(r.str("key"))...)
			if me.str("username") == "owner" {
				t.Fatal("OIDC identity logged into the github account's user")
			}
		})
	})
}

// TestSocialConnect covers connect/, socialaccounts/ and disconnect
// (upstream S06-S10, with allauth's disconnect rules).
func TestSocialConnect(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		for _, jwt := range []bool{false, true} {
			name := "token"
			if jwt {
				name = "jwt"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				s := newSocialEnv(t, testdb.Fresh(t, db), jwt, true, nil)
				s.gh.add("tok-a", ghUser{ID: 10, Login: "alicegh", Email: "alice-gh@example.com", Verified: true})
				s.gh.add("tok-b", ghUser{ID: 11, Login: "bobgh", Email: "bob-gh@example.com", Verified: true})
				alice := s.user("alice", "alice@example.com")
				bob := s.user("bob", "bob@example.com")
				auth := func(name string) []string {
					if !jwt {
						return tokenHeader(s.login(name, goodPass))
					}
					return bearer(s.loginJWT(name).str("access"))
				}
				aliceAuth, bobAuth := auth("alice"), auth("bob")

				expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-a"}), 401)
				expect(t, s.do("GET", "/rest-auth/socialaccounts/", nil), 401)
				expect(t, s.do("POST", "/rest-auth/socialaccounts/1/disconnect/", nil), 401)

				r := s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-a"}, aliceAuth...)
				expect(t, r, 200)
				if jwt && r.str("access") == "" || !jwt && r.str("key") == "" {
					t.Fatalf("connect body %s", r.Raw)
				}
				first := s.account("github", "10")
				if first == nil || first.UserID != alice.ID {
					t.Fatalf("account %+v", first)
				}
				// Connect adds no email rows (allauth).
				var n int64
				s.db.Model(&models.EmailAddress{}).Where("lower(email) = ?", "alice-gh@example.com").Count(&n)
				if n != 0 {
					t.Fatal("connect added an email address")
				}
				s.advance(time.Minute)
				expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-a"}, aliceAuth...), 200)
				if again := s.account("github", "10"); again.ID != first.ID || !again.LastLogin.After(first.LastLogin) {
					t.Fatalf("reconnect: %+v then %+v", first, again)
				}
				// Someone else's identity: E5 and no credentials.
				r = s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-a"}, bobAuth...)
				expectField(t, r, "non_field_errors", msgConnectedOther)
				if _, ok := r.Body["key"]; ok || r.Body["access"] != nil {
					t.Fatalf("E5 carried credentials: %s", r.Raw)
				}
				// Second provider for alice.
				expect(t, s.oidcConnect(t, aliceAuth, mockUser("alice-sub", "alice-oidc@example.com", true)), 200)

				list := s.listWith(aliceAuth)
				if len(list) != 2 || list[0]["provider"] != "github" || list[0]["uid"] != "10" || list[1]["provider"] != "oidc" {
					t.Fatalf("list %v", list)
				}
				for _, k := range []string{"id", "provider", "uid", "last_login", "date_joined"} {
					if _, ok := list[0][k]; !ok {
						t.Fatalf("list entry lacks %s: %v", k, list[0])
					}
				}
				if len(list[0]) != 5 {
					t.Fatalf("list entry has extra keys: %v", list[0])
				}
				if got := s.listWith(bobAuth); len(got) != 0 {
					t.Fatalf("bob sees %v", got)
				}
				expectDetail(t, s.do("POST", "/rest-auth/socialaccounts/999999999/disconnect/", nil, aliceAuth...), 404, "Not found.")
				expectDetail(t, s.do("POST", "/rest-auth/socialaccounts/"+idOf(list[0])+"/disconnect/", nil, bobAuth...), 404, "Not found.")
				r = s.do("POST", "/rest-auth/socialaccounts/"+idOf(list[0])+"/disconnect/", nil, aliceAuth...)
				expect(t, r, 200)
				if r.Raw != "{}" {
					t.Fatalf("disconnect body %s", r.Raw)
				}
				if got := s.listWith(aliceAuth); len(got) != 1 || got[0]["provider"] != "oidc" {
					t.Fatalf("after disconnect %v", got)
				}
				_ = bob
			})
		}
		t.Run("last account", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, false, nil)
			s.gh.add("tok-s", ghUser{ID: 20, Login: "solo", Email: "solo@example.com", Verified: true})
			r := s.ghLogin("tok-s")
			expect(t, r, 200)
			key := r.str("key")
			list := s.list(key)
			r = s.do("POST", "/rest-auth/socialaccounts/"+idOf(list[0])+"/disconnect/", nil, tokenHeader(key)...)
			expectField(t, r, "non_field_errors", "Your account has no password set up.")
			// A social-only user cannot change a password it does not
			// know; the app sets one (here through SetPassword).
			u := s.reload(s.account("github", "20").UserID)
			if err := s.auth.SetPassword(&u, goodPass); err != nil {
				t.Fatal(err)
			}
			if err := s.db.Model(&Customer{}).Where("id = ?", u.ID).Update("password", u.Password).Error; err != nil {
				t.Fatal(err)
			}
			r = s.do("POST", "/rest-auth/socialaccounts/"+idOf(list[0])+"/disconnect/", nil, tokenHeader(key)...)
			expect(t, r, 200)
			if s.account("github", "20") != nil {
				t.Fatal("account still there")
			}
		})
		t.Run("last account, mandatory verification", func(t *testing.T) {
			t.Parallel()
			s := newSocialEnv(t, testdb.Fresh(t, db), false, false, func(c *restauth.Config) {
				c.Registration.EmailVerification = restauth.VerificationMandatory
			})
			u := s.user("carol", "carol@example.com")
			// Verified address, connect, then un-verify it.
			if err := s.auth.MarkEmailVerified(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			key := s.login("carol", goodPass)
			s.gh.add("tok-c", ghUser{ID: 30, Login: "carolgh", Email: "carol-gh@example.com"})
			expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-c"}, tokenHeader(key)...), 200)
			if err := s.db.Model(&models.EmailAddress{}).Where("user_id = ?", u.ID).Update("verified", false).Error; err != nil {
				t.Fatal(err)
			}
			list := s.list(key)
			r := s.do("POST", "/rest-auth/socialaccounts/"+idOf(list[0])+"/disconnect/", nil, tokenHeader(key)...)
			expectField(t, r, "non_field_errors", "Your account has no verified email address.")
		})
	})
}

// TestSocialHandlersMountedAlone: the social endpoints of p.Handlers()
// work at the app's own paths, and no provider means no social routes.
func TestSocialHandlersMountedAlone(t *testing.T) {
	t.Parallel()
	s := newSocialEnv(t, testdb.SQLite(t), false, false, nil)
	s.gh.add("tok-h", ghUser{ID: 5, Login: "hana", Email: "hana@example.com", Verified: true})
	h := s.auth.Handlers()
	gh, ok := h.Social["github"]
	if !ok || gh.Login == nil || gh.Connect == nil || gh.Authorize == nil || gh.Callback == nil || h.SocialAccounts == nil || h.SocialAccountDisconnect == nil {
		t.Fatalf("social handlers %+v", h.Social)
	}
	s.r = gin.New()
	s.r.POST("/auth/github", gh.Login)
	s.r.GET("/auth/accounts", h.SocialAccounts)
	s.r.POST("/auth/accounts/:id/unlink", h.SocialAccountDisconnect)
	r := s.do("POST", "/auth/github", map[string]any{"access_token": "tok-h"})
	expect(t, r, 200)
	key := r.str("key")
	list := s.do("GET", "/auth/accounts", nil, tokenHeader(key)...)
	expect(t, list, 200)
	if !strings.Contains(list.Raw, `"uid":"5"`) {
		t.Fatalf("accounts %s", list.Raw)
	}
	expectDetail(t, s.do("GET", "/auth/accounts", nil), 401, "Authentication credentials were not provided.")
	expectDetail(t, s.do("POST", "/auth/accounts/424242/unlink", nil, tokenHeader(key)...), 404, "Not found.")

	plain := newEnv(t, testdb.SQLite(t), nil)
	if e := plain.auth.Handlers(); e.Social != nil || e.SocialAccounts != nil {
		t.Fatal("social handlers without providers")
	}
	for _, path := range []string{"/rest-auth/github/", "/rest-auth/socialaccounts/"} {
		if r := plain.raw("POST", path); r.Code != 404 {
			t.Fatalf("%s without providers: %d", path, r.Code)
		}
	}
}

// TestSocialEmailAuthenticationHardening: review findings on email
// authentication and account rows (pre-hijack leftovers, repeated
// wipes, inactive users, orphans, oversized profiles).
func TestSocialEmailAuthenticationHardening(t *testing.T) {
	t.Parallel()
	emailAuth := func(c *restauth.Config) {
		for i := range c.Social.Providers {
			c.Social.Providers[i].EmailAuthentication = true
		}
	}
	t.Run("the squatter's linked identities go", func(t *testing.T) {
		t.Parallel()
		s := newSocialEnv(t, testdb.SQLite(t), false, true, emailAuth)
		// The attacker registers the victim's address (unverified) and
		// links his own GitHub identity.
		squatter := s.user("squatter", "victim@example.com")
		key := s.login("squatter", goodPass)
		s.gh.add("tok-att", ghUser{ID: 66, Login: "att", Email: "att@example.com"})
		expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "tok-att"}, tokenHeader(key)...), 200)
		// The owner logs in with a provider that verified the address.
		r := s.oidcLogin(t, mockUser("victim-sub", "victim@example.com", true))
		expect(t, r, 200)
		if a := s.account("github", "66"); a != nil && a.UserID == squatter.ID {
			t.Fatal("the squatter's GitHub identity still opens the account")
		}
		expect(t, s.do("GET", "/rest-auth/user/", nil, tokenHeader(key)...), 401)
		var n int64
		s.db.Model(&models.EmailAddress{}).Where("user_id = ? AND verified = ?", squatter.ID, true).Count(&n)
		if n != 1 {
			t.Fatal("the address was not marked verified")
		}
		// The next login does not wipe again: a password set since stays.
		u := s.reload(squatter.ID)
		if err := s.auth.SetPassword(&u, "Owner-Chosen-Pass-1"); err != nil {
			t.Fatal(err)
		}
		s.db.Model(&Customer{}).Where("id = ?", u.ID).Update("password", u.Password)
		first := r.str("key")
		expect(t, s.oidcLogin(t, mockUser("victim-sub", "victim@example.com", true)), 200)
		if !password.IsUsable(s.reload(u.ID).Password) {
			t.Fatal("second email login wiped the password again")
		}
		expect(t, s.do("GET", "/rest-auth/user/", nil, tokenHeader(first)...), 200)
	})
	t.Run("inactive user changes nothing", func(t *testing.T) {
		t.Parallel()
		s := newSocialEnv(t, testdb.SQLite(t), false, true, emailAuth)
		u := s.user("sleepy", "sleepy@example.com")
		s.db.Model(&Customer{}).Where("id = ?", u.ID).Update("is_active", false)
		r := s.oidcLogin(t, mockUser("sleepy-sub", "sleepy@example.com", true))
		expectField(t, r, "non_field_errors", "User account is disabled.")
		if !password.IsUsable(s.reload(u.ID).Password) {
			t.Fatal("refused login wiped the password")
		}
	})
	t.Run("orphaned account", func(t *testing.T) {
		t.Parallel()
		s := newSocialEnv(t, testdb.SQLite(t), false, false, nil)
		s.gh.add("tok-o", ghUser{ID: 70, Login: "orphan", Email: "orphan@example.com", Verified: true})
		expect(t, s.ghLogin("tok-o"), 200)
		acct := s.account("github", "70")
		// The app deletes the user (and its address) but not the account.
		s.db.Where("user_id = ?", acct.UserID).Delete(&models.EmailAddress{})
		s.db.Where("id = ?", acct.UserID).Delete(&Customer{})
		expect(t, s.ghLogin("tok-o"), 200)
		if again := s.account("github", "70"); again == nil || again.UserID == acct.UserID {
			t.Fatalf("account %+v", again)
		}
	})
	t.Run("oversized profile", func(t *testing.T) {
		t.Parallel()
		s := newSocialEnv(t, testdb.SQLite(t), false, false, nil)
		long := strings.Repeat("n", 300)
		s.gh.add("tok-l", ghUser{ID: 71, Login: "longname", Name: long + " " + long, Email: strings.Repeat("e", 250) + "@example.com", Verified: true})
		expect(t, s.ghLogin("tok-l"), 200)
		u := s.reload(s.account("github", "71").UserID)
		if len(u.FirstName) != 150 || len(u.LastName) != 150 || u.Email != "" {
			t.Fatalf("first %d last %d email %q", len(u.FirstName), len(u.LastName), u.Email)
		}
	})
}

// TestSocialConfigErrors: bad provider settings fail at New, naming the
// field, instead of failing every login later.
func TestSocialConfigErrors(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t).provider()
	withOIDC := gh
	withOIDC.OIDC = &socialauth.OIDCConfig{Issuer: "https://id.example", Algorithms: []string{"None"}}
	formPost := gh
	formPost.FormPost = true
	autoOnly := gh
	autoOnly.EmailAuthenticationAutoConnect = true
	named := func(n string) socialauth.Provider { p := gh; p.Name = n; return p }
	cases := []struct {
		name      string
		site      string
		providers []socialauth.Provider
		want      string
	}{
		{"alg none in any case", siteURL, []socialauth.Provider{withOIDC}, "OIDC.Algorithms"},
		{"form post over http", "http://app.example", []socialauth.Provider{formPost}, "FormPost"},
		{"auto connect alone", siteURL, []socialauth.Provider{autoOnly}, "EmailAuthenticationAutoConnect"},
		{"reserved name", siteURL, []socialauth.Provider{named("login")}, "Name"},
		{"bad name", siteURL, []socialauth.Provider{named("Git Hub")}, "Name"},
		{"twice", siteURL, []socialauth.Provider{gh, gh}, "used twice"},
		{"nothing to verify with", siteURL, []socialauth.Provider{{Name: "empty"}}, "needs Goth or OIDC"},
	}
	for _, tc := range cases {
		_, err := restauth.New[Customer](testdb.SQLite(t), restauth.Config{
			SecretKey: testSecret, SiteURL: tc.site, Logger: quietLogger(),
			Social: restauth.SocialConfig{Providers: tc.providers},
		})
		if err == nil || !strings.Contains(err.Error(), "Config.Social.Providers") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New: %v", tc.name, err)
		}
	}
}

// TestSocialLoginRecordsSession: a social login is a session of
// sessions/, with the client's user agent.
func TestSocialLoginRecordsSession(t *testing.T) {
	t.Parallel()
	s := newSocialEnv(t, testdb.SQLite(t), false, false, nil)
	s.gh.add("tok-s", ghUser{ID: 81, Login: "sessy", Email: "sessy@example.com", Verified: true})
	r := s.ghLogin("tok-s", "User-Agent", "SocialPhone/1.0")
	expect(t, r, 200)
	list := s.do("GET", "/rest-auth/sessions/", nil, tokenHeader(r.str("key"))...)
	expect(t, list, 200)
	if !strings.Contains(list.Raw, `"user_agent":"SocialPhone/1.0"`) || !strings.Contains(list.Raw, `"current":true`) {
		t.Fatalf("sessions %s", list.Raw)
	}
}
