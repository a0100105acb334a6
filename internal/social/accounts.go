package social

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/markbates/goth"
	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/confirm"
	"github.com/restauth/restauth/internal/dbx"
	"github.com/restauth/restauth/internal/hooks"
	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/internal/login"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/users"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/password"
)

// Rules are one provider's account rules.
type Rules struct {
	// Name is the provider's route name (SocialAccount.Provider).
	Name string
	// EmailAuthentication logs a new identity with a verified email in as
	// the user who has that address; AutoConnect also links it.
	EmailAuthentication, AutoConnect bool
}

// Hooks are the social callbacks of one Plugin[U].
type Hooks[U any] struct {
	// OnSignUp runs after a social sign-up commits.
	OnSignUp []func(ctx context.Context, u *U, acct *models.SocialAccount, gu goth.User)
	// OnAdded runs after an account is linked to an existing user.
	OnAdded []func(ctx context.Context, u *U, acct *models.SocialAccount)
	// OnRemoved runs after an account is disconnected.
	OnRemoved []func(ctx context.Context, u *U, acct *models.SocialAccount)
	// Populate fills the app's columns of a new user before it is saved.
	Populate func(ctx context.Context, u *U, gu goth.User) error
}

// Accounts applies the account rules of social logins.
type Accounts[U any] struct {
	DB            *gorm.DB
	Users         *users.Users[U]
	Confirmations *confirm.Confirmations
	Pipeline      *login.Pipeline[U]
	// Revoke ends every login of a user (token keys and JWT families).
	Revoke func(ctx context.Context, userID uint) error
	// AutoSignup creates users for new identities.
	AutoSignup bool
	// Mandatory is mandatory email verification (the disconnect rule).
	Mandatory bool
	// Confirm, when set, mails a confirmation key for an unverified
	// address of a new user (verification optional or mandatory); it
	// runs after the commit.
	Confirm func(ctx context.Context, u *U, email, key string)
	// Box encrypts provider tokens; nil means they are not stored.
	Box   *Box
	Hooks *hooks.Hooks[U]
	// Social are the social hooks.
	Social *Hooks[U]
}

// Result is a social login's outcome.
type Result[U any] struct {
	User        *U
	Credentials login.Credentials
	SignedUp    bool
}

func (a *Accounts[U]) now() time.Time { return a.Users.Now() }

// find loads the account of (provider, uid); nil when there is none.
func (a *Accounts[U]) find(ctx context.Context, provider, uid string) (*models.SocialAccount, error) {
	var acct models.SocialAccount
	res := dbx.DB(ctx, a.DB).Where("provider = ? AND uid = ?", provider, uid).Limit(1).Find(&acct)
	if res.Error != nil {
		return nil, fmt.Errorf("restauth: load social account: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, nil
	}
	return &acct, nil
}

// find loads the account of (provider, uid) with its user; an account
// whose user the app deleted is removed and counts as none.
func (a *Accounts[U]) findWithUser(ctx context.Context, provider, uid string) (*models.SocialAccount, *U, error) {
	acct, err := a.find(ctx, provider, uid)
	if err != nil || acct == nil {
		return nil, nil, err
	}
	u, err := a.Users.ByID(ctx, acct.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u == nil {
		if err := dbx.DB(ctx, a.DB).Where("id = ?", acct.ID).Delete(&models.SocialAccount{}).Error; err != nil {
			return nil, nil, fmt.Errorf("restauth: delete orphaned social account: %w", err)
		}
		return nil, nil, nil
	}
	return acct, u, nil
}

// refresh updates an existing account from a new login: extra_data,
// last_login and the stored token.
func (a *Accounts[U]) refresh(ctx context.Context, acct *models.SocialAccount, id Identity) error {
	acct.ExtraData, acct.LastLogin = nonNil(id.ExtraData), a.now()
	return dbx.Transaction(ctx, a.DB, func(ctx context.Context, tx *gorm.DB) error {
		// Through the model, so that ExtraData's JSON serializer runs.
		if err := tx.Model(acct).Select("extra_data", "last_login").Updates(acct).Error; err != nil {
			return fmt.Errorf("restauth: update social account: %w", err)
		}
		return a.storeToken(ctx, acct.ID, id)
	})
}

func nonNil(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// insert adds the account of id for userID.
func (a *Accounts[U]) insert(ctx context.Context, provider string, userID uint, id Identity) (*models.SocialAccount, error) {
	now := a.now()
	acct := &models.SocialAccount{UserID: userID, Provider: provider, UID: id.UID, LastLogin: now, DateJoined: now, ExtraData: nonNil(id.ExtraData)}
	if err := dbx.DB(ctx, a.DB).Create(acct).Error; err != nil {
		return nil, fmt.Errorf("restauth: create social account: %w", err)
	}
	return acct, a.storeToken(ctx, acct.ID, id)
}

// storeToken keeps the provider's token, encrypted, when the app asked.
func (a *Accounts[U]) storeToken(ctx context.Context, accountID uint, id Identity) error {
	if a.Box == nil || id.Token == "" {
		return nil
	}
	tok, err := a.Box.Seal(id.Token)
	if err != nil {
		return err
	}
	sec, err := a.Box.Seal(id.Secret)
	if err != nil {
		return err
	}
	db := dbx.DB(ctx, a.DB)
	if err := db.Where("social_account_id = ?", accountID).Delete(&models.SocialToken{}).Error; err != nil {
		return fmt.Errorf("restauth: store social token: %w", err)
	}
	row := models.SocialToken{SocialAccountID: accountID, Token: tok, TokenSecret: sec, ExpiresAt: id.ExpiresAt}
	if err := db.Create(&row).Error; err != nil {
		return fmt.Errorf("restauth: store social token: %w", err)
	}
	return nil
}

// Token returns the stored token of an account, decrypted; ok is false
// when there is none.
func (a *Accounts[U]) Token(ctx context.Context, accountID uint) (token, tokenSecret string, expires *time.Time, ok bool, err error) {
	if a.Box == nil {
		return "", "", nil, false, nil
	}
	var row models.SocialToken
	res := dbx.DB(ctx, a.DB).Where("social_account_id = ?", accountID).Limit(1).Find(&row)
	if res.Error != nil {
		return "", "", nil, false, fmt.Errorf("restauth: load social token: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return "", "", nil, false, nil
	}
	if token, err = a.Box.Open(row.Token); err != nil {
		return "", "", nil, false, err
	}
	if tokenSecret, err = a.Box.Open(row.TokenSecret); err != nil {
		return "", "", nil, false, err
	}
	return token, tokenSecret, row.ExpiresAt, true, nil
}

// isUnique reports whether err is a unique violation.
func (a *Accounts[U]) isUnique(err error) bool {
	if errors.Is(err, users.ErrEmailTaken) || errors.Is(err, users.ErrUsernameTaken) || errors.Is(err, confirm.ErrAddressTaken) {
		return true
	}
	_, ok := a.Confirmations.Unique(err)
	return ok
}

// Login logs the verified identity in at provider p: its existing
// account, else email authentication, else a new user.
func (a *Accounts[U]) Login(ctx context.Context, p Rules, id Identity) (Result[U], error) {
	id = id.sanitized()
	// Two attempts: a concurrent first login of the same identity makes
	// the second sign-up fail on a unique index; it then finds the
	// account the first one made.
	var err error
	for range 2 {
		var res Result[U]
		res, err = a.login(ctx, p, id)
		if err == nil || !a.isUnique(err) {
			return res, err
		}
	}
	// Still a unique violation: another user got the address first.
	if errors.Is(err, users.ErrUsernameTaken) {
		return Result[U]{}, err
	}
	return Result[U]{}, ErrEmailTaken
}

func (a *Accounts[U]) login(ctx context.Context, p Rules, id Identity) (Result[U], error) {
	acct, u, err := a.findWithUser(ctx, p.Name, id.UID)
	if err != nil {
		return Result[U]{}, err
	}
	if acct != nil {
		return a.existing(ctx, acct, u, id)
	}
	if p.EmailAuthentication && id.EmailVerified && id.Email != "" {
		u, verified, err := a.byEmail(ctx, id.Email)
		if err != nil {
			return Result[U]{}, err
		}
		if u != nil {
			return a.emailLogin(ctx, p, id, u, verified)
		}
	}
	if id.Email != "" {
		taken, err := a.emailTaken(ctx, id.Email)
		if err != nil {
			return Result[U]{}, err
		}
		if taken {
			// A concurrent first login of this same identity may have
			// signed it up since the lookup above.
			acct, u, err := a.findWithUser(ctx, p.Name, id.UID)
			if err != nil {
				return Result[U]{}, err
			}
			if acct != nil {
				return a.existing(ctx, acct, u, id)
			}
			return Result[U]{}, ErrEmailTaken
		}
	}
	if !a.AutoSignup {
		return Result[U]{}, ErrSignupClosed
	}
	return a.signup(ctx, p, id)
}

// existing logs id in through its account acct.
func (a *Accounts[U]) existing(ctx context.Context, acct *models.SocialAccount, u *U, id Identity) (Result[U], error) {
	if err := a.refresh(ctx, acct, id); err != nil {
		return Result[U]{}, err
	}
	cred, err := a.Pipeline.Login(ctx, u)
	return Result[U]{User: u, Credentials: cred}, err
}

// byEmail finds the user who has email: a verified address row first,
// then any address row, then the user's own email column.
func (a *Accounts[U]) byEmail(ctx context.Context, email string) (u *U, verified bool, err error) {
	var addrs []models.EmailAddress
	if err := dbx.DB(ctx, a.DB).Where("email_key = ? AND email_key <> ''", ident.EmailKey(email)).Order("verified desc, id").Limit(1).Find(&addrs).Error; err != nil {
		return nil, false, fmt.Errorf("restauth: find email: %w", err)
	}
	if len(addrs) == 1 {
		u, err := a.Users.ByID(ctx, addrs[0].UserID)
		return u, addrs[0].Verified && u != nil, err
	}
	u, err = a.Users.ByEmail(ctx, email)
	return u, false, err
}

// emailTaken reports whether a user or an address row holds email.
func (a *Accounts[U]) emailTaken(ctx context.Context, email string) (bool, error) {
	u, err := a.Users.ByEmail(ctx, email)
	if err != nil || u != nil {
		return u != nil, err
	}
	return a.Confirmations.EmailTaken(ctx, email)
}

// emailLogin logs id in as u, who has its (provider-verified) email. When
// u's own address is unverified, someone may have registered it before
// its owner (pre-account hijacking): u's password becomes unusable and
// u's sessions end.
func (a *Accounts[U]) emailLogin(ctx context.Context, p Rules, id Identity, u *U, verified bool) (Result[U], error) {
	b := users.Base(u)
	// An inactive user is refused before anything changes.
	if !b.IsActive {
		return Result[U]{}, login.ErrInactive
	}
	var added *models.SocialAccount
	err := dbx.Transaction(ctx, a.DB, func(ctx context.Context, tx *gorm.DB) error {
		if !verified {
			// Whoever registered the address before its owner proved it
			// loses every way in: the password, the logins, and the
			// social accounts linked so far. The provider has just
			// verified the address, so it is marked verified (and this
			// happens once).
			unusable, err := unusablePassword()
			if err != nil {
				return err
			}
			if err := tx.Model(new(U)).Where("id = ?", b.ID).Update("password", unusable).Error; err != nil {
				return fmt.Errorf("restauth: wipe password: %w", err)
			}
			b.Password = unusable
			if err := a.Revoke(ctx, b.ID); err != nil {
				return err
			}
			if err := a.deleteAccounts(tx, b.ID); err != nil {
				return err
			}
			if err := a.Confirmations.MarkVerified(ctx, b.ID, id.Email); err != nil {
				return err
			}
		}
		if p.AutoConnect {
			acct, err := a.insert(ctx, p.Name, b.ID, id)
			if err != nil {
				return err
			}
			added = acct
		}
		return nil
	})
	if err != nil {
		return Result[U]{}, err
	}
	if added != nil {
		a.added(ctx, u, added)
	}
	cred, err := a.Pipeline.Login(ctx, u)
	return Result[U]{User: u, Credentials: cred}, err
}

// deleteAccounts removes every social account of a user, with their
// stored tokens.
func (a *Accounts[U]) deleteAccounts(tx *gorm.DB, userID uint) error {
	if a.Box != nil {
		sub := tx.Model(&models.SocialAccount{}).Select("id").Where("user_id = ?", userID)
		if err := tx.Where("social_account_id IN (?)", sub).Delete(&models.SocialToken{}).Error; err != nil {
			return fmt.Errorf("restauth: delete social tokens: %w", err)
		}
	}
	if err := tx.Where("user_id = ?", userID).Delete(&models.SocialAccount{}).Error; err != nil {
		return fmt.Errorf("restauth: delete social accounts: %w", err)
	}
	return nil
}

// unusablePassword is Django's set_unusable_password value.
func unusablePassword() (string, error) {
	s, err := secret.Hex(20)
	if err != nil {
		return "", err
	}
	return password.UnusablePrefix + s, nil
}

// signup creates a user for id with its address and account in one
// transaction and, when the login checks let it in, its credentials.
// Under mandatory verification of an unverified address it answers
// login.ErrUnverified after committing the user and mailing the key.
func (a *Accounts[U]) signup(ctx context.Context, p Rules, id Identity) (Result[U], error) {
	username, err := pickUsername(ctx, func(ctx context.Context, name string) (bool, error) {
		u, err := a.Users.ByUsername(ctx, name)
		return u != nil, err
	}, id)
	if err != nil {
		return Result[U]{}, err
	}
	unusable, err := unusablePassword()
	if err != nil {
		return Result[U]{}, err
	}
	u := new(U)
	b := users.Base(u)
	b.Username, b.Email, b.FirstName, b.LastName = username, id.Email, id.FirstName, id.LastName
	b.Password, b.IsActive, b.DateJoined = unusable, true, a.now()
	if pop := a.Social.Populate; pop != nil {
		if err := pop(ctx, u, id.User); err != nil {
			return Result[U]{}, err
		}
		// The hook fills the app's columns; these stay restauth's.
		b.ID, b.Password, b.IsStaff, b.IsSuperuser, b.LastLogin = 0, unusable, false, false, nil
	}
	var (
		acct      *models.SocialAccount
		cred      *login.Credentials
		key       string
		refused   error
		mailEmail string
	)
	err = dbx.Transaction(ctx, a.DB, func(ctx context.Context, _ *gorm.DB) error {
		if err := a.Users.Create(ctx, u); err != nil {
			return err
		}
		if id.Email != "" {
			addr, err := a.Confirmations.AddAddress(ctx, models.EmailAddress{UserID: b.ID, Email: id.Email, Primary: true, Verified: id.EmailVerified})
			if err != nil {
				return err
			}
			if !id.EmailVerified && a.Confirm != nil {
				if key, err = a.Confirmations.NewKey(ctx, addr); err != nil {
					return err
				}
				mailEmail = id.Email
			}
		}
		var err error
		if acct, err = a.insert(ctx, p.Name, b.ID, id); err != nil {
			return err
		}
		err = a.Pipeline.Check(ctx, u)
		if errors.Is(err, login.ErrUnverified) {
			refused = err
			return nil
		}
		if err != nil {
			return err
		}
		c, err := a.Pipeline.Record(ctx, u)
		cred = &c
		return err
	})
	if err != nil {
		b.ID = 0
		return Result[U]{}, err
	}
	if key != "" {
		a.Confirm(ctx, u, mailEmail, key)
	}
	for _, fn := range a.Social.OnSignUp {
		fn(ctx, u, acct, id.User)
	}
	hooks.Run(ctx, a.Hooks.OnUserSignedUp, u)
	if refused != nil {
		return Result[U]{User: u, SignedUp: true}, refused
	}
	a.Pipeline.Finish(ctx, u)
	return Result[U]{User: u, Credentials: *cred, SignedUp: true}, nil
}

func (a *Accounts[U]) added(ctx context.Context, u *U, acct *models.SocialAccount) {
	for _, fn := range a.Social.OnAdded {
		fn(ctx, u, acct)
	}
}

// Connect links id to u (connect/): an account u already has is
// refreshed, one another user has answers ErrConnectedOther; then u gets
// new credentials, as a login.
func (a *Accounts[U]) Connect(ctx context.Context, u *U, p Rules, id Identity) (login.Credentials, error) {
	id = id.sanitized()
	b := users.Base(u)
	var added *models.SocialAccount
	for attempt := 0; ; attempt++ {
		acct, _, err := a.findWithUser(ctx, p.Name, id.UID)
		if err != nil {
			return login.Credentials{}, err
		}
		if acct != nil {
			if acct.UserID != b.ID {
				return login.Credentials{}, ErrConnectedOther
			}
			if err := a.refresh(ctx, acct, id); err != nil {
				return login.Credentials{}, err
			}
			break
		}
		err = dbx.Transaction(ctx, a.DB, func(ctx context.Context, _ *gorm.DB) error {
			var err error
			added, err = a.insert(ctx, p.Name, b.ID, id)
			return err
		})
		if err == nil {
			break
		}
		added = nil
		if attempt > 0 || !a.isUnique(err) {
			return login.Credentials{}, err
		}
	}
	if added != nil {
		a.added(ctx, u, added)
	}
	return a.Pipeline.Login(ctx, u)
}

// List returns u's accounts by id.
func (a *Accounts[U]) List(ctx context.Context, userID uint) ([]models.SocialAccount, error) {
	rows := []models.SocialAccount{}
	if err := dbx.DB(ctx, a.DB).Where("user_id = ?", userID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("restauth: list social accounts: %w", err)
	}
	return rows, nil
}

// ErrNotFound is a disconnect of an account that is not the user's.
var ErrNotFound = errors.New("restauth: social account not found")

// Disconnect removes u's account accountID and its stored token. The
// last account of a user without a usable password (or, under mandatory
// verification, without a verified address) stays: it is the only way
// in.
func (a *Accounts[U]) Disconnect(ctx context.Context, u *U, accountID uint) error {
	b := users.Base(u)
	var acct models.SocialAccount
	err := dbx.Transaction(ctx, a.DB, func(ctx context.Context, tx *gorm.DB) error {
		// The user's row lock orders concurrent disconnects, so two of
		// them cannot both remove "not the last" account.
		if err := a.Users.Lock(ctx, b.ID); err != nil {
			return err
		}
		res := tx.Where("id = ? AND user_id = ?", accountID, b.ID).Limit(1).Find(&acct)
		if res.Error != nil {
			return fmt.Errorf("restauth: load social account: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		var n int64
		if err := tx.Model(&models.SocialAccount{}).Where("user_id = ?", b.ID).Count(&n).Error; err != nil {
			return fmt.Errorf("restauth: count social accounts: %w", err)
		}
		if n == 1 {
			var pw string
			if err := tx.Model(new(U)).Where("id = ?", b.ID).Select("password").Scan(&pw).Error; err != nil {
				return fmt.Errorf("restauth: load password: %w", err)
			}
			if !password.IsUsable(pw) {
				return ErrNoPassword
			}
			if a.Mandatory {
				ok, err := a.Confirmations.HasVerified(ctx, b.ID)
				if err != nil {
					return err
				}
				if !ok {
					return ErrNoVerifiedEmail
				}
			}
		}
		if a.Box != nil {
			if err := tx.Where("social_account_id = ?", acct.ID).Delete(&models.SocialToken{}).Error; err != nil {
				return fmt.Errorf("restauth: delete social token: %w", err)
			}
		}
		if err := tx.Where("id = ?", acct.ID).Delete(&models.SocialAccount{}).Error; err != nil {
			return fmt.Errorf("restauth: delete social account: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, fn := range a.Social.OnRemoved {
		fn(ctx, u, &acct)
	}
	return nil
}

// Migrate creates the social tables.
func Migrate(ctx context.Context, db *gorm.DB, storeTokens bool) error {
	tables := []any{&models.SocialAccount{}, &models.UsedIDToken{}, &models.SocialAuthorization{}}
	if storeTokens {
		tables = append(tables, &models.SocialToken{})
	}
	if err := db.WithContext(ctx).AutoMigrate(tables...); err != nil {
		return fmt.Errorf("restauth: migrate social tables: %w", err)
	}
	return nil
}

// Prune deletes expired used id_tokens and authorization flows.
func Prune(ctx context.Context, db *gorm.DB, now time.Time) (int64, error) {
	var total int64
	for _, m := range []any{&models.UsedIDToken{}, &models.SocialAuthorization{}} {
		res := db.WithContext(ctx).Where("expires_at <= ?", now.UTC()).Delete(m)
		if res.Error != nil {
			return total, fmt.Errorf("restauth: prune social rows: %w", res.Error)
		}
		total += res.RowsAffected
	}
	return total, nil
}
