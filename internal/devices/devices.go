// Package devices keeps the sessions a user can see and end: one
// models.Session row per token key or JWT refresh family, recorded in
// the login's transaction with the client that logged in, touched (at
// most once a minute) when the credential is used, listed while the
// credential is live, and removed when it is ended or pruned. It knows
// nothing of HTTP: the client's address and User-Agent reach it through
// the context (WithClient).
package devices

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/models"
)

// Kinds of session.
const (
	// Token is a token key; its handle is the key's digest.
	Token = "token"
	// JWT is a JWT refresh family; its handle is the family id.
	JWT = "jwt"
)

// TouchEvery is the coarseness of last-used times: a session's row is
// written at most once per TouchEvery.
const TouchEvery = time.Minute

// maxTracked bounds the in-process map of last writes.
const maxTracked = 100_000

// Column sizes of models.Session.
const (
	maxIP        = 45
	maxUserAgent = 255
)

// ErrNotFound is what Revoke returns for an id that is unknown, of
// another user, or of a session that is no longer live.
var ErrNotFound = errors.New("restauth: session not found")

// Client describes who logged in: the client's address and User-Agent.
type Client struct {
	IP        string
	UserAgent string
}

type clientKey struct{}

// WithClient returns ctx carrying c, for the logins made under ctx.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the Client ctx carries (the zero Client when none).
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// Devices records, lists and ends sessions. Build it with its exported
// fields; the zero value of the rest is ready.
type Devices struct {
	DB  *gorm.DB
	Now func() time.Time
	// Tokens tracks token keys: set it when they live in restauth_tokens
	// (the default store) and token authentication is on. A custom store
	// can neither be checked for live keys nor end one by its digest, so
	// its keys are not tracked.
	Tokens bool
	// JWT tracks refresh families (JWT mode).
	JWT bool
	// Grace keeps a refresh family live for this long after its last
	// refresh token expired: the access lifetime, as sessions.Live
	// counts it (an access token signed just before stays valid).
	Grace time.Duration

	mu      sync.Mutex
	touched map[string]time.Time
}

func (d *Devices) now() time.Time { return d.Now().UTC() }

// Tracks reports whether sessions of kind are recorded and listed.
func (d *Devices) Tracks(kind string) bool {
	switch kind {
	case Token:
		return d.Tokens
	case JWT:
		return d.JWT
	}
	return false
}

// Migrate creates or updates the sessions table.
func (d *Devices) Migrate(ctx context.Context) error {
	if err := d.DB.WithContext(ctx).AutoMigrate(&models.Session{}); err != nil {
		return fmt.Errorf("restauth: migrate sessions: %w", err)
	}
	return nil
}

// Record stores a new session of userID for the credential handle of
// kind, made by client. ctx carries the login's transaction, so the
// session exists exactly when the credential does. A kind that is not
// tracked records nothing.
func (d *Devices) Record(ctx context.Context, userID uint, kind, handle string, client Client) error {
	if !d.Tracks(kind) || handle == "" {
		return nil
	}
	id, err := secret.Hex(16)
	if err != nil {
		return err
	}
	now := d.now()
	row := models.Session{
		PublicID: id, UserID: userID, Kind: kind, Handle: handle, CreatedAt: now, LastUsedAt: now,
		IP: clean(client.IP, maxIP), UserAgent: clean(client.UserAgent, maxUserAgent),
	}
	if err := dbx.DB(ctx, d.DB).Create(&row).Error; err != nil {
		return fmt.Errorf("restauth: record session: %w", err)
	}
	// The row says "used now": no write is due for a minute.
	d.remember(kind, handle, now)
	return nil
}

// clean makes s storable: valid UTF-8 without control characters, at
// most max bytes, cut on a character boundary.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// remember notes a write of last_used for the session; it reports false
// when one was made less than TouchEvery ago.
func (d *Devices) remember(kind, handle string, now time.Time) bool {
	key := kind + "\x00" + handle
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.touched[key]; ok && now.Sub(last) < TouchEvery && !now.Before(last) {
		return false
	}
	if d.touched == nil {
		d.touched = map[string]time.Time{}
	}
	if len(d.touched) >= maxTracked {
		for k, t := range d.touched {
			if now.Sub(t) >= TouchEvery {
				delete(d.touched, k)
			}
		}
		if len(d.touched) >= maxTracked {
			clear(d.touched)
		}
	}
	d.touched[key] = now
	return true
}

// Touch records that the credential handle of kind was used now. It
// writes at most once per TouchEvery per session in this process (no
// query at all in between), and the write itself only moves a last-used
// time older than TouchEvery, so several instances together write about
// once a minute too.
func (d *Devices) Touch(ctx context.Context, kind, handle string) error {
	if !d.Tracks(kind) || handle == "" {
		return nil
	}
	now := d.now()
	if !d.remember(kind, handle, now) {
		return nil
	}
	err := dbx.DB(ctx, d.DB).Model(&models.Session{}).
		Where("kind = ? AND handle = ? AND last_used_at < ?", kind, handle, now.Add(-TouchEvery)).
		Update("last_used_at", now).Error
	if err != nil {
		return fmt.Errorf("restauth: touch session: %w", err)
	}
	return nil
}

// live is the condition (on alias s) of a session whose credential can
// still authenticate: an unexpired token key, or a refresh family with a
// refresh token that is not blacklisted and not expired more than Grace
// ago.
func (d *Devices) live(now time.Time) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if d.Tokens {
		conds = append(conds, "(s.kind = ? AND EXISTS (SELECT 1 FROM "+models.Token{}.TableName()+
			" t WHERE t.digest = s.handle AND t.user_id = s.user_id AND (t.expires_at IS NULL OR t.expires_at > ?)))")
		args = append(args, Token, now)
	}
	if d.JWT {
		conds = append(conds, "(s.kind = ? AND EXISTS (SELECT 1 FROM "+models.OutstandingToken{}.TableName()+
			" o WHERE o.family = s.handle AND o.user_id = s.user_id AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM "+
			models.BlacklistedToken{}.TableName()+" b WHERE b.token_id = o.id)))")
		args = append(args, JWT, now.Add(-d.Grace))
	}
	if len(conds) == 0 {
		return "1 = 0", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

func (d *Devices) table(ctx context.Context) *gorm.DB {
	return dbx.DB(ctx, d.DB).Table(models.Session{}.TableName() + " AS s")
}

// List returns the live sessions of userID, newest first.
func (d *Devices) List(ctx context.Context, userID uint) ([]models.Session, error) {
	cond, args := d.live(d.now())
	var rows []models.Session
	err := d.table(ctx).Select("s.*").Where("s.user_id = ?", userID).Where(cond, args...).
		Order("s.created_at DESC, s.id DESC").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("restauth: list sessions: %w", err)
	}
	return rows, nil
}

// find returns the live session publicID of userID.
func (d *Devices) find(ctx context.Context, userID uint, publicID string) (models.Session, error) {
	cond, args := d.live(d.now())
	var rows []models.Session
	err := d.table(ctx).Select("s.*").Where("s.public_id = ? AND s.user_id = ?", publicID, userID).Where(cond, args...).
		Limit(1).Find(&rows).Error
	if err != nil {
		return models.Session{}, fmt.Errorf("restauth: find session: %w", err)
	}
	if len(rows) == 0 {
		return models.Session{}, ErrNotFound
	}
	return rows[0], nil
}

// Revoke ends the live session publicID of userID: end revokes its
// credential (a token key by digest, or a refresh family), then the row
// goes. It returns the row, or ErrNotFound for an id that is unknown, of
// another user or no longer live. When end fails the row stays, so the
// session is still shown while its credential works.
func (d *Devices) Revoke(ctx context.Context, userID uint, publicID string, end func(ctx context.Context, s models.Session) error) (models.Session, error) {
	s, err := d.find(ctx, userID, publicID)
	if err != nil {
		return models.Session{}, err
	}
	if err := end(ctx, s); err != nil {
		return models.Session{}, err
	}
	if err := d.DeleteHandles(ctx, s.Kind, s.Handle); err != nil {
		return models.Session{}, err
	}
	return s, nil
}

// DeleteHandles deletes the sessions of the credentials handles of kind.
func (d *Devices) DeleteHandles(ctx context.Context, kind string, handles ...string) error {
	if len(handles) == 0 {
		return nil
	}
	err := dbx.DB(ctx, d.DB).Where("kind = ? AND handle IN ?", kind, handles).Delete(&models.Session{}).Error
	if err != nil {
		return fmt.Errorf("restauth: delete sessions: %w", err)
	}
	return nil
}

// DeleteUser deletes every session of userID except the one of the
// credential keepHandle of keepKind ("" keeps none).
func (d *Devices) DeleteUser(ctx context.Context, userID uint, keepKind, keepHandle string) error {
	q := dbx.DB(ctx, d.DB).Where("user_id = ?", userID)
	if keepHandle != "" {
		q = q.Where("NOT (kind = ? AND handle = ?)", keepKind, keepHandle)
	}
	if err := q.Delete(&models.Session{}).Error; err != nil {
		return fmt.Errorf("restauth: delete user sessions: %w", err)
	}
	return nil
}

// Prune deletes the sessions whose credential can no longer authenticate
// (ended by logout, a password change or reset, expiry, or of a kind no
// longer tracked) and reports how many went.
func (d *Devices) Prune(ctx context.Context) (int64, error) {
	cond, args := d.live(d.now())
	t := models.Session{}.TableName()
	res := dbx.DB(ctx, d.DB).Where("id IN (SELECT s.id FROM "+t+" s WHERE NOT ("+cond+"))", args...).Delete(&models.Session{})
	if res.Error != nil {
		return 0, fmt.Errorf("restauth: prune sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}
