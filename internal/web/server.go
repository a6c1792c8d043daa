// Package web serves Parley over HTTP: the agent API, the widget API, their
// WebSocket endpoints, the dashboard pages and the embedded assets. Handlers
// translate HTTP to calls on the chat service and back; they hold no rules.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/realtime"
)

// MaxBodyBytes bounds JSON request bodies (a 10,000-character message is
// at most 40 KB of UTF-8, plus escaping).
const MaxBodyBytes = 256 << 10

// Options configure the web layer.
type Options struct {
	PublicURL string
	// Secret keys the dashboard's CSRF tokens.
	Secret []byte
	// Version is shown by the health check and the dashboard.
	Version string
	// Ready reports whether the database answers (for /healthz).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// InboundHook serves POST /api/inbound/v1/mime (nil: the endpoint is
	// off, PARLEY_INBOUND_SECRET being empty).
	InboundHook http.Handler
	// PingInterval is how often WebSocket connections are pinged.
	PingInterval time.Duration
}

// Server is the HTTP handler of Parley.
type Server struct {
	svc  *chat.Service
	hub  *realtime.Hub
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	csrf []byte

	// ctx ends at shutdown and closes every WebSocket.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// connMu orders a new connection's wg.Add before Shutdown's cancel:
	// a connection is either counted and closed, or refused.
	connMu sync.Mutex
}

// New returns the HTTP handler.
func New(svc *chat.Service, hub *realtime.Hub, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	mac := hmac.New(sha256.New, opts.Secret)
	mac.Write([]byte("parley csrf"))
	s := &Server{svc: svc, hub: hub, opts: opts, log: opts.Logger, mux: http.NewServeMux(), csrf: mac.Sum(nil)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "path", r.URL.Path, "panic", v)
			writeError(w, http.StatusInternalServerError, "internal", "internal error")
		}
	}()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	s.mux.ServeHTTP(w, r)
}

// Shutdown closes every WebSocket connection and waits for their handlers.
func (s *Server) Shutdown(ctx context.Context) {
	s.connMu.Lock()
	s.cancel()
	s.connMu.Unlock()
	s.hub.CloseAll()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// errorBody is the error shape of spec/api.md.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var b errorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(w, status, b)
}

// decode reads a JSON body into v with a size limit; it answers the error
// itself and returns false when the body is unusable.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "could not read request body")
		return false
	}
	if !utf8.Valid(raw) {
		writeError(w, http.StatusBadRequest, "bad_request", "request body is not valid UTF-8")
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "malformed JSON: "+err.Error())
		return false
	}
	return true
}

// clientAddr is the address rate limits key on.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
