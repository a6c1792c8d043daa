// Package relay delivers outgoing mail through an SMTP relay (RFC 5321): one
// connection reused for many messages, STARTTLS (RFC 3207) or implicit TLS
// (RFC 8314), AUTH PLAIN or LOGIN, a rate limit and DKIM signing (RFC 6376).
//
// It neither queues nor retries: the outbox does, and asks IsPermanent
// whether an error means "give up" (5xx) or "try again later" (anything else).
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"golang.org/x/time/rate"
)

// Config configures a Relay.
type Config struct {
	// URL is PARLEY_SMTP_URL; see ParseURL.
	URL string
	// HeloName is the name given in EHLO; "localhost" if empty.
	HeloName string
	// RatePerSecond caps messages per second (burst of one); 0 is unlimited.
	RatePerSecond float64
	// DKIM, when set, signs every message.
	DKIM *DKIMConfig
	// Timeout bounds each SMTP command, and the whole connection set-up
	// (dial, TLS, EHLO, AUTH). One minute if zero.
	Timeout time.Duration
	// Connections is how many SMTP sessions may be open at once, each
	// sending one message at a time (1 if zero).
	Connections int
}

const (
	defaultTimeout = time.Minute
	// maxIdle is how long an unused connection is kept. Past it, the next
	// Send dials again rather than risk a connection that a server or a NAT
	// dropped silently (a write into one hangs until Timeout).
	maxIdle = 30 * time.Second
	// quitTimeout bounds the courtesy QUIT in Close.
	quitTimeout = 2 * time.Second
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("relay: closed")

// Relay sends messages through one SMTP relay. It is safe for concurrent use;
// messages go out one at a time on each of up to Config.Connections
// connections.
type Relay struct {
	ep        Endpoint
	helo      string
	timeout   time.Duration
	tlsConfig *tls.Config
	limiter   *rate.Limiter // nil: unlimited
	dkim      *dkimSigner   // nil: no signing

	// slots holds the sessions not in use; a Send takes one for its
	// transaction (a channel rather than a pool behind a mutex, so that
	// waiting for one respects the caller's context).
	slots      chan *slot
	closed     atomic.Bool
	noStartTLS atomic.Bool // the server did not offer STARTTLS last time
}

// slot is one session of the relay's.
type slot struct {
	conn *conn // nil until needed, and after an error
}

// drop closes the slot's connection, if any.
func (s *slot) drop() {
	if s.conn != nil {
		s.conn.raw.Close()
		s.conn = nil
	}
}

// conn is one SMTP session.
type conn struct {
	c        *smtp.Client
	raw      net.Conn // the TCP connection under c: closing it aborts any I/O
	lastUsed time.Time
	dirty    bool // a transaction failed part-way: RSET before the next one
}

// New checks cfg and returns a Relay. It does not connect: the first Send
// does.
func New(cfg Config) (*Relay, error) {
	ep, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	r := &Relay{
		ep:      ep,
		helo:    cfg.HeloName,
		timeout: cfg.Timeout,
		tlsConfig: &tls.Config{
			ServerName:         ep.Host,
			InsecureSkipVerify: ep.InsecureSkipVerify,
			MinVersion:         tls.VersionTLS12,
		},
	}
	if cfg.Connections < 0 {
		return nil, fmt.Errorf("relay: %d connections: want 1 or more", cfg.Connections)
	}
	r.slots = make(chan *slot, max(cfg.Connections, 1))
	for range cap(r.slots) {
		r.slots <- &slot{}
	}
	if r.helo == "" {
		r.helo = "localhost"
	}
	if strings.ContainsAny(r.helo, " \t\r\n") {
		return nil, fmt.Errorf("relay: HELO name %q contains white space", r.helo)
	}
	switch {
	case r.timeout < 0:
		return nil, fmt.Errorf("relay: negative timeout %s", r.timeout)
	case r.timeout == 0:
		r.timeout = defaultTimeout
	}
	switch rps := cfg.RatePerSecond; {
	case math.IsNaN(rps) || math.IsInf(rps, 0) || rps < 0:
		return nil, fmt.Errorf("relay: rate %v per second: want 0 (unlimited) or more", rps)
	case rps > 0:
		r.limiter = rate.NewLimiter(rate.Limit(rps), 1)
	}
	if cfg.DKIM != nil {
		opts, err := cfg.DKIM.signOptions()
		if err != nil {
			return nil, err
		}
		r.dkim = &dkimSigner{opts: opts}
	}
	return r, nil
}

// Send delivers msg, a complete RFC 5322 message with CRLF line endings, from
// the envelope sender from (empty for the null sender) to the envelope
// recipients to. It returns once the relay has accepted the message, or with
// an error that IsPermanent classifies. A message is accepted for all
// recipients or none: a refused recipient fails the whole Send.
//
// Send reuses the open connection, and dials a new one when there is none,
// when it sat idle too long, or when the server turns out to have closed it
// before the message was handed over. ctx bounds the whole call, including
// the wait for the rate limit and for other Sends.
func (r *Relay) Send(ctx context.Context, from string, to []string, msg []byte) error {
	if err := checkEnvelope(from, to, msg); err != nil {
		return err
	}
	if r.dkim != nil {
		signed, err := r.dkim.sign(msg)
		if err != nil {
			return permanent(fmt.Errorf("relay: dkim sign: %w", err))
		}
		msg = signed
	}
	if r.limiter != nil {
		if err := r.limiter.Wait(ctx); err != nil {
			if ctx.Err() == nil {
				// x/time/rate refuses at once, with an error of its own,
				// when the next slot is past the deadline.
				err = fmt.Errorf("next slot is past the deadline: %w", context.DeadlineExceeded)
			}
			return fmt.Errorf("relay: rate limit: %w", err)
		}
	}
	var sl *slot
	select {
	case sl = <-r.slots:
	case <-ctx.Done():
		return fmt.Errorf("relay: wait for connection: %w", context.Cause(ctx))
	}
	defer func() { r.slots <- sl }()
	if r.closed.Load() {
		return ErrClosed
	}
	if sl.conn != nil && time.Since(sl.conn.lastUsed) > maxIdle {
		sl.drop()
	}

	reused := sl.conn != nil
	retry, err := r.transaction(ctx, sl, from, to, msg)
	if err != nil && retry && reused && ctx.Err() == nil {
		// The server closed the connection while it was idle (EOF, reset,
		// or the 421 it sends when it times out). Nothing was handed over,
		// so one retry on a fresh connection cannot duplicate the message.
		_, err = r.transaction(ctx, sl, from, to, msg)
	}
	return err
}

// transaction sends one message, dialing first if need be. retry reports
// that the connection failed before the transaction began.
func (r *Relay) transaction(ctx context.Context, sl *slot, from string, to []string, msg []byte) (retry bool, err error) {
	if sl.conn == nil {
		cn, err := r.connect(ctx)
		if err != nil {
			return false, err
		}
		sl.conn = cn
	}
	cn := sl.conn
	stop := context.AfterFunc(ctx, func() { cn.raw.Close() })
	op, err := cn.send(from, to, msg, r.timeout)
	if !stop() {
		// ctx ended and closed the connection under the transaction.
		sl.drop()
		if err == nil {
			return false, nil // accepted just in time
		}
		return false, r.fail(op, context.Cause(ctx))
	}
	if err == nil {
		cn.lastUsed = time.Now()
		return false, nil
	}
	var se *smtp.SMTPError
	var pe *permanentError
	switch {
	case errors.As(err, &pe):
		// Refused here before the command was sent: the session is intact.
	case errors.As(err, &se) && se.Code != 421:
		cn.dirty = true // the session is fine; only the transaction failed
	default:
		// 421 (the server is closing), a network error, a timeout: the
		// session is gone.
		sl.drop()
		retry = op == "rset" || op == "mail from"
	}
	return retry, r.fail(op, err)
}

// send runs RSET if needed, MAIL, RCPT and DATA. op names the command that
// failed.
func (cn *conn) send(from string, to []string, msg []byte, timeout time.Duration) (op string, err error) {
	// The reply to DATA clears the server's buffers (RFC 5321 4.1.1.4), so
	// RSET is only sent after one that failed
	// part-way. It costs two round trips: go-smtp's Reset makes the next
	// command say EHLO again.
	if cn.dirty {
		if err := cn.c.Reset(); err != nil {
			return "rset", err
		}
		cn.dirty = false
	}
	opts := &smtp.MailOptions{Size: int64(len(msg))}
	if !isASCII(from) || !allASCII(to) {
		if ok, _ := cn.c.Extension("SMTPUTF8"); !ok {
			return "mail from", permanent(errors.New("non-ASCII address and the server does not offer SMTPUTF8"))
		}
		opts.UTF8 = true
	}
	if err := cn.c.Mail(from, opts); err != nil {
		return "mail from", err
	}
	for _, rcpt := range to {
		if err := cn.c.Rcpt(rcpt, nil); err != nil {
			return "rcpt to <" + rcpt + ">", err
		}
	}
	w, err := cn.c.Data()
	if err != nil {
		return "data", err
	}
	// go-smtp sets no deadline while the body is written; allow the command
	// timeout plus a second per 64 KiB.
	cn.raw.SetWriteDeadline(time.Now().Add(timeout + time.Duration(len(msg)>>16)*time.Second))
	if _, err := w.Write(msg); err != nil {
		return "data", err
	}
	if err := w.Close(); err != nil {
		return "data", err
	}
	return "", nil
}

// connect dials, greets, secures and authenticates a new session.
func (r *Relay) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, r.timeout,
		fmt.Errorf("connection set-up took longer than %s: %w", r.timeout, context.DeadlineExceeded))
	defer cancel()

	var cn *conn
	var err error
	for attempt := 0; ; attempt++ {
		cn, err = r.dialSession(ctx, !r.ep.ImplicitTLS && !r.noStartTLS.Load())
		if attempt > 0 {
			break
		}
		// go-smtp cannot upgrade a session it has already greeted, so a
		// wrong guess about STARTTLS costs a second connection; the guess
		// follows what the server did last time.
		if errors.Is(err, errNoStartTLS) {
			r.noStartTLS.Store(true)
		} else if errors.Is(err, errStartTLSOffered) {
			r.noStartTLS.Store(false)
		} else {
			break
		}
	}
	if errors.Is(err, errNoStartTLS) || errors.Is(err, errStartTLSOffered) {
		return nil, r.fail("starttls", fmt.Errorf("%w on one connection and not on the next", err))
	}
	if err != nil {
		return nil, err
	}
	if r.ep.Username == "" {
		return cn, nil
	}
	stop := context.AfterFunc(ctx, func() { cn.raw.Close() })
	err = r.auth(cn)
	if !stop() {
		err = context.Cause(ctx)
	}
	if err != nil {
		cn.raw.Close()
		return nil, r.fail("auth", err)
	}
	return cn, nil
}

var (
	errNoStartTLS      = errors.New("server does not offer STARTTLS")
	errStartTLSOffered = errors.New("server offers STARTTLS")
)

// dialSession dials, reads the greeting and says EHLO: over TLS for
// smtps://; for smtp://, after STARTTLS if startTLS is set (errNoStartTLS if
// the server does not offer it), else in clear text (errStartTLSOffered if
// the server does offer it).
func (r *Relay) dialSession(ctx context.Context, startTLS bool) (*conn, error) {
	d := net.Dialer{Timeout: r.timeout}
	raw, err := d.DialContext(ctx, "tcp", r.ep.Addr())
	if err != nil {
		return nil, r.fail("dial", err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	op, c, err := r.greet(ctx, raw, startTLS)
	if !stop() {
		err = context.Cause(ctx)
	}
	if err != nil {
		raw.Close()
		if errors.Is(err, errNoStartTLS) || errors.Is(err, errStartTLSOffered) {
			return nil, err
		}
		return nil, r.fail(op, err)
	}
	return &conn{c: c, raw: raw, lastUsed: time.Now()}, nil
}

// greet does dialSession's talking. op names the step that failed.
// NewClientStartTLS talks before CommandTimeout can be set, under go-smtp's
// five minutes per command; the context of connect bounds that.
func (r *Relay) greet(ctx context.Context, raw net.Conn, startTLS bool) (op string, c *smtp.Client, err error) {
	switch {
	case r.ep.ImplicitTLS:
		tc := tls.Client(raw, r.tlsConfig)
		if err := tc.HandshakeContext(ctx); err != nil {
			return "tls", nil, err
		}
		c = smtp.NewClient(tc)
	case startTLS:
		c, err = smtp.NewClientStartTLS(raw, r.tlsConfig)
		// go-smtp has no sentinel for this; TestOpportunisticSTARTTLS
		// notices if the text changes.
		if err != nil && err.Error() == "smtp: server doesn't support STARTTLS" {
			err = errNoStartTLS
		}
		if err != nil {
			return "starttls", nil, err
		}
	default:
		c = smtp.NewClient(raw)
	}
	c.CommandTimeout = r.timeout
	c.SubmissionTimeout = r.timeout
	if err := c.Hello(r.helo); err != nil {
		if startTLS {
			return "starttls", nil, err // the TLS handshake runs at this first EHLO over TLS
		}
		return "ehlo", nil, err
	}
	if !r.ep.ImplicitTLS && !startTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			return "ehlo", nil, errStartTLSOffered
		}
	}
	return "", c, nil
}

// auth authenticates with PLAIN, or LOGIN if that is all the server offers.
func (r *Relay) auth(cn *conn) error {
	_, isTLS := cn.c.TLSConnectionState()
	if err := mayAuth(r.ep.Host, isTLS); err != nil {
		return err
	}
	var mech sasl.Client
	switch {
	case cn.c.SupportsAuth(sasl.Plain):
		mech = sasl.NewPlainClient("", r.ep.Username, r.ep.Password)
	case cn.c.SupportsAuth(sasl.Login):
		mech = &loginClient{user: r.ep.Username, pass: r.ep.Password}
	default:
		offered, mechs := cn.c.Extension("AUTH")
		if !offered {
			return errors.New("credentials are configured but the server does not offer AUTH")
		}
		return fmt.Errorf("server offers AUTH %s; Parley speaks PLAIN and LOGIN", mechs)
	}
	return cn.c.Auth(mech)
}

// mayAuth refuses to send a password in clear text, except to this machine.
func mayAuth(host string, isTLS bool) error {
	if isTLS || isLoopback(host) {
		return nil
	}
	return errors.New("refusing to send the password without TLS: the server did not offer STARTTLS (use smtps:// if it speaks implicit TLS)")
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loginClient is SASL LOGIN (draft-murchison-sasl-login-00). go-sasl's own
// client sends the user name as an initial response and then insists on the
// exact challenge "Password:"; servers that prompt "Username:" first, or
// word their prompts differently, refuse it. This one answers the prompts.
type loginClient struct {
	user, pass string
	step       int
}

func (a *loginClient) Start() (string, []byte, error) {
	a.step = 0
	return sasl.Login, nil, nil
}

func (a *loginClient) Next(challenge []byte) ([]byte, error) {
	a.step++
	ch := strings.ToLower(string(challenge))
	switch {
	case a.step > 2:
		return nil, errors.New("sasl LOGIN: unexpected third challenge")
	case strings.HasPrefix(ch, "user"):
		return []byte(a.user), nil
	case strings.HasPrefix(ch, "pass"):
		return []byte(a.pass), nil
	case a.step == 1: // an unusual prompt: the draft's order is user, password
		return []byte(a.user), nil
	default:
		return []byte(a.pass), nil
	}
}

// Close says QUIT and closes the connections, each once its transaction
// ended. Sends waiting for a connection, and later ones, get ErrClosed.
func (r *Relay) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	taken := make([]*slot, 0, cap(r.slots))
	for range cap(r.slots) {
		sl := <-r.slots
		taken = append(taken, sl)
		if sl.conn == nil {
			continue
		}
		cn := sl.conn
		sl.conn = nil
		cn.c.CommandTimeout = quitTimeout
		_ = cn.c.Quit() // a courtesy: if the server is gone, there is nothing to report
		cn.raw.Close()
	}
	for _, sl := range taken {
		r.slots <- sl
	}
	return nil
}

// fail wraps err with the relay address and the failed step.
func (r *Relay) fail(op string, err error) error {
	if op == "" {
		return fmt.Errorf("relay %s: %w", r.ep.Addr(), err)
	}
	return fmt.Errorf("relay %s: %s: %w", r.ep.Addr(), op, err)
}

func checkEnvelope(from string, to []string, msg []byte) error {
	if len(to) == 0 {
		return permanent(errors.New("relay: no recipients"))
	}
	if err := checkAddress(from); err != nil {
		return permanent(fmt.Errorf("relay: sender %q: %w", from, err))
	}
	for _, a := range to {
		if a == "" {
			return permanent(errors.New("relay: empty recipient"))
		}
		if err := checkAddress(a); err != nil {
			return permanent(fmt.Errorf("relay: recipient %q: %w", a, err))
		}
	}
	if len(msg) == 0 {
		return permanent(errors.New("relay: empty message"))
	}
	return nil
}

func checkAddress(a string) error {
	if strings.ContainsAny(a, "<>\r\n\x00 \t") {
		return errors.New("contains a character not allowed in an envelope address")
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
