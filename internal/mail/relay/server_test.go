package relay

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A real go-smtp server on 127.0.0.1:0 whose backend records what it gets.

type serverOptions struct {
	startTLS    bool     // offer STARTTLS
	implicitTLS bool     // TLS from the first byte (smtps)
	authMechs   []string // AUTH mechanisms offered: sasl.Plain, sasl.Login
	user, pass  string
	// authOnlyOverTLS turns off go-smtp's AllowInsecureAuth.
	authOnlyOverTLS bool
	readTimeout     time.Duration
	smtpUTF8        bool // offer SMTPUTF8
	discard         bool // keep no messages (benchmarks)
}

type testServer struct {
	addr     string
	be       *backend
	accepted atomic.Int64 // TCP connections
	closed   atomic.Int64 // of which the server has closed
	closedCh chan struct{}
}

type received struct {
	from     string
	to       []string
	data     []byte
	tls      bool
	authUser string
	authMech string
}

type backend struct {
	opts serverOptions

	mu     sync.Mutex
	msgs   []received
	conns  []*smtp.Conn
	onMail func(from string) error
	onRcpt func(to string) error
	onData func(string) error
}

func startServer(t testing.TB, opts serverOptions) *testServer {
	t.Helper()
	ts := &testServer{be: &backend{opts: opts}, closedCh: make(chan struct{}, 100)}
	s := smtp.NewServer(ts.be)
	s.Domain = "test.localhost"
	s.AllowInsecureAuth = !opts.authOnlyOverTLS
	s.ReadTimeout = opts.readTimeout
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.MaxMessageBytes = 25 << 20
	s.EnableSMTPUTF8 = opts.smtpUTF8
	if opts.startTLS || opts.implicitTLS {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var l net.Listener = countingListener{ln, ts}
	if opts.implicitTLS {
		l = tls.NewListener(l, s.TLSConfig)
		s.TLSConfig = nil // no STARTTLS inside TLS
	}
	ts.addr = ln.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ts
}

// countingListener counts connections, and notes when the server closes
// them.
type countingListener struct {
	net.Listener
	ts *testServer
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.ts.accepted.Add(1)
	return &trackedConn{Conn: c, ts: l.ts}, nil
}

type trackedConn struct {
	net.Conn
	ts   *testServer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.ts.closed.Add(1)
		c.ts.closedCh <- struct{}{}
	})
	return c.Conn.Close()
}

// waitClosed waits until the server has closed n connections.
func (ts *testServer) waitClosed(n int64) {
	for ts.closed.Load() < n {
		<-ts.closedCh
	}
}

// waitAllClosed waits until the server has closed every connection so far.
func (ts *testServer) waitAllClosed() { ts.waitClosed(ts.accepted.Load()) }

// messages returns what the server accepted so far.
func (ts *testServer) messages() []received {
	ts.be.mu.Lock()
	defer ts.be.mu.Unlock()
	return append([]received(nil), ts.be.msgs...)
}

// dropConnections closes every connection from the server side.
func (ts *testServer) dropConnections() {
	ts.be.mu.Lock()
	conns := ts.be.conns
	ts.be.conns = nil
	ts.be.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// hooks sets replies for the next commands; nil means accept.
// The data hook is called with "" once the message has been read.
func (ts *testServer) hooks(mail, rcpt, data func(string) error) {
	ts.be.mu.Lock()
	defer ts.be.mu.Unlock()
	ts.be.onMail, ts.be.onRcpt, ts.be.onData = mail, rcpt, data
}

// failFirst returns a hook that answers err the first n times, then accepts.
func failFirst(n int, err error) func(string) error {
	var calls atomic.Int64
	return func(string) error {
		if calls.Add(1) <= int64(n) {
			return err
		}
		return nil
	}
}

func (be *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	be.mu.Lock()
	be.conns = append(be.conns, c)
	be.mu.Unlock()
	return &session{be: be, conn: c}, nil
}

type session struct {
	be       *backend
	conn     *smtp.Conn
	from     string
	to       []string
	authUser string
	authMech string
}

func (s *session) AuthMechanisms() []string { return s.be.opts.authMechs }

func (s *session) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.be.opts.user || pass != s.be.opts.pass {
			return smtp.ErrAuthFailed // 535 5.7.8
		}
		s.authUser, s.authMech = user, mech
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(_, user, pass string) error { return check(user, pass) }), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(s.be.opts.authMechs) > 0 && s.authUser == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.be.mu.Lock()
	hook := s.be.onMail
	s.be.mu.Unlock()
	if hook != nil {
		if err := hook(from); err != nil {
			return err
		}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.be.mu.Lock()
	hook := s.be.onRcpt
	s.be.mu.Unlock()
	if hook != nil {
		if err := hook(to); err != nil {
			return err
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.be.mu.Lock()
	hook := s.be.onData
	s.be.mu.Unlock()
	if hook != nil {
		if err := hook(""); err != nil {
			return err
		}
	}
	if s.be.opts.discard {
		return nil
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, received{
		from: s.from, to: s.to, data: data, tls: isTLS,
		authUser: s.authUser, authMech: s.authMech,
	})
	s.be.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// loginServer is the server side of SASL LOGIN as common servers speak it:
// prompt "Username:" (unless given as an initial response), then "Password:".
type loginServer struct {
	check      func(user, pass string) error
	user       string
	askedUser  bool
	askedPass  bool
	haveUserIR bool
}

func (a *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch {
	case !a.askedUser && !a.askedPass && response != nil && !a.haveUserIR:
		a.user, a.haveUserIR, a.askedPass = string(response), true, true
		return []byte("Password:"), false, nil
	case !a.askedUser && !a.askedPass:
		a.askedUser = true
		return []byte("Username:"), false, nil
	case a.askedUser && !a.askedPass:
		a.user, a.askedPass = string(response), true
		return []byte("Password:"), false, nil
	case a.askedPass:
		return nil, true, a.check(a.user, string(response))
	}
	return nil, false, errors.New("unexpected LOGIN state")
}

var testCertOnce = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "parley relay test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})

// testCert is a self-signed certificate for 127.0.0.1 and localhost.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := testCertOnce()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
