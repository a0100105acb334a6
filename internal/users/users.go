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
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/internal/verr"
	"github.com/restauth/restauth/locales"
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
	// byIDSQL and byTokenSQL are the queries of authenticated requests,
	// written once (pgx caches its prepared statements, prep does on
	// SQLite; a GORM PrepareStmt session would keep a plan whose result
	// type breaks when the app adds a column).
	byIDSQL, byTokenSQL string
	// prep keeps those two prepared where the driver does not (SQLite);
	// nil elsewhere.
	prep *prepared
}

// New returns the store of U on db. unique tells a unique-index
// violation and the constraint it hit. It registers on db the callbacks
// that keep the identity keys of rows written through GORM
// (ident.Maintain).
func New[U any](db *gorm.DB, now func() time.Time, unique func(error) (string, bool)) (*Users[U], error) {
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(new(U)); err != nil {
		return nil, fmt.Errorf("restauth: user schema: %w", err)
	}
	if err := ident.Maintain(db); err != nil {
		return nil, err
	}
	s := &Users[U]{db: db, now: now, unique: unique, schema: stmt.Schema}
	t := stmt.Quote(stmt.Schema.Table)
	// Raw SQL skips GORM's soft-delete scope: an app user type with a
	// gorm.DeletedAt field gets the condition written in.
	live := ""
	if f := stmt.Schema.LookUpField("DeletedAt"); f != nil && f.FieldType == reflect.TypeFor[gorm.DeletedAt]() {
		live = " AND " + t + "." + stmt.Quote(f.DBName) + " IS NULL"
	}
	// The columns are listed, not "*": a statement the driver keeps
	// prepared (pgx's cache, prep) then keeps its result type when the
	// app adds a column to the table, where PostgreSQL would refuse a
	// cached "*" plan ("cached plan must not change result type").
	cols := make([]string, 0, len(stmt.Schema.DBNames))
	for _, name := range stmt.Schema.DBNames {
		cols = append(cols, t+"."+stmt.Quote(name))
	}
	list := strings.Join(cols, ", ")
	s.byIDSQL = "SELECT " + list + " FROM " + t + " WHERE " + t + ".id = ?" + live + " LIMIT 1"
	// Unexpired: SQLite keeps times as text in the writer's offset, so it
	// compares them as instants with julianday().
	unexpired := "restauth_tokens.expires_at > ?"
	if db.Dialector.Name() == "sqlite" {
		unexpired = "julianday(restauth_tokens.expires_at) > julianday(?)"
	}
	s.byTokenSQL = "SELECT " + list + " FROM " + t + " JOIN restauth_tokens ON restauth_tokens.user_id = " + t + ".id" +
		" WHERE restauth_tokens.digest = ? AND (restauth_tokens.expires_at IS NULL OR " + unexpired + ")" + live + " LIMIT 1"
	s.prep = newPrepared(db, s.byIDSQL, s.byTokenSQL)
	return s, nil
}

// Table returns the user table's name.
func (s *Users[U]) Table() string { return s.schema.Table }

var identRe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// Migrate creates or updates the user table and its unique indexes on
// the identity keys username_key and email_key, where not empty (a row
// written by raw SQL, without keys, collides with none), named
// <table>_username_key_ci and <table>_email_key_ci (the names Create's
// error mapping knows). In one transaction it fills the keys of rows that
// have none (a database from before the keys, or rows written by raw
// SQL), drops the lower() indexes of earlier versions
// (<table>_username_ci, <table>_email_ci) and creates the new ones; two
// users whose names or addresses fold to one key fail it, naming both,
// and leave the database as it was.
func (s *Users[U]) Migrate(ctx context.Context) error {
	if err := dbx.DB(ctx, s.db).AutoMigrate(new(U)); err != nil {
		return fmt.Errorf("restauth: migrate users: %w", err)
	}
	table := s.Table()
	name := strings.ToLower(identRe.ReplaceAllString(table, "_"))
	return dbx.Transaction(ctx, s.db, func(ctx context.Context, db *gorm.DB) error {
		for _, old := range []string{name + "_username_ci", name + "_email_ci"} {
			if err := db.Exec("DROP INDEX IF EXISTS " + old).Error; err != nil {
				return fmt.Errorf("restauth: migrate: drop index %s: %w", old, err)
			}
		}
		indexes := []struct {
			name, col, where, what string
			exists                 bool
		}{
			{name: name + "_username_key_ci", col: "username_key", where: " WHERE username_key <> ''", what: "usernames"},
			{name: name + "_email_key_ci", col: "email_key", where: " WHERE email_key <> ''", what: "email addresses"},
		}
		for i := range indexes {
			indexes[i].exists = db.Migrator().HasIndex(table, indexes[i].name)
		}
		if err := s.backfill(db, table, indexes[0].exists || indexes[1].exists); err != nil {
			return err
		}
		for _, ix := range indexes {
			if ix.exists {
				continue
			}
			if err := s.duplicate(db, table, ix.col, ix.what); err != nil {
				return err
			}
			sql := "CREATE UNIQUE INDEX IF NOT EXISTS " + ix.name + " ON ? (" + ix.col + ")" + ix.where
			if err := db.Exec(sql, clause.Table{Name: table}).Error; err != nil {
				return fmt.Errorf("restauth: migrate: index %s: %w", ix.name, err)
			}
		}
		return nil
	})
}

// backfillBatch is how many rows backfill reads at a time.
const backfillBatch = 500

// backfill sets the keys of the rows whose keys are empty, in batches in
// id order. indexed says the key indexes exist already (rows written by
// raw SQL since the upgrade): a row whose key another user holds then
// fails it, naming both.
func (s *Users[U]) backfill(db *gorm.DB, table string, indexed bool) error {
	type row struct {
		ID                    uint
		Username, Email       string
		UsernameKey, EmailKey string
	}
	var last uint
	for {
		var rows []row
		err := db.Table(table).Select("id", "username", "email", "username_key", "email_key").
			Where("id > ? AND (username_key = '' OR (email_key = '' AND email <> ''))", last).
			Order("id").Limit(backfillBatch).Scan(&rows).Error
		if err != nil {
			return fmt.Errorf("restauth: migrate: read users: %w", err)
		}
		for _, r := range rows {
			uk, ek := ident.UsernameKey(r.Username), ident.EmailKey(r.Email)
			if uk == r.UsernameKey && ek == r.EmailKey {
				continue
			}
			if indexed {
				if err := s.collision(db, table, r.ID, r.Username, uk, ek); err != nil {
					return err
				}
			}
			err := db.Exec("UPDATE ? SET username_key = ?, email_key = ? WHERE id = ?", clause.Table{Name: table}, uk, ek, r.ID).Error
			if err != nil {
				return fmt.Errorf("restauth: migrate: set user keys: %w", err)
			}
		}
		if len(rows) < backfillBatch {
			return nil
		}
		last = rows[len(rows)-1].ID
	}
}

// collision returns an error naming the user id/username and another user
// holding its username key uk or its non-empty email key ek; nil when
// there is none.
func (s *Users[U]) collision(db *gorm.DB, table string, id uint, username, uk, ek string) error {
	for _, c := range []struct{ col, key, what string }{{"username_key", uk, "usernames"}, {"email_key", ek, "email addresses"}} {
		if c.key == "" {
			continue
		}
		var names []string
		if err := db.Table(table).Where(c.col+" = ? AND id <> ?", c.key, id).Limit(1).Pluck("username", &names).Error; err != nil {
			return fmt.Errorf("restauth: migrate: find duplicate %s: %w", c.what, err)
		}
		if len(names) > 0 {
			return duplicateErr([]string{names[0], username}, c.what)
		}
	}
	return nil
}

func duplicateErr(names []string, what string) error {
	return fmt.Errorf("restauth: migrate users: users %q are one user when %s are compared normalised and case-folded; rename one (or change its address) and migrate again", names, what)
}

// duplicate returns an error naming two users who share a non-empty key
// in col; nil when there are none.
func (s *Users[U]) duplicate(db *gorm.DB, table, col, what string) error {
	var keys []string
	err := db.Table(table).Select(col).Where(col+" <> ''").Group(col).Having("count(*) > 1").Limit(1).Pluck(col, &keys).Error
	if err != nil {
		return fmt.Errorf("restauth: migrate: find duplicate %s: %w", what, err)
	}
	if len(keys) == 0 {
		return nil
	}
	var names []string
	if err := db.Table(table).Where(col+" = ?", keys[0]).Order("id").Limit(2).Pluck("username", &names).Error; err != nil {
		return fmt.Errorf("restauth: migrate: find duplicate %s: %w", what, err)
	}
	return duplicateErr(names, what)
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
	return s.raw(ctx, s.byIDSQL, id)
}

// ByTokenDigest loads the user of the token key whose digest (as
// restauth_tokens holds it) is digest, if that key has not expired at
// now: one indexed join, for the default token store.
func (s *Users[U]) ByTokenDigest(ctx context.Context, digest string, now time.Time) (*U, error) {
	return s.raw(ctx, s.byTokenSQL, digest, now.UTC())
}

// raw runs one of the prepared user queries; (nil, nil) when no row
// matches.
func (s *Users[U]) raw(ctx context.Context, sql string, args ...any) (*U, error) {
	u := new(U)
	db := dbx.DB(ctx, s.db)
	if s.prep != nil && !dbx.InTx(ctx) {
		db.Statement.ConnPool = s.prep
	}
	res := db.Raw(sql, args...).Find(u)
	if res.Error != nil {
		return nil, fmt.Errorf("restauth: load user: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return u, nil
}

// ByUsername finds a user by username, in any letter case and
// compatibility form (by ident.UsernameKey).
func (s *Users[U]) ByUsername(ctx context.Context, username string) (*U, error) {
	key := ident.UsernameKey(username)
	if key == "" {
		return nil, nil
	}
	// The "<> ''" lets PostgreSQL use the partial unique index in a
	// generic (cached) plan too.
	return s.take(ctx, "username_key = ? AND username_key <> ''", key)
}

// ByEmail finds a user by email, in any letter case (by
// ident.EmailKey).
func (s *Users[U]) ByEmail(ctx context.Context, email string) (*U, error) {
	key := ident.EmailKey(email)
	if key == "" {
		return nil, nil
	}
	return s.take(ctx, "email_key = ? AND email_key <> ''", key)
}

// ActiveByEmail returns every active user with email, in any letter
// case (by ident.EmailKey); none for an empty email.
func (s *Users[U]) ActiveByEmail(ctx context.Context, email string) ([]U, error) {
	key := ident.EmailKey(email)
	if key == "" {
		return nil, nil
	}
	var rows []U
	err := dbx.DB(ctx, s.db).Where("email_key = ? AND email_key <> '' AND is_active = ?", key, true).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("restauth: find users: %w", err)
	}
	return rows, nil
}

// Column sizes of models.User, and the most bytes a key may take (within
// its column and PostgreSQL's index entry limit).
const (
	maxUsername = 150
	maxEmail    = 254
	maxKeyBytes = 1016
)

// normaliseUsername stores b's username NFKC-normalised (Django's
// normalize_username) with its key; a name that normalisation makes
// longer than the column is a field error.
func normaliseUsername(b *models.User) error {
	b.Username = ident.Username(b.Username)
	b.UsernameKey = ident.UsernameKey(b.Username)
	if utf8.RuneCountInString(b.Username) > maxUsername || len(b.UsernameKey) > maxKeyBytes {
		return verr.Field("username", locales.N("field.max_length", maxUsername, "Max", maxUsername))
	}
	return nil
}

// normaliseEmail stores b's email with its domain lower-cased (Django's
// normalize_email) and its key.
func normaliseEmail(b *models.User) error {
	b.Email = ident.Email(b.Email)
	b.EmailKey = ident.EmailKey(b.Email)
	if utf8.RuneCountInString(b.Email) > maxEmail {
		return verr.Field("email", locales.N("field.max_length", maxEmail, "Max", maxEmail))
	}
	if len(b.EmailKey) > maxKeyBytes {
		return verr.Field("email", locales.M("field.invalid_email"))
	}
	return nil
}

// Create inserts u (DateJoined set when zero), its username
// NFKC-normalised and its email's domain lower-cased (u shows the stored
// values), with their keys. A unique violation answers ErrUsernameTaken or
// ErrEmailTaken, by the index it hit; a username or email that
// normalisation makes too long for its column is a *verr.Error.
func (s *Users[U]) Create(ctx context.Context, u *U) error {
	b := Base(u)
	if err := normaliseUsername(b); err != nil {
		return err
	}
	if err := normaliseEmail(b); err != nil {
		return err
	}
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
		// By the index AutoMigrate makes (<table>_email_key_ci; SQLite
		// names its column, "table.email_key"), an earlier version's
		// (<table>_email_ci) or, for an app's own unique column, its name
		// (SQLite: "table.email"; PostgreSQL: "table_email_key").
		c = strings.ToLower(c)
		for _, col := range []struct {
			name string
			err  error
		}{{"email", ErrEmailTaken}, {"username", ErrUsernameTaken}} {
			for _, suffix := range []string{"_" + col.name + "_ci", "_" + col.name + "_key_ci", "." + col.name, "." + col.name + "_key", "_" + col.name + "_key"} {
				if strings.HasSuffix(c, suffix) {
					return col.err
				}
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
	"UsernameKey": true, "EmailKey": true,
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
// credentials, flags, dates, email or keys), after checking a new
// username is free. A new username is stored NFKC-normalised (u shows
// it) with its key. Only changed columns are written, so a concurrent
// change to another column survives; a concurrent taker of the same name
// is caught by the unique index (ErrUsernameTaken).
func (s *Users[U]) SaveChanged(ctx context.Context, before Snapshot, u *U) error {
	b := Base(u)
	b.ID = before.id
	if b.Username != before.username {
		if err := normaliseUsername(b); err != nil {
			return err
		}
	}
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
			if f.Name == "Username" {
				changed = append(changed, "username_key")
			}
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
