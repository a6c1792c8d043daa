package web

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"time"

	"github.com/lesismal/nbio/logging"
	"github.com/lesismal/nbio/nbhttp"
	nbws "github.com/lesismal/nbio/nbhttp/websocket"

	"github.com/parleychat/parley/internal/realtime"
)

// Widgets' WebSockets are served from an event loop (nbio): once the
// handshake is answered, the socket leaves net/http for nbio's pollers
// (epoll), and an idle widget holds no goroutine. A goroutine per
// connection, as the dashboards have, costs about 4 KB of stack a widget
// and a stack the garbage collector scans at every cycle: at 10,000 open
// widgets that was half of a cycle's marking. A frame a widget sends is
// handled on nbio's pool of goroutines, the frames of one widget in
// order, one at a time. A write never blocks: what the socket does not
// take is kept and sent when it can be, up to maxWidgetBacklog, and a
// deadline closes the connection of a widget that stops reading.

// maxWidgetBacklog bounds what a widget's socket keeps unsent beyond the
// kernel's buffers: past it the widget is not reading and is dropped.
const maxWidgetBacklog = 256 << 10

// loop serves the widgets' sockets after their handshake.
type loop struct {
	engine   *nbhttp.Engine
	upgrader *nbws.Upgrader
}

// loopSocket is what a widget's socket callbacks need.
type loopSocket struct {
	conn   *realtime.Conn
	handle func(context.Context, []byte)
	once   sync.Once
	finish func()
}

// ended runs the socket's end once, whether nbio or the handler saw it
// first.
func (ls *loopSocket) ended() {
	ls.conn.Kill()
	ls.once.Do(ls.finish)
}

// startLoop starts the widgets' event loop: one poller per processor.
func (s *Server) startLoop() (*loop, error) {
	// nbio logs through a logger of its own, by default to the standard
	// output; what matters is logged here.
	logging.SetLevel(logging.LevelNone)
	e := nbhttp.NewEngine(nbhttp.Config{
		Name:                    "widgets",
		NPoller:                 runtime.GOMAXPROCS(0),
		MaxWriteBufferSize:      maxWidgetBacklog,
		ReleaseWebsocketPayload: true,
	})
	// A frame's text is checked where the frame is read, which answers
	// invalid UTF-8 with an error frame and keeps the connection.
	e.CheckUtf8 = func([]byte) bool { return true }
	if err := e.Start(); err != nil {
		return nil, fmt.Errorf("start the widgets' event loop: %w", err)
	}
	u := nbws.NewUpgrader()
	u.Engine = e
	u.BlockingModTrasferConnToPoller = true
	// Any origin: widgets are embedded on customers' sites and the
	// credential is the visitor token in the URL, not a cookie.
	u.CheckOrigin = func(*http.Request) bool { return true }
	u.MessageLengthLimit = frameReadLimit
	// A widget answers each ping within the write timeout: nothing at
	// all from it for an interval and a timeout means it is gone.
	u.KeepaliveTime = s.opts.PingInterval + s.opts.WriteTimeout
	u.OnMessage(func(c *nbws.Conn, typ nbws.MessageType, raw []byte) {
		// A frame sent right behind the handshake can come before the
		// handler set the session; it waits for it, within a bound.
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		ls, ok := c.SessionWithContext(ctx).(*loopSocket)
		cancel()
		if !ok {
			_ = c.Close()
			return
		}
		if typ != nbws.TextMessage {
			refuseBinary(ls.conn)
			return
		}
		s.handleFrame(ls.conn, ls.handle, raw)
	})
	u.OnClose(func(c *nbws.Conn, _ error) {
		// No session yet: serveLoopConn finds the socket closed when it
		// sets it.
		if ls, ok := c.Session().(*loopSocket); ok {
			ls.ended()
		}
	})
	return &loop{engine: e, upgrader: u}, nil
}

// widgetLoop is the widgets' event loop, started with the first widget;
// nil when it cannot run here, and widgets are then served as dashboards
// are.
func (s *Server) widgetLoop() *loop {
	s.loopOnce.Do(func() {
		l, err := s.startLoop()
		if err != nil {
			s.log.Warn("widgets' sockets served one goroutine each", "err", err)
			return
		}
		s.loop = l
	})
	return s.loop
}

// stopLoop stops the widgets' event loop, once their sockets are closed.
func (s *Server) stopLoop() {
	s.loopOnce.Do(func() {}) // none may start now
	if s.loop != nil {
		s.loop.engine.Stop()
	}
}

// rawSocket hands nbio the TCP socket itself (the descriptor guard's
// wrapper would keep the socket in net/http's blocking mode), and keeps
// the wrapper to close once nbio is done with the socket.
type rawSocket struct {
	http.ResponseWriter
	guarded *guardedConn
}

func (w *rawSocket) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nc, brw, err
	}
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	if gc, ok := nc.(*guardedConn); ok {
		w.guarded = gc
		nc = gc.Conn
	}
	return nc, brw, nil
}

// serveLoopConn runs a widget's WebSocket on the event loop; see
// serveConn for the order of registration and handshake.
func (s *Server) serveLoopConn(w http.ResponseWriter, r *http.Request, l *loop, conn *realtime.Conn, open, closed func(context.Context), handle func(context.Context, []byte)) {
	if !s.admit(w) {
		return
	}
	open(s.ctx)
	rw := &rawSocket{ResponseWriter: w}
	c, err := l.upgrader.Upgrade(rw, r, nil)
	// The guard's wrapper alone is kept, not rw: that holds the
	// handshake's request and net/http's buffers, garbage once upgraded.
	gc := rw.guarded
	if err != nil {
		if gc != nil {
			_ = gc.Close()
		}
		closed(context.WithoutCancel(s.ctx))
		s.wg.Done()
		return
	}
	// Every write is bounded by the write timeout: the deadline is lifted
	// as soon as nothing is left to send, most often within the write.
	write := func(typ nbws.MessageType, frame []byte) error {
		_ = c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		return c.WriteMessage(typ, frame)
	}
	stopPing := pingEvery(s.opts.PingInterval, func() error { return write(nbws.PingMessage, nil) }, conn.Kill)
	ls := &loopSocket{conn: conn, handle: handle, finish: func() {
		stopPing()
		if gc != nil {
			_ = gc.Close() // its descriptor is nbio's copy's now: this counts it closed
		}
		closed(context.WithoutCancel(s.ctx))
		s.wg.Done()
	}}
	c.SetSession(ls)
	if nc, ok := c.Conn.(interface{ IsClosed() (bool, error) }); ok {
		if gone, _ := nc.IsClosed(); gone {
			ls.ended()
			return
		}
	}
	// The handshake's deadline, set on the socket net/http had, is not
	// nbio's: nothing from the widget for the keepalive time closes it
	// (nbio counts from each frame, so the first count starts here).
	_ = c.SetReadDeadline(time.Now().Add(l.upgrader.KeepaliveTime))
	conn.Start(func(frame []byte) error { return write(nbws.TextMessage, frame) }, func() {
		code, reason := s.closeReason(conn)
		_ = c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		_ = c.WriteClose(code, reason)
		_ = c.Close()
	})
	if s.ctx.Err() != nil {
		conn.Kill()
	}
}
