package web

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/parleychat/parley/internal/chat"
)

// A file is read whole into memory before it is checked and stored. A
// gate bounds what uploads being read hold at once, whoever sends them:
// every upload takes its size (as announced, else the most it may be) of
// a budget, and a visitor (or agent) reads at most two at a time, a client
// address four. Past the budget an upload waits for room, then is refused
// with 429 and Retry-After. Visitors and agents have a gate each, so that
// strangers holding uploads open never keep agents from sending files.
const (
	// uploadBudgetBytes is about six files of the largest size.
	uploadBudgetBytes = 64 << 20
	// uploadsPerSender is how many uploads a visitor or an agent sends at
	// once (the widget and the dashboard send one after the other);
	// uploadsPerAddress how many one client address does (several
	// visitors may share it).
	uploadsPerSender  = 2
	uploadsPerAddress = 4
	// uploadRoomWait is how long an upload waits for room in the budget.
	uploadRoomWait = 10 * time.Second
	// uploadRetryAfter is what a refused upload is told to wait.
	uploadRetryAfter = 5 * time.Second
)

// gateKey is a sender or an address whose uploads in flight are bounded,
// and what a refusal says.
type gateKey struct {
	key   string
	limit int
	busy  string
}

func senderKey(key string) gateKey {
	return gateKey{key, uploadsPerSender, "another file of yours is still arriving; send one after the other"}
}

func addressKey(addr string) gateKey {
	return gateKey{"addr:" + addr, uploadsPerAddress, "other files from your network are still arriving; try again in a moment"}
}

type uploadGate struct {
	budget *semaphore.Weighted
	mu     sync.Mutex
	inUse  map[string]int
}

func newUploadGate(budget int64) *uploadGate {
	return &uploadGate{budget: semaphore.NewWeighted(budget), inUse: map[string]int{}}
}

// enter admits an upload of weight bytes under keys, or answers why not;
// release gives its room back once its bytes are no longer held.
func (g *uploadGate) enter(ctx context.Context, weight int64, keys ...gateKey) (release func(), err error) {
	g.mu.Lock()
	for _, k := range keys {
		if g.inUse[k.key] >= k.limit {
			g.mu.Unlock()
			return nil, &chat.Error{Code: chat.CodeRateLimited, RetryAfter: uploadRetryAfter, Message: k.busy}
		}
	}
	for _, k := range keys {
		g.inUse[k.key]++
	}
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		for _, k := range keys {
			if g.inUse[k.key]--; g.inUse[k.key] <= 0 {
				delete(g.inUse, k.key)
			}
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
