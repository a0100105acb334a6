package devices

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/internal/testdb"
	"github.com/restauth/restauth/internal/tokens"
	"github.com/restauth/restauth/models"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// updates counts the UPDATE statements run on the sessions table and
// the rows they changed.
type updates struct{ stmts, rows atomic.Int64 }

func setup(t *testing.T, db *gorm.DB, c *clock) (*Devices, *updates) {
	t.Helper()
	if err := db.AutoMigrate(&models.Token{}, &models.OutstandingToken{}, &models.BlacklistedToken{}); err != nil {
		t.Fatal(err)
	}
	d := &Devices{DB: db, Now: c.Now, Tokens: true, JWT: true, Grace: 5 * time.Minute}
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	u := &updates{}
	err := db.Callback().Update().After("gorm:update").Register("test:count_sessions", func(tx *gorm.DB) {
		if tx.Statement.Table == (models.Session{}).TableName() {
			u.stmts.Add(1)
			u.rows.Add(tx.RowsAffected)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return d, u
}

func lastUsed(t *testing.T, db *gorm.DB, handle string) time.Time {
	t.Helper()
	var s models.Session
	if err := db.Where("handle = ?", handle).Take(&s).Error; err != nil {
		t.Fatal(err)
	}
	return s.LastUsedAt.UTC()
}

// TestTouchThrottled: a session's last_used is written at most once a
// minute: no query at all within the minute in one process, and a
// second process's query changes nothing within the minute.
func TestTouchThrottled(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		d, u := setup(t, db, c)
		ctx := context.Background()
		t0 := c.Now()
		if err := d.Record(ctx, 7, Token, "h1", Client{IP: "203.0.113.9", UserAgent: "UA"}); err != nil {
			t.Fatal(err)
		}
		other := &Devices{DB: db, Now: c.Now, Tokens: true, JWT: true} // another instance
		steps := []struct {
			name     string
			advance  time.Duration
			d        *Devices
			kind     string
			stmts    int64 // UPDATE statements run by this step
			rows     int64 // rows they changed
			wantUsed time.Duration
		}{
			{"just recorded: no query", 30 * time.Second, d, Token, 0, 0, 0},
			{"a minute later: one write", 31 * time.Second, d, Token, 1, 1, 61 * time.Second},
			{"within the minute: no query", 20 * time.Second, d, Token, 0, 0, 61 * time.Second},
			{"other process within the minute: query, no change", 10 * time.Second, other, Token, 1, 0, 61 * time.Second},
			{"other process again: no query", 10 * time.Second, other, Token, 0, 0, 61 * time.Second},
			{"untracked kind: no query", 0, d, "other", 0, 0, 61 * time.Second},
			{"wrong kind same handle: no change", 0, d, JWT, 1, 0, 61 * time.Second},
			{"a minute after the write: one write", 30 * time.Second, d, Token, 1, 1, 131 * time.Second},
		}
		for _, s := range steps {
			c.Add(s.advance)
			before, beforeRows := u.stmts.Load(), u.rows.Load()
			if err := s.d.Touch(ctx, s.kind, "h1"); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got := u.stmts.Load() - before; got != s.stmts {
				t.Errorf("%s: %d UPDATE statements, want %d", s.name, got, s.stmts)
			}
			if got := u.rows.Load() - beforeRows; got != s.rows {
				t.Errorf("%s: %d rows changed, want %d", s.name, got, s.rows)
			}
			if got, want := lastUsed(t, db, "h1"), t0.Add(s.wantUsed); !got.Equal(want) {
				t.Errorf("%s: last_used %v, want %v", s.name, got, want)
			}
		}
	})
}

// TestRememberBounded: the map of last writes never outgrows maxTracked.
func TestRememberBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		age  time.Duration
		want int
	}{
		{"stale entries are swept", 2 * TouchEvery, 1},
		{"fresh entries are dropped wholesale", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := &Devices{touched: make(map[string]time.Time, maxTracked)}
			for i := range maxTracked {
				d.touched["k"+strconv.Itoa(i)] = now.Add(-tc.age)
			}
			if !d.remember(Token, "new", now) {
				t.Fatal("remember refused a new session")
			}
			if len(d.touched) != tc.want {
				t.Fatalf("%d entries, want %d", len(d.touched), tc.want)
			}
			if d.remember(Token, "new", now.Add(time.Second)) {
				t.Fatal("a second write within the minute")
			}
		})
	}
}

// TestListShowsLiveCredentialsOnly: List and find show a session only
// while its token key or refresh family can authenticate; Prune deletes
// the others.
func TestListShowsLiveCredentialsOnly(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		d, _ := setup(t, db, c)
		ctx := context.Background()
		now := c.Now()
		past, future := now.Add(-time.Hour), now.Add(time.Hour)
		tok := func(digest string, user uint, exp *time.Time) {
			if err := db.Create(&models.Token{Digest: digest, UserID: user, CreatedAt: now, ExpiresAt: exp}).Error; err != nil {
				t.Fatal(err)
			}
		}
		out := func(jti, family string, user uint, exp time.Time, blacklisted bool) {
			row := models.OutstandingToken{JTI: jti, Family: family, UserID: user, CreatedAt: now, ExpiresAt: exp}
			if err := db.Create(&row).Error; err != nil {
				t.Fatal(err)
			}
			if blacklisted {
				if err := db.Create(&models.BlacklistedToken{TokenID: row.ID, BlacklistedAt: now}).Error; err != nil {
					t.Fatal(err)
				}
			}
		}
		tok("tok-live", 1, nil)
		tok("tok-ttl", 1, &future)
		tok("tok-expired", 1, &past)
		tok("tok-other-user", 2, nil) // a digest of user 2 under a session of user 1
		out("j1", "fam-live", 1, future, false)
		out("j2", "fam-rotated", 1, future, true)
		out("j3", "fam-rotated", 1, future, false)
		out("j4", "fam-blacklisted", 1, future, true)
		out("j5", "fam-expired", 1, past, false)
		out("j6", "fam-grace", 1, now.Add(-time.Minute), false) // an access token may still be valid
		sessions := []struct {
			kind, handle string
			user         uint
			live         bool
		}{
			{Token, "tok-live", 1, true},
			{Token, "tok-ttl", 1, true},
			{Token, "tok-expired", 1, false},
			{Token, "tok-gone", 1, false},
			{Token, "tok-other-user", 1, false},
			{JWT, "fam-live", 1, true},
			{JWT, "fam-rotated", 1, true},
			{JWT, "fam-blacklisted", 1, false},
			{JWT, "fam-expired", 1, false},
			{JWT, "fam-grace", 1, true},
			{JWT, "fam-gone", 1, false},
			{JWT, "tok-live", 1, false}, // a kind mismatch
			{Token, "tok-live", 2, false},
		}
		ids := map[string]string{}
		for _, s := range sessions {
			c.Add(time.Second) // distinct creation times
			if err := d.Record(ctx, s.user, s.kind, s.handle, Client{}); err != nil {
				t.Fatal(err)
			}
			var row models.Session
			if err := db.Order("id DESC").Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			ids[s.kind+"/"+s.handle+"/"+strconv.Itoa(int(s.user))] = row.PublicID
		}
		var want []string // newest first
		for i := len(sessions) - 1; i >= 0; i-- {
			if s := sessions[i]; s.live && s.user == 1 {
				want = append(want, s.kind+"/"+s.handle)
			}
		}
		rows, err := d.List(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Kind+"/"+r.Handle)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("List = %v, want %v", got, want)
		}
		for _, s := range sessions {
			_, err := d.find(ctx, s.user, ids[s.kind+"/"+s.handle+"/"+strconv.Itoa(int(s.user))])
			if s.live && s.user == 1 && err != nil {
				t.Errorf("find %s/%s: %v", s.kind, s.handle, err)
			}
			if !(s.live && s.user == 1) && !errors.Is(err, ErrNotFound) {
				t.Errorf("find %s/%s of user %d: %v, want ErrNotFound", s.kind, s.handle, s.user, err)
			}
		}

		// Without token tracking (a custom store), token sessions hide.
		noTok := &Devices{DB: db, Now: c.Now, JWT: true, Grace: d.Grace}
		rows, err = noTok.List(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0].Kind != JWT || rows[1].Kind != JWT || rows[2].Kind != JWT {
			t.Fatalf("List without token tracking = %+v", rows)
		}

		n, err := d.Prune(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if dead := int64(len(sessions) - len(want)); n != dead {
			t.Fatalf("Prune deleted %d, want %d", n, dead)
		}
		var left int64
		db.Model(&models.Session{}).Count(&left)
		if left != int64(len(want)) {
			t.Fatalf("%d sessions left, want %d", left, len(want))
		}
	})
}

// TestRevoke: Revoke ends a live session of its user only, keeps the
// row when ending the credential fails, and deletes it otherwise.
func TestRevoke(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		d, _ := setup(t, db, c)
		ctx := context.Background()
		if err := db.Create(&models.Token{Digest: "dg", UserID: 1, CreatedAt: c.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		if err := d.Record(ctx, 1, Token, "dg", Client{IP: "192.0.2.1", UserAgent: "A"}); err != nil {
			t.Fatal(err)
		}
		var row models.Session
		if err := db.Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		var ended []string
		end := func(err error) func(context.Context, models.Session) error {
			return func(_ context.Context, s models.Session) error {
				ended = append(ended, s.Handle)
				return err
			}
		}
		for _, tc := range []struct {
			name    string
			user    uint
			id      string
			endErr  error
			want    error
			ended   int
			rowLeft bool
		}{
			{"unknown id", 1, strings.Repeat("0", 32), nil, ErrNotFound, 0, true},
			{"another user's", 2, row.PublicID, nil, ErrNotFound, 0, true},
			{"ending fails", 1, row.PublicID, boom, boom, 1, true},
			{"ended", 1, row.PublicID, nil, nil, 2, false},
			{"again", 1, row.PublicID, nil, ErrNotFound, 2, false},
		} {
			got, err := d.Revoke(ctx, tc.user, tc.id, end(tc.endErr))
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: err %v, want %v", tc.name, err, tc.want)
			}
			if err == nil && (got.PublicID != row.PublicID || got.Handle != "dg" || got.IP != "192.0.2.1") {
				t.Fatalf("%s: returned %+v", tc.name, got)
			}
			if len(ended) != tc.ended {
				t.Fatalf("%s: end called %d times, want %d", tc.name, len(ended), tc.ended)
			}
			var n int64
			db.Model(&models.Session{}).Where("public_id = ?", row.PublicID).Count(&n)
			if (n == 1) != tc.rowLeft {
				t.Fatalf("%s: row left %v, want %v", tc.name, n == 1, tc.rowLeft)
			}
		}
	})
}

// TestDeleteUser keeps only the named session of the user, and nothing of
// other users is touched.
func TestDeleteUser(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		d, _ := setup(t, db, c)
		ctx := context.Background()
		for _, s := range []struct {
			user         uint
			kind, handle string
		}{{1, Token, "a"}, {1, JWT, "a"}, {1, Token, "b"}, {2, Token, "c"}} {
			if err := d.Record(ctx, s.user, s.kind, s.handle, Client{}); err != nil {
				t.Fatal(err)
			}
		}
		handles := func() []string {
			var rows []models.Session
			db.Order("user_id, kind, handle").Find(&rows)
			var out []string
			for _, r := range rows {
				out = append(out, strconv.Itoa(int(r.UserID))+r.Kind+r.Handle)
			}
			return out
		}
		if err := d.DeleteUser(ctx, 1, Token, "a"); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(handles(), " "); got != "1tokena 2tokenc" {
			t.Fatalf("after DeleteUser keeping token a: %s", got)
		}
		if err := d.DeleteHandles(ctx, Token, "a", "c"); err != nil {
			t.Fatal(err)
		}
		if got := handles(); len(got) != 0 {
			t.Fatalf("after DeleteHandles: %v", got)
		}
	})
}

// TestRecordCleansClient: the client's fields are stored valid, without
// control characters, and cut to their columns on a character boundary.
func TestRecordCleansClient(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 200) // 400 bytes
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "Mozilla/5.0 (X11)", maxUserAgent, "Mozilla/5.0 (X11)"},
		{"control characters", "a\x00b\tc\r\nd\x7f", maxUserAgent, "abcd"},
		{"invalid UTF-8", "a\xffb\xc3", maxUserAgent, "ab"},
		{"cut on a rune boundary", long, maxUserAgent, strings.Repeat("é", 127)},
		{"address", strings.Repeat("1", 60), maxIP, strings.Repeat("1", 45)},
	} {
		got := clean(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("%s: clean = %q, want %q", tc.name, got, tc.want)
		}
	}
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		d, _ := setup(t, db, c)
		ctx := WithClient(context.Background(), Client{IP: "2001:db8::1", UserAgent: "x\x00" + long})
		if err := d.Record(ctx, 1, JWT, "fam", ClientFrom(ctx)); err != nil {
			t.Fatal(err)
		}
		var row models.Session
		if err := db.Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if row.IP != "2001:db8::1" || row.UserAgent != "x"+strings.Repeat("é", 127) || len(row.PublicID) != 32 ||
			!row.CreatedAt.Equal(c.Now()) || !row.LastUsedAt.Equal(c.Now()) {
			t.Fatalf("row %+v", row)
		}
		// Untracked kinds record nothing.
		off := &Devices{DB: db, Now: c.Now}
		if err := off.Record(ctx, 1, Token, "k", Client{}); err != nil {
			t.Fatal(err)
		}
		var n int64
		db.Model(&models.Session{}).Count(&n)
		if n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
	})
}

// customStore is a token store without DeleteDigest.
type customStore struct{ tokens.Store }

// TestRevokeDigest: the default store revokes a key by its digest, for
// its user only; a custom store answers ErrNoDigest.
func TestRevokeDigest(t *testing.T) {
	t.Parallel()
	testdb.ForEach(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		c := newClock()
		setup(t, db, c)
		ctx := context.Background()
		keys := &tokens.Keys{Store: tokens.NewGORMStore(db, c.Now), Now: c.Now}
		k, err := keys.Issue(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		dg := secret.Digest(k)
		if err := keys.RevokeDigest(ctx, 2, dg); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.User(ctx, k); err != nil {
			t.Fatalf("another user's revocation ended the key: %v", err)
		}
		if err := keys.RevokeDigest(ctx, 1, dg); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.User(ctx, k); !errors.Is(err, tokens.ErrNotFound) {
			t.Fatalf("key still works: %v", err)
		}
		custom := &tokens.Keys{Store: customStore{keys.Store}, Now: c.Now}
		if err := custom.RevokeDigest(ctx, 1, dg); !errors.Is(err, tokens.ErrNoDigest) {
			t.Fatalf("custom store: %v, want ErrNoDigest", err)
		}
	})
}
