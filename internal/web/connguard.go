package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ConnGuard keeps the HTTP server accepting near the process's descriptor
// limit (RLIMIT_NOFILE). Every accepted connection is counted. Past the
// widget mark new widget connections are refused with a retry hint, so
// what is left goes to agents; at the budget, accepting one more first
// closes the oldest connection that is not being served (idle, or still
// sending its request line and headers). Without it, slow clients used to
// take every descriptor: accept failed and /healthz and login timed out.
type ConnGuard struct {
	log *slog.Logger
	// budget is how many connections may be open (the descriptor limit
	// less a reserve for the database, mail and files); widgetMark is the
	// count past which widget connections are refused.
	budget, widgetMark int64
	// nofile is the descriptor limit they come from.
	nofile int64
	open   atomic.Int64

	mu    sync.Mutex
	conns map[*guardedConn]struct{}
	// warned is when the guard last logged, so that a flood logs once a
	// minute.
	warned time.Time
}

// NewConnGuard sizes a guard from the descriptor limit (nofile; 0 reads
// the process's own).
func NewConnGuard(nofile int64, log *slog.Logger) *ConnGuard {
	if nofile <= 0 {
		nofile = descriptorLimit()
	}
	// A tenth of the descriptors is kept for the database, mail and files,
	// and an eighth of the rest for agents and the API; past a few
	// thousand descriptors those shares are capped (512 and 256, or a
	// sixty-fourth when that is more), so that a node raised to 20,000
	// holds over 19,000 widgets rather than 15,750.
	reserve := max(64, min(nofile/10, max(512, nofile/64)))
	budget := max(16, nofile-reserve)
	headroom := max(8, min(budget/8, max(256, budget/64)))
	return &ConnGuard{log: log, nofile: nofile, budget: budget, widgetMark: budget - headroom, conns: map[*guardedConn]struct{}{}}
}

// LogLimits logs the descriptor limit and what the guard makes of it; a
// server logs it when it starts to serve (a command that serves nothing
// has no use for it).
func (g *ConnGuard) LogLimits() {
	g.log.Info("descriptor limit", "nofile", g.nofile, "http_connections", g.budget, "widget_connections", g.widgetMark)
}

// Listener wraps ln so that its connections are counted and, at the
// budget, the oldest unserved one is closed for each new one.
func (g *ConnGuard) Listener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, g: g}
}

// ConnState is the http.Server's ConnState hook.
func (g *ConnGuard) ConnState(c net.Conn, st http.ConnState) {
	gc, ok := c.(*guardedConn)
	if !ok {
		return
	}
	gc.state.Store(int32(st))
}

// ConnContext is the http.Server's ConnContext hook: it lets the handler
// mark its connection as being served.
func (g *ConnGuard) ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, guardedConnKey{}, gc)
	}
	return ctx
}

// WidgetsFull reports whether new widget connections are refused now.
func (g *ConnGuard) WidgetsFull() bool {
	if g == nil || g.open.Load() < g.widgetMark {
		return false
	}
	g.warn("near the descriptor limit: refusing new widget connections")
	return true
}

// Open is the number of connections open now.
func (g *ConnGuard) Open() int64 { return g.open.Load() }

func (g *ConnGuard) warn(msg string) {
	g.mu.Lock()
	now := time.Now()
	if now.Sub(g.warned) < time.Minute {
		g.mu.Unlock()
		return
	}
	g.warned = now
	g.mu.Unlock()
	g.log.Warn(msg, "open_connections", g.open.Load(), "budget", g.budget, "open_descriptors", openDescriptors())
}

// Shedding: a connection younger than shedMinAge is spared while the
// count is under the budget plus half the reserve (it is most likely a
// client about to send its request), and each connection accepted past
// the budget waits shedPace first, so that clients reconnecting as fast as
// they are dropped cannot churn through every connection before it is
// served.
const (
	shedMinAge = time.Second
	shedPace   = 5 * time.Millisecond
)

// shed closes the oldest connection that is not in a handler, if any.
func (g *ConnGuard) shed(now time.Time) {
	hard := g.open.Load() > g.budget+max(8, g.budget/20)
	g.mu.Lock()
	var victim *guardedConn
	for c := range g.conns {
		if c.serving.Load() > 0 || http.ConnState(c.state.Load()) == http.StateHijacked {
			continue
		}
		if !hard && now.Sub(c.accepted) < shedMinAge {
			continue
		}
		if victim == nil || c.accepted.Before(victim.accepted) {
			victim = c
		}
	}
	g.mu.Unlock()
	if victim != nil {
		_ = victim.Close()
		g.warn("at the descriptor budget: closing the oldest unserved connections")
	}
}

type guardedConnKey struct{}

// serving marks r's connection as in a handler until the returned func
// runs.
func serving(r *http.Request) func() {
	gc, ok := r.Context().Value(guardedConnKey{}).(*guardedConn)
	if !ok {
		return func() {}
	}
	gc.serving.Add(1)
	return func() { gc.serving.Add(-1) }
}

type guardedListener struct {
	net.Listener
	g *ConnGuard
}

func (l *guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	g := l.g
	now := time.Now()
	if g.open.Add(1) > g.budget {
		g.shed(now)
		time.Sleep(shedPace)
	}
	gc := &guardedConn{Conn: c, g: g, accepted: now}
	g.mu.Lock()
	g.conns[gc] = struct{}{}
	g.mu.Unlock()
	return gc, nil
}

type guardedConn struct {
	net.Conn
	g        *ConnGuard
	accepted time.Time
	state    atomic.Int32
	serving  atomic.Int32
	once     sync.Once
}

func (c *guardedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.g.open.Add(-1)
		c.g.mu.Lock()
		delete(c.g.conns, c)
		c.g.mu.Unlock()
	})
	return err
}
