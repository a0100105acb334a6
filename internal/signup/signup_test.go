package signup_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dberr"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/mail"
	"github.com/restauth/restauth/internal/passwords"
	"github.com/restauth/restauth/internal/resets"
	"github.com/restauth/restauth/internal/signup"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

type member struct {
	models.User
	Company string `gorm:"size:100"`
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

var cheap = password.PBKDF2{Iterations: 1}

const cooldown = 3 * time.Minute

// migrate makes the tables and the case-insensitive unique indexes as
// Plugin.AutoMigrate does.
func migrate(t testing.TB, db *gorm.DB) {
	t.Helper()
	if err := db.AutoMigrate(&models.Token{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	us, err := users.New[member](db, time.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	if err := us.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := (&confirm.Confirmations{DB: db}).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
}

type sent struct {
	name, to string
	data     emails.EmailConfirmationData
}

// mailbox records what Signup mails, synchronously.
type mailbox struct {
	mu   sync.Mutex
	sent []sent
}

func (m *mailbox) Send(_ context.Context, name string, data any, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, _ := data.(emails.EmailConfirmationData)
	m.sent = append(m.sent, sent{name, to, d})
	return nil
}

func (m *mailbox) all() []sent { m.mu.Lock(); defer m.mu.Unlock(); return slices.Clone(m.sent) }

type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) hook(name string) func(context.Context, *member) {
	return func(_ context.Context, u *member) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, name+":"+u.Username)
	}
}

func (r *recorder) got() []string { r.mu.Lock(); defer r.mu.Unlock(); return slices.Clone(r.calls) }

type env struct {
	db   *gorm.DB
	s    *signup.Signup[member]
	keys *tokens.Keys
	clk  *clock
	mail *mailbox
	rec  *recorder
}

// checkFunc adapts a function to login.Check.
type checkFunc func(ctx context.Context, u *member) error

func (f checkFunc) Check(ctx context.Context, u *member) error { return f(ctx, u) }

func setup(t *testing.T, db *gorm.DB, checks ...login.Check[member]) *env {
	t.Helper()
	migrate(t, db)
	clk := &clock{t: t0}
	us, err := users.New[member](db, clk.Now, dberr.UniqueViolation)
	if err != nil {
		t.Fatal(err)
	}
	sender, err := mail.New(&emails.Outbox{}, nil, nil, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := &tokens.Keys{Store: tokens.NewGORMStore(db, clk.Now), Now: clk.Now}
	conf := &confirm.Confirmations{DB: db, Unique: dberr.UniqueViolation, Expire: 72 * time.Hour, Cooldown: cooldown, Now: clk.Now}
	rec := &recorder{}
	h := &hooks.Hooks[member]{
		OnLogin:          []func(context.Context, *member){rec.hook("login")},
		OnUserSignedUp:   []func(context.Context, *member){rec.hook("signed_up")},
		OnEmailConfirmed: []func(context.Context, *member){rec.hook("confirmed")},
	}
	if checks == nil {
		checks = []login.Check[member]{login.Active[member]{}}
	}
	mb := &mailbox{}
	return &env{db: db, keys: keys, clk: clk, mail: mb, rec: rec, s: &signup.Signup[member]{
		DB: db, Users: us, Confirmations: conf,
		Passwords: &passwords.Passwords[member]{
			DB: db, Users: us, Hasher: cheap, Keys: keys,
			Validators: []password.Validator{password.MinimumLength{Min: 8}, password.NumericPassword{}},
			Resets:     resets.Tokens{Key: []byte("k"), Timeout: time.Hour, Now: clk.Now},
			Mail:       sender,
			Hooks:      h,
		},
		Login:            &login.Pipeline[member]{DB: db, Users: us, Checks: checks, Issuer: login.TokenIssuer[member]{Keys: keys}, Hooks: h},
		SendConfirmation: true,
		ConfirmURL:       func() string { return "https://app.example/confirm/{key}/" },
		SiteName:         "Example",
		Mail:             mb,
		Hooks:            h,
	}}
}

// existing stores a user with a primary address, as a registration would.
func (e *env) existing(t *testing.T, username, email string, active bool) *member {
	t.Helper()
	u := &member{User: models.User{Username: username, Email: email, IsActive: active, Password: "x"}}
	if err := e.s.Users.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if email != "" {
		if _, err := e.s.Confirmations.AddAddress(context.Background(), models.EmailAddress{UserID: u.ID, Email: email, Primary: true}); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func (e *env) count(t *testing.T, model any) int64 {
	t.Helper()
	var n int64
	if err := e.db.Model(model).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func fieldErrors(err error) map[string][]string {
	var v *verr.Error
	if !errors.As(err, &v) {
		return nil
	}
	out := map[string][]string{}
	for k, ms := range v.Fields {
		for _, m := range ms {
			out[k] = append(out[k], m.ID)
		}
	}
	return out
}

func sameFields(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func form(username, email, p1, p2 string) signup.Form {
	return signup.Form{Username: username, Email: email, Password1: p1, Password2: p2}
}

const pw = "a-good-password"

func TestRegisterRefusals(t *testing.T) {
	t.Parallel()
	custom := locales.M("company.required")
	tests := []struct {
		name   string
		f      signup.Form
		fields verr.Fields
		want   map[string][]string
	}{
		{"username taken", form("ALICE", "new@example.com", pw, pw), nil,
			map[string][]string{"username": {"user.username_taken"}}},
		{"email of a user", form("new", "Alice@EXAMPLE.com", pw, pw), nil,
			map[string][]string{"email": {"registration.email_taken"}}},
		{"email of an address row", form("new", "ALIAS@example.com", pw, pw), nil,
			map[string][]string{"email": {"registration.email_taken"}}},
		{"weak password", form("new", "new@example.com", "1234", "1234"), nil,
			map[string][]string{"password1": {"password.too_short", "password.entirely_numeric"}}},
		{"everything merged", form("alice", "alias@example.com", "1234", "5678"),
			verr.Fields{"company": {custom}},
			map[string][]string{
				"company":   {"company.required"},
				"username":  {"user.username_taken"},
				"email":     {"registration.email_taken"},
				"password1": {"password.too_short", "password.entirely_numeric"},
			}},
		{"caller's password1 error skips the validators", form("new", "new@example.com", "1234", "1234"),
			verr.Fields{"password1": {custom}},
			map[string][]string{"password1": {"company.required"}}},
		{"mismatch", form("new", "new@example.com", pw, pw+"x"), nil,
			map[string][]string{verr.NonField: {"registration.password_mismatch"}}},
		{"field errors before the mismatch", form("alice", "new@example.com", pw, pw+"x"), nil,
			map[string][]string{"username": {"user.username_taken"}}},
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		e.existing(t, "alice", "alice@example.com", true)
		zed := e.existing(t, "zed", "zed@example.com", true)
		if _, err := e.s.Confirmations.AddAddress(ctx, models.EmailAddress{UserID: zed.ID, Email: "alias@example.com", Primary: false, Verified: true}); err != nil {
			t.Fatal(err)
		}
		users, addrs := e.count(t, &member{}), e.count(t, &models.EmailAddress{})
		for _, tc := range tests {
			var fields verr.Fields // a fresh copy: Register adds to it
			for k, v := range tc.fields {
				fields.Add(k, v...)
			}
			u := &member{Company: "ACME"}
			cred, err := e.s.Register(ctx, u, tc.f, fields)
			if cred != nil {
				t.Errorf("%s: credentials issued", tc.name)
			}
			if got := fieldErrors(err); !sameFields(got, tc.want) {
				t.Errorf("%s: Register = %v (%v), want %v", tc.name, err, got, tc.want)
			}
			if u.ID != 0 {
				t.Errorf("%s: user ID %d set", tc.name, u.ID)
			}
		}
		if e.count(t, &member{}) != users || e.count(t, &models.EmailAddress{}) != addrs || e.count(t, &models.EmailConfirmation{}) != 0 {
			t.Fatal("a refused registration stored rows")
		}
		if len(e.mail.all()) != 0 || len(e.rec.got()) != 0 {
			t.Fatalf("mails %v, hooks %v", e.mail.all(), e.rec.got())
		}
	})
}

func TestRegister(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		e.clk.Set(t0.Add(time.Hour))
		stale := t0
		// Whatever the caller's struct holds in protected fields is reset.
		u := &member{User: models.User{ID: 77, IsStaff: true, IsSuperuser: true, IsActive: false, LastLogin: &stale,
			DateJoined: stale, FirstName: "Ann"}, Company: "ACME"}
		cred, err := e.s.Register(ctx, u, form("ann", "Ann@Example.com", pw, pw), nil)
		if err != nil {
			t.Fatal(err)
		}
		if cred == nil || cred.Key == "" {
			t.Fatalf("credentials %+v, want a token key", cred)
		}
		if id, err := e.keys.User(ctx, cred.Key); err != nil || id != u.ID {
			t.Fatalf("key resolves to %d, %v; want %d", id, err, u.ID)
		}
		var got member
		if err := db.Take(&got, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Hour)
		if got.Username != "ann" || got.Email != "Ann@example.com" || got.Company != "ACME" || got.FirstName != "Ann" ||
			!got.IsActive || got.IsStaff || got.IsSuperuser || !got.DateJoined.Equal(now) ||
			got.LastLogin == nil || !got.LastLogin.Equal(now) {
			t.Fatalf("stored user %+v", got)
		}
		if u.ID == 77 || got.ID != u.ID {
			t.Fatalf("ID %d taken from the caller", u.ID)
		}
		if ok, _ := cheap.Verify(pw, got.Password); !ok {
			t.Fatal("stored hash does not verify the password")
		}
		var addr models.EmailAddress
		if err := db.Where("user_id = ?", u.ID).Take(&addr).Error; err != nil {
			t.Fatal(err)
		}
		if addr.Email != "Ann@example.com" || !addr.Primary || addr.Verified {
			t.Fatalf("address %+v, want primary, unverified", addr)
		}
		mails := e.mail.all()
		if len(mails) != 1 || mails[0].to != "Ann@Example.com" || mails[0].name != emails.TemplateEmailConfirmation {
			t.Fatalf("mails %+v", mails)
		}
		d := mails[0].data
		if d.Key == "" || d.ActivateURL != "https://app.example/confirm/"+d.Key+"/" || d.User != "ann" || d.SiteName != "Example" {
			t.Fatalf("mail data %+v", d)
		}
		if got := e.rec.got(); !slices.Equal(got, []string{"login:ann", "signed_up:ann"}) {
			t.Fatalf("hooks %v", got)
		}
		// The mailed key confirms the address.
		cu, err := e.s.ConfirmEmail(ctx, d.Key)
		if err != nil || cu == nil || cu.ID != u.ID {
			t.Fatalf("ConfirmEmail = %v, %v", cu, err)
		}
		if ok, _ := e.s.Confirmations.HasVerified(ctx, u.ID); !ok {
			t.Fatal("address not verified")
		}
		if got := e.rec.got(); got[len(got)-1] != "confirmed:ann" {
			t.Fatalf("hooks %v", got)
		}
	})
}

func TestRegisterWithoutUsernameOrEmail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		e.existing(t, "taken", "", true)
		tests := []struct {
			name     string
			f        signup.Form
			username string // "" with prefix: checked as a prefix
			prefix   string
			mails    int
		}{
			{"username from the email", form("", "bob.smith@example.com", pw, pw), "bob.smith", "", 1},
			{"username from the email, taken", form("", "Taken@example.com", pw, pw), "", "Taken", 1},
			{"no email", form("noemail", "", pw, pw), "noemail", "", 0},
		}
		for _, tc := range tests {
			before := len(e.mail.all())
			u := &member{}
			cred, err := e.s.Register(ctx, u, tc.f, nil)
			if err != nil || cred == nil {
				t.Errorf("%s: Register = %v, %v", tc.name, cred, err)
				continue
			}
			var got member
			if err := db.Take(&got, u.ID).Error; err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.username != "" && got.Username != tc.username:
				t.Errorf("%s: username %q, want %q", tc.name, got.Username, tc.username)
			case tc.prefix != "" && (!strings.HasPrefix(got.Username, tc.prefix) || len(got.Username) != len(tc.prefix)+6):
				t.Errorf("%s: username %q, want %s + 6 characters", tc.name, got.Username, tc.prefix)
			}
			if n := len(e.mail.all()) - before; n != tc.mails {
				t.Errorf("%s: %d mails, want %d", tc.name, n, tc.mails)
			}
		}
		var n int64
		db.Model(&models.EmailAddress{}).Where("email = ''").Count(&n)
		if n != 0 {
			t.Fatal("an empty address was stored")
		}
	})
}

// TestRegisterMandatoryVerification: the verified-email check refuses the
// new user, so the user is created without credentials and told to
// confirm the address.
func TestRegisterMandatoryVerification(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		e.s.Login.Checks = []login.Check[member]{login.Active[member]{}, login.Verified[member]{Confirmations: e.s.Confirmations}}
		ctx := context.Background()
		u := &member{}
		cred, err := e.s.Register(ctx, u, form("ann", "ann@example.com", pw, pw), nil)
		if err != nil || cred != nil {
			t.Fatalf("Register = %v, %v; want nil credentials, no error", cred, err)
		}
		if u.ID == 0 || e.count(t, &member{}) != 1 {
			t.Fatal("user not created")
		}
		if e.count(t, &models.Token{}) != 0 {
			t.Fatal("a token was issued")
		}
		var got member
		db.Take(&got, u.ID)
		if got.LastLogin != nil {
			t.Fatal("last_login recorded without a login")
		}
		mails := e.mail.all()
		if len(mails) != 1 || mails[0].data.Key == "" {
			t.Fatalf("mails %+v", mails)
		}
		if got := e.rec.got(); !slices.Equal(got, []string{"signed_up:ann"}) {
			t.Fatalf("hooks %v", got)
		}
		if _, err := e.s.ConfirmEmail(ctx, mails[0].data.Key); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Login.Check(ctx, u); err != nil {
			t.Fatalf("after confirming, the checks refuse: %v", err)
		}
	})
}

func TestRegisterRefusingCheckRollsBack(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		no := errors.New("not today")
		var seen uint
		e := setup(t, db, login.Active[member]{}, checkFunc(func(_ context.Context, u *member) error {
			seen = u.ID // the check sees the created user
			return no
		}))
		u := &member{}
		cred, err := e.s.Register(context.Background(), u, form("ann", "ann@example.com", pw, pw), nil)
		if !errors.Is(err, no) || cred != nil {
			t.Fatalf("Register = %v, %v; want the check's error", cred, err)
		}
		if seen == 0 {
			t.Fatal("the check did not run on the created user")
		}
		if u.ID != 0 {
			t.Fatalf("ID %d left on a rolled back user", u.ID)
		}
		for _, m := range []any{&member{}, &models.EmailAddress{}, &models.EmailConfirmation{}, &models.Token{}} {
			if n := e.count(t, m); n != 0 {
				t.Fatalf("%T: %d rows after the rollback", m, n)
			}
		}
		if len(e.mail.all()) != 0 || len(e.rec.got()) != 0 {
			t.Fatalf("mails %v, hooks %v", e.mail.all(), e.rec.got())
		}
		// The name is free again.
		if _, err := e.s.Users.FreeUsername(context.Background(), "ann@example.com"); err != nil {
			t.Fatal(err)
		}
		if taken, _ := e.s.Confirmations.EmailTaken(context.Background(), "ann@example.com"); taken {
			t.Fatal("address row survived")
		}
	})
}

func TestRegisterWithoutConfirmationMail(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := setup(t, db)
	e.s.SendConfirmation = false
	if _, err := e.s.Register(context.Background(), &member{}, form("ann", "ann@example.com", pw, pw), nil); err != nil {
		t.Fatal(err)
	}
	if len(e.mail.all()) != 0 || e.count(t, &models.EmailConfirmation{}) != 0 {
		t.Fatal("a confirmation was made with SendConfirmation off")
	}
	if e.count(t, &models.EmailAddress{}) != 1 {
		t.Fatal("the address was not stored")
	}
}

// TestRegisterRace: a concurrent registration takes the name or address
// after the checks; the unique indexes catch it and the answer is the
// same field error.
func TestRegisterRace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		table string
		row   func() any
		want  map[string][]string
	}{
		{"username", "members", func() any { return &member{User: models.User{Username: "ANN", DateJoined: t0}} },
			map[string][]string{"username": {"user.username_taken"}}},
		{"email", "members", func() any {
			return &member{User: models.User{Username: "other", Email: "ANN@example.com", DateJoined: t0}}
		}, map[string][]string{"email": {"registration.email_taken"}}},
		{"address", models.EmailAddress{}.TableName(), func() any { return &models.EmailAddress{UserID: 999, Email: "Ann@Example.com"} },
			map[string][]string{"email": {"registration.email_taken"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
				t.Parallel()
				e := setup(t, db)
				fire := true
				err := db.Callback().Create().Before("gorm:create").Register("test:race", func(tx *gorm.DB) {
					if !fire || tx.Statement.Table != tc.table {
						return
					}
					fire = false
					if err := tx.Session(&gorm.Session{NewDB: true}).Create(tc.row()).Error; err != nil {
						_ = tx.AddError(err)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				u := &member{}
				cred, err := e.s.Register(context.Background(), u, form("ann", "ann@example.com", pw, pw), nil)
				if fire {
					t.Fatal("the racing insert did not run")
				}
				if got := fieldErrors(err); cred != nil || !sameFields(got, tc.want) {
					t.Fatalf("Register = %v, %v (%v), want %v", cred, err, got, tc.want)
				}
				if u.ID != 0 || len(e.mail.all()) != 0 || len(e.rec.got()) != 0 {
					t.Fatal("a lost registration left traces")
				}
			})
		})
	}
}

func TestConfirmEmailBadKey(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	e := setup(t, db)
	for _, key := range []string{"", "nope", strings.Repeat("a", 32) + "-" + strings.Repeat("b", 64)} {
		if u, err := e.s.ConfirmEmail(context.Background(), key); !errors.Is(err, confirm.ErrNotFound) || u != nil {
			t.Errorf("ConfirmEmail(%q) = %v, %v; want ErrNotFound", key, u, err)
		}
	}
	if len(e.rec.got()) != 0 {
		t.Fatal("hooks ran")
	}
}

func TestResend(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := setup(t, db)
		ctx := context.Background()
		ann := e.existing(t, "ann", "Ann@Example.com", true)
		e.existing(t, "ina", "ina@example.com", false)
		ver := e.existing(t, "ver", "ver@example.com", true)
		if err := e.s.Confirmations.MarkVerified(ctx, ver.ID, "ver@example.com"); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name  string
			email string
			at    time.Time
			off   bool
			to    string // "" for no mail
		}{
			{"unknown", "nobody@example.com", t0, false, ""},
			{"verified", "ver@example.com", t0, false, ""},
			{"inactive user", "ina@example.com", t0, false, ""},
			{"confirmation off", "ann@example.com", t0, true, ""},
			{"unverified", "ANN@example.com", t0, false, "Ann@example.com"}, // as stored
			{"within the cooldown", "ann@example.com", t0.Add(cooldown - time.Second), false, ""},
			{"after the cooldown", "ann@example.com", t0.Add(cooldown), false, "Ann@example.com"},
		}
		for _, st := range steps {
			e.clk.Set(st.at)
			e.s.SendConfirmation = !st.off
			before := len(e.mail.all())
			if err := e.s.Resend(ctx, st.email); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			mails := e.mail.all()[before:]
			switch {
			case st.to == "" && len(mails) != 0:
				t.Errorf("%s: mailed %+v", st.name, mails)
			case st.to != "" && (len(mails) != 1 || mails[0].to != st.to || mails[0].data.User != "ann"):
				t.Errorf("%s: mails %+v, want one to %s", st.name, mails, st.to)
			}
		}
		// The latest key confirms.
		mails := e.mail.all()
		if len(mails) == 0 {
			t.Fatal("no mail")
		}
		u, err := e.s.ConfirmEmail(ctx, mails[len(mails)-1].data.Key)
		if err != nil || u.ID != ann.ID {
			t.Fatalf("ConfirmEmail = %v, %v", u, err)
		}
	})
}
