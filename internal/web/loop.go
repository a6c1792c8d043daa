package web

import (
	"bufio"
	"context"
	"errors"
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
	// pending holds the sockets being upgraded, by the client's address:
	// nbio reads a socket as soon as it has it, before the handler could
	// attach the socket's state, and a quick client's first frame (or its
	// close) can come then.
	pending sync.Map // string → *loopSocket
}

// loopSocket is what a widget's socket callbacks need.
type loopSocket struct {
	conn   *realtime.Conn
	handle func(context.Context, []byte)
	// ready is closed once the handler set the socket up, or gave up on
	// it (finish is then nil: the handler cleaned up itself).
	ready  chan struct{}
	finish func()
	once   sync.Once
}

// ended runs the socket's end once, whether nbio or the handler saw it
// first, and not before the handler is done setting it up.
func (ls *loopSocket) ended() {
	<-ls.ready
	ls.conn.Kill()
	if ls.finish != nil {
		ls.once.Do(ls.finish)
	}
}

// set waits until the handler set the socket up, within the handshake's
// bound, and reports whether it did.
func (ls *loopSocket) set() bool {
	select {
	case <-ls.ready:
	default:
		t := time.NewTimer(handshakeTimeout)
		defer t.Stop()
		select {
		case <-ls.ready:
		case <-t.C:
			return false
		}
	}
	return ls.finish != nil
}

// socket is the state of c, attached or still pending.
func (l *loop) socket(c *nbws.Conn) *loopSocket {
	if ls, ok := c.Session().(*loopSocket); ok {
		return ls
	}
	if v, ok := l.pending.Load(c.RemoteAddr().String()); ok {
		return v.(*loopSocket)
	}
	return nil
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
	// A socket's descriptor here is nbio's duplicate of net/http's, which
	// child processes would inherit (see holdForks).
	e.OnOpen(func(c net.Conn) { closeOnExec(c, s.log) })
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
	l := &loop{engine: e, upgrader: u}
	u.OnMessage(func(c *nbws.Conn, typ nbws.MessageType, raw []byte) {
		ls := l.socket(c)
		if ls == nil || !ls.set() {
			// Closed with no close frame: say why, since the widget cannot.
			s.log.Warn("widget WebSocket: a frame on a socket that was not set up; closed", "remote", c.RemoteAddr().String(), "known", ls != nil)
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
		ls := l.socket(c)
		if ls == nil {
			return
		}
		select {
		case <-ls.ready:
			ls.ended()
		default:
			go ls.ended() // the handler is still setting it up
		}
	})
	return l, nil
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
// It waits a second at most: a poller of nbio's that had not yet begun
// its loop when told to stop misses the word and waits for ever (seen
// when a server stops right after its first widget), and a process that
// stops does not need it back.
func (s *Server) stopLoop() {
	s.loopOnce.Do(func() {}) // none may start now
	if s.loop == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		s.loop.engine.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		s.log.Warn("the widgets' event loop did not stop within a second; left behind")
	}
}

// rawSocket hands nbio the TCP socket itself (the descriptor guard's
// wrapper would keep the socket in net/http's blocking mode), and keeps
// the wrapper to close once nbio is done with the socket.
type rawSocket struct {
	http.ResponseWriter
	guarded  *guardedConn
	hijacked bool
}

// WriteHeader and Write do nothing once the socket is taken: nbio answers
// a failure after the hijack with an HTTP error nobody can write then.
func (w *rawSocket) WriteHeader(status int) {
	if !w.hijacked {
		w.ResponseWriter.WriteHeader(status)
	}
}

func (w *rawSocket) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	return w.ResponseWriter.Write(b)
}

func (w *rawSocket) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nc, brw, err
	}
	w.hijacked = true
	if brw.Reader.Buffered() > 0 {
		// Frames sent before the handshake's answer: net/http read them,
		// and nbio would never see them.
		_ = nc.Close()
		return nil, nil, errors.New("WebSocket frames sent before the handshake was answered")
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
	ls := &loopSocket{conn: conn, handle: handle, ready: make(chan struct{})}
	l.pending.Store(r.RemoteAddr, ls)
	defer l.pending.Delete(r.RemoteAddr)
	defer close(ls.ready)
	rw := &rawSocket{ResponseWriter: w}
	// The upgrade duplicates the socket's descriptor and marks the copy
	// close-on-exec (the engine's OnOpen): no child may start in between.
	release := holdForks()
	c, err := l.upgrader.Upgrade(rw, r, nil)
	release()
	// The guard's wrapper alone is kept, not rw: that holds the
	// handshake's request and net/http's buffers, garbage once upgraded.
	gc := rw.guarded
	// end releases the socket: the guard's wrapper is closed (its
	// descriptor is nbio's copy's once upgraded: this counts it closed),
	// the connection told closed and no longer counted.
	end := func() {
		if gc != nil {
			_ = gc.Close()
		}
		closed(context.WithoutCancel(s.ctx))
		s.wg.Done()
	}
	if err != nil {
		if rw.hijacked {
			// The socket was taken and no answer can be written now: the
			// widget sees its connection closed with no reason (a client
			// error before the hijack was answered by nbio and is not this).
			s.log.Warn("widget WebSocket: handshake failed after the socket was taken", "remote", r.RemoteAddr, "err", err)
		}
		end()
		return
	}
	// Every write is bounded by the write timeout: the deadline is lifted
	// as soon as nothing is left to send, most often within the write.
	write := func(typ nbws.MessageType, frame []byte) error {
		_ = c.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout))
		return c.WriteMessage(typ, frame)
	}
	stopPing := pingEvery(s.opts.PingInterval, func() error { return write(nbws.PingMessage, nil) }, conn.Kill)
	ls.finish = func() {
		stopPing()
		end()
	}
	c.SetSession(ls)
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
