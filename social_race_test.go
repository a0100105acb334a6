package restauth_test

import (
	"encoding/json"
	"sort"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/models"
)

// sxAnswer is one concurrent request's outcome.
type sxAnswer struct {
	code int
	raw  string
}

// sxParallel posts each body to path at once (all goroutines wait on one
// start barrier) and returns the answers in body order.
func sxParallel(e *env, path string, bodies []string) []sxAnswer {
	out := make([]sxAnswer, len(bodies))
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	for i, b := range bodies {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			out[i].code, out[i].raw = sxPost(e, path, b)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

func TestSocialXRaceFirstLogin(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		s.gh.add("race-tok", ghUser{ID: 4242, Login: "racer", Name: "Race Car", Email: "racer@example.com", Verified: true})
		const n = 20
		bodies := make([]string, n)
		for i := range bodies {
			bodies[i] = `{"access_token":"race-tok"}`
		}
		answers := sxParallel(s.env, "/rest-auth/github/", bodies)
		for i, a := range answers {
			if a.code != 200 {
				t.Errorf("login %d: %d %s", i, a.code, a.raw)
				continue
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(a.raw), &body); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
			key, _ := body["key"].(string)
			if !keyRe.MatchString(key) {
				t.Errorf("login %d: body %s", i, a.raw)
				continue
			}
			if who := s.sxMe(key); who != "racer" {
				t.Errorf("login %d: key of %q", i, who)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		if got := s.sxCount(); got.Users != 1 || got.Accounts != 1 || got.Addresses != 1 {
			t.Fatalf("after %d parallel first logins: %+v, want 1 user, 1 account, 1 address", n, got)
		}
		if a := s.account("github", "4242"); a == nil || s.reload(a.UserID).Username != "racer" {
			t.Fatalf("account %+v", a)
		}
	})
}

func TestSocialXRaceSameEmail(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		s := newSocialEnv(t, db, false, false, nil)
		// Several rounds, the second identity's address in another letter
		// case: the case-insensitive unique indexes must hold it.
		const rounds = 4
		for r := range rounds {
			a, b := 5000+2*r, 5001+2*r
			s.gh.add("same-a-"+itoa(r), ghUser{ID: a, Login: "samea" + itoa(r), Name: "Sam A", Email: "same" + itoa(r) + "@example.com", Verified: true})
			s.gh.add("same-b-"+itoa(r), ghUser{ID: b, Login: "sameb" + itoa(r), Name: "Sam B", Email: "SAME" + itoa(r) + "@Example.com", Verified: r%2 == 0})
			answers := sxParallel(s.env, "/rest-auth/github/", []string{
				`{"access_token":"same-a-` + itoa(r) + `"}`,
				`{"access_token":"same-b-` + itoa(r) + `"}`,
			})
			codes := []int{answers[0].code, answers[1].code}
			sort.Ints(codes)
			if codes[0] != 200 || codes[1] != 400 {
				t.Fatalf("round %d: answers %+v, want one 200 and one 400", r, answers)
			}
			loser := answers[0]
			if loser.code == 200 {
				loser = answers[1]
			}
			if loser.raw != `{"non_field_errors":["User is already registered with this e-mail address."]}` {
				t.Fatalf("round %d: refusal %s", r, loser.raw)
			}
			var users, addrs, accts int64
			db.Model(&Customer{}).Where("lower(email) = ?", "same"+itoa(r)+"@example.com").Count(&users)
			db.Model(&models.EmailAddress{}).Where("lower(email) = ?", "same"+itoa(r)+"@example.com").Count(&addrs)
			db.Model(&models.SocialAccount{}).Where("provider = ? AND uid IN ?", "github", []string{itoa(a), itoa(b)}).Count(&accts)
			if users != 1 || addrs != 1 || accts != 1 {
				t.Fatalf("round %d: %d users, %d addresses, %d accounts; want 1 each", r, users, addrs, accts)
			}
		}
		if got := s.sxCount(); got.Users != rounds || got.Accounts != rounds {
			t.Fatalf("totals %+v, want %d users and accounts", got, rounds)
		}
	})
}
