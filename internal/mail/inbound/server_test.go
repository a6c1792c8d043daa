package inbound

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/internal/token"
)

// testServer is an inbound server on a loopback port.
type testServer struct {
	*Server
	addr string
	sink *fakeSink
}

type serverOptions struct {
	cfg      ServerConfig
	maxBytes int64         // 0: MaxMessageBytes
	lifetime time.Duration // 0: sessionLifetime
	sinkErr  error
}

func startServer(t *testing.T, o serverOptions) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &fakeSink{err: o.sinkErr}
	if o.maxBytes == 0 {
		o.maxBytes = MaxMessageBytes
	}
	if o.lifetime == 0 {
		o.lifetime = sessionLifetime
	}
	o.cfg.Domain = "mx.test"
	srv := newServer(o.cfg, o.maxBytes, o.lifetime, testResolver(), sink, nil)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &testServer{Server: srv, addr: ln.Addr().String(), sink: sink}
}

func dial(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// deliver runs one mail transaction and returns its first error.
func deliver(c *smtp.Client, from string, rcpts []string, msg []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// smtpCode returns the reply code of an SMTP error, or 250 for nil.
func smtpCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 250
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("not an SMTP reply: %v", err)
	}
	return se.Code
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServerRefusesUnknownRecipients(t *testing.T) {
	s := startServer(t, serverOptions{})
	valid := replyAddress(testConv)
	tok := strings.TrimSuffix(strings.TrimPrefix(valid, "reply+"), "@"+testDomain)
	altered := strings.Replace(valid, tok[:4], "zzzz", 1)
	for _, rcpt := range []string{
		"reply+ah2q4ayhbnkgm3n6rluxmlrmvwlkqbvbgq7mvq4a5xk2e@" + testDomain, // forged
		altered,
		"reply+" + testSigner.Sign(token.Visitor, testConv) + "@" + testDomain, // another purpose
		"reply+" + tok + "@elsewhere.example",                                  // relaying
		"postmaster@gmail.com",                                                 // relaying
		"admin@" + testDomain,
	} {
		c := dial(t, s.addr)
		if err := c.Mail("v@example.com", nil); err != nil {
			t.Fatal(err)
		}
		err := c.Rcpt(rcpt, nil)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != (smtp.EnhancedCode{5, 1, 1}) {
			t.Errorf("RCPT TO:<%s> = %v, want 550 5.1.1", rcpt, err)
		}
	}
	if replies, _ := s.sink.calls(); len(replies) > 0 {
		t.Errorf("Sink called: %v", replies)
	}
}

func TestServerDeliversReply(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := dial(t, s.addr)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered")
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered without a TLS config")
	}
	// Mail systems may change the case of the address.
	rcpt := strings.ToUpper(replyAddress(testConv))
	if err := deliver(c, "marie.dupont@gmail.com", []string{rcpt}, fixture(t, "testdata/gmail_en.eml")); err != nil {
		t.Fatalf("delivery: %v", err)
	}
	replies, _ := s.sink.calls()
	if len(replies) != 1 || replies[0].conversation != testConv {
		t.Fatalf("replies = %+v, want one to %s", replies, testConv)
	}
	want := strings.TrimSpace(readFile(t, "testdata/gmail_en.expected.txt"))
	if got := replies[0].m.NewText; got != want {
		t.Errorf("NewText = %q, want %q", got, want)
	}

	// A second message on the same connection.
	if err := deliver(c, "marie.dupont@gmail.com", []string{replyAddress("4f2a")}, fixture(t, "testdata/ios_pt.eml")); err != nil {
		t.Fatalf("second delivery: %v", err)
	}
	if replies, _ = s.sink.calls(); len(replies) != 2 || replies[1].conversation != "4f2a" {
		t.Errorf("replies = %+v", replies)
	}
}

func TestServerMaxRecipients(t *testing.T) {
	s := startServer(t, serverOptions{})
	c := dial(t, s.addr)
	if err := c.Mail("v@example.com", nil); err != nil {
		t.Fatal(err)
	}
	for i := range maxRecipients {
		if err := c.Rcpt(replyAddress(fmt.Sprint(i)), nil); err != nil {
			t.Fatalf("RCPT %d: %v", i, err)
		}
	}
	if code := smtpCode(t, c.Rcpt(replyAddress("one-too-many"), nil)); code != 452 {
		t.Errorf("RCPT beyond the limit: %d, want 452", code)
	}
}

func TestMaxMessageBytes(t *testing.T) {
	if MaxMessageBytes != 25*1024*1024 {
		t.Errorf("MaxMessageBytes = %d, want 25 MiB", MaxMessageBytes)
	}
	s := NewServer(ServerConfig{}, testResolver(), &fakeSink{}, nil)
	if s.maxBytes != MaxMessageBytes || s.smtp.MaxMessageBytes != MaxMessageBytes+1 {
		t.Errorf("server limits %d and %d", s.maxBytes, s.smtp.MaxMessageBytes)
	}
	if s.maxConns != 100 || s.timeout != time.Minute || s.smtp.MaxRecipients != 10 {
		t.Errorf("defaults: %d connections, timeout %v, %d recipients", s.maxConns, s.timeout, s.smtp.MaxRecipients)
	}
}

func TestServerMessageSize(t *testing.T) {
	const limit = 64 << 10
	s := startServer(t, serverOptions{maxBytes: limit})
	msg := func(size int) []byte {
		const line = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\r\n"
		b := []byte("From: v@example.com\r\nSubject: size\r\n\r\n")
		b = append(b, bytes.Repeat([]byte(line), size/len(line)+1)...)
		return append(b[:size-2], "\r\n"...)
	}
	rcpt := []string{replyAddress(testConv)}
	tests := []struct {
		name string
		size int
		want int
	}{
		{"at the limit", limit, 250},
		{"one byte over", limit + 1, 552},
		{"far over", 4 * limit, 552},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s.addr)
			if code := smtpCode(t, deliver(c, "v@example.com", rcpt, msg(tc.size))); code != tc.want {
				t.Errorf("DATA of %d bytes: %d, want %d", tc.size, code, tc.want)
			}
			// The connection stays usable after a refusal.
			if err := c.Noop(); err != nil {
				t.Errorf("NOOP after DATA: %v", err)
			}
		})
	}
	t.Run("SIZE announced over the limit", func(t *testing.T) {
		c := dial(t, s.addr)
		if code := smtpCode(t, c.Mail("v@example.com", &smtp.MailOptions{Size: limit + 1})); code != 552 {
			t.Errorf("MAIL FROM SIZE=%d: %d, want 552", limit+1, code)
		}
	})
}

func TestServerSTARTTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	s := startServer(t, serverOptions{cfg: ServerConfig{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}})
	if ok, _ := dial(t, s.addr).Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	c, err := smtp.DialStartTLS(s.addr, &tls.Config{RootCAs: pool, ServerName: "mx.test"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if state, ok := c.TLSConnectionState(); !ok || !state.HandshakeComplete {
		t.Fatal("no TLS after STARTTLS")
	}
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered over TLS")
	}
	if err := deliver(c, "v@example.com", []string{replyAddress(testConv)}, fixture(t, "testdata/outlook_en_html_only.eml")); err != nil {
		t.Fatalf("delivery over TLS: %v", err)
	}
	if replies, _ := s.sink.calls(); len(replies) != 1 || !strings.HasPrefix(replies[0].m.NewText, "Hi Alex,") {
		t.Errorf("replies = %+v", replies)
	}
}

// Under TLS too, a message that takes longer than the idle session to
// arrive is received whole: its data pauses the idle clock.
func TestServerSTARTTLSSlowMessage(t *testing.T) {
	const idle = 400 * time.Millisecond
	cert, pool := selfSigned(t)
	s := startServer(t, serverOptions{cfg: ServerConfig{IdleSession: idle, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}})
	c, err := smtp.DialStartTLS(s.addr, &tls.Config{RootCAs: pool, ServerName: "mx.test"})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.Mail("v@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(replyAddress(testConv), nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "From: v@example.com\r\nSubject: Re: hi\r\n\r\n")
	for range 8 {
		time.Sleep(idle / 4)
		io.WriteString(w, strings.Repeat("slowly, over TLS ", 10)+"\r\n")
	}
	if err := w.Close(); err != nil {
		t.Fatalf("a message taking twice the idle session over TLS: %v", err)
	}
}

// selfSigned makes a certificate for mx.test and 127.0.0.1, and a pool
// that trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mx.test"},
		DNSNames:              []string{"mx.test"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestServerOutcomes(t *testing.T) {
	gmail := fixture(t, "testdata/gmail_en.eml")
	tests := []struct {
		name    string
		from    string
		rcpt    string
		msg     []byte
		sinkErr error
		code    int
		replies int
		bounces int
	}{
		{name: "sink failure is temporary", from: "v@example.com", rcpt: replyAddress(testConv), msg: gmail,
			sinkErr: errors.New("database is down"), code: 451},
		{name: "conversation gone is permanent", from: "v@example.com", rcpt: replyAddress(testConv), msg: gmail,
			sinkErr: fmt.Errorf("deleted: %w", ErrUnknownRecipient), code: 550},
		{name: "out-of-office accepted, not passed on", from: "s.weiss@beispiel.de", rcpt: replyAddress(testConv),
			msg: fixture(t, "testdata/autoreply/outlook_oof_de.eml"), code: 250},
		{name: "vacation message from a null sender", from: "", rcpt: replyAddress(testConv),
			msg: []byte("From: v@example.com\r\nSubject: Re: hi\r\n\r\nI am away.\r\n"), code: 250},
		{name: "bounce to the bounce address", from: "", rcpt: testBounce,
			msg: fixture(t, "testdata/dsn/postfix_5.1.1.eml"), code: 250, bounces: 1},
		{name: "a person writing to the bounce address", from: "v@example.com", rcpt: testBounce, msg: gmail, code: 550},
		{name: "not an email", from: "v@example.com", rcpt: replyAddress(testConv),
			msg: []byte("this is not an email\r\n"), code: 554},
		{name: "a reply", from: "v@example.com", rcpt: replyAddress(testConv), msg: gmail, code: 250, replies: 1},
		{name: "a reply whose HTML is one long line", from: "v@example.com", rcpt: replyAddress(testConv),
			msg: oneLineHTML(100 << 10), code: 250, replies: 1},
		{name: "a line over the limit is permanent", from: "v@example.com", rcpt: replyAddress(testConv),
			msg: oneLineHTML(maxLineBytes + 1), code: 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t, serverOptions{sinkErr: tc.sinkErr})
			c := dial(t, s.addr)
			if code := smtpCode(t, deliver(c, tc.from, []string{tc.rcpt}, tc.msg)); code != tc.code {
				t.Errorf("reply code %d, want %d", code, tc.code)
			}
			replies, bounces := s.sink.calls()
			if len(replies) != tc.replies || len(bounces) != tc.bounces {
				t.Errorf("%d replies and %d bounces, want %d and %d", len(replies), len(bounces), tc.replies, tc.bounces)
			}
			if tc.bounces > 0 && bounces[0].Bounce.OriginalConversation != testConv {
				t.Errorf("bounce = %+v", bounces[0].Bounce)
			}
		})
	}
}

// oneLineHTML is an answer whose HTML part is a line of n bytes, as some
// mail programs write it.
func oneLineHTML(n int) []byte {
	const head = "From: v@example.com\r\nSubject: Re: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Thanks!</p><p>"
	return []byte(head + strings.Repeat("a", n-len("<p>Thanks!</p><p></p>")) + "</p>\r\n")
}

// rawConn is a plain TCP client that reads reply lines.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// line reads one reply line, waiting at most wait.
func (c *rawConn) line(wait time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(wait))
	return c.r.ReadString('\n')
}

func (c *rawConn) send(t *testing.T, cmd string, wantCode string) {
	t.Helper()
	if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
		t.Fatal(err)
	}
	for {
		l, err := c.line(5 * time.Second)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if !strings.HasPrefix(l, wantCode) {
			t.Fatalf("%s: %q, want %s", cmd, l, wantCode)
		}
		if len(l) > 3 && l[3] == ' ' {
			return
		}
	}
}

// startData reads c's greeting and starts a message to the test
// conversation's reply address, up to the 354 of DATA.
func startData(t *testing.T, c *rawConn) *rawConn {
	t.Helper()
	if l, err := c.line(5 * time.Second); err != nil || !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q, %v", l, err)
	}
	c.send(t, "EHLO client.test", "250")
	c.send(t, "MAIL FROM:<v@example.com>", "250")
	c.send(t, "RCPT TO:<"+replyAddress(testConv)+">", "250")
	c.send(t, "DATA", "354")
	return c
}

// expectHangUp reads until the server closes the connection, within wait,
// and returns the last reply line seen.
func (c *rawConn) expectHangUp(t *testing.T, wait time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(wait)
	last := ""
	for {
		l, err := c.line(time.Until(deadline))
		if l != "" {
			last = l
		}
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("connection still open after %v", wait)
		case err != nil:
			return last
		}
	}
}

func TestServerTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	s := startServer(t, serverOptions{cfg: ServerConfig{Timeout: timeout, MinDataRate: 200}})

	t.Run("silent client", func(t *testing.T) {
		// The server's clock starts when it accepts, before the dial
		// returns: so does this one, or the wait it measures is short.
		start := time.Now()
		c := dialRaw(t, s.addr)
		if l, err := c.line(5 * time.Second); err != nil || !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q, %v", l, err)
		}
		if last := c.expectHangUp(t, 5*time.Second); !strings.HasPrefix(last, "421 ") {
			t.Errorf("last reply %q, want 421", last)
		}
		if d := time.Since(start); d < timeout {
			t.Errorf("closed after %v, before the timeout", d)
		}
	})

	t.Run("client stalling in DATA", func(t *testing.T) {
		c := startData(t, dialRaw(t, s.addr))
		io.WriteString(c, "From: v@example.com\r\nSubject: slow\r\n\r\nfirst line\r\n")
		if last := c.expectHangUp(t, 5*time.Second); !strings.HasPrefix(last, "4") {
			t.Errorf("last reply %q, want a 4xx", last)
		}
		if replies, _ := s.sink.calls(); len(replies) > 0 {
			t.Error("a partial message was delivered")
		}
	})

	t.Run("slow but steady DATA", func(t *testing.T) {
		c := startData(t, dialRaw(t, s.addr))
		io.WriteString(c, "From: v@example.com\r\nSubject: slow\r\n\r\n")
		// Longer in total than the timeout, never silent that long, and
		// 1,000 bytes a second: above the least rate.
		for range 6 {
			time.Sleep(timeout / 3)
			io.WriteString(c, strings.Repeat("another line ", 7)+"\r\n")
		}
		c.send(t, ".", "250")
	})
}

// A client that sends a byte of its message now and then, never silent
// for the timeout, is cut once its data falls behind the least rate.
func TestServerSlowDrip(t *testing.T) {
	const timeout = time.Second
	s := startServer(t, serverOptions{cfg: ServerConfig{Timeout: timeout}})
	c := startData(t, dialRaw(t, s.addr))
	start := time.Now()
	for _, b := range []byte("From: v@example.com\r\nSubject: drip, drip, drip\r\n") {
		if _, err := c.Write([]byte{b}); err != nil {
			break
		}
		if time.Since(start) > 10*timeout {
			t.Fatal("a client dripping a byte every 200 ms kept its connection")
		}
		time.Sleep(timeout / 5)
	}
	if last := c.expectHangUp(t, 5*time.Second); !strings.HasPrefix(last, "4") {
		t.Errorf("last reply %q, want a 4xx", last)
	}
	if d := time.Since(start); d > 5*timeout {
		t.Errorf("cut after %v, want about %v", d, timeout)
	}
	if replies, _ := s.sink.calls(); len(replies) > 0 {
		t.Error("a partial message was delivered")
	}
}

// When nearly every slot is taken, the sessions that hold them idle are cut
// at once to the busy timeout, and mail from elsewhere gets through. (The
// session that made the server busy is not cut: once the others are gone,
// the server is no longer busy.)
func TestServerBusy(t *testing.T) {
	const busy = 300 * time.Millisecond
	s := startServer(t, serverOptions{cfg: ServerConfig{MaxConns: 5, BusyTimeout: busy, Timeout: time.Minute, IdleSession: time.Hour}})
	var held []*rawConn
	open := func(ip string) *rawConn {
		c := dialFrom(t, ip, s.addr)
		if l, _ := c.line(5 * time.Second); !strings.HasPrefix(l, "220 ") {
			t.Fatalf("greeting %q", l)
		}
		c.send(t, "EHLO client.test", "250")
		return c
	}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		held = append(held, open(ip))
	}
	// Three of five: not busy, idle sessions wait.
	time.Sleep(3 * busy)
	held[0].send(t, "NOOP", "250")
	// The server sets the next command's wait just after its answer: let
	// it, or on a loaded machine the wait may be set once the listener is
	// no longer busy, and rightly be the long one.
	time.Sleep(busy / 3)

	start := time.Now()
	open("127.0.0.5") // four of five: busy
	for i, c := range held {
		if last := c.expectHangUp(t, 10*time.Second); !strings.HasPrefix(last, "421 ") {
			t.Errorf("session %d: last reply %q, want 421", i, last)
		}
		if d := time.Since(start); d > 20*busy {
			t.Errorf("session %d cut after %v, want about %v", i, d, busy)
		}
	}
	c := startData(t, dialFrom(t, "127.0.0.6", s.addr))
	io.WriteString(c, "From: v@example.com\r\nSubject: Re: hi\r\n\r\nthrough at last\r\n")
	c.send(t, ".", "250")
}

func TestServerSessionLifetime(t *testing.T) {
	const lifetime = 500 * time.Millisecond
	s := startServer(t, serverOptions{lifetime: lifetime})
	c := dialRaw(t, s.addr)
	start := time.Now()
	c.line(5 * time.Second)
	// A client that is never idle still cannot keep its slot for ever.
	for time.Since(start) < 5*time.Second {
		if _, err := io.WriteString(c, "NOOP\r\n"); err != nil {
			break
		}
		if _, err := c.line(time.Second); err != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := time.Since(start); d < lifetime || d > 4*time.Second {
		t.Errorf("connection lasted %v, want about %v", d, lifetime)
	}
}

func TestServerConnectionLimit(t *testing.T) {
	s := startServer(t, serverOptions{cfg: ServerConfig{MaxConns: 2}})
	greet := func(c *rawConn) string {
		l, _ := c.line(5 * time.Second)
		return l
	}
	a, b := dialRaw(t, s.addr), dialRaw(t, s.addr)
	if !strings.HasPrefix(greet(a), "220 ") || !strings.HasPrefix(greet(b), "220 ") {
		t.Fatal("no greeting within the limit")
	}
	extra := dialRaw(t, s.addr)
	if l := greet(extra); !strings.HasPrefix(l, "421 ") {
		t.Errorf("connection over the limit got %q, want 421", l)
	}
	if last := extra.expectHangUp(t, 5*time.Second); last != "" {
		t.Errorf("more after 421: %q", last)
	}

	// A slot frees when a connection ends.
	a.send(t, "QUIT", "221")
	a.expectHangUp(t, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := greet(dialRaw(t, s.addr))
		if strings.HasPrefix(l, "220 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot freed: %q", l)
		}
		time.Sleep(20 * time.Millisecond) // the server releases the slot just after answering QUIT
	}
}

func TestServerClose(t *testing.T) {
	srv := NewServer(ServerConfig{}, testResolver(), &fakeSink{}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	c := dialRaw(t, ln.Addr().String())
	if l, _ := c.line(5 * time.Second); !strings.HasPrefix(l, "220 ") {
		t.Fatalf("greeting %q", l)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after Close = %v, want nil", err)
	}
	c.expectHangUp(t, 5*time.Second)

	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(ln2); !errors.Is(err, smtp.ErrServerClosed) {
		t.Errorf("Serve on a closed server = %v", err)
	}
	if _, err := net.Dial("tcp", ln2.Addr().String()); err == nil {
		t.Error("the listener given to a closed server is still open")
	}
}

// dialFrom is dialRaw from a given loopback source address, as from
// another host.
func dialFrom(t *testing.T, localIP, addr string) *rawConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// 100 idle sessions from one address hold 10 slots at most: mail from
// elsewhere still arrives.
func TestServerIdleFloodFromOneAddress(t *testing.T) {
	s := startServer(t, serverOptions{})
	served := 0
	for range 100 {
		c := dialFrom(t, "127.0.0.1", s.addr)
		l, _ := c.line(5 * time.Second)
		if strings.HasPrefix(l, "220 ") {
			served++
			c.send(t, "NOOP", "250")
		} else if !strings.HasPrefix(l, "421 ") {
			t.Fatalf("greeting %q", l)
		}
	}
	if served != 10 {
		t.Errorf("%d sessions served from one address, want 10", served)
	}
	c := startData(t, dialFrom(t, "127.0.0.2", s.addr))
	io.WriteString(c, "From: v@example.com\r\nSubject: Re: hi\r\n\r\nstill reachable\r\n")
	c.send(t, ".", "250")
}

func TestServerIdleSession(t *testing.T) {
	const idle = 300 * time.Millisecond
	s := startServer(t, serverOptions{cfg: ServerConfig{IdleSession: idle}})

	t.Run("NOOP does not keep a session", func(t *testing.T) {
		c := dialRaw(t, s.addr)
		c.line(5 * time.Second)
		c.send(t, "EHLO client.test", "250")
		c.send(t, "MAIL FROM:<v@example.com>", "250")
		c.send(t, "RCPT TO:<"+replyAddress(testConv)+">", "250")
		// Never silent for the 60 s timeout, but sending nothing: closed
		// once the session has been idle that long.
		closed := false
		for range 200 {
			if _, err := io.WriteString(c, "NOOP\r\n"); err != nil {
				closed = true
				break
			}
			if l, err := c.line(5 * time.Second); err != nil || !strings.HasPrefix(l, "250 ") {
				closed = true
				break
			}
			time.Sleep(idle / 6)
		}
		if !closed {
			t.Error("a session sending only NOOP stayed open")
		}
	})

	t.Run("receiving a message is not idle", func(t *testing.T) {
		c := startData(t, dialRaw(t, s.addr))
		io.WriteString(c, "From: v@example.com\r\nSubject: slow\r\n\r\n")
		for range 6 {
			time.Sleep(idle / 3)
			io.WriteString(c, "another line\r\n")
		}
		c.send(t, ".", "250")
		// And the idle clock starts again with the message.
		c.send(t, "MAIL FROM:<v@example.com>", "250")
	})
}
