package restauth_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/handlers"
	"github.com/restauth/restauth/internal/smtpsink"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

var confirmLinkRe = regexp.MustCompile(regexp.QuoteMeta(siteURL) + `/rest-auth/registration/account-confirm-email/([0-9a-f]{32}-[0-9a-f]{64})/`)

// confirmKey waits for exactly one confirmation email to `to` and returns
// its key.
func (e *env) confirmKey(to string) string {
	e.t.Helper()
	e.auth.Shutdown(context.Background())
	msgs := e.out.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != to {
		e.t.Fatalf("want one email to %s, have %d: %+v", to, len(msgs), msgs)
	}
	m := confirmLinkRe.FindStringSubmatch(msgs[0].Text)
	if m == nil || !strings.Contains(msgs[0].HTML, m[0]) {
		e.t.Fatalf("no confirmation link in:\n%s", msgs[0].Text)
	}
	e.out.Reset()
	return m[1]
}

func signup(name, email string) map[string]any {
	return map[string]any{"username": name, "email": email, "password1": goodPass, "password2": goodPass}
}

func TestRegistrationModes(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		for _, mode := range []restauth.EmailVerification{restauth.VerificationNone, restauth.VerificationOptional, restauth.VerificationMandatory} {
			t.Run(string(mode), func(t *testing.T) {
				var signedUp, confirmed []string
				e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = mode },
					restauth.OnUserSignedUp(func(_ context.Context, u *Customer) { signedUp = append(signedUp, u.Username) }),
					restauth.OnEmailConfirmed(func(_ context.Context, u *Customer) { confirmed = append(confirmed, u.Username) }))
				name, mail := "new_"+string(mode), string(mode)+"@example.com"
				r := e.do("POST", "/rest-auth/registration/", signup(name, mail))
				expect(t, r, 201)
				if mode == restauth.VerificationMandatory {
					if r.detail() != "Verification e-mail sent." || r.Body["key"] != nil {
						t.Fatalf("mandatory answer %s", r.Raw)
					}
					var n int64
					db.Model(&models.Token{}).Where("user_id = (?)", db.Model(&Customer{}).Select("id").Where("username = ?", name)).Count(&n)
					if n != 0 {
						t.Fatal("mandatory registration issued a token")
					}
				} else if !keyRe.MatchString(r.detailKey()) {
					t.Fatalf("answer %s, want a key", r.Raw)
				} else {
					expect(t, e.do("GET", "/rest-auth/user/", nil, tokenHeader(r.detailKey())...), 200)
				}
				if mode == restauth.VerificationNone {
					e.auth.Shutdown(context.Background())
					if e.out.Len() != 0 {
						t.Fatal("mode none sent an email")
					}
					e.login(name, goodPass)
					return
				}
				key := e.confirmKey(mail)
				if mode == restauth.VerificationMandatory {
					expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": name, "password": goodPass}),
						"non_field_errors", "E-mail is not verified.")
					// Only after a correct password.
					expectField(t, e.do("POST", "/rest-auth/login/", map[string]any{"username": name, "password": "wrong-pass-1"}),
						"non_field_errors", "Unable to log in with provided credentials.")
				} else {
					e.login(name, goodPass)
				}
				expectDetail(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": key}), 200, "ok")
				e.login(name, goodPass)
				var addr models.EmailAddress
				if err := db.Where("lower(email) = ?", mail).Take(&addr).Error; err != nil || !addr.Verified || !addr.Primary {
					t.Fatalf("address after verify: %+v %v", addr, err)
				}
				if strings.Join(signedUp, ",") != name || strings.Join(confirmed, ",") != name {
					t.Fatalf("hooks: signed up %v, confirmed %v", signedUp, confirmed)
				}
			})
		}
	})
}

func TestVerifyEmailKeys(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		expect(t, e.do("POST", "/rest-auth/registration/", signup("vera", "vera@example.com")), 201)
		key := e.confirmKey("vera@example.com")
		verify := func(k string) resp {
			return e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": k})
		}
		// A leaked table holds no usable key.
		var row models.EmailConfirmation
		db.Take(&row)
		if strings.Contains(key, row.VerifierHash) || !strings.HasPrefix(key, row.Selector+"-") {
			t.Fatal("confirmation row stores the verifier")
		}
		flipped := key[:len(key)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(key, "0")]
		for _, bad := range []string{"nope", flipped, row.Selector + "-" + row.VerifierHash, strings.ToUpper(key)} {
			expectDetail(t, verify(bad), 404, "Not found.")
		}
		expectDetail(t, e.do("GET", "/rest-auth/registration/verify-email/", nil), 405, `Method "GET" not allowed.`)
		expectField(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{}), "key", "This field is required.")
		expectDetail(t, verify(key), 200, "ok")
		expectDetail(t, verify(key), 404, "Not found.") // single use

		// Expired keys (EmailConfirmationExpire, 72 h).
		expect(t, e.do("POST", "/rest-auth/registration/", signup("late", "late@example.com")), 201)
		late := e.confirmKey("late@example.com")
		e.clock.Advance(72*time.Hour + time.Second)
		expectDetail(t, verify(late), 404, "Not found.")

		// The GET page shows a form that posts the key; it confirms nothing.
		expect(t, e.do("POST", "/rest-auth/registration/", signup("page", "page@example.com")), 201)
		pk := e.confirmKey("page@example.com")
		w := e.raw("GET", "/rest-auth/registration/account-confirm-email/"+pk+"/")
		if w.Code != 200 || !strings.Contains(w.Body, `value="`+pk+`"`) || !strings.Contains(w.Body, `method="post"`) ||
			!strings.HasPrefix(w.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("confirm page: %d %s", w.Code, w.Body)
		}
		var addr models.EmailAddress
		db.Where("email = ?", "page@example.com").Take(&addr)
		if addr.Verified {
			t.Fatal("GET confirmed the address")
		}
		xss := e.raw("GET", "/rest-auth/registration/account-confirm-email/%22%3E%3Cscript%3Ex%3C%2Fscript%3E/")
		if strings.Contains(xss.Body, "<script>") {
			t.Fatal("key reflected unescaped")
		}
		// The form posts form-urlencoded: that confirms.
		expect(t, e.do("POST", "/rest-auth/registration/verify-email/", "key="+pk, "Content-Type", "application/x-www-form-urlencoded"), 200)
	})
}

type rawResp struct {
	Code   int
	Body   string
	Header http.Header
}

func (e *env) raw(method, path string) rawResp {
	e.t.Helper()
	req, _ := http.NewRequest(method, path, nil)
	w := newRecorder()
	e.r.ServeHTTP(w, req)
	return rawResp{w.Code, w.Body.String(), w.Header()}
}

func (e *env) rawAuth(method, path, key string) rawResp {
	e.t.Helper()
	req, _ := http.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Token "+key)
	w := newRecorder()
	e.r.ServeHTTP(w, req)
	return rawResp{w.Code, w.Body.String(), w.Header()}
}

func TestResendEmail(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		resend := func(mail string) {
			t.Helper()
			expectDetail(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": mail}), 200, "ok")
			e.auth.Shutdown(context.Background())
		}
		expect(t, e.do("POST", "/rest-auth/registration/", signup("rita", "rita@example.com")), 201)
		first := e.confirmKey("rita@example.com")
		resend("rita@example.com") // inside the cooldown: nothing
		if e.out.Len() != 0 {
			t.Fatal("resend inside the cooldown sent an email")
		}
		e.clock.Advance(181 * time.Second)
		resend("RITA@example.com")
		second := e.confirmKey("rita@example.com")
		if second == first {
			t.Fatal("resend gave the same key")
		}
		resend("rita@example.com") // a second resend inside the new cooldown
		if e.out.Len() != 0 {
			t.Fatal("second resend inside the cooldown sent an email")
		}
		expect(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": second}), 200)
		e.clock.Advance(time.Hour)
		resend("rita@example.com")  // verified: nothing
		resend("ghost@example.com") // unknown: nothing
		if e.out.Len() != 0 {
			t.Fatal("resend to a verified or unknown address sent an email")
		}
		expectField(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "bad"}), "email", "Enter a valid email address.")
	})
}

func TestRegistrationValidation(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil)
		e.user("Taken", "taken@example.com")
		reg := func(body map[string]any) resp { return e.do("POST", "/rest-auth/registration/", body) }
		expectField(t, reg(signup("TAKEN", "other@example.com")), "username", "A user with that username already exists.")
		expectField(t, reg(signup("other", "TAKEN@Example.com")), "email", "A user is already registered with this e-mail address.")
		expectField(t, reg(map[string]any{"username": "x1", "email": "x1@example.com", "password1": goodPass, "password2": goodPass + "!"}),
			"non_field_errors", "The two password fields didn't match.")
		r := reg(map[string]any{"username": "x2", "email": "x2@example.com", "password1": "12345", "password2": "999"})
		expectField(t, r, "password1", "This password is too short. It must contain at least 8 characters.",
			"This password is too common.", "This password is entirely numeric.")
		if r.Body["non_field_errors"] != nil {
			t.Fatal("mismatch reported together with field errors")
		}
		r = reg(map[string]any{})
		for _, f := range []string{"username", "email", "password1", "password2"} {
			expectField(t, r, f, "This field is required.")
		}
		expectField(t, reg(map[string]any{"username": "", "email": "e@example.com", "password1": goodPass, "password2": goodPass}), "username", "This field may not be blank.")
		expectField(t, reg(signup("bad name", "b@example.com")), "username",
			"Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.")
		expectField(t, reg(signup("okname", "not-mail")), "email", "Enter a valid email address.")
		if n := e.count(&Customer{}); n != 1 {
			t.Fatalf("%d users after failed registrations", n)
		}
		// Optional username: made from the email.
		o := newEnv(t, db, func(c *restauth.Config) { c.Registration.UsernameRequired = restauth.Bool(false) })
		expect(t, o.do("POST", "/rest-auth/registration/", map[string]any{"email": "taken@example.org", "password1": goodPass, "password2": goodPass}), 201)
		var u Customer
		if err := db.Where("email = ?", "taken@example.org").Take(&u).Error; err != nil || !strings.HasPrefix(u.Username, "taken") || strings.EqualFold(u.Username, "taken") {
			t.Fatalf("generated username %q (%v)", u.Username, err)
		}
		// Registration can be turned off.
		off := newEnv(t, db, func(c *restauth.Config) { c.Registration.Disabled = true })
		if r := off.raw("POST", "/rest-auth/registration/"); r.Code != 404 {
			t.Fatalf("disabled registration answered %d", r.Code)
		}
	})
}

func TestRegistrationRace(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationNone })
		for _, tc := range []struct {
			name string
			body func(i int) map[string]any
		}{
			{"same username", func(i int) map[string]any { return signup("Racer", "racer"+itoa(i)+"@example.com") }},
			{"same email", func(i int) map[string]any { return signup("mailer"+itoa(i), "Same@Example.com") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.count(&Customer{})
				codes := make([]int, 50)
				var wg sync.WaitGroup
				for i := range codes {
					wg.Add(1)
					go func() {
						defer wg.Done()
						body := tc.body(i)
						if i%2 == 1 { // vary the case too
							body["username"] = strings.ToUpper(body["username"].(string))
							body["email"] = strings.ToUpper(body["email"].(string))
						}
						codes[i] = e.do("POST", "/rest-auth/registration/", body).Code
					}()
				}
				wg.Wait()
				created := 0
				for _, c := range codes {
					switch c {
					case 201:
						created++
					case 400:
					default:
						t.Fatalf("status %d among %v", c, codes)
					}
				}
				if created != 1 || e.count(&Customer{})-before != 1 {
					t.Fatalf("%d created, %d new rows; codes %v", created, e.count(&Customer{})-before, codes)
				}
				var addrs int64
				db.Model(&models.EmailAddress{}).Count(&addrs)
				if addrs != e.count(&Customer{}) {
					t.Fatalf("%d address rows for %d users", addrs, e.count(&Customer{}))
				}
			})
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestCustomRegistration(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		e := newEnv(t, db, nil,
			restauth.WithRegistrationFields(func(_ context.Context, u *Customer, in *handlers.Input) error {
				var extra struct {
					CompanyName string `json:"company_name" binding:"required,max=100"`
				}
				if err := in.Bind(&extra, false); err != nil {
					return err
				}
				u.CompanyName = extra.CompanyName
				return nil
			}),
			restauth.WithRegisterPermission[Customer](func(c *gin.Context) error {
				if c.GetHeader("X-Invite") != "yes" {
					return errors.New("Sign-up is by invitation only.")
				}
				return nil
			}))
		body := signup("corp", "corp@example.com")
		expectDetail(t, e.do("POST", "/rest-auth/registration/", body), 403, "Sign-up is by invitation only.")
		r := e.do("POST", "/rest-auth/registration/", body, "X-Invite", "yes")
		expectField(t, r, "company_name", "This field is required.")
		body["company_name"] = "Acme Ltd"
		body["password2"] = "x"
		r = e.do("POST", "/rest-auth/registration/", body, "X-Invite", "yes")
		expectField(t, r, "non_field_errors", "The two password fields didn't match.")
		body["password2"] = goodPass
		expect(t, e.do("POST", "/rest-auth/registration/", body, "X-Invite", "yes"), 201)
		var u Customer
		if err := db.Where("username = ?", "corp").Take(&u).Error; err != nil || u.CompanyName != "Acme Ltd" {
			t.Fatalf("company_name not saved: %+v %v", u, err)
		}
	})
}

// TestSignupSurvivesSMTPFailure: the mail server refuses; the user exists
// once, OnMailError hears of it, and a resend later works.
func TestSignupSurvivesSMTPFailure(t *testing.T) {
	sink := smtpsink.MustStart(t, smtpsink.RejectAt(smtpsink.StageRcpt))
	mailer, err := emails.NewSMTP(emails.SMTPConfig{Addr: sink.Addr(), From: "noreply@app.example", TLS: emails.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var failed []string
	var out *emails.Outbox
	useOutbox := false
	e := newEnv(t, testdb.SQLite(t), func(c *restauth.Config) {
		c.Mailer = emails.MailerFunc(func(ctx context.Context, m emails.Message) error {
			if useOutbox {
				return out.Send(ctx, m)
			}
			return mailer.Send(ctx, m)
		})
		c.OnMailError = func(_ context.Context, m emails.Message, err error) {
			mu.Lock()
			failed = append(failed, m.To[0])
			mu.Unlock()
		}
	})
	out = e.out
	expect(t, e.do("POST", "/rest-auth/registration/", signup("sam", "sam@example.com")), 201)
	e.auth.Shutdown(context.Background())
	if len(failed) != 1 || failed[0] != "sam@example.com" || e.count(&Customer{}) != 1 {
		t.Fatalf("failed %v, users %d", failed, e.count(&Customer{}))
	}
	useOutbox = true
	e.clock.Advance(time.Hour)
	expect(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "sam@example.com"}), 200)
	key := e.confirmKey("sam@example.com")
	expect(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": key}), 200)
}
