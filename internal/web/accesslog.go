package web

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// RequestIDHeader carries a request's id: taken from the proxy in front
// when it sends a usable one (nginx's $request_id), else made here, and
// sent back in the answer so that a report can be matched to its log line.
const RequestIDHeader = "X-Request-Id"

// logRequest serves r through next and writes one access-log line: the
// method, the route pattern that matched (never the raw path, which may
// hold tokens and ids), the status, the duration and the request id.
// A WebSocket's line has status 101; a dashboard's comes when it closes,
// a widget's when its handshake is answered (see serveLoopConn).
func (s *Server) logRequest(w http.ResponseWriter, r *http.Request, next http.Handler) {
	start := time.Now()
	id := r.Header.Get(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	rec := &statusRecorder{ResponseWriter: w}
	done := false
	defer func() {
		status := rec.status
		if !done {
			status = http.StatusInternalServerError // a panic is on its way up
		} else if status == 0 {
			status = http.StatusOK
		}
		// A route is "METHOD /path"; the catch-alls that answer 404 for
		// any other address ("/", "/api/") count as unmatched.
		route := r.Pattern
		if !strings.Contains(route, " ") {
			route = "unmatched"
		}
		took := time.Since(start)
		s.opts.Metrics.Request(route, status, took)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
			slog.String("method", r.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Duration("duration", took),
			slog.String("request_id", id),
		)
	}()
	next.ServeHTTP(rec, r)
	done = true
}

// validRequestID accepts a proxy's id only if it is short and plain, so
// that a client cannot write what it likes into the log.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statusRecorder remembers the status written, and lets WebSocket upgrades
// (Hijack) and streaming (Flush) through.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot be hijacked")
	}
	nc, brw, err := h.Hijack()
	if err == nil && w.status == 0 {
		// The connection leaves HTTP: an upgrade, whoever answers it.
		w.status = http.StatusSwitchingProtocols
	}
	return nc, brw, err
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
