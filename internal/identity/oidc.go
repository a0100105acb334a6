package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth"

	"github.com/restauth/restauth/internal/social"
	"github.com/restauth/restauth/socialauth"
)

// DefaultAlgorithms are the id_token signing algorithms accepted when a
// provider's OIDCConfig.Algorithms is empty.
var DefaultAlgorithms = []string{oidc.RS256, oidc.ES256}

// maxUserInfoBytes bounds a userinfo response.
const maxUserInfoBytes = 1 << 20

// idTokenInput is an id_token to verify and how.
type idTokenInput struct {
	raw string
	// nonce is the request's nonce ("" = none); exactNonce accepts only
	// the nonce itself (restauth's own flow), not its SHA-256.
	nonce      string
	exactNonce bool
	// clientPosted applies the nonce requirement and the replay check (tokens
	// from the token endpoint skip both).
	clientPosted bool
	// accessToken is checked against at_hash when the token has one.
	accessToken string
	// userInfo completes the claims from OIDC.UserInfoURL with
	// accessToken.
	userInfo bool
}

// verifiedToken is what a verified id_token says.
type verifiedToken struct {
	claims  map[string]any
	subject string
	expiry  time.Time
	jti     string
}

// verifierEntry caches one provider configuration's go-oidc verifier;
// its mutex serialises the (lazy, retried) discovery.
type verifierEntry struct {
	mu sync.Mutex
	v  *oidc.IDTokenVerifier
}

// fromIDToken verifies an id_token and makes the identity of its claims.
func (v *Verifier) fromIDToken(ctx context.Context, p *socialauth.Provider, in idTokenInput, tk tokens) (social.Identity, error) {
	vt, err := v.verifyIDToken(ctx, p, in)
	if err != nil {
		return social.Identity{}, err
	}
	if in.userInfo && p.OIDC.UserInfoURL != "" {
		if err := v.mergeUserInfo(ctx, p, in.accessToken, vt); err != nil {
			return social.Identity{}, err
		}
	}
	id, err := v.fromClaims(ctx, p, vt, in.raw, tk)
	if err != nil {
		return social.Identity{}, err
	}
	if in.clientPosted && v.replay != nil {
		subject := vt.jti
		if subject == "" {
			subject = in.raw
		}
		sum := sha256.Sum256([]byte(p.Name + "\x00" + subject))
		fresh, err := v.replay.Use(ctx, hex.EncodeToString(sum[:]), vt.expiry)
		if err != nil {
			return social.Identity{}, fmt.Errorf("identity: remembering id_token: %w", err)
		}
		if !fresh {
			v.log.Info("social login refused: id_token replayed", "provider", p.Name)
			return social.Identity{}, social.ErrIncorrectValue
		}
	}
	return id, nil
}

// verifyIDToken checks raw's signature, algorithm, issuer, expiry and
// nbf (go-oidc), then audience/azp, nonce and at_hash.
func (v *Verifier) verifyIDToken(ctx context.Context, p *socialauth.Provider, in idTokenInput) (*verifiedToken, error) {
	refuse := func(reason string, args ...any) (*verifiedToken, error) {
		v.log.Info("social login refused: id_token "+reason, append([]any{"provider", p.Name}, args...)...)
		return nil, social.ErrIncorrectValue
	}
	auds := audiences(p)
	if len(auds) == 0 {
		v.log.Error("social login refused: provider has no id_token audiences (OIDC.Audiences or OAuth2.ClientID)", "provider", p.Name)
		return nil, social.ErrIncorrectValue
	}
	ver, err := v.idVerifier(ctx, p)
	if err != nil {
		v.log.Warn("social login refused: no id_token verifier", "provider", p.Name, "error", err)
		return nil, social.ErrIncorrectValue
	}
	tok, err := ver.Verify(ctx, in.raw)
	if err != nil {
		return refuse("failed verification", "error", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil || claims == nil {
		return refuse("claims unreadable", "error", err)
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(auds, a) }) {
		return refuse("audience not accepted", "aud", tok.Audience)
	}
	if len(tok.Audience) > 1 {
		azp, _ := claims["azp"].(string)
		if !slices.Contains(auds, azp) {
			return refuse("azp not accepted for a token with several audiences", "azp", azp)
		}
	}
	switch {
	case in.nonce != "":
		if !nonceMatches(tok.Nonce, in.nonce, in.exactNonce) {
			return refuse("nonce mismatch")
		}
	case in.clientPosted && !p.OIDC.AllowMissingNonce:
		return refuse("without the required nonce")
	}
	if in.accessToken != "" && tok.AccessTokenHash != "" {
		if err := tok.VerifyAccessToken(in.accessToken); err != nil {
			return refuse("at_hash mismatch", "error", err)
		}
	}
	jti, _ := claims["jti"].(string)
	return &verifiedToken{claims: claims, subject: tok.Subject, expiry: tok.Expiry, jti: jti}, nil
}

// audiences are the client ids p's tokens may be issued to.
func audiences(p *socialauth.Provider) []string {
	if len(p.OIDC.Audiences) > 0 {
		return p.OIDC.Audiences
	}
	if p.OAuth2 != nil && p.OAuth2.ClientID != "" {
		return []string{p.OAuth2.ClientID}
	}
	return nil
}

// nonceMatches compares a token's nonce with the request's: the nonce
// itself, or (unless exact) its SHA-256 in hex or base64url.
func nonceMatches(got, want string, exact bool) bool {
	if got == "" {
		return false
	}
	ok := subtle.ConstantTimeCompare([]byte(got), []byte(want))
	if !exact {
		sum := sha256.Sum256([]byte(want))
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(hex.EncodeToString(sum[:])))
		ok |= subtle.ConstantTimeCompare([]byte(got), []byte(base64.RawURLEncoding.EncodeToString(sum[:])))
	}
	return ok == 1
}

// signingAlgs returns the accepted algorithms, refusing "none" and HMAC.
func signingAlgs(configured []string) ([]string, error) {
	if len(configured) == 0 {
		return DefaultAlgorithms, nil
	}
	for _, a := range configured {
		if strings.EqualFold(a, "none") || strings.HasPrefix(strings.ToUpper(a), "HS") {
			return nil, fmt.Errorf("identity: signing algorithm %q is never accepted", a)
		}
	}
	return configured, nil
}

// idVerifier returns the cached go-oidc verifier of p's configuration,
// building it on first use (discovery when JWKSURL is "", retried after
// a failure).
func (v *Verifier) idVerifier(ctx context.Context, p *socialauth.Provider) (*oidc.IDTokenVerifier, error) {
	cfg := p.OIDC
	if cfg.Issuer == "" {
		return nil, errors.New("identity: OIDC.Issuer is empty")
	}
	algs, err := signingAlgs(cfg.Algorithms)
	if err != nil {
		return nil, err
	}
	key := strings.Join([]string{p.Name, cfg.Issuer, cfg.JWKSURL, strings.Join(algs, ",")}, "\x00")
	v.mu.Lock()
	e := v.verifiers[key]
	if e == nil {
		e = &verifierEntry{}
		v.verifiers[key] = e
	}
	v.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.v != nil {
		return e.v, nil
	}
	oc := &oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: algs, Now: v.now}
	// The key set outlives the request: it keeps the client, not the
	// request's cancellation.
	keyCtx := oidc.ClientContext(context.Background(), v.client)
	if cfg.JWKSURL != "" {
		e.v = oidc.NewVerifier(cfg.Issuer, oidc.NewRemoteKeySet(keyCtx, cfg.JWKSURL), oc)
		return e.v, nil
	}
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, v.client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("identity: OIDC discovery: %w", err)
	}
	e.v = prov.VerifierContext(keyCtx, oc)
	return e.v, nil
}

// mergeUserInfo reads p.OIDC.UserInfoURL with accessToken and adds the
// claims the id_token lacks (the signed claims win). A failure, or a sub
// other than the id_token's, refuses the login.
func (v *Verifier) mergeUserInfo(ctx context.Context, p *socialauth.Provider, accessToken string, vt *verifiedToken) error {
	fail := func(reason string, args ...any) error {
		v.log.Warn("social login refused: userinfo "+reason, append([]any{"provider", p.Name}, args...)...)
		return social.ErrIncorrectValue
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.OIDC.UserInfoURL, nil)
	if err != nil {
		return fail("request", "error", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return fail("request failed", "error", redact(err, accessToken))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail("answered an error", "status", resp.StatusCode)
	}
	var info map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxUserInfoBytes)).Decode(&info); err != nil || info == nil {
		return fail("is not a JSON object", "error", err)
	}
	if sub, _ := info["sub"].(string); sub != vt.subject {
		return fail("sub differs from the id_token's")
	}
	for k, val := range info {
		if _, ok := vt.claims[k]; !ok {
			vt.claims[k] = val
		}
	}
	return nil
}

// fromClaims makes the identity of verified claims.
func (v *Verifier) fromClaims(ctx context.Context, p *socialauth.Provider, vt *verifiedToken, raw string, tk tokens) (social.Identity, error) {
	if err := v.checkUID(p, vt.subject); err != nil {
		return social.Identity{}, err
	}
	c := vt.claims
	first, last := str(c, "given_name"), str(c, "family_name")
	name := str(c, "name")
	if first == "" && last == "" {
		first, last = splitName(name)
	}
	if name == "" {
		name = strings.TrimSpace(first + " " + last)
	}
	u := goth.User{
		RawData:      c,
		Provider:     p.Name,
		Email:        str(c, "email"),
		Name:         name,
		FirstName:    first,
		LastName:     last,
		NickName:     str(c, "preferred_username"),
		UserID:       vt.subject,
		AvatarURL:    str(c, "picture"),
		AccessToken:  tk.token,
		RefreshToken: tk.secret,
		ExpiresAt:    tk.expires,
		IDToken:      raw,
	}
	verified, err := v.verifiedEmail(ctx, p, u, truthy(c["email_verified"]))
	if err != nil {
		return social.Identity{}, err
	}
	id := social.Identity{
		UID:           vt.subject,
		Email:         u.Email,
		EmailVerified: verified,
		Username:      u.NickName,
		FirstName:     first,
		LastName:      last,
		ExtraData:     c,
		User:          u,
	}
	tk.apply(&id)
	return id, nil
}

// str returns claim k when it is a string.
func str(c map[string]any, k string) string {
	s, _ := c[k].(string)
	return strings.TrimSpace(s)
}
