package restauth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
	"github.com/restauth/restauth/socialauth"
)

// sxStoreTokens turns StoreTokens on.
func sxStoreTokens(c *restauth.Config) { c.Social.StoreTokens = true }

// sxTokenRows returns the stored token rows of an account.
func (e *env) sxTokenRows(accountID uint) []models.SocialToken {
	e.t.Helper()
	var rows []models.SocialToken
	if err := e.db.Where("social_account_id = ?", accountID).Find(&rows).Error; err != nil {
		e.t.Fatal(err)
	}
	return rows
}

func TestSocialXStoredTokens(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newSocialEnv(t, db, false, false, sxStoreTokens)
		const first, second = "gho_first-plaintext-token-0001", "gho_second-plaintext-token-0002"
		gu := ghUser{ID: 3101, Login: "keeper", Email: "keeper@example.com", Verified: true}
		s.gh.add(first, gu)
		s.gh.add(second, gu)

		expect(t, s.ghLogin(first), 200)
		acct := s.account("github", "3101")
		if acct == nil {
			t.Fatal("no account")
		}
		rows := s.sxTokenRows(acct.ID)
		if len(rows) != 1 {
			t.Fatalf("%d token rows, want 1", len(rows))
		}
		if strings.Contains(rows[0].Token, "plaintext") || rows[0].Token == "" || strings.Contains(rows[0].TokenSecret, "plaintext") {
			t.Fatalf("token stored in clear: %+v", rows[0])
		}
		tok, ok, err := s.auth.SocialToken(ctx, acct.ID)
		if err != nil || !ok || tok.Token != first || tok.Secret != "" || tok.ExpiresAt != nil {
			t.Fatalf("SocialToken = %+v, %v, %v; want %q", tok, ok, err, first)
		}
		sealed := rows[0].Token

		// A second login replaces the token: still one row.
		expect(t, s.ghLogin(second), 200)
		rows = s.sxTokenRows(acct.ID)
		if len(rows) != 1 || rows[0].Token == sealed {
			t.Fatalf("after the second login: %+v", rows)
		}
		if tok, ok, err := s.auth.SocialToken(ctx, acct.ID); err != nil || !ok || tok.Token != second {
			t.Fatalf("SocialToken = %+v, %v, %v; want %q", tok, ok, err, second)
		}
		// The same token again still gives one row, sealed with a fresh
		// nonce.
		sealed = rows[0].Token
		expect(t, s.ghLogin(second), 200)
		if rows = s.sxTokenRows(acct.ID); len(rows) != 1 || rows[0].Token == sealed || s.count(&models.SocialToken{}) != 1 {
			t.Fatalf("after the third login: %+v", rows)
		}
		// An account without a token, and an unknown account: ok false.
		if tok, ok, err := s.auth.SocialToken(ctx, acct.ID+1000); err != nil || ok || tok.Token != "" {
			t.Fatalf("unknown account: %+v, %v, %v", tok, ok, err)
		}

		// A code exchange stores the token it obtained.
		s.gh.add("gho_from-code", ghUser{ID: 3102, Login: "coder", Email: "coder@example.com", Verified: true})
		s.gh.code("the-code", "gho_from-code")
		expect(t, s.do("POST", "/rest-auth/github/", map[string]any{"code": "the-code"}), 200)
		coder := s.account("github", "3102")
		if tok, ok, err := s.auth.SocialToken(ctx, coder.ID); err != nil || !ok || tok.Token != "gho_from-code" {
			t.Fatalf("code flow token: %+v, %v, %v", tok, ok, err)
		}

		// A plugin with another SecretKey cannot open the tokens: an
		// error, never garbage.
		other := newEnv(t, db, func(c *restauth.Config) {
			c.SecretKey = "another-secret-key-0123456789-abcdefghijklm"
			c.Social.Providers = []socialauth.Provider{s.gh.provider()}
			c.Social.StoreTokens = true
		})
		if tok, ok, err := other.auth.SocialToken(ctx, acct.ID); err == nil || ok || tok.Token != "" {
			t.Fatalf("other key: %+v, %v, %v; want an error", tok, ok, err)
		}
		// A tampered row does not open either.
		if err := db.Model(&models.SocialToken{}).Where("social_account_id = ?", coder.ID).
			Update("token", "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").Error; err != nil {
			t.Fatal(err)
		}
		if tok, _, err := s.auth.SocialToken(ctx, coder.ID); err == nil || tok.Token != "" {
			t.Fatalf("tampered row: %+v, %v", tok, err)
		}
	})
}

func TestSocialXStoredTokenDisconnect(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newSocialEnv(t, db, false, false, sxStoreTokens)
		s.gh.add("gho_linked", ghUser{ID: 3201, Login: "linked", Email: "linked.gh@example.com", Verified: true})
		s.gh.add("gho_bystander", ghUser{ID: 3202, Login: "bystander", Email: "bystander@example.com", Verified: true})
		expect(t, s.ghLogin("gho_bystander"), 200)
		s.user("linda", "linda@example.com")
		key := s.login("linda", goodPass)
		expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "gho_linked"}, tokenHeader(key)...), 200)
		acct := s.account("github", "3201")
		if tok, ok, err := s.auth.SocialToken(ctx, acct.ID); err != nil || !ok || tok.Token != "gho_linked" {
			t.Fatalf("connect stored %+v, %v, %v", tok, ok, err)
		}
		expect(t, s.do("POST", "/rest-auth/socialaccounts/"+itoa(int(acct.ID))+"/disconnect/", nil, tokenHeader(key)...), 200)
		if rows := s.sxTokenRows(acct.ID); len(rows) != 0 {
			t.Fatalf("token rows after disconnect: %+v", rows)
		}
		if tok, ok, err := s.auth.SocialToken(ctx, acct.ID); err != nil || ok || tok.Token != "" {
			t.Fatalf("SocialToken after disconnect: %+v, %v, %v", tok, ok, err)
		}
		// The other account's token stays.
		by := s.account("github", "3202")
		if tok, ok, err := s.auth.SocialToken(ctx, by.ID); err != nil || !ok || tok.Token != "gho_bystander" {
			t.Fatalf("bystander token: %+v, %v, %v", tok, ok, err)
		}
	})
}

func TestSocialXTokensNotStored(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		s.gh.add("gho_unkept", ghUser{ID: 3301, Login: "unkept", Email: "unkept@example.com", Verified: true})
		expect(t, s.ghLogin("gho_unkept"), 200)
		acct := s.account("github", "3301")
		tok, ok, err := s.auth.SocialToken(context.Background(), acct.ID)
		if err != nil || ok || tok.Token != "" {
			t.Fatalf("SocialToken without StoreTokens: %+v, %v, %v", tok, ok, err)
		}
		if db.Migrator().HasTable(&models.SocialToken{}) {
			t.Fatal("restauth_social_tokens exists without StoreTokens")
		}
		// Disconnect works without the table.
		s.user("nora", "nora@example.com")
		key := s.login("nora", goodPass)
		s.gh.add("gho_nora", ghUser{ID: 3302, Login: "noragh", Email: "nora.gh@example.com", Verified: true})
		expect(t, s.do("POST", "/rest-auth/github/connect/", map[string]any{"access_token": "gho_nora"}, tokenHeader(key)...), 200)
		expect(t, s.do("POST", "/rest-auth/socialaccounts/"+itoa(int(s.account("github", "3302").ID))+"/disconnect/", nil, tokenHeader(key)...), 200)

		// Without social providers there is nothing to read either.
		plain := newEnv(t, testdb.SQLite(t), nil)
		if tok, ok, err := plain.auth.SocialToken(context.Background(), 1); err != nil || ok || tok.Token != "" {
			t.Fatalf("SocialToken without providers: %+v, %v, %v", tok, ok, err)
		}
	})
}

func TestSocialXPruneExpired(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ctx := context.Background()
		s := newSocialEnv(t, db, false, false, nil)
		now := s.clock.Now()
		hex := func(c string) string { return strings.Repeat(c, 64) }
		used := []models.UsedIDToken{
			{Digest: hex("a"), ExpiresAt: now.Add(-time.Minute)},
			{Digest: hex("b"), ExpiresAt: now.Add(time.Hour)},
			{Digest: hex("c"), ExpiresAt: now.Add(3 * time.Hour)},
		}
		auths := []models.SocialAuthorization{
			{StateDigest: hex("1"), BrowserDigest: hex("2"), Provider: "github", Verifier: "v", Nonce: "n", RedirectURI: ghRedirect, ExpiresAt: now.Add(-time.Second)},
			{StateDigest: hex("3"), BrowserDigest: hex("4"), Provider: "github", Verifier: "v", Nonce: "n", RedirectURI: ghRedirect, ExpiresAt: now.Add(90 * time.Minute)},
		}
		if err := db.Create(&used).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&auths).Error; err != nil {
			t.Fatal(err)
		}
		remaining := func() string {
			var u []models.UsedIDToken
			var a []models.SocialAuthorization
			db.Order("id").Find(&u)
			db.Order("id").Find(&a)
			var out []string
			for _, r := range u {
				out = append(out, "used:"+r.Digest[:1])
			}
			for _, r := range a {
				out = append(out, "auth:"+r.StateDigest[:1])
			}
			return strings.Join(out, ",")
		}
		steps := []struct {
			advance time.Duration
			deleted int64
			left    string
		}{
			{0, 2, "used:b,used:c,auth:3"},
			{2 * time.Hour, 2, "used:c"},
			{2 * time.Hour, 1, ""},
			{0, 0, ""},
		}
		for i, st := range steps {
			s.clock.Advance(st.advance)
			n, err := s.auth.PruneExpired(ctx)
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			if got := remaining(); n != st.deleted || got != st.left {
				t.Fatalf("step %d: deleted %d, left %q; want %d, %q", i, n, got, st.deleted, st.left)
			}
		}
	})
}
