package core

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/internal/jwtauth"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// Credentials are what a login issues: a token key in token mode, an
// access/refresh pair in JWT mode.
type Credentials struct {
	Key            string
	Access         string
	Refresh        string
	AccessExpires  time.Time
	RefreshExpires time.Time
	// Session is the refresh-token family (JWT mode).
	Session string
}

// Session names the credential a request was authenticated with, so a
// password change can keep it: a token key or a refresh-token family.
type Session struct {
	Key    string
	Family string
}

// JWT errors, rendered as simplejwt renders them.
func jwtError(id, code string) *apierr.Error {
	e := apierr.Detail(http.StatusUnauthorized, locales.M(id))
	e.Code = code
	e.Header = map[string]string{"WWW-Authenticate": `Bearer realm="api"`}
	return e
}

// ErrJWTInvalid is 401 {"detail":"Token is invalid or expired","code":"token_not_valid"}.
func ErrJWTInvalid() *apierr.Error { return jwtError("jwt.invalid", "token_not_valid") }

func errNoActiveAccount() *apierr.Error {
	return jwtError("jwt.no_active_account", "no_active_account")
}

// JWT returns the token issuer, nil when JWT mode is off.
func (s *Service[U]) JWT() *jwtauth.Issuer { return s.opt.JWT }

// UserIDString is the user_id claim of u.
func UserIDString(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// ParseUserID reverses UserIDString.
func ParseUserID(s string) (uint, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || uint64(uint(n)) != n {
		return 0, false
	}
	return uint(n), true
}

func (s *Service[U]) claims(ctx context.Context, u *U) map[string]any {
	if s.JWTClaims == nil {
		return nil
	}
	return s.JWTClaims(ctx, u)
}

// issuePair records a new refresh family for u (ctx may carry a
// transaction) and signs its first refresh token and an access token.
func (s *Service[U]) issuePair(ctx context.Context, u *U) (Credentials, error) {
	family, err := jwtauth.NewID()
	if err != nil {
		return Credentials{}, err
	}
	return s.issueInFamily(ctx, u, family, family)
}

// issueInFamily records a refresh token jti in family and signs it plus an
// access token.
func (s *Service[U]) issueInFamily(ctx context.Context, u *U, family, jti string) (Credentials, error) {
	b := Base(u)
	uid := UserIDString(b.ID)
	refresh, rexp, err := s.opt.JWT.Sign(jwtauth.Refresh, uid, family, jti, nil)
	if err != nil {
		return Credentials{}, err
	}
	row := models.OutstandingToken{JTI: jti, Family: family, UserID: b.ID, CreatedAt: s.Now(), ExpiresAt: rexp}
	if err := s.DB(ctx).Create(&row).Error; err != nil {
		return Credentials{}, fmt.Errorf("restauth: record refresh token: %w", err)
	}
	access, aexp, err := s.opt.JWT.Sign(jwtauth.Access, uid, family, "", s.claims(ctx, u))
	if err != nil {
		return Credentials{}, err
	}
	return Credentials{Access: access, Refresh: refresh, AccessExpires: aexp, RefreshExpires: rexp, Session: family}, nil
}

// blacklist marks the outstanding token id unusable; it reports false when
// it already was.
func blacklist(tx *gorm.DB, id uint, now time.Time) (bool, error) {
	row := models.BlacklistedToken{TokenID: id, BlacklistedAt: now}
	res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "token_id"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("restauth: blacklist refresh token: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// revokeWhere blacklists every live outstanding token matching cond.
func (s *Service[U]) revokeWhere(tx *gorm.DB, cond string, args ...any) error {
	out, bl := models.OutstandingToken{}.TableName(), models.BlacklistedToken{}.TableName()
	sql := "INSERT INTO " + bl + " (token_id, blacklisted_at) SELECT o.id, ? FROM " + out + " o WHERE " + cond +
		" AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM " + bl + " b WHERE b.token_id = o.id) ON CONFLICT (token_id) DO NOTHING"
	now := s.Now()
	all := append([]any{now}, args...)
	// Include tokens expired less than an access lifetime ago: SessionLive
	// still counts them.
	all = append(all, now.Add(-s.opt.JWT.AccessLifetime()))
	if err := tx.Exec(sql, all...).Error; err != nil {
		return fmt.Errorf("restauth: revoke refresh tokens: %w", err)
	}
	return nil
}

// revokeUserRefresh blacklists every refresh token of userID outside the
// family keep ("" keeps none).
func (s *Service[U]) revokeUserRefresh(tx *gorm.DB, userID uint, keep string) error {
	return s.revokeWhere(tx, "o.user_id = ? AND o.family <> ?", userID, keep)
}

// RevokeUserSessions blacklists every refresh token of u (JWT mode; a
// no-op otherwise), e.g. when an app deactivates an account.
func (s *Service[U]) RevokeUserSessions(ctx context.Context, userID uint) error {
	if s.opt.JWT == nil {
		return nil
	}
	return s.withUserLock(ctx, userID, func(tx *gorm.DB) error { return s.revokeUserRefresh(tx, userID, "") })
}

// RevokeSession blacklists the refresh tokens of one family of userID
// (logout with only an access token).
func (s *Service[U]) RevokeSession(ctx context.Context, userID uint, family string) error {
	return s.withUserLock(ctx, userID, func(tx *gorm.DB) error {
		return s.revokeWhere(tx, "o.user_id = ? AND o.family = ?", userID, family)
	})
}

// lockUser takes the user's row lock (a no-op update). Every transaction
// that adds or revokes a user's refresh tokens takes it first, so a
// revocation waits for a rotation in flight and then sees its new token
// (PostgreSQL's READ COMMITTED would otherwise miss it). Login and
// password changes lock the row with their own first update.
func (s *Service[U]) lockUser(tx *gorm.DB, userID uint) error {
	if err := tx.Model(new(U)).Where("id = ?", userID).UpdateColumn("id", gorm.Expr("id")).Error; err != nil {
		return fmt.Errorf("restauth: lock user: %w", err)
	}
	return nil
}

func (s *Service[U]) withUserLock(ctx context.Context, userID uint, fn func(tx *gorm.DB) error) error {
	return s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lockUser(tx, userID); err != nil {
			return err
		}
		return fn(tx)
	})
}

// lookupRefresh verifies raw as a refresh token and loads its row.
func (s *Service[U]) lookupRefresh(tx *gorm.DB, raw string) (*models.OutstandingToken, error) {
	c, err := s.opt.JWT.Parse(raw, jwtauth.Refresh)
	if err != nil {
		return nil, ErrJWTInvalid()
	}
	uid, ok := ParseUserID(c.UserID)
	if !ok {
		return nil, ErrJWTInvalid()
	}
	// User first, then token: the one lock order of every such
	// transaction (see lockUser).
	if err := s.lockUser(tx, uid); err != nil {
		return nil, apierr.Unavailable(err)
	}
	// Write first: the no-op update locks the row (PostgreSQL) or the
	// database (SQLite) before anything is read, so concurrent uses of
	// one token run one after the other and the second sees the first's
	// blacklist row.
	lock := tx.Model(&models.OutstandingToken{}).Where("jti = ?", c.JTI).Update("jti", gorm.Expr("jti"))
	if lock.Error != nil {
		return nil, apierr.Unavailable(fmt.Errorf("restauth: lock refresh token: %w", lock.Error))
	}
	if lock.RowsAffected == 0 {
		return nil, ErrJWTInvalid()
	}
	var row models.OutstandingToken
	err = tx.Where("jti = ?", c.JTI).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrJWTInvalid()
	}
	if err != nil {
		return nil, apierr.Unavailable(fmt.Errorf("restauth: load refresh token: %w", err))
	}
	if UserIDString(row.UserID) != c.UserID || row.Family != c.SID {
		return nil, ErrJWTInvalid()
	}
	return &row, nil
}

// Refresh is token/refresh/: it checks raw, and returns a new access token
// (plus a new refresh token, the old one blacklisted, when rotate). A
// refresh token that was already blacklisted revokes its whole family:
// either the client or a thief holds a stale copy, and the server cannot
// tell which.
func (s *Service[U]) Refresh(ctx context.Context, raw string, rotate bool) (Credentials, error) {
	var out Credentials
	var family string
	reused := false
	err := s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lookupRefresh(tx, raw)
		if err != nil {
			return err
		}
		family = row.Family
		fresh, err := blacklistIf(tx, row.ID, s.Now(), rotate)
		if err != nil {
			return err
		}
		if !fresh {
			// Commit the revocation, then refuse.
			reused = true
			return s.revokeWhere(tx, "o.family = ?", row.Family)
		}
		u, err := s.UserByID(WithTx(ctx, tx), row.UserID)
		if err != nil {
			return apierr.Unavailable(err)
		}
		if u == nil || !Base(u).IsActive {
			return errNoActiveAccount()
		}
		if rotate {
			jti, err := jwtauth.NewID()
			if err != nil {
				return err
			}
			out, err = s.issueInFamily(WithTx(ctx, tx), u, row.Family, jti)
			return err
		}
		access, aexp, err := s.opt.JWT.Sign(jwtauth.Access, UserIDString(row.UserID), row.Family, "", s.claims(ctx, u))
		out = Credentials{Access: access, AccessExpires: aexp, Session: row.Family}
		return err
	})
	if err == nil && reused {
		s.opt.Logger.WarnContext(ctx, "restauth: a blacklisted refresh token was presented; its family is revoked", "family", family)
		return Credentials{}, ErrJWTInvalid()
	}
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return Credentials{}, ae
		}
		return Credentials{}, apierr.Unavailable(err)
	}
	return out, nil
}

// blacklistIf blacklists id when do is set and reports whether the token
// was live; without do it only checks.
func blacklistIf(tx *gorm.DB, id uint, now time.Time, do bool) (bool, error) {
	if do {
		return blacklist(tx, id, now)
	}
	var n int64
	if err := tx.Model(&models.BlacklistedToken{}).Where("token_id = ?", id).Count(&n).Error; err != nil {
		return false, fmt.Errorf("restauth: check blacklist: %w", err)
	}
	return n == 0, nil
}

// LogoutRefresh blacklists the refresh token raw and returns its user (nil
// if gone). A token already blacklisted revokes its family and answers
// 401, as at token/refresh/.
func (s *Service[U]) LogoutRefresh(ctx context.Context, raw string) (*U, error) {
	var userID uint
	reused := false
	err := s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lookupRefresh(tx, raw)
		if err != nil {
			return err
		}
		fresh, err := blacklist(tx, row.ID, s.Now())
		if err != nil {
			return err
		}
		if !fresh {
			// Commit the revocation, then refuse.
			reused = true
			return s.revokeWhere(tx, "o.family = ?", row.Family)
		}
		userID = row.UserID
		return nil
	})
	if err == nil && reused {
		s.opt.Logger.WarnContext(ctx, "restauth: a blacklisted refresh token was presented at logout; its family is revoked")
		return nil, ErrJWTInvalid()
	}
	if err != nil {
		var ae *apierr.Error
		if errors.As(err, &ae) {
			return nil, ae
		}
		return nil, apierr.Unavailable(err)
	}
	u, err := s.UserByID(ctx, userID)
	if err != nil {
		return nil, nil // the logout itself succeeded
	}
	return u, nil
}

// SessionLive reports whether family still has a refresh token that is
// not blacklisted and did not expire more than one access lifetime ago (an
// access token issued just before its refresh token expired stays valid
// to its own end).
func (s *Service[U]) SessionLive(ctx context.Context, family string) (bool, error) {
	if family == "" {
		return false, nil
	}
	out, bl := models.OutstandingToken{}.TableName(), models.BlacklistedToken{}.TableName()
	var n int64
	err := s.DB(ctx).Table(out+" AS o").
		Where("o.family = ? AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM "+bl+" b WHERE b.token_id = o.id)", family, s.Now().Add(-s.opt.JWT.AccessLifetime())).
		Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("restauth: check session: %w", err)
	}
	return n > 0, nil
}

// VerifyToken is token/verify/: any valid token of either type; a refresh
// token must also be live, and with checkRevoked so must an access
// token's family.
func (s *Service[U]) VerifyToken(ctx context.Context, raw string, checkRevoked bool) error {
	c, err := s.opt.JWT.Parse(raw, "")
	if err != nil {
		return ErrJWTInvalid()
	}
	if c.Type == jwtauth.Access && !checkRevoked {
		return nil
	}
	live, err := s.SessionLive(ctx, c.SID)
	if err != nil {
		return apierr.Unavailable(err)
	}
	if !live {
		return ErrJWTInvalid()
	}
	if c.Type == jwtauth.Refresh {
		var n int64
		err := s.DB(ctx).Table(models.OutstandingToken{}.TableName()+" AS o").
			Where("o.jti = ? AND NOT EXISTS (SELECT 1 FROM "+models.BlacklistedToken{}.TableName()+" b WHERE b.token_id = o.id)", c.JTI).
			Count(&n).Error
		if err != nil {
			return apierr.Unavailable(fmt.Errorf("restauth: check refresh token: %w", err))
		}
		if n == 0 {
			return ErrJWTInvalid()
		}
	}
	return nil
}

// PruneExpired deletes rows that can no longer authenticate anyone:
// expired refresh-token records (and their blacklist rows), expired token
// keys of the default store, and expired email confirmations. It returns
// how many rows went.
func (s *Service[U]) PruneExpired(ctx context.Context) (int64, error) {
	now := s.Now()
	var total int64
	db := s.DB(ctx)
	if s.opt.JWT != nil {
		// Rows stay an access lifetime past their expiry: SessionLive
		// still counts them.
		cutoff := now.Add(-s.opt.JWT.AccessLifetime())
		out := models.OutstandingToken{}.TableName()
		err := db.Transaction(func(tx *gorm.DB) error {
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
	}
	if p, ok := s.opt.Tokens.(interface {
		PruneExpired(context.Context) (int64, error)
	}); ok {
		n, err := p.PruneExpired(ctx)
		total += n
		if err != nil {
			return total, err
		}
	}
	res := db.Where("created_at <= ?", now.Add(-s.opt.EmailConfirmationExpire)).Delete(&models.EmailConfirmation{})
	if res.Error != nil {
		return total, fmt.Errorf("restauth: prune email confirmations: %w", res.Error)
	}
	return total + res.RowsAffected, nil
}
