package apptest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Frame is a decoded server frame (widget frames and agent events alike).
type Frame struct {
	Type string          `json:"type"`
	Raw  json.RawMessage `json:"-"`
}

// WS is a WebSocket client as a widget or a dashboard would open it.
type WS struct {
	t      testing.TB
	Conn   *websocket.Conn
	frames chan []byte
	err    error // why reading ended, set before frames is closed
	ctx    context.Context
	cancel context.CancelFunc
}

// DialWidget opens a visitor's widget connection.
func (s *Server) DialWidget(visitorToken string) *WS {
	s.t.Helper()
	return s.dial("/api/widget/v1/ws?visitor_token=" + visitorToken)
}

// DialAgent opens an agent's live connection.
func (s *Server) DialAgent(token string) *WS {
	s.t.Helper()
	return s.dial("/api/v1/ws?token=" + token)
}

func (s *Server) dial(path string) *WS {
	s.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+path, &websocket.DialOptions{HTTPHeader: http.Header{}})
	if err != nil {
		cancel()
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		s.t.Fatalf("dial %s: %v (status %d)", path, err, status)
	}
	c.SetReadLimit(1 << 20)
	w := &WS{t: s.t, Conn: c, frames: make(chan []byte, 1024), ctx: ctx, cancel: cancel}
	go func() {
		defer close(w.frames)
		for {
			_, raw, err := c.Read(ctx)
			if err != nil {
				w.err = err
				return
			}
			w.frames <- raw
		}
	}()
	s.t.Cleanup(w.Close)
	return w
}

// Close closes the connection as a browser closing the page would.
func (w *WS) Close() {
	_ = w.Conn.Close(websocket.StatusGoingAway, "page closed")
	w.cancel()
}

// CloseStatus waits until the server ends the connection and returns the
// close code it sent (-1 when the connection broke without one).
func (w *WS) CloseStatus(timeout time.Duration) websocket.StatusCode {
	w.t.Helper()
	code, closed := w.Closed(timeout)
	if !closed {
		w.t.Fatalf("connection still open after %v", timeout)
	}
	return code
}

// Closed waits up to timeout for the server to end the connection (frames
// before are skipped) and returns the close code it sent (-1 when the
// connection broke without one); closed is false when it is still open.
func (w *WS) Closed(timeout time.Duration) (code websocket.StatusCode, closed bool) {
	deadline := time.After(timeout)
	for {
		select {
		case _, ok := <-w.frames:
			if !ok {
				return websocket.CloseStatus(w.err), true
			}
		case <-deadline:
			return -1, false
		}
	}
}

// Send writes a frame (a value encoded as JSON, or a raw string).
func (w *WS) Send(v any) {
	w.t.Helper()
	var raw []byte
	switch b := v.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			w.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
	defer cancel()
	if err := w.Conn.Write(ctx, websocket.MessageText, raw); err != nil {
		w.t.Fatalf("send frame: %v", err)
	}
}

// Next returns the next frame, failing the test after timeout.
func (w *WS) Next(timeout time.Duration) map[string]any {
	w.t.Helper()
	select {
	case raw, ok := <-w.frames:
		if !ok {
			w.t.Fatalf("connection closed while waiting for a frame: %v (close status %d)", w.err, websocket.CloseStatus(w.err))
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			w.t.Fatalf("frame %s: %v", raw, err)
		}
		return m
	case <-time.After(timeout):
		w.t.Fatalf("no frame within %v", timeout)
	}
	return nil
}

// WaitFor skips frames until one of the given type arrives.
func (w *WS) WaitFor(typ string, timeout time.Duration) map[string]any {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			w.t.Fatalf("no %q frame within %v", typ, timeout)
		}
		f := w.Next(left)
		if f["type"] == typ {
			return f
		}
	}
}

// None asserts that no frame of the given type arrives within d.
func (w *WS) None(typ string, d time.Duration) {
	w.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case raw, ok := <-w.frames:
			if !ok {
				return
			}
			var m map[string]any
			_ = json.Unmarshal(raw, &m)
			if m["type"] == typ {
				w.t.Fatalf("unexpected %q frame: %s", typ, raw)
			}
		case <-deadline:
			return
		}
	}
}
