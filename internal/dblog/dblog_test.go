package dblog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/restauth/restauth/internal/dblog"
	"github.com/restauth/restauth/internal/testdb"
)

// Values the log must never show.
const (
	secretEmail    = "alice.secret@example.com"
	secretMiss     = "nobody.secret@example.com"
	secretUsername = "alice_secret_user"
	secretHash     = "pbkdf2_sha256$600000$SALTSECRET$HASHSECRET"
	secretNewHash  = "argon2$NEWHASHSECRET"
	secretDigest   = "DIGESTSECRET0123456789abcdef"
	secretBadID    = "ID-SECRET-not-a-number"
)

var secrets = []string{secretEmail, secretMiss, secretUsername, secretHash, secretNewHash, secretDigest, secretBadID}

type secretRow struct {
	ID       uint
	Email    string `gorm:"uniqueIndex;not null"`
	Username string
	Hash     string
	Digest   []byte
}

func (secretRow) TableName() string { return "dblog_secrets" }

// capture returns GORM's standard logger at Info level writing to a buffer.
func capture() (*bytes.Buffer, logger.Interface) {
	var buf bytes.Buffer
	return &buf, logger.New(log.New(&buf, "", 0), logger.Config{LogLevel: logger.Info, Colorful: false})
}

// scenario runs restauth-like statements on db through l and returns the
// log they produced.
func scenario(t *testing.T, db *gorm.DB, wrap bool) string {
	t.Helper()
	buf, l := capture()
	if wrap {
		l = dblog.Wrap(l)
	}
	s := db.Session(&gorm.Session{Logger: l})
	if err := s.AutoMigrate(&secretRow{}); err != nil {
		t.Fatal(err)
	}
	row := secretRow{Email: secretEmail, Username: secretUsername, Hash: secretHash, Digest: []byte(secretDigest)}
	if err := s.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	var got secretRow
	if err := s.First(&got, "email = ?", secretEmail).Error; err != nil || got.Hash != secretHash {
		t.Fatalf("select by email: %v, %+v", err, got)
	}
	if err := s.Where("digest = ?", []byte(secretDigest)).Take(&got).Error; err != nil {
		t.Fatalf("select by digest: %v", err)
	}
	if err := s.Take(&got, "email = ?", secretMiss).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("miss with Take: %v", err)
	}
	if err := s.First(&got, "username = ?", secretMiss).Error; !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("miss with First: %v", err)
	}
	dup := secretRow{Email: secretEmail, Username: secretUsername, Hash: secretHash}
	if err := s.Create(&dup).Error; err == nil {
		t.Fatal("duplicate e-mail inserted")
	} else if strings.Contains(err.Error(), secretEmail) {
		// pgconn.PgError.Error() leaves out Detail, where PostgreSQL
		// quotes the key; the test relies on that below.
		t.Fatalf("the driver's error text quotes the key: %v", err)
	}
	if err := s.Model(&secretRow{}).Where("email = ?", secretEmail).Update("hash", secretNewHash).Error; err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := s.Model(&secretRow{}).Where("hash = ?", secretNewHash).Count(&n).Error; err != nil || n != 1 {
		t.Fatalf("count: %v, %d", err, n)
	}
	// PostgreSQL rejects the text with 22P02, quoting it in the message;
	// SQLite finds no row.
	err := s.Take(&got, "id = ?", secretBadID).Error
	if pg := db.Dialector.Name() == "postgres"; pg && (err == nil || !strings.Contains(err.Error(), secretBadID)) {
		t.Fatalf("PostgreSQL's message should quote the bad input (the check below needs it): %v", err)
	} else if !pg && !errors.Is(err, gorm.ErrRecordNotFound) {
		t.Fatalf("bad id on SQLite: %v", err)
	}
	if err := s.Where("username = ?", secretUsername).Delete(&secretRow{}).Error; err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWrapKeepsValuesOutOfTheLog(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		out := scenario(t, db, true)
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("log shows %q", s)
			}
		}
		if strings.Contains(out, "record not found") {
			t.Error("log reports record not found as an error")
		}
		placeholder := "email = ?"
		// GORM's PostgreSQL dialector renders a parameter it was not given
		// as "$1$".
		unique := "UNIQUE constraint failed: dblog_secrets.email"
		if db.Dialector.Name() == "postgres" {
			placeholder = "email = $1$"
			unique = `ERROR: duplicate key value violates unique constraint "idx_dblog_secrets_email" (SQLSTATE 23505)`
			want := "ERROR: message withheld (SQLSTATE 22P02)"
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		// The log still shows the statements and errors, so the checks
		// above are not vacuous.
		for _, want := range []string{"INSERT INTO", "SELECT", "UPDATE", "DELETE", "dblog_secrets", placeholder, unique} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q", want)
			}
		}
		if t.Failed() {
			t.Logf("log:\n%s", out)
		}
	})
}

// TestUnwrappedLogShowsValues proves the scenario can catch a leak.
func TestUnwrappedLogShowsValues(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		out := scenario(t, db, false)
		for _, s := range []string{secretEmail, secretMiss, secretUsername, secretHash, secretNewHash, "record not found"} {
			if !strings.Contains(out, s) {
				t.Errorf("unwrapped log lacks %q", s)
			}
		}
		if db.Dialector.Name() == "postgres" && !strings.Contains(out, secretBadID) {
			t.Errorf("unwrapped log lacks PostgreSQL's message quoting %q", secretBadID)
		}
	})
}

// TestScanBypassesParamsFilter pins the limitation the package documents:
// gorm's Scan records SQL with the values written in before any logger
// sees it. If this starts failing, GORM changed and the doc can go.
func TestScanBypassesParamsFilter(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	buf, l := capture()
	s := db.Session(&gorm.Session{Logger: dblog.Wrap(l)})
	var n int
	if err := s.Raw("SELECT count(*) FROM sqlite_master WHERE name = ?", secretUsername).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), secretUsername) {
		t.Fatalf("Scan no longer logs values; update the package doc:\n%s", buf)
	}
	buf.Reset()
	if err := s.Raw("SELECT count(*) FROM sqlite_master WHERE name = ?", secretUsername).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), secretUsername) || !strings.Contains(buf.String(), "sqlite_master") {
		t.Fatalf("Row: %s", buf)
	}
}

// recorder records what reaches the wrapped logger.
type recorder struct {
	mu    sync.Mutex
	level logger.LogLevel
	errs  []error
	data  [][]interface{}
	sql   []string
}

func (r *recorder) LogMode(level logger.LogLevel) logger.Interface {
	return &recorder{level: level}
}

func (r *recorder) Info(_ context.Context, _ string, data ...interface{})  { r.add(data) }
func (r *recorder) Warn(_ context.Context, _ string, data ...interface{})  { r.add(data) }
func (r *recorder) Error(_ context.Context, _ string, data ...interface{}) { r.add(data) }

func (r *recorder) add(data []interface{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data = append(r.data, data)
}

func (r *recorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), err error) {
	sql, _ := fc()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
	r.sql = append(r.sql, sql)
}

func TestWrap(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	w := dblog.Wrap(r)
	if dblog.Wrap(w) != w {
		t.Error("Wrap(Wrap(l)) wraps twice")
	}
	if _, ok := dblog.Wrap(nil).(gorm.ParamsFilter); !ok {
		t.Error("Wrap(nil) is not a wrapper")
	}
	for _, l := range []logger.Interface{w, w.LogMode(logger.Silent), w.LogMode(logger.Info)} {
		f, ok := l.(gorm.ParamsFilter)
		if !ok {
			t.Fatalf("%T is not a gorm.ParamsFilter", l)
		}
		sql, params := f.ParamsFilter(context.Background(), "SELECT ?", secretEmail)
		if sql != "SELECT ?" || params != nil {
			t.Errorf("ParamsFilter = %q, %v", sql, params)
		}
	}
}

// TestLogLinePointsAtCaller checks that GORM's logger still names the
// statement's caller, not this package (see forward.gen.go).
func TestLogLinePointsAtCaller(t *testing.T) {
	t.Parallel()
	buf, l := capture()
	s := testdb.SQLite(t).Session(&gorm.Session{Logger: dblog.Wrap(l)})
	var n int
	_ = s.Raw("SELECT 1").Row().Scan(&n)
	s.Logger.Info(context.Background(), "hello")
	out := buf.String()
	if strings.Count(out, "dblog_test.go:") != 2 || strings.Contains(out, "/dblog.go:") || strings.Contains(out, ".gen.go:") {
		t.Fatalf("log lines do not point at the caller:\n%s", out)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	uniquePg := &pgconn.PgError{
		Severity: "ERROR", Code: "23505", ConstraintName: "users_email_key",
		Message: `duplicate key value violates unique constraint "users_email_key"`,
		Detail:  "Key (email)=(" + secretEmail + ") already exists.",
	}
	dataPg := &pgconn.PgError{Severity: "ERROR", Code: "22P02", Message: `invalid input syntax for type bigint: "` + secretBadID + `"`}
	raisePg := &pgconn.PgError{Severity: "ERROR", Code: "P0001", Message: "user " + secretUsername}
	tests := []struct {
		name string
		err  error
		want string // "" for no error
	}{
		{"nil", nil, ""},
		{"record not found", gorm.ErrRecordNotFound, ""},
		{"unique violation", uniquePg, `ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)`},
		{"wrapped unique violation", fmt.Errorf("insert %s: %w", secretEmail, uniquePg), `ERROR: duplicate key value violates unique constraint "users_email_key" (SQLSTATE 23505)`},
		{"data exception", dataPg, "ERROR: message withheld (SQLSTATE 22P02)"},
		{"raise", raisePg, "ERROR: message withheld (SQLSTATE P0001)"},
		{"pgx encode", fmt.Errorf("failed to encode args[0]: %w", fmt.Errorf("unable to encode %q into text format for int8 (OID 20): %w", secretEmail, errors.New("cannot find encode plan"))),
			"database error, text withheld (*errors.errorString)"},
		{"gorm sentinel", gorm.ErrDuplicatedKey, gorm.ErrDuplicatedKey.Error()},
		{"gorm sentinel with data", fmt.Errorf("%w: %+v", gorm.ErrInvalidData, secretRow{Hash: secretHash}), "unsupported data (details withheld)"},
		{"context", fmt.Errorf("query %s: %w", secretEmail, context.Canceled), "context canceled (details withheld)"},
		{"not found with more", fmt.Errorf("%v; %w", errors.New(secretHash), gorm.ErrRecordNotFound), "record not found (details withheld)"},
	}
	for _, tt := range tests {
		r := &recorder{}
		w := dblog.Wrap(r)
		w.Trace(context.Background(), time.Now(), func() (string, int64) { return "SELECT 1", 1 }, tt.err)
		w.Error(context.Background(), "failed: %v %s", tt.err, "kept")
		got := r.errs[0]
		if (got == nil) != (tt.want == "") || got != nil && got.Error() != tt.want {
			t.Errorf("%s: Trace got error %v, want %q", tt.name, got, tt.want)
		}
		if tt.err == nil {
			continue
		}
		if e, _ := r.data[0][0].(error); e == nil || e.Error() != tt.want && tt.want != "" || r.data[0][1] != "kept" {
			t.Errorf("%s: Error got data %v", tt.name, r.data[0])
		}
	}
	// A bare sentinel passes through as itself.
	r := &recorder{}
	dblog.Wrap(r).Trace(context.Background(), time.Now(), func() (string, int64) { return "", 0 }, gorm.ErrDuplicatedKey)
	if r.errs[0] != gorm.ErrDuplicatedKey {
		t.Errorf("sentinel replaced: %v", r.errs[0])
	}
}
