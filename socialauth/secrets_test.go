package socialauth_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/restauth/restauth/socialauth"
)

// deadEnd fails every request the way a network failure does.
type deadEnd struct{}

func (deadEnd) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, &url.Error{Op: "dial", URL: "x", Err: context.DeadlineExceeded}
}

// TestCheckErrorsHideSecrets: a network failure of an audience check
// never quotes the request URL, whose query holds the app secret
// (Facebook) or the user's token (Google).
func TestCheckErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Transport: deadEnd{}}
	checks := map[string]func(context.Context, *http.Client, string) error{
		"facebook": socialauth.CheckFacebookToken("app-id", "app-secret-xyz"),
		"google":   socialauth.CheckGoogleToken("client-id"),
		"github":   socialauth.CheckGitHubToken("client-id", "app-secret-xyz"),
	}
	for name, check := range checks {
		err := check(context.Background(), hc, "user-token-abc")
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, s := range []string{"app-secret-xyz", "user-token-abc"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q quotes %s", name, err, s)
			}
		}
	}
}
