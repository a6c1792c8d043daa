package chat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets keyed by a string (visitor, address,
// account). Buckets unused for ten minutes are forgotten.
type limiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	return &limiter{every: rate.Limit(perSecond), burst: burst, m: map[string]*bucket{}}
}

func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.m {
			if now.Sub(b.used) > 10*time.Minute {
				delete(l.m, k)
			}
		}
		l.swept = now
	}
	b := l.m[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.m[key] = b
	}
	b.used = now
	return b.lim.AllowN(now, 1)
}

// allowOrWait is allow, and when it refuses, how long until a token is
// there (for Retry-After).
func (l *limiter) allowOrWait(key string, now time.Time) (bool, time.Duration) {
	if l.allow(key, now) {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.m[key].lim.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return false, wait
}
