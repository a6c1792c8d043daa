package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

var startTime = time.Now()

// frameReadLimit bounds one incoming frame; larger frames close the
// connection with 1009 (message too big).
const frameReadLimit = 128 << 10

const writeTimeout = 10 * time.Second

// clientFrame is any frame a widget sends.
type clientFrame struct {
	Type      string `json:"type"`
	Body      string `json:"body"`
	ClientID  string `json:"client_id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	MessageID string `json:"message_id"`
}

type errorFrame struct {
	Type     string `json:"type"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	ClientID string `json:"client_id,omitempty"`
}

func (s *Server) widgetWS(w http.ResponseWriter, r *http.Request) {
	v, err := s.svc.VisitorByToken(r.Context(), r.URL.Query().Get("visitor_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Any origin: the widget is embedded on customers' sites and the
	// credential is the visitor token in the URL, not a cookie.
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true}
	conn := realtime.NewConn(v.WorkspaceID, v.ID, "")
	s.serveConn(w, r, opts, conn, func(ctx context.Context) {
		s.svc.VisitorConnected(ctx, v.ID, s.hub.Register(conn))
	}, func(ctx context.Context) {
		s.svc.VisitorDisconnected(ctx, v.ID, s.hub.Unregister(conn))
	}, func(ctx context.Context, raw []byte) { s.widgetFrame(ctx, v, conn, raw) })
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
	a, err := s.svc.AgentByToken(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	conn := realtime.NewConn(a.WorkspaceID, "", a.ID)
	s.serveConn(w, r, opts, conn, func(ctx context.Context) {
		s.hub.Register(conn)
		s.svc.AgentConnected(ctx, a.ID)
	}, func(ctx context.Context) {
		s.hub.Unregister(conn)
		s.svc.AgentDisconnected(ctx, a.ID)
	}, func(context.Context, []byte) {})
}

// serveConn runs one WebSocket: a writer draining the hub's queue, a reader
// handing frames to handle, pings to find dead peers, and clean closing at
// shutdown. The connection is registered before the handshake completes, so
// a client that sees itself connected misses no event.
func (s *Server) serveConn(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions, conn *realtime.Conn, open, closed func(context.Context), handle func(context.Context, []byte)) {
	s.wg.Add(1)
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	open(ctx)
	defer closed(context.WithoutCancel(ctx))
	c, err := websocket.Accept(w, r, opts)
	if err != nil {
		return
	}
	c.SetReadLimit(frameReadLimit)

	go func() {
		defer cancel()
		ping := time.NewTicker(s.opts.PingInterval)
		defer ping.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-conn.Closed():
				return
			case frame := <-conn.Send():
				wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
				err := c.Write(wctx, websocket.MessageText, frame)
				wcancel()
				if err != nil {
					return
				}
			case <-ping.C:
				pctx, pcancel := context.WithTimeout(ctx, writeTimeout)
				err := c.Ping(pctx)
				pcancel()
				if err != nil {
					return
				}
			}
		}
	}()

	for {
		typ, raw, err := c.Read(ctx)
		if err != nil {
			break
		}
		if typ != websocket.MessageText {
			conn.Push(encodeFrame(errorFrame{Type: "error", Code: "bad_frame", Message: "frames are JSON text messages"}))
			continue
		}
		handle(ctx, raw)
	}
	status := websocket.StatusNormalClosure
	reason := ""
	if s.ctx.Err() != nil {
		status, reason = websocket.StatusGoingAway, "server shutting down"
	}
	_ = c.Close(status, reason)
}

func encodeFrame(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (s *Server) widgetFrame(ctx context.Context, v model.Visitor, conn *realtime.Conn, raw []byte) {
	refuse := func(code, msg, clientID string) {
		conn.Push(encodeFrame(errorFrame{Type: "error", Code: code, Message: msg, ClientID: clientID}))
	}
	if !utf8.Valid(raw) {
		refuse("bad_frame", "frame is not valid UTF-8", "")
		return
	}
	var f clientFrame
	if err := json.Unmarshal(raw, &f); err != nil {
		refuse("bad_frame", "frame is not a JSON object of the widget protocol", "")
		return
	}
	var err error
	switch f.Type {
	case "message":
		_, err = s.svc.VisitorSend(ctx, v.ID, f.Body, f.ClientID, model.MsgChannelWidget)
	case "contact":
		_, err = s.svc.VisitorContact(ctx, v.ID, f.Email, f.Name)
	case "read":
		err = s.svc.VisitorRead(ctx, v.ID, f.MessageID)
	case "activity":
		if conn.AllowActivity(time.Now()) {
			err = s.svc.VisitorActivity(ctx, v.ID)
		}
	default:
		refuse("bad_frame", "unknown frame type "+quoteShort(f.Type), f.ClientID)
		return
	}
	if err == nil {
		return
	}
	var e *chat.Error
	if errors.As(err, &e) {
		code := e.Code
		if code == chat.CodeBadRequest || code == chat.CodeNotFound || code == chat.CodeEmptyMessage {
			code = "bad_frame"
		}
		refuse(code, e.Message, f.ClientID)
		return
	}
	if ctx.Err() == nil {
		s.log.Error("widget frame failed", "visitor", v.ID, "type", f.Type, "err", err)
		refuse("internal", "the server could not handle this frame; try again", f.ClientID)
	}
}

func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
