// Package revoked keeps, in memory, the JWT logins (refresh families)
// revoked within the last access-token lifetime, so that RequireAuth can
// refuse their access tokens without a query. Each instance refreshes
// its set from the database at most once per interval, when a request
// needs it, and at once after a revocation of its own; so a logout, a
// password change or reset, a revoked session or RevokeSessions on any
// instance ends the access tokens on every instance within the interval.
package revoked

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/restauth/restauth/models"
)

// Set is the revoked families of the last access-token lifetime.
type Set struct {
	db       *gorm.DB
	lifetime time.Duration
	interval time.Duration
	now      func() time.Time

	mu       sync.RWMutex
	families map[string]time.Time // family -> until
	loaded   time.Time            // when the set was last read or tried (zero: stale)
	gen      uint64               // bumped by Stale: a read begun before it is not fresh

	refresh sync.Mutex // one read at a time
}

// loadTimeout bounds one read of the set: a database that does not answer
// must not hold requests for the whole request timeout.
const loadTimeout = 2 * time.Second

// New returns a Set for access tokens living lifetime, refreshed at most
// every interval.
func New(db *gorm.DB, lifetime, interval time.Duration, now func() time.Time) *Set {
	return &Set{db: db, lifetime: lifetime, interval: interval, now: now, families: map[string]time.Time{}}
}

// Stale makes the next check read the database (after a revocation).
func (s *Set) Stale() {
	s.mu.Lock()
	s.loaded = time.Time{}
	s.gen++
	s.mu.Unlock()
}

// Revoked reports whether family was revoked. It reads the database
// first when the set is older than the interval; while one request
// reads, the others answer from the set they have. When the read fails,
// the set read last answers, the next try waits an interval, and the
// error is returned for logging.
func (s *Set) Revoked(ctx context.Context, family string) (bool, error) {
	var err error
	if s.stale() {
		err = s.load(ctx)
	}
	s.mu.RLock()
	until, ok := s.families[family]
	s.mu.RUnlock()
	return ok && s.now().Before(until), err
}

func (s *Set) stale() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.loaded.IsZero() || s.now().Sub(s.loaded) >= s.interval
}

// load reads the families whose refresh tokens are all blacklisted or
// expired and one of which was blacklisted within the lifetime.
func (s *Set) load(ctx context.Context) error {
	if !s.refresh.TryLock() {
		return nil // another request is reading it
	}
	defer s.refresh.Unlock()
	if !s.stale() {
		return nil // another request just read it
	}
	s.mu.RLock()
	gen := s.gen
	s.mu.RUnlock()
	started := s.now()
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	out, bl := models.OutstandingToken{}.TableName(), models.BlacklistedToken{}.TableName()
	// Plain columns, no aggregate: SQLite returns an aggregate of times
	// as text.
	q := "SELECT o.family AS family, b.blacklisted_at AS at FROM " + bl + " b JOIN " + out + " o ON o.id = b.token_id" +
		" WHERE b.blacklisted_at >= ? AND NOT EXISTS (SELECT 1 FROM " + out + " o2 WHERE o2.family = o.family AND o2.expires_at > ?" +
		" AND NOT EXISTS (SELECT 1 FROM " + bl + " b2 WHERE b2.token_id = o2.id))"
	var rows []struct {
		Family string
		At     time.Time
	}
	// A refresh token that expired less than a lifetime ago still counts
	// as live (sessions.Live's grace for the access tokens it issued).
	since := started.Add(-s.lifetime).UTC()
	if err := s.db.WithContext(ctx).Raw(q, since, since).Scan(&rows).Error; err != nil {
		s.mu.Lock()
		if s.gen == gen {
			s.loaded = started // back off one interval
		}
		s.mu.Unlock()
		return fmt.Errorf("restauth: read revoked logins: %w", err)
	}
	fams := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		// An access token of the family issued just before the
		// revocation lives one lifetime past it.
		if until := r.At.Add(s.lifetime); until.After(fams[r.Family]) {
			fams[r.Family] = until
		}
	}
	s.mu.Lock()
	s.families = fams
	if s.gen == gen {
		// A Stale during the read leaves the set stale: that
		// revocation may have committed after the read began.
		s.loaded = started
	}
	s.mu.Unlock()
	return nil
}

// Len is the number of families in the set (for tests and metrics).
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.families)
}
