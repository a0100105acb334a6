package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/markbates/goth"

	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// errPanic marks an error recovered from a panic in provider code.
var errPanic = errors.New("identity: provider code panicked")

// guard runs fn, turning a panic into an error (logged at Error with the
// provider's name): goth's provider code panics on unexpected profile
// shapes (SOCIAL.md §2.2, §2.3), and no request may end in a 500.
func (v *Verifier) guard(p *socialauth.Provider, what string, fn func() error) (err error) {
	defer func() {
		if rec := recover(); rec != nil {
			v.log.Error("social provider code panicked", "provider", p.Name, "call", what,
				"panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %s", errPanic, what)
		}
	}()
	return fn()
}

// fetchUser builds a goth session from sess (marshalled to JSON, the
// shape goth's session structs decode) and fetches the profile; secrets
// are kept out of the logs.
func (v *Verifier) fetchUser(p *socialauth.Provider, sess map[string]any, secrets ...string) (goth.User, error) {
	data, err := json.Marshal(sess)
	if err != nil {
		return goth.User{}, fmt.Errorf("identity: session JSON: %w", err)
	}
	var s goth.Session
	err = v.guard(p, "UnmarshalSession", func() error {
		var err error
		s, err = p.Goth.UnmarshalSession(string(data))
		if err == nil && s == nil {
			err = errors.New("nil session")
		}
		return err
	})
	if err != nil {
		v.log.Warn("social login refused: goth session failed", "provider", p.Name, "error", redact(err, secrets...))
		return goth.User{}, social.ErrIncorrectValue
	}
	return v.fetch(p, s, secrets...)
}

// fetch calls p.Goth.FetchUser(s); secrets are kept out of the logs.
func (v *Verifier) fetch(p *socialauth.Provider, s goth.Session, secrets ...string) (goth.User, error) {
	var u goth.User
	err := v.guard(p, "FetchUser", func() error {
		var err error
		u, err = p.Goth.FetchUser(s)
		return err
	})
	if err != nil {
		v.log.Info("social login refused: profile fetch failed", "provider", p.Name, "error", redact(err, secrets...))
		return goth.User{}, social.ErrIncorrectValue
	}
	return u, nil
}

// fromGothUser makes the identity of a goth profile.
func (v *Verifier) fromGothUser(ctx context.Context, p *socialauth.Provider, u goth.User, tk tokens) (social.Identity, error) {
	if err := v.checkUID(p, u.UserID); err != nil {
		return social.Identity{}, err
	}
	if u.RawData == nil {
		u.RawData = map[string]any{}
	}
	verified, err := v.verifiedEmail(ctx, p, u, socialauth.ProfileVerifiedEmail(u))
	if err != nil {
		return social.Identity{}, err
	}
	first, last := u.FirstName, u.LastName
	if first == "" && last == "" {
		first, last = splitName(u.Name)
	}
	id := social.Identity{
		UID:           u.UserID,
		Email:         u.Email,
		EmailVerified: verified,
		Username:      u.NickName,
		FirstName:     first,
		LastName:      last,
		ExtraData:     u.RawData,
		User:          u,
	}
	tk.apply(&id)
	return id, nil
}
