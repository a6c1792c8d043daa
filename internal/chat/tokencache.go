package chat

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// tokenCacheFor is how long an agent read for a token is kept: the delay
// within which a token revoked, or an agent changed, by another node or by
// a command is refused or seen everywhere. A change made through this
// process is seen at once (store.DB.AccountsGeneration).
const tokenCacheFor = 2 * time.Second

// tokenCacheSize bounds the tokens remembered; past it the cache starts
// again empty.
const tokenCacheSize = 10000

// tokenCache remembers the agent of each token used in the last moments:
// every authenticated request (each reply of an agent, each call of the
// dashboard) would otherwise read the token and its agent from the
// database. Only tokens that authenticated are kept; a wrong one is read
// each time, as before.
type tokenCache struct {
	mu sync.Mutex
	m  map[string]tokenEntry // by token hash
	// forgotten counts the revocations of agents' tokens that reached
	// this node (another node's too: Service.ForgetTokens).
	forgotten atomic.Uint64
}

// tokenGen is what an entry was read under: the agents' generation in the
// database (store.DB.AccountsGeneration) and the revocations seen.
type tokenGen struct{ agents, forgotten uint64 }

type tokenEntry struct {
	agent model.Agent
	gen   tokenGen  // taken before the agent was read
	until time.Time // the earlier of the token's expiry and the entry's end
}

// forget drops every entry, and those being read now.
func (c *tokenCache) forget() {
	c.forgotten.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[string]tokenEntry{}} }

// get returns the agent of hash if it was read while the agents were as
// they are (gen) and the entry has not ended.
func (c *tokenCache) get(hash string, gen tokenGen, now time.Time) (model.Agent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[hash]
	if !ok {
		return model.Agent{}, false
	}
	if e.gen != gen || !now.Before(e.until) {
		delete(c.m, hash)
		return model.Agent{}, false
	}
	return e.agent, true
}

// put remembers a, read for hash at generation gen, until now plus
// tokenCacheFor or the token's expiry, whichever is first.
func (c *tokenCache) put(hash string, a model.Agent, gen tokenGen, now, expires time.Time) {
	until := now.Add(tokenCacheFor)
	if expires.Before(until) {
		until = expires
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen.forgotten != c.forgotten.Load() {
		return // read before a revocation: maybe revoked
	}
	if len(c.m) >= tokenCacheSize {
		clear(c.m)
	}
	c.m[hash] = tokenEntry{agent: a, gen: gen, until: until}
}

// ForgetTokens drops what is remembered of agents' tokens: a revocation
// reached this node (from another node, whose writes do not change this
// process's store.DB.AccountsGeneration).
func (s *Service) ForgetTokens() { s.tokens.forget() }
