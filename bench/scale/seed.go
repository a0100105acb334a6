package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restauth/restauth/internal/ident"
	"github.com/restauth/restauth/internal/secret"
	"github.com/restauth/restauth/models"
)

// mix is splitmix64's finaliser: a bijection on uint64, so the names
// made from it are unique and spread over the whole key space (a B-tree
// filled in key order would be unrealistically compact).
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// seedUsername is the username of seeded user id: mixed case, so that
// username_key (case-folded) differs from it as it would for real users.
func seedUsername(id int) string { return fmt.Sprintf("User_%016X", mix(uint64(id))) }

// seedEmail is the address of seeded user id, with an upper-case domain
// that ident.Email lower-cases as registration would.
func seedEmail(id int) string { return fmt.Sprintf("user_%016x@Example.COM", mix(uint64(id))) }

// seedPassword is every seeded user's password.
const seedPassword = "Scale-Bench-pw-42!"

// seeder writes the rows of one run with COPY.
type seeder struct {
	dsn  string // with search_path set to the run's schema
	n    int
	salt [16]byte // makes the token keys of this run unknowable elsewhere
	now  time.Time
	// refresh is the JWT refresh lifetime seeded outstanding tokens get.
	refresh time.Duration
}

// tokenKey is the token key of seeded user id: the seeded
// restauth_tokens row holds its SHA-256 digest, as a login would store it.
func (s *seeder) tokenKey(id int) string {
	h := sha256.New()
	h.Write(s.salt[:])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// jti is the refresh token id (and family) seeded for user id.
func (s *seeder) jti(id int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%x/jti/%d", s.salt, id))
	return hex.EncodeToString(sum[:16])
}

// publicID is a seeded session's public id.
func (s *seeder) publicID(id int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%x/session/%d", s.salt, id))
	return hex.EncodeToString(sum[:16])
}

// blacklisted reports whether seeded user id's refresh token is
// blacklisted (one user in twenty: logged out), and when.
func (s *seeder) blacklisted(id int) (time.Time, bool) {
	m := mix(uint64(id) ^ 0x5eed)
	if m%20 != 0 {
		return time.Time{}, false
	}
	// Spread over the last week.
	return s.now.Add(-time.Duration(m>>8%uint64(7*24*3600)) * time.Second), true
}

// seedTable is one COPY.
type seedTable struct {
	name string
	cols []string
	rows int
	row  func(i int) []any // i counts from 0
}

// seedStats is what seeding took.
type seedStats struct {
	rows    map[string]int
	perCopy map[string]time.Duration
	copy    time.Duration // all COPYs, run in parallel
	vacuum  time.Duration // VACUUM ANALYZE of every table
}

// tables lists the COPYs of a run: N users, N primary verified
// addresses, N token keys each with its session row, N outstanding
// refresh tokens each with its session row, and the blacklist rows of
// one user in twenty. Every id is explicit (1..rows), so the sequences
// are set after.
func (s *seeder) tables(userTable string) []seedTable {
	n := s.n
	joined := s.now.Add(-365 * 24 * time.Hour)
	used := s.now.Add(-2 * time.Hour)
	var bl []int
	for id := 1; id <= n; id++ {
		if _, ok := s.blacklisted(id); ok {
			bl = append(bl, id)
		}
	}
	return []seedTable{
		{
			name: userTable,
			cols: []string{"id", "username", "username_key", "email", "email_key", "password", "first_name", "last_name",
				"is_active", "is_staff", "is_superuser", "date_joined", "last_login"},
			rows: n,
			row: func(i int) []any {
				id := i + 1
				name, email := ident.Username(seedUsername(id)), ident.Email(seedEmail(id))
				return []any{id, name, ident.UsernameKey(name), email, ident.EmailKey(email), plainHasher{}.encode(seedPassword),
					"First", "Last", true, false, false, joined, used}
			},
		},
		{
			name: models.EmailAddress{}.TableName(),
			cols: []string{"id", "user_id", "email", "email_key", "verified", "is_primary"},
			rows: n,
			row: func(i int) []any {
				id := i + 1
				email := ident.Email(seedEmail(id))
				return []any{id, id, email, ident.EmailKey(email), true, true}
			},
		},
		{
			name: models.Token{}.TableName(),
			cols: []string{"id", "digest", "user_id", "created_at", "expires_at"},
			rows: n,
			row: func(i int) []any {
				id := i + 1
				return []any{id, secret.Digest(s.tokenKey(id)), id, used, nil}
			},
		},
		{
			// Rows 1..N: token sessions; N+1..2N: JWT sessions.
			name: models.Session{}.TableName(),
			cols: []string{"id", "public_id", "user_id", "kind", "handle", "created_at", "last_used_at", "ip", "user_agent"},
			rows: 2 * n,
			row: func(i int) []any {
				id := i + 1
				if id <= n {
					return []any{id, s.publicID(id), id, "token", secret.Digest(s.tokenKey(id)), used, used, "127.0.0.1", "scale-bench"}
				}
				u := id - n
				return []any{id, s.publicID(id), u, "jwt", s.jti(u), used, used, "127.0.0.1", "scale-bench"}
			},
		},
		{
			name: models.OutstandingToken{}.TableName(),
			cols: []string{"id", "jti", "family", "user_id", "created_at", "expires_at"},
			rows: n,
			row: func(i int) []any {
				id := i + 1
				return []any{id, s.jti(id), s.jti(id), id, used, used.Add(s.refresh)}
			},
		},
		{
			name: models.BlacklistedToken{}.TableName(),
			cols: []string{"id", "token_id", "blacklisted_at"},
			rows: len(bl),
			row: func(i int) []any {
				at, _ := s.blacklisted(bl[i])
				return []any{i + 1, bl[i], at}
			},
		},
	}
}

// copySource feeds rows [i, end) of a table to CopyFrom without holding
// them all.
type copySource struct {
	t      seedTable
	i, end int
	cur    []any
}

func (c *copySource) Next() bool {
	if c.i >= c.end {
		return false
	}
	c.cur = c.t.row(c.i)
	c.i++
	return true
}

func (c *copySource) Values() ([]any, error) { return c.cur, nil }
func (c *copySource) Err() error             { return nil }

// chunkRows is the most rows one COPY writes: a table is copied in
// chunks, par at a time, so that the biggest table does not finish last
// alone.
const chunkRows = 250_000

// seed copies every table, par chunks at a time, each on its own
// connection, into the tables AutoMigrate made (indexes in place, as in
// a live database), then sets the id sequences and runs VACUUM ANALYZE.
func (s *seeder) seed(ctx context.Context, userTable string, par int) (seedStats, error) {
	st := seedStats{rows: map[string]int{}, perCopy: map[string]time.Duration{}}
	tables := s.tables(userTable)
	type chunk struct {
		t      seedTable
		lo, hi int
	}
	var chunks []chunk
	for _, t := range tables {
		st.rows[t.name] = t.rows
		for lo := 0; lo < t.rows; lo += chunkRows {
			chunks = append(chunks, chunk{t, lo, min(lo+chunkRows, t.rows)})
		}
	}
	start := time.Now()
	first, last := map[string]time.Time{}, map[string]time.Time{}
	sem := make(chan struct{}, par)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, c := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			err := s.copyRows(ctx, c.t, c.lo, c.hi)
			t1 := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if f, ok := first[c.t.name]; !ok || t0.Before(f) {
				first[c.t.name] = t0
			}
			if t1.After(last[c.t.name]) {
				last[c.t.name] = t1
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return st, firstErr
	}
	for name, f := range first {
		st.perCopy[name] = last[name].Sub(f)
	}
	st.copy = time.Since(start)

	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return st, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	start = time.Now()
	for _, t := range tables {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), GREATEST((SELECT max(id) FROM %s), 1))`, t.name, t.name)
		if _, err := conn.Exec(ctx, q); err != nil {
			return st, fmt.Errorf("set sequence of %s: %w", t.name, err)
		}
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+t.name); err != nil {
			return st, fmt.Errorf("vacuum %s: %w", t.name, err)
		}
	}
	st.vacuum = time.Since(start)
	return st, nil
}

func (s *seeder) copyRows(ctx context.Context, t seedTable, lo, hi int) error {
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	// A bench database: losing the last commits in a crash is fine.
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return fmt.Errorf("set synchronous_commit: %w", err)
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, &copySource{t: t, i: lo, end: hi})
	if err != nil {
		return fmt.Errorf("copy into %s: %w", t.name, err)
	}
	if int(n) != hi-lo {
		return fmt.Errorf("copy into %s: %d rows, want %d", t.name, n, hi-lo)
	}
	return nil
}
