// Package users is the store of the app's user rows: the generic Users[U]
// loads, creates, locks and saves users of any struct that embeds
// models.User. It knows nothing of HTTP.
package users

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/models"
)

// Base returns the embedded models.User of u.
func Base[U any](u *U) *models.User {
	return any(u).(models.UserModel).UserBase()
}

// ErrUsernameTaken is returned when a save or create collides with
// another user's username (checked first, and by the unique index).
var ErrUsernameTaken = errors.New("restauth: username taken")

// ErrEmailTaken is returned when a create collides with another user's
// email address.
var ErrEmailTaken = errors.New("restauth: email taken")

// Users loads and saves rows of U.
type Users[U any] struct {
	db     *gorm.DB
	now    func() time.Time
	unique func(err error) (constraint string, ok bool)
	schema *schema.Schema
}

// New returns the store of U on db. unique tells a unique-index
// violation and the constraint it hit.
func New[U any](db *gorm.DB, now func() time.Time, unique func(error) (string, bool)) (*Users[U], error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(new(U)); err != nil {
		return nil, fmt.Errorf("restauth: user schema: %w", err)
	}
	return &Users[U]{db: db, now: now, unique: unique, schema: stmt.Schema}, nil
}

// Table returns the user table's name.
func (s *Users[U]) Table() string { return s.schema.Table }

var identRe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Migrate creates or updates the user table and its case-insensitive
// unique indexes on username and (non-empty) email, named
// <table>_username_ci and <table>_email_ci (the names Create's error
// mapping knows).
func (s *Users[U]) Migrate(ctx context.Context) error {
	db := dbx.DB(ctx, s.db)
	if err := db.AutoMigrate(new(U)); err != nil {
		return fmt.Errorf("restauth: migrate users: %w", err)
	}
	table := s.Table()
	name := strings.ToLower(identRe.ReplaceAllString(table, "_"))
	for _, ix := range []struct{ name, expr string }{
		{name + "_username_ci", "(lower(username))"},
		{name + "_email_ci", "(lower(email)) WHERE email <> ''"},
	} {
		sql := "CREATE UNIQUE INDEX IF NOT EXISTS " + ix.name + " ON ? " + ix.expr
		if err := db.Exec(sql, clause.Table{Name: table}).Error; err != nil {
			return fmt.Errorf("restauth: migrate: index %s: %w", ix.name, err)
		}
	}
	return nil
}

// Now returns the clock's current time in UTC, to the microsecond (what
// both databases store).
func (s *Users[U]) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func (s *Users[U]) take(ctx context.Context, q string, args ...any) (*U, error) {
	u := new(U)
	// Find into a struct with a limit: a miss is no error (nothing logged)
	// and no slice is allocated.
	res := dbx.DB(ctx, s.db).Where(q, args...).Limit(1).Find(u)
	if res.Error != nil {
		return nil, fmt.Errorf("restauth: load user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return u, nil
}

// ByID loads a user; (nil, nil) when there is none.
func (s *Users[U]) ByID(ctx context.Context, id uint) (*U, error) {
	if id == 0 {
		return nil, nil
	}
	return s.take(ctx, "id = ?", id)
}

// ByUsername finds a user by username, any letter case.
func (s *Users[U]) ByUsername(ctx context.Context, username string) (*U, error) {
	if username == "" {
		return nil, nil
	}
	return s.take(ctx, "lower(username) = lower(?)", username)
}

// ByEmail finds a user by email, any letter case.
func (s *Users[U]) ByEmail(ctx context.Context, email string) (*U, error) {
	if email == "" {
		return nil, nil
	}
	return s.take(ctx, "lower(email) = lower(?)", email)
}

// ActiveByEmail returns every active user with email, any letter case.
func (s *Users[U]) ActiveByEmail(ctx context.Context, email string) ([]U, error) {
	var rows []U
	err := dbx.DB(ctx, s.db).Where("lower(email) = lower(?) AND is_active = ?", email, true).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("restauth: find users: %w", err)
	}
	return rows, nil
}

// Create inserts u (DateJoined set when zero). A unique violation answers
// ErrUsernameTaken or ErrEmailTaken, by the index it hit.
func (s *Users[U]) Create(ctx context.Context, u *U) error {
	b := Base(u)
	if b.DateJoined.IsZero() {
		b.DateJoined = s.Now()
	}
	if err := dbx.DB(ctx, s.db).Create(u).Error; err != nil {
		b.ID = 0
		return s.uniqueErr(err, "create user")
	}
	return nil
}

// uniqueErr turns a unique violation into ErrEmailTaken or
// ErrUsernameTaken by the constraint's name; other errors are wrapped.
func (s *Users[U]) uniqueErr(err error, what string) error {
	if c, ok := s.unique(err); ok {
		// By the index AutoMigrate makes (<table>_email_ci) or, for an
		// app's own unique column, its name (SQLite: "table.email").
		c = strings.ToLower(c)
		for _, col := range []struct {
			name string
			err  error
		}{{"email", ErrEmailTaken}, {"username", ErrUsernameTaken}} {
			if strings.HasSuffix(c, "_"+col.name+"_ci") || strings.HasSuffix(c, "."+col.name) || strings.HasSuffix(c, "_"+col.name+"_key") {
				return col.err
			}
		}
		// An app's own unique column: not ours to word.
	}
	return fmt.Errorf("restauth: %s: %w", what, err)
}

// Lock takes the user's row lock inside ctx's transaction (a no-op
// update): every transaction that adds or revokes a user's credentials
// takes it first, so they run one after the other.
func (s *Users[U]) Lock(ctx context.Context, id uint) error {
	if err := dbx.DB(ctx, s.db).Model(new(U)).Where("id = ?", id).UpdateColumn("id", gorm.Expr("id")).Error; err != nil {
		return fmt.Errorf("restauth: lock user: %w", err)
	}
	return nil
}

// SetLastLogin records a login time.
func (s *Users[U]) SetLastLogin(ctx context.Context, id uint, t time.Time) error {
	if err := dbx.DB(ctx, s.db).Model(new(U)).Where("id = ?", id).Update("last_login", t).Error; err != nil {
		return fmt.Errorf("restauth: update last_login: %w", err)
	}
	return nil
}

// ReplacePassword sets the password hash to next if it still is old, and
// reports whether it did (of two concurrent changes, one wins).
func (s *Users[U]) ReplacePassword(ctx context.Context, id uint, old, next string) (bool, error) {
	res := dbx.DB(ctx, s.db).Model(new(U)).Where("id = ? AND password = ?", id, old).Update("password", next)
	if res.Error != nil {
		return false, fmt.Errorf("restauth: save password: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// protectedFields are never written through SaveChanged, whatever a
// serializer does (Go field names, so a custom naming strategy is
// honoured).
var protectedFields = map[string]bool{
	"ID": true, "Password": true, "Email": true, "IsActive": true, "IsStaff": true,
	"IsSuperuser": true, "DateJoined": true, "LastLogin": true,
}

// Snapshot is a user's column values as loaded, encoded so that later
// in-place changes (slices, maps, pointers) cannot alter it.
type Snapshot struct {
	id       uint
	username string
	cols     map[string]string
}

// Snapshot records u's columns.
func (s *Users[U]) Snapshot(ctx context.Context, u *U) (Snapshot, error) {
	rv := reflect.ValueOf(u).Elem()
	snap := Snapshot{id: Base(u).ID, username: Base(u).Username, cols: map[string]string{}}
	for _, f := range s.schema.Fields {
		if f.DBName == "" || protectedFields[f.Name] || f.PrimaryKey {
			continue
		}
		enc, err := encodeField(ctx, f, rv)
		if err != nil {
			return Snapshot{}, err
		}
		snap.cols[f.DBName] = enc
	}
	return snap, nil
}

// encodeField is the value of f in rv as JSON: deep, so a slice or map
// changed in place compares unequal.
func encodeField(ctx context.Context, f *schema.Field, rv reflect.Value) (string, error) {
	// The Go value itself (ValueOf would give a serializer's wrapper).
	b, err := json.Marshal(f.ReflectValueOf(ctx, rv).Interface())
	if err != nil {
		return "", fmt.Errorf("restauth: user column %s: %w", f.DBName, err)
	}
	return string(b), nil
}

// SaveChanged saves the columns of u that differ from before (never
// credentials, flags, dates or email), after checking a new username is
// free. Only changed columns are written, so a concurrent change to
// another column survives; a concurrent taker of the same name is caught
// by the unique index (ErrUsernameTaken).
func (s *Users[U]) SaveChanged(ctx context.Context, before Snapshot, u *U) error {
	b := Base(u)
	b.ID = before.id
	if b.Username != before.username {
		other, err := s.ByUsername(ctx, b.Username)
		if err != nil {
			return err
		}
		if other != nil && Base(other).ID != before.id {
			return ErrUsernameTaken
		}
	}
	after, err := s.Snapshot(ctx, u)
	if err != nil {
		return err
	}
	var changed []string
	for _, f := range s.schema.Fields {
		if v, ok := after.cols[f.DBName]; ok && v != before.cols[f.DBName] {
			changed = append(changed, f.DBName)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	err = dbx.DB(ctx, s.db).Model(new(U)).Where("id = ?", before.id).Select(changed).Updates(u).Error
	if err != nil {
		return s.uniqueErr(err, "save user")
	}
	return nil
}

var notUsernameChars = regexp.MustCompile(`[^\p{L}\p{N}@.+\-_]+`)

// FreeUsername makes an unused username from an email's local part
// (allauth's behaviour when usernames are not asked for).
func (s *Users[U]) FreeUsername(ctx context.Context, email string) (string, error) {
	base, _, _ := strings.Cut(email, "@")
	base = notUsernameChars.ReplaceAllString(base, "")
	if base == "" {
		base = "user"
	}
	if r := []rune(base); len(r) > 140 {
		base = string(r[:140])
	}
	name := base
	for range 10 {
		other, err := s.ByUsername(ctx, name)
		if err != nil {
			return "", err
		}
		if other == nil {
			return name, nil
		}
		var b [3]byte
		_, _ = rand.Read(b[:])
		name = base + hex.EncodeToString(b[:])
	}
	return "", errors.New("restauth: no free username")
}
