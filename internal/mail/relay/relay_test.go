package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	testFrom = "parley@example.com"
	testTo   = "visitor@example.org"
)

// testMessage is a forwarded email as Parley composes it, with a line that
// needs dot-stuffing.
func testMessage(subject string) []byte {
	return []byte("From: \"Ann via Acme\" <parley@example.com>\r\n" +
		"To: visitor@example.org\r\n" +
		"Subject: " + subject + "\r\n" +
		"Date: Fri, 02 Jan 2026 15:04:05 +0000\r\n" +
		"Message-ID: <c1.m1@example.com>\r\n" +
		"Reply-To: reply+abcdef@reply.example.com\r\n" +
		"List-Unsubscribe: <https://chat.example.com/u/xyz>\r\n" +
		"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" +
		"Auto-Submitted: auto-generated\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Hello,\r\n" +
		".a line that starts with a dot\r\n" +
		"\r\n" +
		"Ann\r\n")
}

func newRelay(t testing.TB, cfg Config) *Relay {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func send(t testing.TB, r *Relay, subject string) {
	t.Helper()
	if err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage(subject)); err != nil {
		t.Fatalf("Send(%q): %v", subject, err)
	}
}

func TestSend(t *testing.T) {
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr})
	msg := testMessage("hello")
	to := []string{testTo, "second@example.org"}
	if err := r.Send(context.Background(), testFrom, to, msg); err != nil {
		t.Fatal(err)
	}
	got := ts.messages()
	if len(got) != 1 {
		t.Fatalf("server has %d messages, want 1", len(got))
	}
	m := got[0]
	if m.from != testFrom || strings.Join(m.to, ",") != strings.Join(to, ",") {
		t.Errorf("envelope = %q -> %q, want %q -> %q", m.from, m.to, testFrom, to)
	}
	if !bytes.Equal(m.data, msg) {
		t.Errorf("server got\n%q\nwant\n%q", m.data, msg)
	}
}

func TestOpportunisticSTARTTLS(t *testing.T) {
	tests := []struct {
		name        string
		offered     bool
		wantTLS     bool
		wantDialled int64 // without STARTTLS, a first connection learns that
	}{
		{"offered", true, true, 1},
		{"not offered", false, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOptions{startTLS: tc.offered})
			r := newRelay(t, Config{URL: "smtp://" + ts.addr + "?insecure_skip_verify=1"})
			send(t, r, "one")
			send(t, r, "two")
			msgs := ts.messages()
			if len(msgs) != 2 || msgs[0].tls != tc.wantTLS || msgs[1].tls != tc.wantTLS {
				t.Fatalf("messages %+v, want 2 with tls=%v", msgs, tc.wantTLS)
			}
			if n := ts.accepted.Load(); n != tc.wantDialled {
				t.Errorf("%d connections, want %d", n, tc.wantDialled)
			}
		})
	}
}

func TestReusesOneConnection(t *testing.T) {
	ts := startServer(t, serverOptions{startTLS: true})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr + "?insecure_skip_verify=1"})
	for i := range 5 {
		send(t, r, fmt.Sprint("sequential ", i))
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { send(t, r, fmt.Sprint("concurrent ", i)) })
	}
	wg.Wait()
	if n := len(ts.messages()); n != 13 {
		t.Errorf("server has %d messages, want 13", n)
	}
	if n := ts.accepted.Load(); n != 1 {
		t.Errorf("%d connections for 13 messages, want 1", n)
	}
}

func TestSMTPErrors(t *testing.T) {
	reply := func(code int, enh smtp.EnhancedCode, text string) error {
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: text}
	}
	tests := []struct {
		name          string
		mail, rcpt    func(string) error
		data          func(string) error
		wantCode      int
		wantOp        string
		wantPermanent bool
	}{
		{name: "550 unknown user", rcpt: failFirst(1, reply(550, smtp.EnhancedCode{5, 1, 1}, "No such user here")),
			wantCode: 550, wantOp: "rcpt to <visitor@example.org>", wantPermanent: true},
		{name: "452 too many recipients", rcpt: failFirst(1, reply(452, smtp.EnhancedCode{4, 5, 3}, "Too many recipients")),
			wantCode: 452, wantOp: "rcpt to <visitor@example.org>"},
		{name: "553 sender refused", mail: failFirst(1, reply(553, smtp.EnhancedCode{5, 7, 1}, "Sender address rejected")),
			wantCode: 553, wantOp: "mail from", wantPermanent: true},
		{name: "451 greylisted", data: failFirst(1, reply(451, smtp.EnhancedCode{4, 7, 1}, "Greylisted, try again later")),
			wantCode: 451, wantOp: "data"},
		{name: "554 spam", data: failFirst(1, reply(554, smtp.EnhancedCode{5, 7, 1}, "Message rejected as spam")),
			wantCode: 554, wantOp: "data", wantPermanent: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOptions{})
			ts.hooks(tc.mail, tc.rcpt, tc.data)
			r := newRelay(t, Config{URL: "smtp://" + ts.addr})

			err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage("refused"))
			dialled := ts.accepted.Load()
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != tc.wantCode {
				t.Fatalf("Send error %v, want SMTP %d", err, tc.wantCode)
			}
			if IsPermanent(err) != tc.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tc.wantPermanent, tc.wantPermanent)
			}
			wantText := fmt.Sprintf("relay %s: %s: SMTP error %d: %s", ts.addr, tc.wantOp, se.Code, se.Message)
			if err.Error() != wantText {
				t.Errorf("error text\n%s\nwant\n%s", err, wantText)
			}

			// The next message goes through, on the same connection (RSET).
			send(t, r, "accepted")
			if msgs := ts.messages(); len(msgs) != 1 || !bytes.Contains(msgs[0].data, []byte("Subject: accepted")) {
				t.Errorf("server has %d messages, want only the accepted one", len(msgs))
			}
			if n := ts.accepted.Load(); n != dialled {
				t.Errorf("%d connections after the refusal, %d after the next message: want it reused", dialled, n)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name          string
		offered       []string
		serverPass    string // "s3cret" if empty
		userinfo      string
		wantMech      string // "" when Send fails
		wantCode      int    // SMTP code of the failure, or 0
		wantPermanent bool
		wantErr       string
	}{
		{name: "plain", offered: []string{sasl.Plain}, userinfo: "ann:s3cret", wantMech: sasl.Plain},
		{name: "plain preferred", offered: []string{sasl.Login, sasl.Plain}, userinfo: "ann:s3cret", wantMech: sasl.Plain},
		{name: "login only", offered: []string{sasl.Login}, userinfo: "ann:s3cret", wantMech: sasl.Login},
		{name: "percent-encoded password", offered: []string{sasl.Plain}, serverPass: "p@ss:w/rd s3cret", userinfo: "ann:p%40ss%3Aw%2Frd%20s3cret", wantMech: sasl.Plain},
		{name: "wrong password", offered: []string{sasl.Plain}, userinfo: "ann:wrong", wantCode: 535, wantPermanent: true},
		{name: "wrong password, login", offered: []string{sasl.Login}, userinfo: "ann:wrong", wantCode: 535, wantPermanent: true},
		{name: "no credentials, auth required", offered: []string{sasl.Plain}, wantCode: 530, wantPermanent: true},
		{name: "credentials, no AUTH offered", userinfo: "ann:s3cret", wantErr: "does not offer AUTH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pass := tc.serverPass
			if pass == "" {
				pass = "s3cret"
			}
			ts := startServer(t, serverOptions{authMechs: tc.offered, user: "ann", pass: pass})
			u := "smtp://" + ts.addr
			if tc.userinfo != "" {
				u = "smtp://" + tc.userinfo + "@" + ts.addr
			}
			r := newRelay(t, Config{URL: u})
			err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage("auth"))
			if tc.wantMech != "" {
				if err != nil {
					t.Fatal(err)
				}
				if m := ts.messages()[0]; m.authUser != "ann" || m.authMech != tc.wantMech {
					t.Errorf("authenticated as %q with %q, want ann with %s", m.authUser, m.authMech, tc.wantMech)
				}
				return
			}
			if err == nil {
				t.Fatal("Send succeeded")
			}
			var se *smtp.SMTPError
			if tc.wantCode != 0 && (!errors.As(err, &se) || se.Code != tc.wantCode) {
				t.Errorf("error %v, want SMTP %d", err, tc.wantCode)
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want it to say %q", err, tc.wantErr)
			}
			if IsPermanent(err) != tc.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v", err, !tc.wantPermanent)
			}
			if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if len(ts.messages()) != 0 {
				t.Error("the server accepted a message")
			}
		})
	}
}

func TestMayAuth(t *testing.T) {
	tests := []struct {
		host  string
		isTLS bool
		ok    bool
	}{
		{"smtp.example.com", true, true},
		{"smtp.example.com", false, false},
		{"192.0.2.1", false, false},
		{"localhost", false, true},
		{"LocalHost", false, true},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, true},
		{"localhost.example.com", false, false},
	}
	for _, tc := range tests {
		if err := mayAuth(tc.host, tc.isTLS); (err == nil) != tc.ok {
			t.Errorf("mayAuth(%q, tls=%v) = %v, want ok=%v", tc.host, tc.isTLS, err, tc.ok)
		}
	}
}

func TestTLS(t *testing.T) {
	tests := []struct {
		name    string
		opts    serverOptions
		scheme  string
		query   string
		wantErr string // "" for success over TLS
	}{
		{name: "starttls", opts: serverOptions{startTLS: true}, scheme: "smtp", query: "?insecure_skip_verify=1"},
		{name: "starttls verified", opts: serverOptions{startTLS: true}, scheme: "smtp", wantErr: "starttls: tls: failed to verify certificate"},
		{name: "implicit", opts: serverOptions{implicitTLS: true}, scheme: "smtps", query: "?insecure_skip_verify=1"},
		{name: "implicit verified", opts: serverOptions{implicitTLS: true}, scheme: "smtps", wantErr: "tls: tls: failed to verify certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The server allows AUTH only over TLS: success proves TLS came first.
			tc.opts.authMechs, tc.opts.user, tc.opts.pass, tc.opts.authOnlyOverTLS = []string{sasl.Plain}, "ann", "s3cret", true
			ts := startServer(t, tc.opts)
			r := newRelay(t, Config{URL: tc.scheme + "://ann:s3cret@" + ts.addr + tc.query})
			err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage("tls"))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Send error %v, want %q", err, tc.wantErr)
				}
				if IsPermanent(err) {
					t.Errorf("a TLS failure is permanent: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			send(t, r, "again")
			msgs := ts.messages()
			if len(msgs) != 2 || !msgs[0].tls || !msgs[1].tls || msgs[0].authUser != "ann" {
				t.Errorf("messages %+v, want 2 over TLS from ann", msgs)
			}
			if n := ts.accepted.Load(); n != 1 {
				t.Errorf("%d connections, want 1", n)
			}
		})
	}
}

func TestReconnect(t *testing.T) {
	tests := []struct {
		name string
		opts serverOptions
		cut  func(t *testing.T, ts *testServer)
	}{
		{name: "server closed the connection", opts: serverOptions{startTLS: true},
			cut: func(t *testing.T, ts *testServer) { ts.dropConnections(); ts.waitAllClosed() }},
		{name: "server idle timeout (421)", opts: serverOptions{startTLS: true, readTimeout: 300 * time.Millisecond},
			cut: func(t *testing.T, ts *testServer) { ts.waitAllClosed() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.opts)
			r := newRelay(t, Config{URL: "smtp://" + ts.addr + "?insecure_skip_verify=1"})
			send(t, r, "before")
			tc.cut(t, ts)
			send(t, r, "after")
			if n := len(ts.messages()); n != 2 {
				t.Errorf("server has %d messages, want 2", n)
			}
			if n := ts.accepted.Load(); n != 2 {
				t.Errorf("%d connections, want 2", n)
			}
		})
	}
}

func TestContextEndsSend(t *testing.T) {
	ts := startServer(t, serverOptions{})
	entered, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var calls atomic.Int64
	ts.hooks(nil, nil, func(string) error {
		if calls.Add(1) == 1 { // the first message hangs until the test ends
			close(entered)
			<-release
		}
		return nil
	})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-entered; cancel() }()
	err := r.Send(ctx, testFrom, []string{testTo}, testMessage("cancelled"))
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("Send error %v, want context.Canceled, temporary", err)
	}
	dialled := ts.accepted.Load()
	send(t, r, "next")
	if n := ts.accepted.Load(); n != dialled+1 {
		t.Errorf("%d connections after the next message, want %d: the cancelled one cannot be reused", n, dialled+1)
	}
}

func TestCommandTimeout(t *testing.T) {
	ts := startServer(t, serverOptions{})
	release := make(chan struct{})
	defer close(release)
	ts.hooks(nil, nil, func(string) error { <-release; return nil })
	r := newRelay(t, Config{URL: "smtp://" + ts.addr, Timeout: 200 * time.Millisecond})
	err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage("slow"))
	if !errors.Is(err, os.ErrDeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("Send error %v, want a temporary timeout", err)
	}
	if !strings.Contains(err.Error(), ": data: ") {
		t.Errorf("error %q does not name the DATA step", err)
	}
}

func TestConnectTimeout(t *testing.T) {
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	r := newRelay(t, Config{URL: "smtp://" + ln.Addr().String(), Timeout: 200 * time.Millisecond})
	err = r.Send(context.Background(), testFrom, []string{testTo}, testMessage("silence"))
	if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("Send error %v, want a temporary context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "connection set-up took longer than 200ms") {
		t.Errorf("error %q does not say what timed out", err)
	}
}

func TestIdleConnectionIsReplaced(t *testing.T) {
	ts := startServer(t, serverOptions{startTLS: true})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr + "?insecure_skip_verify=1"})
	send(t, r, "one")
	sl := <-r.slots // the relay's one session, idle: instead of waiting
	sl.conn.lastUsed = time.Now().Add(-maxIdle - time.Second)
	r.slots <- sl
	send(t, r, "two")
	if n := ts.accepted.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	ts.waitClosed(1) // the idle one
}

func TestRateLimit(t *testing.T) {
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr, RatePerSecond: 1})
	send(t, r, "first")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := r.Send(ctx, testFrom, []string{testTo}, testMessage("second"))
	if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
		t.Fatalf("second Send within a second: %v, want context.DeadlineExceeded", err)
	}
	if n := len(ts.messages()); n != 1 {
		t.Errorf("server has %d messages, want 1", n)
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	tests := []struct {
		name    string
		from    string
		to      []string
		msg     []byte
		wantErr string
	}{
		{"no recipients", testFrom, nil, testMessage("x"), "relay: no recipients"},
		{"empty recipient", testFrom, []string{""}, testMessage("x"), "relay: empty recipient"},
		{"CRLF in recipient", testFrom, []string{"a@example.org\r\nRCPT TO:<b@example.org>"}, testMessage("x"), "relay: recipient"},
		{"angle bracket in sender", "a>@example.com", []string{testTo}, testMessage("x"), `relay: sender "a>@example.com"`},
		{"empty message", testFrom, []string{testTo}, nil, "relay: empty message"},
	}
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := r.Send(context.Background(), tc.from, tc.to, tc.msg)
			if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Send error %v, want a permanent one saying %q", err, tc.wantErr)
			}
		})
	}
	if n := ts.accepted.Load(); n != 0 {
		t.Errorf("%d connections for refused input, want 0", n)
	}
}

func TestSMTPUTF8(t *testing.T) {
	tests := []struct {
		name    string
		offered bool
	}{
		{"offered", true},
		{"not offered", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, serverOptions{smtpUTF8: tc.offered})
			r := newRelay(t, Config{URL: "smtp://" + ts.addr})
			err := r.Send(context.Background(), testFrom, []string{"jörg@example.de"}, testMessage("utf8"))
			if tc.offered {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !IsPermanent(err) || !strings.Contains(err.Error(), "SMTPUTF8") {
				t.Fatalf("Send error %v, want a permanent one about SMTPUTF8", err)
			}
			dialled := ts.accepted.Load()
			send(t, r, "ascii") // the session is still good
			if n := ts.accepted.Load(); n != dialled {
				t.Errorf("%d connections, want %d", n, dialled)
			}
		})
	}
}

func TestLoginClient(t *testing.T) {
	tests := []struct {
		name       string
		challenges []string
		want       []string // responses; "ERR" for an error
	}{
		{"usual prompts", []string{"Username:", "Password:"}, []string{"ann", "s3cret"}},
		{"lowercase prompts", []string{"username:", "password:"}, []string{"ann", "s3cret"}},
		{"password only (user sent before)", []string{"Password:"}, []string{"s3cret"}},
		{"unknown prompts", []string{"Who?", "Secret?"}, []string{"ann", "s3cret"}},
		{"a third challenge", []string{"Username:", "Password:", "Again:"}, []string{"ann", "s3cret", "ERR"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &loginClient{user: "ann", pass: "s3cret"}
			if mech, ir, err := c.Start(); mech != "LOGIN" || ir != nil || err != nil {
				t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
			}
			for i, ch := range tc.challenges {
				resp, err := c.Next([]byte(ch))
				got := string(resp)
				if err != nil {
					got = "ERR"
				}
				if got != tc.want[i] {
					t.Errorf("challenge %q: answered %q, want %q", ch, got, tc.want[i])
				}
			}
		})
	}
}

func TestNullSender(t *testing.T) {
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr})
	if err := r.Send(context.Background(), "", []string{testTo}, testMessage("bounce")); err != nil {
		t.Fatal(err)
	}
	if m := ts.messages(); len(m) != 1 || m[0].from != "" {
		t.Errorf("messages %+v, want one from <>", m)
	}
}

func TestClose(t *testing.T) {
	ts := startServer(t, serverOptions{})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr})
	send(t, r, "one")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	ts.waitAllClosed() // QUIT was said
	if err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no URL", Config{}},
		{"bad URL", Config{URL: "http://example.com"}},
		{"negative rate", Config{URL: "smtp://h:25", RatePerSecond: -1}},
		{"NaN rate", Config{URL: "smtp://h:25", RatePerSecond: math.NaN()}},
		{"negative timeout", Config{URL: "smtp://h:25", Timeout: -time.Second}},
		{"negative connections", Config{URL: "smtp://h:25", Connections: -1}},
		{"HELO with space", Config{URL: "smtp://h:25", HeloName: "a b"}},
		{"DKIM without key", Config{URL: "smtp://h:25", DKIM: &DKIMConfig{Domain: "example.com", Selector: "s1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := New(tc.cfg); err == nil {
				r.Close()
				t.Fatal("New succeeded")
			}
		})
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection reset"), false},
		{context.DeadlineExceeded, false},
		{fmt.Errorf("x: %w", &smtp.SMTPError{Code: 421}), false},
		{fmt.Errorf("x: %w", &smtp.SMTPError{Code: 450}), false},
		{fmt.Errorf("x: %w", &smtp.SMTPError{Code: 500}), true},
		{fmt.Errorf("x: %w", &smtp.SMTPError{Code: 552}), true},
		{permanent(errors.New("no recipients")), true},
	}
	for _, tc := range tests {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// The relay against a bare go-smtp client doing the least possible on one
// connection, to show what reuse, locking and bookkeeping cost.

func BenchmarkRelaySend(b *testing.B) {
	ts := startServer(b, serverOptions{discard: true})
	r := newRelay(b, Config{URL: "smtp://" + ts.addr})
	msg := testMessage("bench")
	ctx := context.Background()
	to := []string{testTo}
	send(b, r, "connect") // as BenchmarkBareSMTP dials before its loop
	dialled := ts.accepted.Load()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := r.Send(ctx, testFrom, to, msg); err != nil {
			b.Fatal(err)
		}
	}
	if n := ts.accepted.Load(); n != dialled {
		b.Fatalf("%d connections during the loop, want 0", n-dialled)
	}
}

func BenchmarkBareSMTP(b *testing.B) {
	ts := startServer(b, serverOptions{discard: true})
	c, err := smtp.Dial(ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := testMessage("bench")
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := c.Mail(testFrom, nil); err != nil {
			b.Fatal(err)
		}
		if err := c.Rcpt(testTo, nil); err != nil {
			b.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRelaySendDKIM(b *testing.B) {
	for _, k := range testKeys(b) {
		b.Run(k.name, func(b *testing.B) {
			ts := startServer(b, serverOptions{discard: true})
			r := newRelay(b, Config{URL: "smtp://" + ts.addr, DKIM: &DKIMConfig{Domain: "example.com", Selector: "s1", KeyPEM: k.pem}})
			msg := testMessage("bench")
			send(b, r, "connect")
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				if err := r.Send(context.Background(), testFrom, []string{testTo}, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSendsOnSeveralConnections: with Connections n, n messages are in the
// server's hands at once, each on a connection of its own, and no more
// connections are opened than n.
func TestSendsOnSeveralConnections(t *testing.T) {
	const n = 3
	ts := startServer(t, serverOptions{startTLS: true})
	var inData atomic.Int32
	together := make(chan struct{})
	var once sync.Once
	ts.hooks(nil, nil, func(string) error {
		if inData.Add(1) == n {
			once.Do(func() { close(together) })
		}
		select {
		case <-together:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("no other message arrived beside this one")
		}
	})
	r := newRelay(t, Config{URL: "smtp://" + ts.addr + "?insecure_skip_verify=1", Connections: n})
	var wg sync.WaitGroup
	for i := range 4 * n {
		wg.Go(func() {
			if err := r.Send(context.Background(), testFrom, []string{testTo}, testMessage(fmt.Sprint("parallel ", i))); err != nil {
				t.Errorf("Send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := len(ts.messages()); got != 4*n {
		t.Errorf("server has %d messages, want %d", got, 4*n)
	}
	if got := ts.accepted.Load(); got != n {
		t.Errorf("%d connections, want %d", got, n)
	}
}
