package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/mail/maildns"
	"github.com/parleychat/parley/internal/metrics"
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

	// ReadyChecks are what GET /readyz checks, in order.
	ReadyChecks []ReadyCheck
	// InboundHook serves POST /api/inbound/v1/mime (nil: the endpoint is
	// off, PARLEY_INBOUND_SECRET being empty).
	InboundHook http.Handler
	// BodyReadTimeout bounds reading a request body (BodyReadTimeout when
	// zero).
	BodyReadTimeout time.Duration
	// PingInterval is how often WebSocket connections are pinged.
	PingInterval time.Duration
	// WriteTimeout bounds writing one frame (or a ping) to a WebSocket
	// connection; a client that does not read for that long is dropped
	// (10 s when zero).
	WriteTimeout time.Duration
	// Invites emails invitation links (nil without a relay: the link is
	// only shown to the admin).
	Invites InviteMailer
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP
	// names the client (PARLEY_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// Conns counts the HTTP listener's connections against the descriptor
	// limit (nil: no guard, new widget connections are never refused for
	// it).
	Conns *ConnGuard
	// NoAddressLimits turns off the per-address caps on widget
	// connections (PARLEY_RATE_LIMITS=off).
	NoAddressLimits bool
	// Meta is the Messenger/Instagram channel. Nil: its webhook, API and
	// settings page answer that it is not enabled on this server.
	Meta MetaChannel
	// MailDNS is the DNS advice Settings → Email shows (nil: none).
	MailDNS *maildns.Setup
	// Metrics records each request's duration by route pattern (nil:
	// not recorded).
	Metrics *metrics.Metrics
}

// Server is the HTTP handler of Parley.
type Server struct {
	svc  *chat.Service
	hub  *realtime.Hub
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
	csrf []byte
	// conns counts open widget connections per visitor and address.
	conns *connCounts
	// uploads and agentUploads bound the memory of visitors' and agents'
	// uploads being read (uploadgate.go).
	uploads, agentUploads *uploadGate

	// ctx ends at shutdown and closes every WebSocket.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// revalidate starts the check of open dashboards' tokens once.
	revalidate sync.Once
	// connMu orders a new connection's wg.Add before Shutdown's cancel:
	// a connection is either counted and closed, or refused.
	connMu sync.Mutex
	// loop serves the widgets' sockets once upgraded, started by the
	// first (widgetLoop).
	loopOnce sync.Once
	loop     *loop

	// patterns are the routes registered, in order (Routes).
	patterns []string

	openapiOnce sync.Once
	openapiJSON []byte
	openapiErr  error
}

// New returns the HTTP handler.
func New(svc *chat.Service, hub *realtime.Hub, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.BodyReadTimeout <= 0 {
		opts.BodyReadTimeout = BodyReadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = writeTimeout
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = 30 * time.Second
	}
	mac := hmac.New(sha256.New, opts.Secret)
	mac.Write([]byte("parley csrf"))
	s := &Server{svc: svc, hub: hub, opts: opts, log: opts.Logger, mux: http.NewServeMux(), csrf: mac.Sum(nil),
		conns: newConnCounts(opts.NoAddressLimits), uploads: newUploadGate(uploadBudgetBytes), agentUploads: newUploadGate(uploadBudgetBytes)}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	return s
}

// Routes lists the ServeMux patterns the server registered, such as
// "GET /api/v1/conversations/{id}".
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }

// routeTable registers routes on the server's mux and remembers their
// patterns.
type routeTable struct{ s *Server }

func (t routeTable) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	t.s.mux.HandleFunc(pattern, h)
	t.s.patterns = append(t.s.patterns, pattern)
}

func (t routeTable) Handle(pattern string, h http.Handler) {
	t.s.mux.Handle(pattern, h)
	t.s.patterns = append(t.s.patterns, pattern)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("handler panic", "route", r.Pattern, "panic", v)
			s.serverErrorPage(w, r)
		}
	}()
	s.setDeadlines(w, r)
	defer serving(r)()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	if strings.HasPrefix(s.opts.PublicURL, "https://") {
		// Served over HTTPS (PARLEY_PUBLIC_URL): the browser is not to
		// try plain HTTP for a year, so that a first visit to the login
		// page cannot be downgraded. Ignored by browsers over HTTP.
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	var next http.Handler = s.mux
	if strings.IndexByte(r.URL.Path, 0) >= 0 || strings.Contains(r.URL.RawQuery, "%00") {
		next = http.HandlerFunc(refuseNUL)
	}
	s.logRequest(w, r, next)
}

// refuseNUL answers a request whose path or query holds the NUL character.
func refuseNUL(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusBadRequest, "bad_request", errNUL)
		return
	}
	http.Error(w, sentence(errNUL), http.StatusBadRequest)
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
	s.stopLoop()
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
