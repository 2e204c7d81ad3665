package openai

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/vrlaif/vrlaif/backend"
)

// backoff is "full jitter" exponential backoff: uniform in [0, min(max, base·2^attempt)).
func backoff(base, maxWait time.Duration, attempt int) time.Duration {
	d := maxWait
	if attempt < 30 && base<<attempt < maxWait {
		d = base << attempt
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http1Date(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func http1Date(v string) (time.Time, error) { return time.Parse(time.RFC1123, v) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// breaker opens after threshold failed attempts in a row and fails calls fast for cooloff; then
// it lets one probe through (half-open): success closes it, failure opens it again.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooloff   time.Duration
	now       func() time.Time
	fails     int
	lastErr   error // the failure that last opened or kept open the breaker
	openUntil time.Time
	probing   bool
}

// allow lets an attempt through, or says why not: the breaker is open, with the failure that
// opened it (a call refused without reaching the server still says what is wrong with it).
func (b *breaker) allow() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.threshold {
		return nil
	}
	if b.now().Before(b.openUntil) || b.probing {
		return fmt.Errorf("%w after %d failed attempts in a row; the last: %v", backend.ErrCircuitOpen, b.fails, b.lastErr)
	}
	b.probing = true
	return nil
}

func (b *breaker) success() {
	b.mu.Lock()
	b.fails, b.probing = 0, false
	b.mu.Unlock()
}

func (b *breaker) failure(err error) {
	b.mu.Lock()
	b.fails++
	b.lastErr = err
	b.probing = false
	if b.fails >= b.threshold {
		b.openUntil = b.now().Add(b.cooloff)
	}
	b.mu.Unlock()
}

// neutral ends an attempt that says nothing about the server's health (rate limited, cancelled).
func (b *breaker) neutral() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}
