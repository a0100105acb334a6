package socialauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrTokenRejected is wrapped by the errors of the access-token checks
// when the provider answered: the token is invalid, expired, or was not
// issued to this app. Other errors (network, timeouts, 5xx, unreadable
// answers) do not wrap it.
var ErrTokenRejected = errors.New("socialauth: access token rejected")

// maxBody bounds every provider answer the checks and helpers read.
const maxBody = 1 << 20

// Endpoints the access-token checks call.
const (
	googleTokenInfoURL = "https://oauth2.googleapis.com/tokeninfo"
	githubAPIURL       = "https://api.github.com"
	facebookDebugURL   = "https://graph.facebook.com/debug_token"
	discordOAuthMeURL  = "https://discord.com/api/oauth2/@me"
	gitlabTokenInfo    = "/oauth/token/info"
)

// clientOrDefault is hc, or a client with DefaultHTTPTimeout when hc is nil.
func clientOrDefault(hc *http.Client) *http.Client {
	if hc == nil {
		return newHTTPClient()
	}
	return hc
}

// do sends req and returns the status and at most maxBody bytes of the
// body.
func do(hc *http.Client, req *http.Request) (int, []byte, error) {
	resp, err := clientOrDefault(hc).Do(req)
	if err != nil {
		// A *url.Error quotes the URL, whose query may hold an app
		// secret (Facebook's access_token=appID|secret) or the user's
		// token: keep only the method, the host and the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			return 0, nil, fmt.Errorf("%s %s: %w", ue.Op, req.URL.Host, ue.Err)
		}
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	return resp.StatusCode, body, nil
}

// statusError is nil for 200, an error wrapping ErrTokenRejected for a 4xx
// (the provider refused the token) and a plain error otherwise.
func statusError(what string, status int) error {
	switch {
	case status == http.StatusOK:
		return nil
	case status >= 400 && status < 500:
		return fmt.Errorf("%w: %s answered %d", ErrTokenRejected, what, status)
	default:
		return fmt.Errorf("socialauth: %s answered %d", what, status)
	}
}

// CheckGoogleToken returns a Provider.CheckAccessToken that asks Google's
// tokeninfo endpoint about the token (GET
// https://oauth2.googleapis.com/tokeninfo?access_token=…) and accepts it
// only when its aud or azp is one of clientIDs (list the web, Android and
// iOS client ids of the app). An invalid or expired token, or one issued
// to another client, gives an error wrapping ErrTokenRejected.
func CheckGoogleToken(clientIDs ...string) func(ctx context.Context, hc *http.Client, token string) error {
	ids := cloneStrings(clientIDs)
	return func(ctx context.Context, hc *http.Client, token string) error {
		u := googleTokenInfoURL + "?" + url.Values{"access_token": {token}}.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("socialauth: google tokeninfo: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		status, body, err := do(hc, req)
		if err != nil {
			return fmt.Errorf("socialauth: google tokeninfo: %w", err)
		}
		if err := statusError("google tokeninfo", status); err != nil {
			return err
		}
		var info struct {
			Aud string `json:"aud"`
			Azp string `json:"azp"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return fmt.Errorf("socialauth: google tokeninfo: %w", err)
		}
		for _, id := range ids {
			if id != "" && (info.Aud == id || info.Azp == id) {
				return nil
			}
		}
		return fmt.Errorf("%w: google token issued to client %q", ErrTokenRejected, info.Aud)
	}
}

// CheckGitHubToken returns a Provider.CheckAccessToken that asks GitHub
// whether the token belongs to the OAuth app clientID (POST
// https://api.github.com/applications/{client_id}/token, authenticated
// with the app's client id and secret). GitHub answers 404 or 422 for a
// token that is invalid or belongs to another app: the error then wraps
// ErrTokenRejected.
func CheckGitHubToken(clientID, clientSecret string) func(ctx context.Context, hc *http.Client, token string) error {
	endpoint := githubAPIURL + "/applications/" + url.PathEscape(clientID) + "/token"
	return func(ctx context.Context, hc *http.Client, token string) error {
		payload, err := json.Marshal(map[string]string{"access_token": token})
		if err != nil {
			return fmt.Errorf("socialauth: github token check: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("socialauth: github token check: %w", err)
		}
		req.SetBasicAuth(clientID, clientSecret)
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
		status, body, err := do(hc, req)
		if err != nil {
			return fmt.Errorf("socialauth: github token check: %w", err)
		}
		switch {
		case status == http.StatusNotFound || status == http.StatusUnprocessableEntity:
			return fmt.Errorf("%w: github token not issued to this app (%d)", ErrTokenRejected, status)
		case status != http.StatusOK:
			return fmt.Errorf("socialauth: github token check: answered %d", status)
		}
		var info struct {
			App struct {
				ClientID string `json:"client_id"`
			} `json:"app"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return fmt.Errorf("socialauth: github token check: %w", err)
		}
		if info.App.ClientID != "" && info.App.ClientID != clientID {
			return fmt.Errorf("%w: github token issued to app %q", ErrTokenRejected, info.App.ClientID)
		}
		return nil
	}
}

// CheckFacebookToken returns a Provider.CheckAccessToken that inspects the
// token with Facebook's debug_token endpoint (GET
// https://graph.facebook.com/debug_token?input_token=…&access_token=appID|appSecret)
// and accepts it only when Facebook says it is valid and was issued to
// appID (as allauth's inspect_token does). Otherwise the error wraps
// ErrTokenRejected.
func CheckFacebookToken(appID, appSecret string) func(ctx context.Context, hc *http.Client, token string) error {
	return func(ctx context.Context, hc *http.Client, token string) error {
		q := url.Values{"input_token": {token}, "access_token": {appID + "|" + appSecret}}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, facebookDebugURL+"?"+q.Encode(), nil)
		if err != nil {
			return fmt.Errorf("socialauth: facebook debug_token: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		status, body, err := do(hc, req)
		if err != nil {
			return fmt.Errorf("socialauth: facebook debug_token: %w", err)
		}
		if err := statusError("facebook debug_token", status); err != nil {
			return err
		}
		var info struct {
			Data struct {
				AppID   json.RawMessage `json:"app_id"`
				IsValid bool            `json:"is_valid"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return fmt.Errorf("socialauth: facebook debug_token: %w", err)
		}
		if !info.Data.IsValid {
			return fmt.Errorf("%w: facebook token is not valid", ErrTokenRejected)
		}
		if got := jsonIDString(info.Data.AppID); appID == "" || got != appID {
			return fmt.Errorf("%w: facebook token issued to app %q", ErrTokenRejected, got)
		}
		return nil
	}
}

// CheckDiscordToken returns a Provider.CheckAccessToken that asks Discord
// about the token (GET https://discord.com/api/oauth2/@me with the token
// as a Bearer credential) and accepts it only when it was issued to the
// application clientID. A token Discord refuses (401, 403) or one issued
// to another application gives an error wrapping ErrTokenRejected;
// other answers (5xx, unreadable bodies) give a plain error.
func CheckDiscordToken(clientID string) func(ctx context.Context, hc *http.Client, token string) error {
	return func(ctx context.Context, hc *http.Client, token string) error {
		status, body, err := bearerGet(ctx, hc, discordOAuthMeURL, token)
		if err != nil {
			return fmt.Errorf("socialauth: discord oauth2/@me: %w", err)
		}
		switch status {
		case http.StatusOK:
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: discord oauth2/@me answered %d", ErrTokenRejected, status)
		default:
			return fmt.Errorf("socialauth: discord oauth2/@me answered %d", status)
		}
		var info struct {
			Application struct {
				ID json.RawMessage `json:"id"`
			} `json:"application"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return fmt.Errorf("socialauth: discord oauth2/@me: %w", err)
		}
		if got := jsonIDString(info.Application.ID); clientID == "" || got != clientID {
			return fmt.Errorf("%w: discord token issued to application %q", ErrTokenRejected, got)
		}
		return nil
	}
}

// CheckGitLabToken returns a Provider.CheckAccessToken that asks the
// GitLab instance at baseURL ("" means https://gitlab.com) about the
// token (GET baseURL/oauth/token/info with the token as a Bearer
// credential) and accepts it only when it was issued to the OAuth
// application clientID (application.uid). A token GitLab refuses (401),
// one issued to another application, or one with no application (a
// personal access token) gives an error wrapping ErrTokenRejected; other
// answers (403, 5xx, unreadable bodies) give a plain error.
func CheckGitLabToken(clientID, baseURL string) func(ctx context.Context, hc *http.Client, token string) error {
	baseURL = strings.TrimRight(baseURL, "/")
	if baseURL == "" {
		baseURL = gitlabBaseURL
	}
	endpoint := baseURL + gitlabTokenInfo
	return func(ctx context.Context, hc *http.Client, token string) error {
		status, body, err := bearerGet(ctx, hc, endpoint, token)
		if err != nil {
			return fmt.Errorf("socialauth: gitlab token info: %w", err)
		}
		switch status {
		case http.StatusOK:
		case http.StatusUnauthorized:
			return fmt.Errorf("%w: gitlab token info answered %d", ErrTokenRejected, status)
		default:
			return fmt.Errorf("socialauth: gitlab token info answered %d", status)
		}
		var info struct {
			Application *struct {
				UID string `json:"uid"`
			} `json:"application"`
		}
		if err := json.Unmarshal(body, &info); err != nil {
			return fmt.Errorf("socialauth: gitlab token info: %w", err)
		}
		if info.Application == nil {
			return fmt.Errorf("%w: gitlab token belongs to no OAuth application", ErrTokenRejected)
		}
		if got := info.Application.UID; clientID == "" || got != clientID {
			return fmt.Errorf("%w: gitlab token issued to application %q", ErrTokenRejected, got)
		}
		return nil
	}
}

// bearerGet sends GET endpoint with token as a Bearer credential and
// returns the status and the bounded body (see do).
func bearerGet(ctx context.Context, hc *http.Client, endpoint, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	return do(hc, req)
}

// jsonIDString reads an id that may be a JSON string or number.
func jsonIDString(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	return ""
}
