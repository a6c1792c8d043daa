package inbound

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// ServerConfig configures the built-in SMTP server.
type ServerConfig struct {
	Addr   string      // listen address for ListenAndServe (PARLEY_INBOUND_SMTP_ADDR)
	Domain string      // host name in the greeting; "" is "localhost"
	TLS    *tls.Config // STARTTLS is offered when set
	// MaxConns is the number of connections served at once; 0 is 100. A
	// connection beyond it is answered "421 4.7.0 too many connections" and
	// closed at once rather than kept waiting, so that the sending MTA
	// retries later instead of timing out.
	MaxConns int
	// Timeout bounds each wait for the client and each write to it; 0 is
	// 60 seconds. A client silent that long, at a command or in the middle
	// of a message, is answered 421 and disconnected.
	Timeout time.Duration
	// MaxConnsPerAddr is the number of connections served at once for one
	// client address (one IPv4 address, or one IPv6 /64); 0 is 10. Beyond
	// it a connection is answered 421 at once, so that one client cannot
	// take the slots of all others.
	MaxConnsPerAddr int
	// IdleSession is how long a session may go without sending a message
	// (from its start, or from its last message) before it is closed; 0 is
	// two minutes. Commands such as NOOP or RSET do not count: a session
	// kept open by them alone is idle. Receiving a message's data is never
	// cut by it.
	IdleSession time.Duration
	// MinDataRate is the least average rate, in bytes a second, at which a
	// message's data must arrive; 0 is 500, as Postfix's smtpd_min_data_rate.
	// Each read spends the time waited for it and earns the bytes it brought
	// divided by the rate, from a credit that starts at Timeout and never
	// grows past it: a client that drips a byte now and then is cut within
	// Timeout, however long its session may last.
	MinDataRate int
	// BusyTimeout takes the place of Timeout and IdleSession while at least
	// four fifths of MaxConns are in use: every wait for a client, those
	// already begun included, ends within it, so that slow or idle sessions
	// make room for mail waiting for a slot. 0 is 10 seconds.
	BusyTimeout time.Duration
}

// Limits of an SMTP session.
const (
	maxRecipients = 10
	// sessionLifetime bounds a whole connection, so a client that keeps
	// each read within Timeout (one byte at a time) still cannot hold a
	// connection slot for ever. 25 MiB in 30 minutes is 14 KiB/s.
	sessionLifetime = 30 * time.Minute
	// maxLineBytes bounds a line, of a command or of a message. RFC 5321
	// asks for 1,000, but mail programs that write a whole HTML part on
	// one line exist, and go-smtp's default (2,000) refused their answers.
	// A command's line is held in memory while it is read: at most this
	// much a connection.
	maxLineBytes = 512 << 10
)

// Server is the built-in inbound SMTP server. It accepts RCPT TO only for
// addresses the Resolver knows (else 550 5.1.1), so it never relays, and at
// most 10 of them (452 beyond). Each message goes through Parse and
// Dispatch before the reply to DATA: 250 once the Sink has it (or an
// auto-reply was dropped), 552 over MaxMessageBytes, 554 for input that is
// not an email, 550 for a message that is neither a bounce nor an
// auto-reply sent only to the bounce address, and 451 when the Sink fails,
// so that the sending MTA retries. A message from the null sender
// (MAIL FROM:<>) that is not a bounce is taken as an auto-reply. AUTH is
// not offered.
type Server struct {
	smtp     *smtp.Server
	resolve  Resolver
	sink     Sink
	log      *slog.Logger
	maxConns int
	perAddr  int
	idle     time.Duration
	timeout  time.Duration
	busy     time.Duration
	minRate  int
	lifetime time.Duration
	maxBytes int64
	addr     string

	ctx    context.Context // cancelled by Close: aborts Sink calls in progress
	cancel context.CancelFunc

	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
}

// NewServer returns a server that passes each accepted message through Parse
// and Dispatch.
func NewServer(cfg ServerConfig, resolve Resolver, sink Sink, log *slog.Logger) *Server {
	return newServer(cfg, MaxMessageBytes, sessionLifetime, resolve, sink, log)
}

// newServer is NewServer with the size and lifetime limits as parameters,
// for tests.
func newServer(cfg ServerConfig, maxBytes int64, lifetime time.Duration, resolve Resolver, sink Sink, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		resolve:  resolve,
		sink:     sink,
		log:      log,
		maxConns: cmp.Or(cfg.MaxConns, 100),
		perAddr:  cmp.Or(cfg.MaxConnsPerAddr, 10),
		idle:     cmp.Or(cfg.IdleSession, 2*time.Minute),
		timeout:  cmp.Or(cfg.Timeout, 60*time.Second),
		busy:     cmp.Or(cfg.BusyTimeout, 10*time.Second),
		minRate:  cmp.Or(cfg.MinDataRate, 500),
		lifetime: lifetime,
		maxBytes: maxBytes,
		addr:     cfg.Addr,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		// The connection Accept returned, under TLS after STARTTLS.
		conn := c.Conn()
		if tc, ok := conn.(*tls.Conn); ok {
			conn = tc.NetConn()
		}
		lc, _ := conn.(*limitedConn)
		return &session{srv: s, conn: c, lc: lc}, nil
	}))
	srv.Addr = cfg.Addr
	srv.Domain = cmp.Or(cfg.Domain, "localhost")
	srv.TLSConfig = cfg.TLS
	// go-smtp's data reader refuses to read on once it has delivered
	// MaxMessageBytes bytes, even the end-of-data line, so a message of
	// exactly maxBytes needs one more; the 552 still comes at maxBytes+1.
	srv.MaxMessageBytes = maxBytes + 1
	srv.MaxRecipients = maxRecipients
	srv.MaxLineLength = maxLineBytes
	srv.ReadTimeout = s.timeout
	srv.WriteTimeout = s.timeout
	srv.ErrorLog = errorLog{log}
	s.smtp = srv
	return s
}

// ListenAndServe listens on the configured Addr and serves, like Serve.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("inbound smtp: %w", err)
	}
	return s.Serve(ln)
}

// Serve accepts connections on ln until Close, then returns nil. It returns
// smtp.ErrServerClosed if the server was already closed.
func (s *Server) Serve(ln net.Listener) error {
	// go-smtp would serve a listener given after Close: register it here,
	// so that Close closes it whichever comes first.
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return smtp.ErrServerClosed
	}
	s.listeners = append(s.listeners, ln)
	s.mu.Unlock()
	return s.smtp.Serve(&limitListener{Listener: ln, srv: s, slots: make(chan struct{}, s.maxConns), byAddr: map[string]int{}, live: map[*limitedConn]struct{}{}})
}

// Close stops the server at once: listeners and connections are closed and
// Sink calls in progress see their context cancelled. A message whose
// transaction was cut short was not acknowledged, so its sender retries it.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	listeners := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	s.cancel()
	err := s.smtp.Close()
	// After s.smtp.Close, so that Serve sees a closed server and returns nil.
	for _, ln := range listeners {
		ln.Close()
	}
	if err != nil && !errors.Is(err, smtp.ErrServerClosed) {
		return fmt.Errorf("close inbound smtp: %w", err)
	}
	return nil
}

// session is one SMTP session: the envelope of the message in progress.
type session struct {
	srv   *Server
	conn  *smtp.Conn
	lc    *limitedConn // nil only if the connection is not one Accept returned
	from  string
	size  int64 // declared with MAIL FROM SIZE=, or 0
	rcpts []string
	// toReplyAddress is set once a recipient names a conversation; a
	// message for the bounce address alone is judged by its header.
	toReplyAddress bool
}

func (se *session) Reset() {
	se.from, se.size, se.rcpts, se.toReplyAddress = "", 0, nil, false
}

func (se *session) Logout() error { return nil }

func (se *session) Mail(from string, opts *smtp.MailOptions) error {
	// go-smtp checks SIZE against its own limit, one byte more than ours.
	if opts != nil && opts.Size > se.srv.maxBytes {
		return smtp.ErrDataTooLarge
	}
	se.from = from
	if opts != nil {
		se.size = opts.Size
	}
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	r, ok := se.srv.resolve(to)
	if !ok {
		se.srv.log.Debug("inbound smtp: unknown recipient", "remote", se.remote())
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such reply address"}
	}
	if r.Bounces && se.size > maxBounceBytes {
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "A delivery status notification must be smaller than 2 MiB"}
	}
	se.toReplyAddress = se.toReplyAddress || r.ConversationID != ""
	se.rcpts = append(se.rcpts, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	if se.lc != nil {
		se.lc.receiving(true)
		defer se.lc.receiving(false) // and the idle clock starts again
	}
	// The envelope and the header decide what the message is before a
	// byte of its body is kept.
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := readHeaderBlock(br)
	if err != nil {
		return se.readFailed(err)
	}
	limit := se.srv.maxBytes
	switch judgeEnvelope(se.toReplyAddress, se.from == "", head) {
	case refuseMessage:
		se.srv.log.Debug("inbound smtp: message to the bounce address refused unread", "remote", se.remote())
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "This address receives only replies to Parley emails"}
	case dropMessage:
		se.srv.log.Info("inbound smtp: automatic message to the bounce address dropped unread", "remote", se.remote())
		return nil
	case takeBounce:
		limit = min(limit, maxBounceBytes)
	}
	sp, err := spoolMessage(io.MultiReader(bytes.NewReader(head), br), limit)
	defer sp.close()
	switch {
	case errors.Is(err, errOverLimit) && limit < se.srv.maxBytes:
		return &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "A delivery status notification must be smaller than 2 MiB"}
	case errors.Is(err, errOverLimit):
		return smtp.ErrDataTooLarge
	case err != nil:
		return se.readFailed(err)
	}
	// The message has arrived: waiting for the parse budget and storing
	// it are what the timeout bounds.
	ctx, cancel := context.WithTimeout(se.srv.ctx, se.srv.timeout)
	defer cancel()
	m, err := parseSpooled(ctx, sp)
	switch {
	case errors.Is(err, errTooLarge):
		return smtp.ErrDataTooLarge
	case errors.Is(err, errMalformed):
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message could not be parsed: " + err.Error()}
	case err != nil:
		se.srv.log.Warn("inbound smtp: message not parsed", "remote", se.remote(), "err", err)
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Too busy, try again later"}
	}
	if se.from == "" && m.Bounce == nil && m.AutoReply == "" {
		// A null reverse path (MAIL FROM:<>) is for messages that must
		// not be answered: bounces and auto-replies (RFC 3834 section 3.3).
		m.AutoReply = "null envelope sender (MAIL FROM:<>)"
	}
	err = Dispatch(ctx, m, se.rcpts, se.srv.resolve, se.srv.sink, se.srv.log)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnknownRecipient):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "This address receives only replies to Parley emails"}
	case errors.Is(err, ErrRateLimited):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages from this sender, try again later"}
	}
	se.srv.log.Warn("inbound smtp: message not delivered", "message_id", m.MessageID, "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
}

// readFailed answers a message whose transfer failed: over the size
// limit, a line over its limit (permanent: sending it again fails the
// same way), or the connection broke.
func (se *session) readFailed(err error) error {
	if errors.Is(err, smtp.ErrDataTooLarge) {
		return smtp.ErrDataTooLarge
	}
	if errors.Is(err, smtp.ErrTooLongLine) {
		return &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 6, 0},
			Message: fmt.Sprintf("A line of the message is longer than %d KiB", maxLineBytes>>10)}
	}
	if se.lc != nil && se.lc.tooSlow() {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2},
			Message: fmt.Sprintf("Message data arriving too slowly (at least %d bytes a second), try again later", se.srv.minRate)}
	}
	se.srv.log.Debug("inbound smtp: read message", "remote", se.remote(), "err", err)
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Error reading message, try again"}
}

func (se *session) remote() string {
	return se.conn.Conn().RemoteAddr().String()
}

// limitListener serves at most cap(slots) connections at once, and at
// most srv.perAddr of them for one client address, and answers the others
// 421 at once. While it is busy (four fifths of the slots in use), every
// connection's waits are cut to srv.busy.
type limitListener struct {
	net.Listener
	srv   *Server
	slots chan struct{}

	mu     sync.Mutex
	byAddr map[string]int // connections served per clientKey
	live   map[*limitedConn]struct{}
}

// busy reports whether four fifths of the slots, or more, are in use.
func (l *limitListener) busy() bool {
	return len(l.slots)*5 >= cap(l.slots)*4
}

// tighten cuts the waits already begun by every connection to srv.busy
// from now; Accept calls it when a connection leaves the listener busy.
func (l *limitListener) tighten() {
	l.mu.Lock()
	conns := make([]*limitedConn, 0, len(l.live))
	for c := range l.live {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	until := time.Now().Add(l.srv.busy)
	for _, c := range conns {
		c.tighten(until)
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key := clientKey(c.RemoteAddr())
		l.mu.Lock()
		perAddrOK := l.byAddr[key] < l.srv.perAddr
		if perAddrOK {
			l.byAddr[key]++
		}
		l.mu.Unlock()
		if !perAddrOK {
			l.refuse(c, "Too many connections from your address")
			l.srv.log.Warn("inbound smtp: connection refused, too many from one address", "remote", c.RemoteAddr().String(), "max", l.srv.perAddr)
			continue
		}
		release := func() {
			l.mu.Lock()
			if l.byAddr[key]--; l.byAddr[key] <= 0 {
				delete(l.byAddr, key)
			}
			l.mu.Unlock()
		}
		select {
		case l.slots <- struct{}{}:
			lc := &limitedConn{Conn: c, l: l, end: time.Now().Add(l.srv.lifetime)}
			lc.quietFrom.Store(time.Now().UnixNano())
			lc.release = func() {
				l.mu.Lock()
				delete(l.live, lc)
				l.mu.Unlock()
				<-l.slots
				release()
			}
			l.mu.Lock()
			l.live[lc] = struct{}{}
			l.mu.Unlock()
			lc.SetDeadline(lc.end)
			if l.busy() {
				l.srv.log.Warn("inbound smtp: connections nearly all in use; waits cut", "in_use", len(l.slots), "max", cap(l.slots), "wait", l.srv.busy)
				l.tighten()
			}
			return lc, nil
		default:
			release()
			l.refuse(c, "Too many connections")
			l.srv.log.Warn("inbound smtp: connection refused, too many", "remote", c.RemoteAddr().String(), "max", cap(l.slots))
		}
	}
}

// refuse answers a connection 421 and closes it.
func (l *limitListener) refuse(c net.Conn, why string) {
	// A fresh socket's send buffer takes one line without blocking; the
	// deadline covers a peer that has already vanished.
	c.SetWriteDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "421 4.7.0 %s %s, try again later\r\n", l.srv.smtp.Domain, why)
	c.Close()
}

// clientKey is what the per-address limit counts connections by: the IPv4
// address, or the /64 network of an IPv6 address (one host's usual share).
func clientKey(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// limitedConn holds a connection slot until closed, makes the read
// timeout an idle timeout, asks a message's data to arrive at the least
// rate, closes a session that sends no message for too long, cuts every
// wait while the listener is busy, and never lets a deadline run past the
// end of the session's lifetime.
type limitedConn struct {
	net.Conn
	l       *limitListener
	end     time.Time
	release func()
	once    sync.Once
	// quietFrom (Unix nanoseconds) is when the session began, or received
	// its last message; 0 while a message is being received. The session
	// is closed srv.idle after it (srv.busy while the listener is busy).
	quietFrom atomic.Int64
	// timedOut is set once a read ran out of time: the session ends
	// after its last answer (SetWriteDeadline).
	timedOut atomic.Bool
	// graceEnd (Unix nanoseconds) is the end of the window the last
	// answers have once the session's time is up; 0 until it opens.
	graceEnd atomic.Int64

	mu     sync.Mutex
	asked  time.Time // the read deadline last asked for, before clamp
	data   bool      // a message's data is being received
	credit time.Duration
	last   time.Time // the data's last read
	// slow is set once a message's data fell behind the least rate (or
	// stopped): no read waits from then on, so the session ends after its
	// answer.
	slow bool
}

// receiving starts (on) or ends the reception of a message; its end starts
// the idle clock again.
func (c *limitedConn) receiving(on bool) {
	now := time.Now()
	if !on {
		c.mu.Lock()
		c.data = false
		c.mu.Unlock()
		c.quietFrom.Store(now.UnixNano())
		return
	}
	c.quietFrom.Store(0)
	c.mu.Lock()
	c.data, c.credit, c.last = true, c.l.srv.timeout, now
	c.mu.Unlock()
	c.SetReadDeadline(now.Add(c.l.srv.timeout))
}

// Read pushes the read deadline back whenever data arrives. go-smtp sets
// it once per command, and DATA is one command: without this, a whole
// message would have to arrive within the timeout. A message's data earns
// its wait by its rate (ServerConfig.MinDataRate).
func (c *limitedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if n == 0 {
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout()
		if timeout {
			c.timedOut.Store(true)
		}
		if c.data && !c.slow && timeout {
			// The data's credit ran out: the session ends after its answer.
			c.slow = true
			c.l.srv.log.Info("inbound smtp: message data arriving too slowly; closing the connection",
				"remote", c.RemoteAddr().String(), "min_bytes_per_second", c.l.srv.minRate)
		}
		return n, err
	}
	now := time.Now()
	wait := c.l.srv.timeout
	if c.data {
		c.credit -= now.Sub(c.last)
		c.credit = min(c.credit+time.Duration(n)*time.Second/time.Duration(c.l.srv.minRate), wait)
		c.last = now
		wait = c.credit
	}
	c.setReadDeadline(now.Add(wait))
	return n, err
}

// tooSlow reports whether a message's data fell behind the least rate.
func (c *limitedConn) tooSlow() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slow
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// clamp returns t, or the earliest end of the session before it: its
// lifetime, its patience without a message, and srv.busy from now while
// the listener is busy.
func (c *limitedConn) clamp(t time.Time) time.Time {
	end := c.end
	busy := c.l.busy()
	if q := c.quietFrom.Load(); q != 0 {
		quiet := c.l.srv.idle
		if busy {
			quiet = min(quiet, c.l.srv.busy)
		}
		end = earliest(end, time.Unix(0, q).Add(quiet))
	}
	if busy {
		end = earliest(end, time.Now().Add(c.l.srv.busy))
	}
	return earliest(t, end)
}

// earliest is the earlier of a and b, a zero time being no deadline.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// tighten brings the read deadline asked for to until at the latest.
func (c *limitedConn) tighten(until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setReadDeadline(earliest(c.asked, until))
}

// setReadDeadline is SetReadDeadline with c.mu held.
func (c *limitedConn) setReadDeadline(t time.Time) error {
	c.asked = t
	if c.slow {
		return c.Conn.SetReadDeadline(time.Unix(1, 0)) // at once
	}
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	if err := c.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

func (c *limitedConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.setReadDeadline(t)
}

// lastWordGrace is how long the answers that end a session may take to go
// out: the answer to a command or message whose handling outlasted the
// session's time (a message stored as the lifetime ended still gets its
// 250, or its sender sends it again), and go-smtp's 421 after a read ran
// out of time. The ends that cut the reads lie in the past by then, and
// would cut them too.
const lastWordGrace = time.Second

// SetWriteDeadline bounds a write as a read is bounded (clamp): a client
// that reads its answers slowly holds its slot no longer than one that
// sends nothing. Once the session's time is up (a read ran out of time,
// or clamp's end has passed), its last answers share one window of
// lastWordGrace, opened by the first of them: never a deadline already
// past, and never a fresh second for each answer.
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	now := time.Now()
	d := c.clamp(t)
	if c.timedOut.Load() || !d.After(now) {
		c.graceEnd.CompareAndSwap(0, now.Add(lastWordGrace).UnixNano())
		d = earliest(t, time.Unix(0, c.graceEnd.Load()))
	}
	return c.Conn.SetWriteDeadline(d)
}

// errorLog passes go-smtp's internal errors (mostly clients that hang up)
// to slog at debug level.
type errorLog struct{ log *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.log.Debug("inbound smtp: " + fmt.Sprintf(format, v...))
}

func (e errorLog) Println(v ...any) {
	e.log.Debug("inbound smtp: " + fmt.Sprintln(v...))
}
