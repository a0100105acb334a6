// Package sessions keeps JWT logins: each login is a family of refresh
// tokens (simplejwt's OutstandingToken rows, grouped by the first
// token's jti) that can be rotated, blacklisted and revoked as a whole.
// It knows nothing of HTTP; callers map its errors to answers.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
)

// Errors callers map to answers.
var (
	// ErrInvalid means a token is malformed, badly signed, expired,
	// blacklisted or of a revoked login.
	ErrInvalid = errors.New("restauth: token is invalid or expired")
	// ErrNoActiveAccount means the token's user is gone or inactive.
	ErrNoActiveAccount = errors.New("restauth: no active account")
)

// Pair is what a JWT login or refresh issues.
type Pair struct {
	Access         string
	Refresh        string // "" when a refresh did not rotate
	AccessExpires  time.Time
	RefreshExpires time.Time
	// Family is the login the tokens belong to.
	Family string
}

// Sessions issues and checks JWT logins of users U.
type Sessions[U any] struct {
	DB    *gorm.DB
	Users *users.Users[U]
	JWT   *jwtauth.Issuer
	// Rotate makes Refresh issue a new refresh token and blacklist the
	// old one.
	Rotate bool
	// CheckRevoked makes Verify check an access token's login too.
	CheckRevoked bool
	// Claims returns the app's own claims for u's access tokens.
	Claims func(ctx context.Context, u *U) map[string]any
	Now    func() time.Time
	Log    *slog.Logger
	// Revoked, when set, is told of this instance's revocations (its
	// next check reads them at once).
	Revoked interface{ Stale() }
}

func (s *Sessions[U]) now() time.Time { return s.Now().UTC() }

// revoked tells the revoked set of a revocation.
func (s *Sessions[U]) revoked() {
	if s.Revoked != nil {
		s.Revoked.Stale()
	}
}

// UserIDString is the user_id claim of a user.
func UserIDString(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// ParseUserID reverses UserIDString.
func ParseUserID(v string) (uint, bool) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 || uint64(uint(n)) != n {
		return 0, false
	}
	return uint(n), true
}

func (s *Sessions[U]) claims(ctx context.Context, u *U) map[string]any {
	if s.Claims == nil {
		return nil
	}
	return s.Claims(ctx, u)
}

// Access verifies raw as an access token and returns its claims and user.
func (s *Sessions[U]) Access(raw string) (*jwtauth.Claims, uint, bool) {
	c, err := s.JWT.Parse(raw, jwtauth.Access)
	if err != nil {
		return nil, 0, false
	}
	id, ok := ParseUserID(c.UserID)
	return c, id, ok
}

// Issue starts a login of u: a new family, its first refresh token and
// an access token (ctx may carry a transaction).
func (s *Sessions[U]) Issue(ctx context.Context, u *U) (Pair, error) {
	family, err := jwtauth.NewID()
	if err != nil {
		return Pair{}, err
	}
	return s.issueInFamily(ctx, u, family, family)
}

func (s *Sessions[U]) issueInFamily(ctx context.Context, u *U, family, jti string) (Pair, error) {
	b := users.Base(u)
	uid := UserIDString(b.ID)
	refresh, rexp, err := s.JWT.Sign(jwtauth.Refresh, uid, family, jti, nil)
	if err != nil {
		return Pair{}, err
	}
	row := models.OutstandingToken{JTI: jti, Family: family, UserID: b.ID, CreatedAt: s.now(), ExpiresAt: rexp}
	if err := dbx.DB(ctx, s.DB).Create(&row).Error; err != nil {
		return Pair{}, fmt.Errorf("restauth: record refresh token: %w", err)
	}
	access, aexp, err := s.JWT.Sign(jwtauth.Access, uid, family, "", s.claims(ctx, u))
	if err != nil {
		return Pair{}, err
	}
	return Pair{Access: access, Refresh: refresh, AccessExpires: aexp, RefreshExpires: rexp, Family: family}, nil
}

// blacklist marks the outstanding token id unusable; it reports false
// when it already was.
func blacklist(tx *gorm.DB, id uint, now time.Time) (bool, error) {
	row := models.BlacklistedToken{TokenID: id, BlacklistedAt: now}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "token_id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("restauth: blacklist refresh token: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// revokeWhere blacklists every live outstanding token matching cond.
func (s *Sessions[U]) revokeWhere(tx *gorm.DB, cond string, args ...any) error {
	out, bl := models.OutstandingToken{}.TableName(), models.BlacklistedToken{}.TableName()
	sql := "INSERT INTO " + bl + " (token_id, blacklisted_at) SELECT o.id, ? FROM " + out + " o WHERE " + cond +
		" AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM " + bl + " b WHERE b.token_id = o.id) ON CONFLICT (token_id) DO NOTHING"
	now := s.now()
	all := append([]any{now}, args...)
	// Include tokens expired less than an access lifetime ago: Live still
	// counts them.
	all = append(all, now.Add(-s.JWT.AccessLifetime()))
	if err := tx.Exec(sql, all...).Error; err != nil {
		return fmt.Errorf("restauth: revoke refresh tokens: %w", err)
	}
	return nil
}

// RevokeUser blacklists every refresh token of userID outside the family
// keep ("" keeps none). ctx may carry a transaction that already holds
// the user's lock; otherwise RevokeUser takes it.
func (s *Sessions[U]) RevokeUser(ctx context.Context, userID uint, keep string) error {
	defer s.revoked()
	return s.withUserLock(ctx, userID, func(tx *gorm.DB) error {
		return s.revokeWhere(tx, "o.user_id = ? AND o.family <> ?", userID, keep)
	})
}

// RevokeFamily blacklists the refresh tokens of one login of userID.
func (s *Sessions[U]) RevokeFamily(ctx context.Context, userID uint, family string) error {
	defer s.revoked()
	return s.withUserLock(ctx, userID, func(tx *gorm.DB) error {
		return s.revokeWhere(tx, "o.user_id = ? AND o.family = ?", userID, family)
	})
}

// withUserLock runs fn in a transaction that holds the user's row lock
// first: a revocation then waits for a rotation in flight and sees its
// new token (PostgreSQL's READ COMMITTED would otherwise miss it).
func (s *Sessions[U]) withUserLock(ctx context.Context, userID uint, fn func(tx *gorm.DB) error) error {
	return dbx.Transaction(ctx, s.DB, func(ctx context.Context, tx *gorm.DB) error {
		if err := s.Users.Lock(ctx, userID); err != nil {
			return err
		}
		return fn(tx)
	})
}

// lookupRefresh verifies raw as a refresh token and loads its row, with
// the user's and then the token's row locked.
func (s *Sessions[U]) lookupRefresh(ctx context.Context, tx *gorm.DB, raw string) (*models.OutstandingToken, error) {
	c, err := s.JWT.Parse(raw, jwtauth.Refresh)
	if err != nil {
		return nil, ErrInvalid
	}
	uid, ok := ParseUserID(c.UserID)
	if !ok {
		return nil, ErrInvalid
	}
	if err := s.Users.Lock(ctx, uid); err != nil {
		return nil, err
	}
	// Write first: the no-op update locks the row (PostgreSQL) or the
	// database (SQLite) before anything is read, so concurrent uses of
	// one token run one after the other and the second sees the first's
	// blacklist row.
	lock := tx.Model(&models.OutstandingToken{}).Where("jti = ?", c.JTI).Update("jti", gorm.Expr("jti"))
	if lock.Error != nil {
		return nil, fmt.Errorf("restauth: lock refresh token: %w", lock.Error)
	}
	if lock.RowsAffected == 0 {
		return nil, ErrInvalid
	}
	var rows []models.OutstandingToken
	if err := tx.Where("jti = ?", c.JTI).Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("restauth: load refresh token: %w", err)
	}
	if len(rows) == 0 || UserIDString(rows[0].UserID) != c.UserID || rows[0].Family != c.SID {
		return nil, ErrInvalid
	}
	return &rows[0], nil
}

// errReused marks a transaction that committed a family revocation
// because a blacklisted refresh token was presented.
var errReused = errors.New("restauth: blacklisted refresh token presented")

// use runs fn on the row of the refresh token raw after blacklisting it
// (blacklist) or checking it is live. A token already blacklisted revokes
// its whole family, committed, and answers ErrInvalid: either the client
// or a thief holds a stale copy, and the server cannot tell which.
func (s *Sessions[U]) use(ctx context.Context, raw string, blacklistIt bool, fn func(ctx context.Context, tx *gorm.DB, row *models.OutstandingToken) error) error {
	reused := false
	err := dbx.Transaction(ctx, s.DB, func(ctx context.Context, tx *gorm.DB) error {
		row, err := s.lookupRefresh(ctx, tx, raw)
		if err != nil {
			return err
		}
		var live bool
		if blacklistIt {
			live, err = blacklist(tx, row.ID, s.now())
		} else {
			live, err = s.notBlacklisted(tx, row.ID)
		}
		if err != nil {
			return err
		}
		if !live {
			reused = true
			return s.revokeWhere(tx, "o.family = ?", row.Family)
		}
		return fn(ctx, tx, row)
	})
	if err == nil && reused {
		s.Log.WarnContext(ctx, "restauth: a blacklisted refresh token was presented; its login is revoked")
		return ErrInvalid
	}
	return err
}

func (s *Sessions[U]) notBlacklisted(tx *gorm.DB, id uint) (bool, error) {
	var n int64
	if err := tx.Model(&models.BlacklistedToken{}).Where("token_id = ?", id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("restauth: check blacklist: %w", err)
	}
	return n == 0, nil
}

// Refresh is token/refresh/: a new access token for a live refresh token
// (and, with Rotate, a new refresh token in the same family while the
// presented one is blacklisted).
func (s *Sessions[U]) Refresh(ctx context.Context, raw string) (Pair, error) {
	var out Pair
	err := s.use(ctx, raw, s.Rotate, func(ctx context.Context, tx *gorm.DB, row *models.OutstandingToken) error {
		u, err := s.Users.ByID(ctx, row.UserID)
		if err != nil {
			return err
		}
		if u == nil || !users.Base(u).IsActive {
			return ErrNoActiveAccount
		}
		if s.Rotate {
			jti, err := jwtauth.NewID()
			if err != nil {
				return err
			}
			out, err = s.issueInFamily(ctx, u, row.Family, jti)
			return err
		}
		access, aexp, err := s.JWT.Sign(jwtauth.Access, UserIDString(row.UserID), row.Family, "", s.claims(ctx, u))
		out = Pair{Access: access, AccessExpires: aexp, Family: row.Family}
		return err
	})
	return out, err
}

// Logout blacklists the refresh token raw and returns its user's ID.
func (s *Sessions[U]) Logout(ctx context.Context, raw string) (uint, error) {
	defer s.revoked()
	var id uint
	err := s.use(ctx, raw, true, func(_ context.Context, _ *gorm.DB, row *models.OutstandingToken) error {
		id = row.UserID
		return nil
	})
	return id, err
}

// Live reports whether family still has a refresh token that is not
// blacklisted and did not expire more than one access lifetime ago (an
// access token issued just before its refresh token expired stays valid
// to its own end).
func (s *Sessions[U]) Live(ctx context.Context, family string) (bool, error) {
	if family == "" {
		return false, nil
	}
	out, bl := models.OutstandingToken{}.TableName(), models.BlacklistedToken{}.TableName()
	var n int64
	err := dbx.DB(ctx, s.DB).Table(out+" AS o").
		Where("o.family = ? AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM "+bl+" b WHERE b.token_id = o.id)", family, s.now().Add(-s.JWT.AccessLifetime())).
		Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("restauth: check session: %w", err)
	}
	return n > 0, nil
}

// Verify is token/verify/: a valid token of either type; a refresh token
// must also be live, and so must an access token's login with
// CheckRevoked.
func (s *Sessions[U]) Verify(ctx context.Context, raw string) error {
	c, err := s.JWT.Parse(raw, "")
	if err != nil {
		return ErrInvalid
	}
	if c.Type == jwtauth.Access && !s.CheckRevoked {
		return nil
	}
	live, err := s.Live(ctx, c.SID)
	if err != nil {
		return err
	}
	if !live {
		return ErrInvalid
	}
	if c.Type == jwtauth.Refresh {
		var n int64
		err := dbx.DB(ctx, s.DB).Table(models.OutstandingToken{}.TableName()+" AS o").
			Where("o.jti = ? AND NOT EXISTS (SELECT 1 FROM "+models.BlacklistedToken{}.TableName()+" b WHERE b.token_id = o.id)", c.JTI).
			Count(&n).Error
		if err != nil {
			return fmt.Errorf("restauth: check refresh token: %w", err)
		}
		if n == 0 {
			return ErrInvalid
		}
	}
	return nil
}

// Prune deletes refresh-token records an access lifetime past their
// expiry, with their blacklist rows, in one transaction.
func (s *Sessions[U]) Prune(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.JWT.AccessLifetime())
	out := models.OutstandingToken{}.TableName()
	var total int64
	err := dbx.Transaction(ctx, s.DB, func(_ context.Context, tx *gorm.DB) error {
		res := tx.Where("token_id IN (SELECT id FROM "+out+" WHERE expires_at <= ?)", cutoff).Delete(&models.BlacklistedToken{})
		if res.Error != nil {
			return fmt.Errorf("restauth: prune blacklist: %w", res.Error)
		}
		total += res.RowsAffected
		res = tx.Where("expires_at <= ?", cutoff).Delete(&models.OutstandingToken{})
		if res.Error != nil {
			return fmt.Errorf("restauth: prune refresh tokens: %w", res.Error)
		}
		total += res.RowsAffected
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
