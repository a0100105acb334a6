package socialauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/markbates/goth"
)

// githubEmailsURL lists the authenticated user's addresses.
const githubEmailsURL = githubAPIURL + "/user/emails"

// neverVerifiedProviders are the goth provider names whose profiles never
// carry a verified email address, whatever their RawData holds.
var neverVerifiedProviders = map[string]bool{
	"facebook":        true,
	"microsoft":       true,
	"microsoftonline": true,
	"azureadv2":       true,
	"gitlab":          true,
	"twitter":         true,
	"twitterv2":       true,
}

// ProfileVerifiedEmail is the built-in rule for profiles read by goth
// (used when Provider.VerifiedEmail is nil): it reports whether the
// profile's email address is vouched for by the provider.
//
//   - A profile without an email address is never verified.
//   - Facebook, Microsoft (microsoft, microsoftonline, azureadv2), GitLab
//     and Twitter (twitter, twitterv2) profiles are never verified.
//   - RawData "email_verified" true (a bool, or the string "true") or
//     "verified_email" true (Google's v2 userinfo) is verified: Google and
//     OpenID Connect userinfo profiles.
//   - For u.Provider "discord", RawData "verified" true is verified.
//   - Everything else is not verified. GitHub needs a call to its API:
//     use GitHubVerifiedEmail.
func ProfileVerifiedEmail(u goth.User) bool {
	if u.Email == "" || neverVerifiedProviders[u.Provider] {
		return false
	}
	switch v := u.RawData["email_verified"].(type) {
	case bool:
		if v {
			return true
		}
	case string:
		if v == "true" {
			return true
		}
	}
	if v, ok := u.RawData["verified_email"].(bool); ok && v {
		return true
	}
	if u.Provider == "discord" {
		v, ok := u.RawData["verified"].(bool)
		return ok && v
	}
	return false
}

// GitHubVerifiedEmail is GitHub's Provider.VerifiedEmail: it lists the
// user's addresses (GET https://api.github.com/user/emails with the
// user's access token, which needs the user:email scope) through hc and
// reports whether the profile email (u.Email, compared case-insensitively)
// is listed with verified true.
//
// A profile without an email address is not verified. When GitHub
// answers 403 or 404 (the token lacks the user:email scope) the address
// counts as unverified, without an error; other failures are errors.
func GitHubVerifiedEmail(ctx context.Context, hc *http.Client, u goth.User) (bool, error) {
	if u.Email == "" {
		return false, nil
	}
	if u.AccessToken == "" {
		return false, errors.New("socialauth: github emails: the profile has no access token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, githubEmailsURL, nil)
	if err != nil {
		return false, fmt.Errorf("socialauth: github emails: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+u.AccessToken)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	status, body, err := do(hc, req)
	if err != nil {
		return false, fmt.Errorf("socialauth: github emails: %w", err)
	}
	switch status {
	case http.StatusOK:
	case http.StatusForbidden, http.StatusNotFound:
		return false, nil
	default:
		return false, fmt.Errorf("socialauth: github emails: answered %d", status)
	}
	var emails []struct {
		Email    string `json:"email"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal(body, &emails); err != nil {
		return false, fmt.Errorf("socialauth: github emails: %w", err)
	}
	for _, e := range emails {
		if e.Verified && strings.EqualFold(e.Email, u.Email) {
			return true, nil
		}
	}
	return false, nil
}
