// Package realtime fans events out to the WebSocket connections open on this
// node: agents' dashboards per workspace and visitors' widgets per visitor.
package realtime

import (
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one open connection as the hub sees it: a bounded queue of
// encoded frames. Nothing waits on an idle connection: the first frame
// queued starts a goroutine that writes until the queue is empty, so a
// node holding thousands of quiet widgets keeps no writer goroutine (and
// no stack) for each.
type Conn struct {
	WorkspaceID string
	VisitorID   string // set for widget connections
	AgentID     string // set for dashboard connections
	// TokenHash names the token a dashboard connection was opened with
	// (for a widget, the generation of its visitor token), so that it
	// closes when the token stops being valid.
	TokenHash string
	// APIToken: the dashboard connection was opened with an API token,
	// which a password change leaves valid.
	APIToken bool

	mu      sync.Mutex
	queue   [][]byte
	limit   int // bound of queued plus in-flight frames
	writing int // frames of the batch being written
	running bool
	dead    bool
	revoked bool
	write   func([]byte) error
	stop    func()
	closed  chan struct{}

	actMu        sync.Mutex
	lastActivity time.Time
}

// SendBuffer is how many frames may wait for a slow widget before the hub
// drops it (the client reconnects and refetches what it missed). A
// dashboard receives every event of its workspace, so it may queue
// AgentSendBuffer frames: under load (hundreds of visitors arriving a
// second) a smaller queue dropped it again and again.
const (
	SendBuffer      = 64
	AgentSendBuffer = 4096
)

// NewConn makes a connection record for the hub. Frames queued before
// Start wait for it.
func NewConn(workspaceID, visitorID, agentID string) *Conn {
	limit := SendBuffer
	if agentID != "" {
		limit = AgentSendBuffer
	}
	return &Conn{WorkspaceID: workspaceID, VisitorID: visitorID, AgentID: agentID,
		limit: limit, closed: make(chan struct{})}
}

// Start attaches the socket: write sends one frame (bounded by its own
// timeout), stop closes the socket when the hub gives up on it (a slow
// client, a failed write, shutdown). Frames already queued are written.
func (c *Conn) Start(write func([]byte) error, stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write, c.stop = write, stop
	if c.dead {
		go stop()
		return
	}
	c.kick()
}

// Closed is closed when the hub gave up on the connection.
func (c *Conn) Closed() <-chan struct{} { return c.closed }

func (c *Conn) enqueue(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return
	}
	if len(c.queue)+c.writing >= c.limit {
		c.killLocked()
		return
	}
	c.queue = append(c.queue, frame)
	c.kick()
}

// kick starts the writer if there is a socket, something to write and no
// writer yet. c.mu is held.
func (c *Conn) kick() {
	if c.running || c.write == nil || len(c.queue) == 0 {
		return
	}
	c.running = true
	go c.drain()
}

func (c *Conn) drain() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		c.writing = len(batch)
		if len(batch) == 0 || c.dead {
			c.running = false
			c.writing = 0
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for _, frame := range batch {
			if err := c.write(frame); err != nil {
				c.kill() // the next turn finds the connection dead and stops
				break
			}
		}
	}
}

func (c *Conn) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.killLocked()
}

func (c *Conn) killLocked() {
	if c.dead {
		return
	}
	c.dead = true
	c.queue = nil
	close(c.closed)
	if c.stop != nil {
		go c.stop()
	}
}

// revoke closes the connection because its credentials are gone: unlike a
// dropped connection, the client is told not to reconnect with them.
func (c *Conn) revoke() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revoked = true
	c.killLocked()
}

// Revoked reports whether the connection was closed because its token
// stopped being valid.
func (c *Conn) Revoked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.revoked
}

// Kill closes the connection from the hub's side.
func (c *Conn) Kill() { c.kill() }

// Hub indexes this node's connections.
type Hub struct {
	mu       sync.RWMutex
	agents   map[string]map[*Conn]struct{} // workspace → dashboards
	widgets  map[string]map[*Conn]struct{} // workspace → widgets
	visitors map[string]map[*Conn]struct{} // visitor → widgets
	byAgent  map[string]map[*Conn]struct{} // agent → dashboards
	// reset holds, by visitor, the newest revocation of their widgets
	// (their links were reset, or they were erased), for resetMemory: a
	// widget whose token was checked before the revocation but that
	// registers after it is closed as it registers, without reading the
	// visitor again. The newest one is the truth: the tokens of the
	// generation it keeps were issued after it.
	reset     map[string]tombstone
	lastPrune time.Time
	// agentRevoked is told of every revocation of an agent's tokens, this
	// node's and the other nodes' (see OnAgentRevoked).
	agentRevoked atomic.Pointer[func()]
	// widgetsFrame is told of every frame for all the widgets of a
	// workspace (see OnWidgetsFrame).
	widgetsFrame atomic.Pointer[func()]
}

// OnAgentRevoked makes f called whenever a revocation of an agent's
// tokens reaches this node, before its connections close: what was
// remembered of the tokens must be read again.
func (h *Hub) OnAgentRevoked(f func()) { h.agentRevoked.Store(&f) }

// OnWidgetsFrame makes f called whenever a frame for all the widgets of a
// workspace reaches this node, this node's or another's, before the
// widgets are sent it: such a frame tells that the agents' availability
// changed, and what was remembered of it must be read again.
func (h *Hub) OnWidgetsFrame(f func()) { h.widgetsFrame.Store(&f) }

// tombstone is a revocation and when this node saw it.
type tombstone struct {
	r  Revocation
	at time.Time
}

// resetMemory is how long a visitor's revocation is remembered: far
// longer than a WebSocket handshake between a token's check and the
// connection's registration.
const resetMemory = 5 * time.Minute

// NewHub returns an empty hub.
func NewHub() *Hub {
	return &Hub{
		agents:   map[string]map[*Conn]struct{}{},
		widgets:  map[string]map[*Conn]struct{}{},
		visitors: map[string]map[*Conn]struct{}{},
		byAgent:  map[string]map[*Conn]struct{}{},
		reset:    map[string]tombstone{},
	}
}

func add(m map[string]map[*Conn]struct{}, key string, c *Conn) int {
	set := m[key]
	if set == nil {
		set = map[*Conn]struct{}{}
		m[key] = set
	}
	set[c] = struct{}{}
	return len(set)
}

func remove(m map[string]map[*Conn]struct{}, key string, c *Conn) int {
	set := m[key]
	delete(set, c)
	n := len(set)
	if n == 0 {
		delete(m, key)
	}
	return n
}

// Register adds a connection and returns how many connections its visitor
// (or agent) now has on this node.
func (h *Hub) Register(c *Conn) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.VisitorID != "" {
		add(h.widgets, c.WorkspaceID, c)
		n := add(h.visitors, c.VisitorID, c)
		if t, ok := h.reset[c.VisitorID]; ok && time.Since(t.at) < resetMemory && t.r.matches(c) {
			c.revoke()
		}
		return n
	}
	add(h.agents, c.WorkspaceID, c)
	return add(h.byAgent, c.AgentID, c)
}

// Unregister removes a connection and returns how many its visitor (or
// agent) still has on this node.
func (h *Hub) Unregister(c *Conn) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	c.kill()
	if c.VisitorID != "" {
		remove(h.widgets, c.WorkspaceID, c)
		return remove(h.visitors, c.VisitorID, c)
	}
	remove(h.agents, c.WorkspaceID, c)
	return remove(h.byAgent, c.AgentID, c)
}

func (h *Hub) fanout(m map[string]map[*Conn]struct{}, key string, frame []byte) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range m[key] {
		c.enqueue(frame)
	}
}

// ToAgents queues a frame for every dashboard of a workspace.
func (h *Hub) ToAgents(workspaceID string, frame []byte) { h.fanout(h.agents, workspaceID, frame) }

// ToVisitor queues a frame for every widget of a visitor.
func (h *Hub) ToVisitor(visitorID string, frame []byte) { h.fanout(h.visitors, visitorID, frame) }

// ToWidgets queues a frame for every widget open on a workspace's site.
func (h *Hub) ToWidgets(workspaceID string, frame []byte) {
	if f := h.widgetsFrame.Load(); f != nil {
		(*f)()
	}
	h.fanout(h.widgets, workspaceID, frame)
}

// Counts reports open widget and dashboard connections.
func (h *Hub) Counts() (widgets, dashboards int) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for _, s := range h.widgets {
		widgets += len(s)
	}
	for _, s := range h.agents {
		dashboards += len(s)
	}
	return widgets, dashboards
}

// CloseAll tells every connection to close (shutdown).
func (h *Hub) CloseAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, m := range []map[string]map[*Conn]struct{}{h.agents, h.widgets} {
		for _, set := range m {
			for c := range set {
				c.kill()
			}
		}
	}
}

// Revocation says which connections to close because their credential
// stopped being valid. For an agent's dashboards: all of them (removal),
// those opened with one token (logout: Only), or all but those (password
// change: Except, and with Logins those opened with an API token stay).
// For a visitor's widgets (VisitorID set): those whose tag (the
// generation of their token) is not Except (the visitor's links were
// reset).
type Revocation struct {
	AgentID   string `json:"a,omitempty"`
	VisitorID string `json:"v,omitempty"`
	Only      string `json:"o,omitempty"`
	Except    string `json:"e,omitempty"`
	Logins    bool   `json:"l,omitempty"`
}

func (r Revocation) matches(c *Conn) bool {
	switch {
	case r.Logins && c.APIToken:
		return false
	case r.Only != "":
		return c.TokenHash == r.Only
	case r.Except != "":
		return c.TokenHash != r.Except
	}
	return true
}

// target is the agent or visitor a revocation names.
func (r Revocation) target() string {
	if r.VisitorID != "" {
		return r.VisitorID
	}
	return r.AgentID
}

// Revoke closes this node's connections a revocation names; it returns how
// many it closed.
func (h *Hub) Revoke(r Revocation) int {
	if f := h.agentRevoked.Load(); f != nil && r.VisitorID == "" && r.AgentID != "" {
		(*f)()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	set := h.byAgent[r.AgentID]
	if r.VisitorID != "" {
		set = h.visitors[r.VisitorID]
		now := time.Now()
		h.reset[r.VisitorID] = tombstone{r: r, at: now}
		if now.Sub(h.lastPrune) > resetMemory {
			h.lastPrune = now
			for id, t := range h.reset {
				if now.Sub(t.at) >= resetMemory {
					delete(h.reset, id)
				}
			}
		}
	} else if r.AgentID == "" {
		return 0
	}
	n := 0
	for c := range set {
		if r.matches(c) {
			c.revoke()
			n++
		}
	}
	return n
}

// DashboardTokens lists the agents and token hashes of this node's open
// dashboards, for checking that their tokens are still valid.
func (h *Hub) DashboardTokens() []Revocation {
	h.mu.RLock()
	defer h.mu.RUnlock()
	seen := map[string]bool{}
	var out []Revocation
	for agent, set := range h.byAgent {
		for c := range set {
			if c.TokenHash != "" && !seen[c.TokenHash] {
				seen[c.TokenHash] = true
				out = append(out, Revocation{AgentID: agent, Only: c.TokenHash})
			}
		}
	}
	return out
}

// Push queues a frame for this connection only (answers to its own frames).
func (c *Conn) Push(frame []byte) { c.enqueue(frame) }

// AllowActivity reports whether an activity frame should be recorded: at
// most one a second per connection reaches the database.
func (c *Conn) AllowActivity(now time.Time) bool {
	c.actMu.Lock()
	defer c.actMu.Unlock()
	if now.Sub(c.lastActivity) < time.Second {
		return false
	}
	c.lastActivity = now
	return true
}
