package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// gcraScript is the GCRA of gcra (ratelimit.go) run atomically in Redis on
// one key holding the TAT in Unix microseconds, with an expiry at the TAT
// (after which the key means nothing).
//
// KEYS[1] the key; ARGV[1] now in Unix microseconds; ARGV[2] the emission
// interval T in microseconds; ARGV[3] the burst Count; ARGV[4] "1" to record
// (Hit) or "0" (Peek). It returns {allowed 0|1, retry after in microseconds,
// remaining}. Times are integers below 2^53, which Lua's doubles hold
// exactly; string.format('%.0f') writes them without an exponent.
var gcraScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '') or now
if tat < now then tat = now end
local newtat = tat + t
local allowat = newtat - t * count
if now < allowat then
  return {0, allowat - now, 0}
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', string.format('%.0f', math.ceil((newtat - now) / 1000)))
end
return {1, 0, math.floor((now - allowat) / t)}
`)

// Redis is a [Store] in Redis, shared by every instance using the same
// server and prefix. Each decision is one EVALSHA of a Lua script on the key
// prefix+key, so it is atomic across instances; the key expires when its TAT
// passes, so Redis holds only keys still limited.
//
// The time comes from the caller's clock (the now given to NewRedis), in
// microseconds, not from Redis: instances sharing a Redis need synchronised
// clocks, as NTP gives; a clock that is off by d lets its instance through d
// early or holds it d late.
//
// Redis errors (network, timeout, server) are returned wrapped; the caller
// decides whether to fail open or closed. Configure the client's timeouts
// (DialTimeout, ReadTimeout, MaxRetries) to bound how long a call can take
// when Redis is down.
type Redis struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Redis store using client, storing key under
// prefix+key, and reading the time from now (time.Now when nil).
func NewRedis(client redis.UniversalClient, prefix string, now func() time.Time) *Redis {
	if now == nil {
		now = time.Now
	}
	return &Redis{client: client, prefix: prefix, now: now}
}

// Hit records one event for key unless l is reached.
func (r *Redis) Hit(ctx context.Context, key string, l Limit) (Decision, error) {
	return r.decide(ctx, key, l, "1")
}

// Peek reports what Hit would decide, recording nothing.
func (r *Redis) Peek(ctx context.Context, key string, l Limit) (Decision, error) {
	return r.decide(ctx, key, l, "0")
}

// Reset forgets key.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if r.client == nil {
		return errNilClient
	}
	if err := r.client.Del(ctx, r.prefix+key).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis reset: %w", err)
	}
	return nil
}

var errNilClient = errors.New("ratelimit: Redis store has a nil client")

func (r *Redis) decide(ctx context.Context, key string, l Limit, record string) (Decision, error) {
	if err := l.Validate(); err != nil {
		return Decision{}, err
	}
	if r.client == nil {
		return Decision{}, errNilClient
	}
	t := l.interval().Microseconds()
	now := r.now().UnixMicro()
	res, err := gcraScript.Run(ctx, r.client, []string{r.prefix + key}, now, t, l.Count, record).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: redis: script returned %d values, want 3", len(res))
	}
	return Decision{
		Allowed:    res[0] == 1,
		RetryAfter: time.Duration(res[1]) * time.Microsecond,
		Remaining:  int(res[2]),
	}, nil
}
