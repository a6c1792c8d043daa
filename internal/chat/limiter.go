package chat

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets keyed by a string (visitor, address,
// account). A bucket is forgotten once it has been unused for ten minutes
// and long enough to be full again: forgetting an emptied bucket sooner
// would hand a slow one's whole burst back early.
type limiter struct {
	mu     sync.Mutex
	every  rate.Limit
	burst  int
	forget time.Duration
	m      map[string]*bucket
	swept  time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newLimiter(perSecond float64, burst int) *limiter {
	refill := time.Duration(float64(burst) / perSecond * float64(time.Second))
	return &limiter{every: rate.Limit(perSecond), burst: burst, forget: max(10*time.Minute, refill), m: map[string]*bucket{}}
}

func (l *limiter) allow(key string, now time.Time) bool { return l.wait(key, now) == 0 }

// wait takes one token of key's bucket and returns 0, or, when the bucket
// is empty, takes nothing and returns how long until a token is there.
func (l *limiter) wait(key string, now time.Time) time.Duration { return l.waitN(key, now, 1) }

// waitN is wait for n tokens (n at most the burst).
func (l *limiter) waitN(key string, now time.Time, n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.m {
			if now.Sub(b.used) > l.forget {
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
	r := b.lim.ReserveN(now, n)
	if !r.OK() {
		return l.forget // more than a full bucket: never
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// addressLimits are the per-address and per-site limits on visitors
// (PARLEY_RATE_LIMITS): how fast one client address, or all of a site's
// visitors together, may create visitors, send messages, upload bytes of
// files and open widget connections. The per-visitor message limit is not
// among them: it holds even when these are off.
type addressLimits struct {
	off bool

	sessionsByAddr, sessionsBySite       *limiter
	messagesByAddr, messagesBySite       *limiter
	uploadBytesByAddr, uploadBytesBySite *limiter
	connsByAddr                          *limiter
}

func newAddressLimits(off bool) *addressLimits {
	return &addressLimits{
		off: off,
		// A new visitor is a row: 30 from one address in a burst, then
		// one every 3 seconds; a whole site takes 300, then 5 a second.
		sessionsByAddr: newLimiter(1.0/3, 30),
		sessionsBySite: newLimiter(5, 300),
		// Messages: 30 from one address in a burst, then one a second,
		// whatever visitors it holds; a site 300, then 10 a second.
		messagesByAddr: newLimiter(1, 30),
		messagesBySite: newLimiter(10, 300),
		// Bytes of visitors' files, counted in bytes (see upload.go):
		// 100 MiB from one address, then 100 MiB an hour; a site
		// 200 MiB, then 200 MiB an hour.
		uploadBytesByAddr: newLimiter(visitorBytesPerHourByAddr/3600.0, visitorBytesPerHourByAddr),
		uploadBytesBySite: newLimiter(visitorBytesPerHourBySite/3600.0, visitorBytesPerHourBySite),
		// Widget connections opened from one address: 60, then one a
		// second (page changes reconnect).
		connsByAddr: newLimiter(1, 60),
	}
}

// check takes one token of the address's and of the site's bucket; the
// site's is only touched when the address's allows it, so one flooding
// address cannot empty its site's bucket for everyone.
func (al *addressLimits) check(byAddr, bySite *limiter, addr, workspaceID string, now time.Time, what string) error {
	return al.checkN(byAddr, bySite, addr, workspaceID, now, 1, what)
}

// checkN is check for n tokens.
func (al *addressLimits) checkN(byAddr, bySite *limiter, addr, workspaceID string, now time.Time, n int, what string) error {
	return al.within((*limiter).waitN, byAddr, bySite, addr, workspaceID, now, n, what)
}

// readyN is checkN taking nothing: whether checkN would allow n tokens now.
func (al *addressLimits) readyN(byAddr, bySite *limiter, addr, workspaceID string, now time.Time, n int, what string) error {
	return al.within((*limiter).ready, byAddr, bySite, addr, workspaceID, now, n, what)
}

// within is checkN with the buckets asked through wait (waitN, which
// takes, or ready, which does not).
func (al *addressLimits) within(wait func(l *limiter, key string, now time.Time, n int) time.Duration,
	byAddr, bySite *limiter, addr, workspaceID string, now time.Time, n int, what string) error {
	if al.off {
		return nil
	}
	if addr != "" {
		if d := wait(byAddr, addr, now, n); d > 0 {
			return rateLimited(fmt.Sprintf("too many %s from your address; try again in %s", what, roundUp(d)), d)
		}
	}
	if bySite != nil && workspaceID != "" {
		if d := wait(bySite, workspaceID, now, n); d > 0 {
			return rateLimited(fmt.Sprintf("too many %s on this site right now; try again in %s", what, roundUp(d)), d)
		}
	}
	return nil
}

// roundUp is d in whole seconds, at least one.
func roundUp(d time.Duration) time.Duration {
	return max(time.Second, time.Duration(math.Ceil(d.Seconds()))*time.Second)
}

// allowOrWait is allow, and when it refuses, how long until a token is
// there (for Retry-After).
func (l *limiter) allowOrWait(key string, now time.Time) (bool, time.Duration) {
	d := l.wait(key, now)
	return d == 0, d
}

// ready is waitN without taking: how long until n tokens of key's bucket
// are there (0: now), for a check before work that waitN then charges.
func (l *limiter) ready(key string, now time.Time, n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if n > l.burst {
			return l.forget
		}
		return 0
	}
	short := float64(n) - b.lim.TokensAt(now)
	if short <= 0 {
		return 0
	}
	if n > l.burst {
		return l.forget
	}
	return time.Duration(short / float64(l.every) * float64(time.Second))
}
