package core

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/emails"
	"github.com/restauth/restauth/internal/apierr"
	"github.com/restauth/restauth/locales"
	"github.com/restauth/restauth/models"
)

// Verification is the email verification mode (allauth's
// ACCOUNT_EMAIL_VERIFICATION).
type Verification string

// Verification modes.
const (
	VerificationNone      Verification = "none"
	VerificationOptional  Verification = "optional"
	VerificationMandatory Verification = "mandatory"
)

// Signup is the validated input of a registration.
type Signup struct {
	Username, Email, Password1, Password2 string
}

// RegisterResult is what Register made.
type RegisterResult struct {
	Credentials // a token key or JWT pair, when any was issued
}

// Register creates the user u (already carrying the app's extra fields),
// its primary EmailAddress, a confirmation key and (withToken) a token in
// one transaction; it sends the confirmation email after the commit.
// fieldErrs holds errors the caller found in its own fields; they are
// reported together with the built-in field checks.
func (s *Service[U]) Register(ctx context.Context, u *U, su Signup, withToken bool, fieldErrs apierr.Fields) (RegisterResult, error) {
	b := Base(u)
	// Field checks first (DRF validates fields before the object).
	if su.Username != "" {
		if other, err := s.UserByUsername(ctx, su.Username); err != nil {
			return RegisterResult{}, apierr.Unavailable(err)
		} else if other != nil {
			fieldErrs.Add("username", locales.M("user.username_taken"))
		}
	}
	if su.Email != "" {
		taken, err := s.emailTaken(ctx, su.Email)
		if err != nil {
			return RegisterResult{}, apierr.Unavailable(err)
		}
		if taken {
			fieldErrs.Add("email", locales.M("registration.email_taken"))
		}
	}
	b.Username, b.Email = su.Username, su.Email
	if !fieldErrs.Has("password1") && su.Password1 != "" {
		if msgs := s.ValidatePassword(su.Password1, b); len(msgs) > 0 {
			fieldErrs.Add("password1", msgs...)
		}
	}
	if e := fieldErrs.Err(); e != nil {
		return RegisterResult{}, e
	}
	if su.Password1 != su.Password2 {
		return RegisterResult{}, apierr.Field(apierr.NonField, locales.M("registration.password_mismatch"))
	}
	if b.Username == "" {
		name, err := s.freeUsername(ctx, su.Email)
		if err != nil {
			return RegisterResult{}, apierr.Unavailable(err)
		}
		b.Username = name
	}
	hash, err := s.opt.Hasher.Hash(su.Password1)
	if err != nil {
		return RegisterResult{}, apierr.Unavailable(fmt.Errorf("restauth: hash password: %w", err))
	}
	now := s.Now().Truncate(time.Microsecond)
	b.ID, b.Password, b.IsActive, b.DateJoined = 0, hash, true, now
	b.IsStaff, b.IsSuperuser, b.LastLogin = false, false, nil

	var res RegisterResult
	var confirmKey string
	sendConfirm := su.Email != "" && s.opt.EmailVerification != VerificationNone
	err = s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		tctx := WithTx(ctx, tx)
		// The first statement writes, so SQLite takes its write lock at
		// once (no read-then-upgrade deadlock between concurrent sign-ups).
		if err := tx.Create(u).Error; err != nil {
			return err
		}
		if su.Email != "" {
			addr := models.EmailAddress{UserID: b.ID, Email: su.Email, Primary: true}
			if err := tx.Create(&addr).Error; err != nil {
				return err
			}
			if sendConfirm {
				k, err := s.newConfirmation(tctx, addr.ID)
				if err != nil {
					return err
				}
				confirmKey = k
			}
		}
		if s.opt.EmailVerification != VerificationMandatory {
			c, err := s.issue(tctx, u, withToken, now)
			if err != nil {
				return err
			}
			res.Credentials = c
		}
		return nil
	})
	if err != nil {
		b.ID = 0
		if IsUniqueViolation(err) {
			if strings.Contains(strings.ToLower(err.Error()), "email") {
				return RegisterResult{}, apierr.Field("email", locales.M("registration.email_taken"))
			}
			return RegisterResult{}, apierr.Field("username", locales.M("user.username_taken"))
		}
		return RegisterResult{}, apierr.Unavailable(fmt.Errorf("restauth: register: %w", err))
	}
	if confirmKey != "" {
		s.sendConfirmation(ctx, b, su.Email, confirmKey)
	}
	run(ctx, s.Hooks.OnUserSignedUp, u)
	return res, nil
}

func (s *Service[U]) tokenExpiry(now time.Time) time.Time {
	if s.opt.TokenTTL > 0 {
		return now.Add(s.opt.TokenTTL)
	}
	return time.Time{}
}

// emailTaken reports whether any user or email address row holds email.
func (s *Service[U]) emailTaken(ctx context.Context, email string) (bool, error) {
	u, err := s.UserByEmail(ctx, email)
	if err != nil || u != nil {
		return u != nil, err
	}
	var n int64
	err = s.DB(ctx).Model(&models.EmailAddress{}).Where("lower(email) = lower(?)", email).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("restauth: find email: %w", err)
	}
	return n > 0, nil
}

var notUsernameChars = regexp.MustCompile(`[^\p{L}\p{N}@.+\-_]+`)

// freeUsername makes a username from the email's local part (allauth's
// behaviour when usernames are not asked for).
func (s *Service[U]) freeUsername(ctx context.Context, email string) (string, error) {
	base, _, _ := strings.Cut(email, "@")
	base = notUsernameChars.ReplaceAllString(base, "")
	if base == "" {
		base = "user"
	}
	if len([]rune(base)) > 140 {
		base = string([]rune(base)[:140])
	}
	name := base
	for range 10 {
		other, err := s.UserByUsername(ctx, name)
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

// newConfirmation stores a confirmation for address and returns its key.
func (s *Service[U]) newConfirmation(ctx context.Context, addressID uint) (string, error) {
	var sel [16]byte
	var ver [32]byte
	if _, err := rand.Read(sel[:]); err != nil {
		return "", fmt.Errorf("restauth: random: %w", err)
	}
	if _, err := rand.Read(ver[:]); err != nil {
		return "", fmt.Errorf("restauth: random: %w", err)
	}
	selector, verifier := hex.EncodeToString(sel[:]), hex.EncodeToString(ver[:])
	row := models.EmailConfirmation{EmailAddressID: addressID, Selector: selector, VerifierHash: Digest(verifier), CreatedAt: s.Now()}
	if err := s.DB(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("restauth: store confirmation: %w", err)
	}
	return selector + "-" + verifier, nil
}

func (s *Service[U]) sendConfirmation(ctx context.Context, b *models.User, email, key string) {
	link := strings.ReplaceAll(s.opt.EmailConfirmURL, "{key}", key)
	msg, err := s.opt.Templates.Render(emails.TemplateEmailConfirmation, emails.EmailConfirmationData{
		User: b.Username, ActivateURL: link, SiteName: s.opt.SiteName, Key: key,
	})
	if err != nil {
		s.opt.Logger.ErrorContext(ctx, "restauth: render confirmation email", "err", err)
		return
	}
	msg.To = []string{email}
	s.SendMail(msg)
}

// notFound is verify-email/'s one answer for every bad key.
func notFound() error { return apierr.Detail(http.StatusNotFound, locales.M("request.not_found")) }

// ConfirmEmail is verify-email/: a valid, unexpired, unused key marks its
// address verified and primary. Anything else is 404.
func (s *Service[U]) ConfirmEmail(ctx context.Context, key string) (*U, error) {
	selector, verifier, ok := strings.Cut(key, "-")
	if !ok || len(selector) != 32 || len(verifier) != 64 {
		return nil, notFound()
	}
	var row models.EmailConfirmation
	err := s.DB(ctx).Where("selector = ?", selector).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, apierr.Unavailable(fmt.Errorf("restauth: find confirmation: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(Digest(verifier)), []byte(row.VerifierHash)) != 1 {
		return nil, notFound()
	}
	if s.Now().Sub(row.CreatedAt) > s.opt.EmailConfirmationExpire {
		return nil, notFound()
	}
	var addr models.EmailAddress
	err = s.opt.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Deleting the row first makes the key single-use even against a
		// concurrent confirmation: only one delete finds it.
		del := tx.Where("id = ?", row.ID).Delete(&models.EmailConfirmation{})
		if del.Error != nil {
			return del.Error
		}
		if del.RowsAffected != 1 {
			return errUsed
		}
		if err := tx.Where("id = ?", row.EmailAddressID).Take(&addr).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.EmailAddress{}).Where("user_id = ? AND id <> ?", addr.UserID, addr.ID).
			Update("is_primary", false).Error; err != nil {
			return err
		}
		if err := tx.Model(&models.EmailAddress{}).Where("id = ?", addr.ID).
			Updates(map[string]any{"verified": true, "is_primary": true}).Error; err != nil {
			return err
		}
		return tx.Where("email_address_id = ?", addr.ID).Delete(&models.EmailConfirmation{}).Error
	})
	if errors.Is(err, errUsed) || errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, notFound()
	}
	if err != nil {
		return nil, apierr.Unavailable(fmt.Errorf("restauth: confirm email: %w", err))
	}
	u, err := s.UserByID(ctx, addr.UserID)
	if err != nil {
		return nil, apierr.Unavailable(err)
	}
	if u != nil {
		run(ctx, s.Hooks.OnEmailConfirmed, u)
	}
	return u, nil
}

var errUsed = errors.New("restauth: confirmation already used")

// ResendConfirmation is resend-email/: a new key goes to an existing,
// unverified address at most once per cooldown; otherwise nothing happens
// (and the caller answers the same either way).
func (s *Service[U]) ResendConfirmation(ctx context.Context, email string) error {
	if s.opt.EmailVerification == VerificationNone {
		return nil
	}
	var addr models.EmailAddress
	err := s.DB(ctx).Where("lower(email) = lower(?)", email).Take(&addr).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: find address: %w", err))
	}
	if addr.Verified {
		return nil
	}
	var recent int64
	err = s.DB(ctx).Model(&models.EmailConfirmation{}).
		Where("email_address_id = ? AND created_at > ?", addr.ID, s.Now().Add(-s.opt.EmailConfirmationCooldown)).
		Count(&recent).Error
	if err != nil {
		return apierr.Unavailable(fmt.Errorf("restauth: check cooldown: %w", err))
	}
	if recent > 0 {
		return nil
	}
	u, err := s.UserByID(ctx, addr.UserID)
	if err != nil {
		return apierr.Unavailable(err)
	}
	if u == nil || !Base(u).IsActive {
		return nil
	}
	key, err := s.newConfirmation(ctx, addr.ID)
	if err != nil {
		return apierr.Unavailable(err)
	}
	s.sendConfirmation(ctx, Base(u), addr.Email, key)
	return nil
}

// HasVerifiedEmail reports whether the user has a verified address.
func (s *Service[U]) HasVerifiedEmail(ctx context.Context, userID uint) (bool, error) {
	var n int64
	err := s.DB(ctx).Model(&models.EmailAddress{}).Where("user_id = ? AND verified = ?", userID, true).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("restauth: check verified email: %w", err)
	}
	return n > 0, nil
}
