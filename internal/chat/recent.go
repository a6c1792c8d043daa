package chat

import (
	"sync"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// sessionKeyLifetime is how long a node remembers the key of a visitor
// whose session it answered: the widget opens its WebSocket with the same
// token at once, and that check then reads nothing.
const sessionKeyLifetime = 10 * time.Second

// sessionKeys remembers the keys of visitors whose session this node
// answered in the last sessionKeyLifetime, as read or written then, until
// their WebSocket takes them. A reset of the visitor's links or their
// erasure on this node forgets the key; one on another node cannot, and is
// caught as every reset between a token's check and its connection's
// registration is: the hub remembers the revocation and closes a
// connection of an older generation.
type sessionKeys struct {
	mu    sync.Mutex
	keys  map[string]sessionKey // visitor id →
	swept time.Time
}

type sessionKey struct {
	key model.VisitorKey
	at  time.Time
}

func newSessionKeys() *sessionKeys { return &sessionKeys{keys: map[string]sessionKey{}} }

// remember records the key of a visitor whose session was answered at now.
func (r *sessionKeys) remember(k model.VisitorKey, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Sub(r.swept) >= sessionKeyLifetime {
		for id, e := range r.keys {
			if now.Sub(e.at) >= sessionKeyLifetime {
				delete(r.keys, id)
			}
		}
		if len(r.keys) == 0 {
			r.keys = map[string]sessionKey{} // a map keeps the room it grew to
		}
		r.swept = now
	}
	r.keys[k.ID] = sessionKey{key: k, at: now}
}

// take returns the remembered key of the visitor id when it is of the
// token's generation and was remembered less than sessionKeyLifetime
// before now, and forgets it: a session is followed by one WebSocket (a
// second one, or one reconnecting without a session, reads the visitor).
// The memory then holds only the sessions whose WebSocket is on its way.
func (r *sessionKeys) take(id string, generation int, now time.Time) (model.VisitorKey, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.keys[id]
	if !ok || now.Sub(e.at) >= sessionKeyLifetime || now.Before(e.at) || e.key.TokenGeneration != generation {
		return model.VisitorKey{}, false
	}
	delete(r.keys, id)
	return e.key, true
}

// forget drops what is remembered of the visitor id.
func (r *sessionKeys) forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keys, id)
}
