package restauth_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

func TestVerifyEmailKeys(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		expect(t, e.do("POST", "/rest-auth/registration/", signup("vera", "vera@example.com")), 201)
		key := e.confirmKey("vera@example.com")
		verify := func(k string) resp {
			return e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": k})
		}
		// A leaked table holds no usable key.
		var row models.EmailConfirmation
		db.Take(&row)
		if strings.Contains(key, row.VerifierHash) || !strings.HasPrefix(key, row.Selector+"-") {
			t.Fatal("confirmation row stores the verifier")
		}
		flipped := key[:len(key)-1] + map[bool]string{true: "1", false: "0"}[strings.HasSuffix(key, "0")]
		for _, bad := range []string{"nope", flipped, row.Selector + "-" + row.VerifierHash, strings.ToUpper(key)} {
			expectDetail(t, verify(bad), 404, "Not found.")
		}
		expectDetail(t, e.do("GET", "/rest-auth/registration/verify-email/", nil), 405, `Method "GET" not allowed.`)
		expectField(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{}), "key", "This field is required.")
		expectDetail(t, verify(key), 200, "ok")
		expectDetail(t, verify(key), 404, "Not found.") // single use

		// Expired keys (EmailConfirmationExpire, 72 h).
		expect(t, e.do("POST", "/rest-auth/registration/", signup("late", "late@example.com")), 201)
		late := e.confirmKey("late@example.com")
		e.clock.Advance(72*time.Hour + time.Second)
		expectDetail(t, verify(late), 404, "Not found.")

		// The GET page shows a form that posts the key; it confirms nothing.
		expect(t, e.do("POST", "/rest-auth/registration/", signup("page", "page@example.com")), 201)
		pk := e.confirmKey("page@example.com")
		w := e.raw("GET", "/rest-auth/registration/account-confirm-email/"+pk+"/")
		if w.Code != 200 || !strings.Contains(w.Body, `value="`+pk+`"`) || !strings.Contains(w.Body, `method="post"`) ||
			!strings.HasPrefix(w.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("confirm page: %d %s", w.Code, w.Body)
		}
		// With or without the trailing slash, the form posts to
		// verify-email/.
		for _, page := range []string{"/rest-auth/registration/account-confirm-email/" + pk + "/", "/rest-auth/registration/account-confirm-email/" + pk} {
			w := e.raw("GET", page)
			m := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(w.Body)
			if w.Code != 200 || m == nil {
				t.Fatalf("%s: %d %s", page, w.Code, w.Body)
			}
			base, _ := url.Parse("https://app.example" + page)
			action, _ := url.Parse(m[1])
			if got := base.ResolveReference(action).Path; got != "/rest-auth/registration/verify-email/" {
				t.Fatalf("%s posts to %s", page, got)
			}
		}
		var addr models.EmailAddress
		db.Where("email = ?", "page@example.com").Take(&addr)
		if addr.Verified {
			t.Fatal("GET confirmed the address")
		}
		xss := e.raw("GET", "/rest-auth/registration/account-confirm-email/%22%3E%3Cscript%3Ex%3C%2Fscript%3E/")
		if strings.Contains(xss.Body, "<script>") {
			t.Fatal("key reflected unescaped")
		}
		// The form posts form-urlencoded: that confirms.
		expect(t, e.do("POST", "/rest-auth/registration/verify-email/", "key="+pk, "Content-Type", "application/x-www-form-urlencoded"), 200)
	})
}

func TestResendEmail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		e := newEnv(t, db, nil)
		resend := func(mail string) {
			t.Helper()
			expectDetail(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": mail}), 200, "ok")
			e.auth.Shutdown(context.Background())
		}
		expect(t, e.do("POST", "/rest-auth/registration/", signup("rita", "rita@example.com")), 201)
		first := e.confirmKey("rita@example.com")
		resend("rita@example.com") // inside the cooldown: nothing
		if e.out.Len() != 0 {
			t.Fatal("resend inside the cooldown sent an email")
		}
		e.clock.Advance(181 * time.Second)
		resend("RITA@example.com")
		second := e.confirmKey("rita@example.com")
		if second == first {
			t.Fatal("resend gave the same key")
		}
		resend("rita@example.com") // a second resend inside the new cooldown
		if e.out.Len() != 0 {
			t.Fatal("second resend inside the cooldown sent an email")
		}
		expect(t, e.do("POST", "/rest-auth/registration/verify-email/", map[string]any{"key": second}), 200)
		e.clock.Advance(time.Hour)
		resend("rita@example.com")  // verified: nothing
		resend("ghost@example.com") // unknown: nothing
		if e.out.Len() != 0 {
			t.Fatal("resend to a verified or unknown address sent an email")
		}
		expectField(t, e.do("POST", "/rest-auth/registration/resend-email/", map[string]any{"email": "bad"}), "email", "Enter a valid email address.")
	})
}
