package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/parleychat/parley/internal/chat"
)

// A file is read whole into memory before it is checked and stored. The
// gate bounds what uploads being read hold at once, whoever sends them:
// every upload takes its size (as announced, else the most it may be) of
// a budget shared by the process, and one client address (or agent) reads
// at most uploadsPerKey at a time. Past the budget an upload waits for
// room, then is refused with 429 and Retry-After.
const (
	// uploadBudgetBytes is about six files of the largest size.
	uploadBudgetBytes = 64 << 20
	// uploadsPerKey is how many uploads one address or agent sends at once.
	uploadsPerKey = 2
	// uploadRoomWait is how long an upload waits for room in the budget.
	uploadRoomWait = 10 * time.Second
	// uploadRetryAfter is what a refused upload is told to wait.
	uploadRetryAfter = 5 * time.Second
)

type uploadGate struct {
	budget *semaphore.Weighted
	mu     sync.Mutex
	inUse  map[string]int
}

func newUploadGate(budget int64) *uploadGate {
	return &uploadGate{budget: semaphore.NewWeighted(budget), inUse: map[string]int{}}
}

// enter admits an upload of weight bytes from key, or answers why not;
// release gives its room back once its bytes are no longer held.
func (g *uploadGate) enter(ctx context.Context, key string, weight int64) (release func(), err error) {
	g.mu.Lock()
	if g.inUse[key] >= uploadsPerKey {
		g.mu.Unlock()
		return nil, &chat.Error{Code: chat.CodeRateLimited, RetryAfter: uploadRetryAfter,
			Message: "another file from your address is still arriving; try again once it has"}
	}
	g.inUse[key]++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if g.inUse[key]--; g.inUse[key] <= 0 {
			delete(g.inUse, key)
		}
		g.mu.Unlock()
	}
	wait, cancel := context.WithTimeout(ctx, uploadRoomWait)
	defer cancel()
	if err := g.budget.Acquire(wait, weight); err != nil {
		leave()
		return nil, &chat.Error{Code: chat.CodeRateLimited, RetryAfter: uploadRetryAfter,
			Message: "the server is receiving many files; try again in a moment"}
	}
	return func() {
		g.budget.Release(weight)
		leave()
	}, nil
}

// uploadWeight is what an upload of at most bodyLimit bytes takes of the
// budget: its announced length, else bodyLimit.
func uploadWeight(r *http.Request, bodyLimit int64) int64 {
	if r.ContentLength > 0 && r.ContentLength < bodyLimit {
		return r.ContentLength
	}
	return bodyLimit
}
