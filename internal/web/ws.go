package web

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// frameReadLimit bounds one incoming frame; larger frames close the
// connection with 1009 (message too big).
const frameReadLimit = 128 << 10

// writeTimeout is Options.WriteTimeout when zero.
const writeTimeout = 10 * time.Second

// clientFrame is any frame a widget sends.
type clientFrame struct {
	Type      string `json:"type"`
	Body      string `json:"body"`
	ClientID  string `json:"client_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	MessageID string `json:"message_id"`
	// AttachmentIDs are uploads a message carries.
	AttachmentIDs []string `json:"attachment_ids"`
	// EmailOptIn is the contact form's opt-in box (an addition to the
	// contact frame): emails to an unsubscribed or bouncing address again.
	EmailOptIn bool `json:"email_opt_in"`
	// Preview is a typing frame's draft (nil: none sent).
	Preview *string `json:"preview"`
	// URL and Title name the page of a page frame.
	URL   string `json:"url"`
	Title string `json:"title"`
}

type errorFrame struct {
	Type     realtime.FrameType `json:"type"`
	Code     string             `json:"code"`
	Message  string             `json:"message"`
	ClientID string             `json:"client_id,omitempty"`
	// RetryAfter is the seconds to wait after rate_limited.
	RetryAfter int `json:"retry_after,omitempty"`
}

func (s *Server) widgetWS(w http.ResponseWriter, r *http.Request) {
	v, err := s.svc.VisitorKeyByToken(r.Context(), r.URL.Query().Get("visitor_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Any origin: the widget is embedded on customers' sites and the
	// credential is the visitor token in the URL, not a cookie.
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true}
	if s.opts.Conns.WidgetsFull() {
		s.refuseWS(w, r, opts, &chat.Error{Code: codeServerBusy, RetryAfter: connRetryAfter,
			Message: "the server is busy; try again later"})
		return
	}
	addr := s.clientAddr(r)
	if err := s.svc.AllowWidgetConnection(addr); err != nil {
		s.refuseWS(w, r, opts, err)
		return
	}
	release, err := s.conns.acquire(v.ID, addr)
	if err != nil {
		s.refuseWS(w, r, opts, err)
		return
	}
	conn := realtime.NewConn(v.WorkspaceID, v.ID, "")
	conn.TokenHash = chat.ConnectionTag(v)
	open := func(ctx context.Context) {
		// The visitor's links may have been reset between the check above
		// and the registration, when no revocation could find this
		// connection yet: the hub remembers the reset and closes it.
		n := s.hub.Register(conn)
		s.svc.VisitorConnected(ctx, v, n)
	}
	closed := func(ctx context.Context) {
		release()
		s.svc.VisitorDisconnected(ctx, v.ID, s.hub.Unregister(conn))
	}
	handle := func(ctx context.Context, raw []byte) { s.widgetFrame(ctx, v, conn, raw, addr) }
	if l := s.widgetLoop(); l != nil {
		s.serveLoopConn(w, r, l, conn, open, closed, handle)
		return
	}
	s.serveConn(w, r, opts, conn, open, closed, handle)
}

func (s *Server) agentWS(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	opts := &websocket.AcceptOptions{InsecureSkipVerify: tok != ""}
	if tok == "" {
		// The dashboard authenticates with its cookie; the origin check of
		// Accept (same host only) keeps other sites out.
		if ck, err := r.Cookie(sessionCookie); err == nil {
			tok = ck.Value
		}
	}
	a, api, err := s.svc.AgentOfToken(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.revalidate.Do(func() { go s.revalidateDashboards() })
	conn := realtime.NewConn(a.WorkspaceID, "", a.ID)
	conn.TokenHash, conn.APIToken = chat.TokenHash(tok), api
	s.serveConn(w, r, opts, conn, func(ctx context.Context) {
		s.hub.Register(conn)
		// The token may have been revoked between the check above and the
		// registration, when no revocation could find this connection yet.
		if _, err := s.svc.AgentByToken(ctx, tok); err != nil {
			conn.Kill()
		}
		s.svc.AgentConnected(ctx, a.ID)
	}, func(ctx context.Context) {
		s.hub.Unregister(conn)
		s.svc.AgentDisconnected(ctx, a.ID)
	}, func(ctx context.Context, raw []byte) { s.agentFrame(ctx, a, conn, raw) })
}

// revalidateEvery is how often open dashboards' tokens are checked again.
// Revocations close them at once; this catches what no revocation could
// reach: a token removed by a command on SQLite (no bus between the
// command and the server), an expired token, or an event another node
// dropped.
const revalidateEvery = 10 * time.Second

func (s *Server) revalidateDashboards() {
	t := time.NewTicker(revalidateEvery)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		for _, r := range s.hub.DashboardTokens() {
			ok, err := s.svc.TokenHashValid(s.ctx, r.Only)
			if err != nil {
				if s.ctx.Err() == nil {
					s.log.Error("check the token of an open dashboard", "agent", r.AgentID, "err", err)
				}
				break
			}
			if !ok {
				s.hub.Revoke(r)
			}
		}
	}
}

// serveConn runs one WebSocket on a goroutine of its own: a dashboard's
// (a widget's is served by the event loop; see serveLoopConn). The
// connection is registered before the handshake completes, so a client
// that sees itself connected misses no event. After the handshake the
// HTTP handler returns and one goroutine per connection is left, blocked
// in Read: frames are handled on a goroutine of their own (database work
// grows a stack that would otherwise stay with the connection for its
// whole life), writes happen on a goroutine started when something is
// queued, and pings on a timer.
func (s *Server) serveConn(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions, conn *realtime.Conn, open, closed func(context.Context), handle func(context.Context, []byte)) {
	if !s.admit(w) {
		return
	}
	open(s.ctx)
	// Widgets send and receive small frames: small buffers keep thousands
	// of idle connections cheap.
	g := &hijackGuard{ResponseWriter: w, small: conn.VisitorID != ""}
	c, err := websocket.Accept(g, r, opts)
	if err != nil {
		closed(context.WithoutCancel(s.ctx))
		s.wg.Done()
		return
	}
	g.upgraded()
	c.SetReadLimit(frameReadLimit)
	// The ping's context is not the server's: cancelling that at shutdown
	// would close the socket before the close frame.
	stopPing := pingEvery(s.opts.PingInterval, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
		defer cancel()
		return c.Ping(ctx)
	}, conn.Kill)
	// The socket alone is kept for the writes, not the guard: that holds
	// the handshake's request and response, garbage once upgraded.
	nc := g.nc
	conn.Start(func(frame []byte) error {
		return writeFrame(nc, c, frame, s.opts.WriteTimeout)
	}, func() {
		code, reason := s.closeReason(conn)
		_ = c.Close(websocket.StatusCode(code), reason)
	})
	if s.ctx.Err() != nil {
		// Shutdown began after this connection was counted but before it
		// was registered: close it as the others were.
		conn.Kill()
	}
	go func() {
		defer s.wg.Done()
		defer stopPing()
		for {
			// No context: the hub ends a read by closing the socket, which
			// lets the close handshake happen.
			typ, raw, err := c.Read(context.Background())
			if err != nil {
				break
			}
			if typ != websocket.MessageText {
				refuseBinary(conn)
				continue
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.handleFrame(conn, handle, raw)
			}()
			<-done
		}
		closed(context.WithoutCancel(s.ctx))
		_ = c.CloseNow()
	}()
}

// admit counts a WebSocket about to open, so that Shutdown waits for it,
// or refuses it when shutdown began. The caller calls s.wg.Done once the
// connection is closed and told.
func (s *Server) admit(w http.ResponseWriter) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.ctx.Err() != nil {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return false
	}
	s.wg.Add(1)
	return true
}

// pingEvery pings every interval until the returned stop is called; a
// failed ping kills the connection.
func pingEvery(interval time.Duration, ping func() error, kill func()) (stop func()) {
	var (
		mu      sync.Mutex
		t       *time.Timer
		stopped bool
	)
	mu.Lock()
	defer mu.Unlock()
	t = time.AfterFunc(interval, func() {
		if err := ping(); err != nil {
			kill()
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(interval)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// closeReason is the close frame of a connection the hub gave up on.
func (s *Server) closeReason(conn *realtime.Conn) (code int, reason string) {
	switch {
	case conn.Revoked():
		// Policy violation: the dashboard goes to the login page instead
		// of reconnecting with a token that no longer works.
		return int(websocket.StatusPolicyViolation), "session ended"
	case s.ctx.Err() != nil:
		return int(websocket.StatusGoingAway), "server shutting down"
	}
	return int(websocket.StatusTryAgainLater), "connection dropped: reconnect"
}

// refuseBinary answers a binary frame: the protocol is JSON text.
func refuseBinary(conn *realtime.Conn) {
	conn.Push(encodeFrame(errorFrame{Type: realtime.FrameError, Code: "bad_frame", Message: "frames are JSON text messages"}))
}

// handleFrame runs handle on one frame; a panic closes the connection,
// not the server.
func (s *Server) handleFrame(conn *realtime.Conn, handle func(context.Context, []byte), raw []byte) {
	defer func() {
		if v := recover(); v != nil {
			s.log.Error("WebSocket frame handler panicked; closing the connection", "panic", v, "stack", string(debug.Stack()))
			conn.Kill()
		}
	}()
	handle(s.ctx, raw)
}

func encodeFrame(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// frameRefusal is why a widget frame could not be decoded.
type frameRefusal struct{ message, clientID string }

// decodeClientFrame reads one frame a widget sent: a JSON object in UTF-8
// of a known type.
func decodeClientFrame(raw []byte) (clientFrame, *frameRefusal) {
	var f clientFrame
	if !utf8.Valid(raw) {
		return f, &frameRefusal{message: "frame is not valid UTF-8"}
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return clientFrame{}, &frameRefusal{message: "frame is not a JSON object of the widget protocol"}
	}
	if hasEscapedNUL(raw) {
		return clientFrame{}, &frameRefusal{message: errNUL, clientID: f.ClientID}
	}
	switch f.Type {
	case "message", "contact", "read", "activity", "typing", "page":
		return f, nil
	}
	return f, &frameRefusal{message: "unknown frame type " + quoteShort(f.Type), clientID: f.ClientID}
}

func (s *Server) widgetFrame(ctx context.Context, v model.VisitorKey, conn *realtime.Conn, raw []byte, addr string) {
	f, bad := decodeClientFrame(raw)
	if bad != nil {
		conn.Push(encodeFrame(errorFrame{Type: realtime.FrameError, Code: "bad_frame", Message: bad.message, ClientID: bad.clientID}))
		return
	}
	var err error
	switch f.Type {
	case "message":
		_, err = s.svc.VisitorSendFiles(ctx, v.ID, f.Body, f.ClientID, model.MsgChannelWidget, addr, f.AttachmentIDs)
	case "contact":
		_, err = s.svc.SubmitContact(ctx, v.ID, chat.Contact{Email: f.Email, Name: f.Name, EmailOptIn: f.EmailOptIn})
	case "read":
		err = s.svc.VisitorRead(ctx, v.ID, f.MessageID)
	case "activity":
		if conn.AllowActivity(time.Now()) {
			err = s.svc.VisitorActivity(ctx, v.ID)
		}
	case "typing":
		err = s.svc.VisitorTyping(ctx, v, f.Preview)
	case "page":
		err = s.svc.VisitorPage(ctx, v, f.URL, f.Title)
	}
	if err != nil {
		s.failFrame(ctx, conn, f.ClientID, err, "visitor", v.ID, "type", f.Type)
	}
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
