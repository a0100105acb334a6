package restauth_test

import (
	"context"
	"errors"
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

func TestRegistrationModes(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		for _, mode := range []restauth.EmailVerification{restauth.VerificationNone, restauth.VerificationOptional, restauth.VerificationMandatory} {
			t.Run(string(mode), func(t *testing.T) {
				// Migrate the shared database before going parallel; the
				// user and the hooks' records are this subtest's own.
				var signedUp, confirmed []string
				e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = mode },
					restauth.OnUserSignedUp(func(_ context.Context, u *Customer) { signedUp = append(signedUp, u.Username) }),
					restauth.OnEmailConfirmed(func(_ context.Context, u *Customer) { confirmed = append(confirmed, u.Username) }))
				t.Parallel()
				name, mail := "new_"+string(mode), string(mode)+"@example.com"
				r := e.do("POST", "/rest-auth/registration/", signup(name, mail))
				expect(t, r, 201)
				if mode == restauth.VerificationMandatory {
					if r.detail() != "Verification e-mail sent." || r.Body["key"] != nil {
						t.Fatalf("mandatory answer %s", r.Raw)
					}
					var n int64
					if err := db.Model(&models.Token{}).Where("user_id = (?)", db.Model(&Customer{}).Select("id").Where("username = ?", name)).Count(&n).Error; err != nil {
						t.Fatal(err)
					}
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

func TestRegistrationValidation(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
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
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, func(c *restauth.Config) { c.Registration.EmailVerification = restauth.VerificationNone })
		// The 50 requests share 8 connections, so up to 8 transactions
		// race at once and PostgreSQL need not start 50 backends per
		// burst (database/sql keeps only 2 idle by default).
		sqlDB, err := db.DB()
		if err != nil {
			t.Fatal(err)
		}
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
		// The subtests run one after the other: each counts every user and
		// address row of the shared database.
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
				if addrs := e.count(&models.EmailAddress{}); addrs != e.count(&Customer{}) {
					t.Fatalf("%d address rows for %d users", addrs, e.count(&Customer{}))
				}
			})
		}
	})
}

func TestCustomRegistration(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
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

// TestBindNamedStringPointer: Input.Bind fills pointer fields of named
// string types without panicking.
func TestBindNamedStringPointer(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := newEnv(t, db, nil, restauth.WithRegistrationFields(func(_ context.Context, u *Customer, in *handlers.Input) error {
		var extra struct {
			Company *slug `json:"company_name" binding:"max=100"`
		}
		if err := in.Bind(&extra, false); err != nil {
			return err
		}
		if extra.Company != nil {
			u.CompanyName = string(*extra.Company)
		}
		return nil
	}))
	body := signup("sly", "sly@example.com")
	body["company_name"] = "Slug Co"
	expect(t, e.do("POST", "/rest-auth/registration/", body), 201)
	var c Customer
	db.Where("username = ?", "sly").Take(&c)
	if c.CompanyName != "Slug Co" {
		t.Fatalf("company %q", c.CompanyName)
	}
}

// TestSignupSurvivesSMTPFailure: the mail server refuses; the user exists
// once, OnMailError hears of it, and a resend later works.
func TestSignupSurvivesSMTPFailure(t *testing.T) {
	t.Parallel()
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

type slug string
