package chat

import (
	"sync"
	"sync/atomic"
	"time"
)

// keptFor is how long what was read of an account (a token's agent, a
// site's workspace) is kept: the delay within which a change made by a
// command, or by another node that did not tell this one, is seen. A
// change made through this process is seen at once
// (store.DB.AccountsGeneration).
const keptFor = 2 * time.Second

// keptSize bounds the entries of one cache; past it the cache starts again
// empty.
const keptSize = 10000

// kept remembers, by key, what requests of the last moments read of the
// accounts: every agent's request would otherwise read its token and
// agent, and every widget's session its site's workspace, from the
// database. Only what was found is kept: a wrong key is read each time.
type kept[V any] struct {
	mu sync.Mutex
	m  map[string]keptEntry[V]
	// forgotten counts the times this node was told that what it keeps
	// may be stale (by another node: see forget).
	forgotten atomic.Uint64
}

// keptGen is what an entry was read under: the accounts' generation in the
// database (store.DB.AccountsGeneration) and the times the cache was told
// to forget.
type keptGen struct{ accounts, forgotten uint64 }

type keptEntry[V any] struct {
	v     V
	gen   keptGen   // taken before v was read
	until time.Time // the entry's end
}

func newKept[V any]() *kept[V] { return &kept[V]{m: map[string]keptEntry[V]{}} }

// read returns the value of key as kept, or as load reads it now, kept
// then until load's end (zero: none) or keptFor, whichever is first. The
// generation is taken before load runs (accounts is read by the caller,
// before the call): a change committed while it runs makes the entry one
// the next read does not take. What load fails to find is not kept.
func (c *kept[V]) read(key string, accounts uint64, now time.Time, load func() (V, time.Time, error)) (V, error) {
	gen := keptGen{accounts, c.forgotten.Load()}
	if v, ok := c.get(key, gen, now); ok {
		return v, nil
	}
	v, ends, err := load()
	if err != nil {
		return v, err
	}
	c.put(key, v, gen, now, ends)
	return v, nil
}

// forget drops every entry, and those being read now.
func (c *kept[V]) forget() {
	c.forgotten.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// get returns the value of key if it was read while the accounts were as
// they are (gen) and its entry has not ended.
func (c *kept[V]) get(key string, gen keptGen, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || e.gen != gen || !now.Before(e.until) {
		if ok {
			delete(c.m, key)
		}
		var zero V
		return zero, false
	}
	return e.v, true
}

// put remembers v, read for key at generation gen, until now plus keptFor
// or until ends (when it is not zero), whichever is first.
func (c *kept[V]) put(key string, v V, gen keptGen, now, ends time.Time) {
	until := now.Add(keptFor)
	if !ends.IsZero() && ends.Before(until) {
		until = ends
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen.forgotten != c.forgotten.Load() {
		return // read before the cache was told to forget: maybe stale
	}
	if len(c.m) >= keptSize {
		clear(c.m)
	}
	c.m[key] = keptEntry[V]{v: v, gen: gen, until: until}
}

// ForgetTokens drops what is remembered of agents' tokens: a revocation
// reached this node (from another node, whose writes do not change this
// process's store.DB.AccountsGeneration).
func (s *Service) ForgetTokens() { s.tokens.forget() }

// ForgetSites drops what is remembered of sites' workspaces: the agents'
// availability of a workspace changed (another node tells this one by the
// frame it sends the workspace's widgets).
func (s *Service) ForgetSites() { s.sites.forget() }
