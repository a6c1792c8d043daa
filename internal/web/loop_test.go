package web_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/web"
)

// An idle widget holds no goroutine: its socket waits in the event loop,
// not in a goroutine blocked on a read, whose stack the collector would
// scan at every cycle. The widgets here are raw sockets that hold no
// goroutine of their own either, so the count is the server's.
func TestIdleWidgetsHoldNoGoroutine(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	const n = 200
	tokens := widgetTokens(t, s, n)
	before := settledGoroutines()
	widgets := dialRawWidgets(t, s, tokens)
	if held := settledGoroutines() - before; held > n/10 {
		t.Errorf("%d idle widgets hold %d goroutines, want none a widget", n, held)
	}

	// Idle, not dead: an agent coming online reaches every widget.
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	for i, w := range widgets {
		if !w.readUntil(t, `"type":"agents"`) {
			t.Fatalf("widget %d never got the agents frame", i)
		}
	}
}

// widgetTokens makes n visitors and returns their tokens.
func widgetTokens(t testing.TB, s *apptest.Server, n int) []string {
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
	}
	return tokens
}

// dialRawWidgets opens a raw widget socket for each token and waits until
// the hub holds them all.
func dialRawWidgets(t testing.TB, s *apptest.Server, tokens []string) []*rawWidget {
	t.Helper()
	widgets := make([]*rawWidget, len(tokens))
	for i, tok := range tokens {
		widgets[i] = dialRawWidget(t, s.URL, tok)
	}
	apptest.Eventually(t, 30*time.Second, fmt.Sprint(len(tokens), " widgets registered"), func() bool {
		w, _ := s.App.Hub.Counts()
		return w == len(tokens)
	})
	return widgets
}

// A widget may send its first frame the moment it reads the handshake's
// answer, before the server attached the socket's state: the frame is
// answered, not taken for a stranger's.
func TestFirstFrameRightAfterTheHandshake(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	for i, tok := range widgetTokens(t, s, 50) {
		w := dialRawWidget(t, s.URL, tok)
		w.send(t, `{"type":"shout"}`)
		if !w.readUntil(t, `"code":"bad_frame"`) {
			t.Fatalf("widget %d: no answer to a frame sent at once", i)
		}
		_ = w.conn.Close()
	}
}

// A child process inherits none of the widgets' sockets. One that did
// (the tests' go build and parley processes started beside test servers)
// kept a closed widget's socket open, and the event loop took that
// socket's hang-up for the next widget given its descriptor number: the
// new widget was closed right after its handshake.
func TestWidgetsBesideAChildProcess(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	const n = 20
	tokens := widgetTokens(t, s, 2*n)
	old := dialRawWidgets(t, s, tokens[:n])
	startChild(t)
	for _, w := range old {
		_ = w.conn.Close()
	}
	apptest.Eventually(t, 10*time.Second, "no widget left in the hub", func() bool {
		w, _ := s.App.Hub.Counts()
		return w == 0
	})
	for i, tok := range tokens[n:] {
		w := dialRawWidget(t, s.URL, tok)
		w.send(t, `{"type":"shout"}`)
		if !w.readUntil(t, `"code":"bad_frame"`) {
			t.Fatalf("widget %d opened after %d closed: no answer to its first frame", i, n)
		}
	}
}

// startChild starts this test binary again as a child process
// (TestChildProcess) that lives until the test ends.
func startChild(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$")
	cmd.Env = append(os.Environ(), "PARLEY_TEST_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a child process: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
}

// TestChildProcess is startChild's child: it waits until its standard
// input is closed.
func TestChildProcess(t *testing.T) {
	if os.Getenv("PARLEY_TEST_CHILD") == "" {
		t.Skip("run by startChild")
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// Frames sent with the handshake's request, before its answer, are
// refused with the connection: the HTTP server would have read them.
func TestFramesBeforeTheHandshakeAnswer(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	tok := widgetTokens(t, s, 1)[0]
	host := strings.TrimPrefix(s.URL, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s%s", upgradeRequest(host, tok), clientFrame(`{"type":"activity"}`))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(conn); len(b) > 0 && bytes.Contains(b, []byte("101 Switching")) {
		t.Fatalf("the upgrade was answered (%v): %q", err, b)
	}
	apptest.Eventually(t, 5*time.Second, "no widget left in the hub", func() bool {
		w, _ := s.App.Hub.Counts()
		return w == 0
	})
}

// upgradeRequest is a widget's WebSocket handshake request to host.
func upgradeRequest(host, token string) string {
	return fmt.Sprintf("GET /api/widget/v1/ws?visitor_token=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", token, host)
}

// clientFrame is a client's text frame of a short payload, masked with a
// zero key (which leaves the payload as it is).
func clientFrame(payload string) []byte { return maskedFrame(0x1, payload) }

// maskedFrame is a client's final frame of the opcode and a short payload,
// masked with a zero key.
func maskedFrame(opcode byte, payload string) []byte {
	return append([]byte{0x80 | opcode, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
}

func (w *rawWidget) send(t testing.TB, payload string) {
	t.Helper()
	if _, err := w.conn.Write(clientFrame(payload)); err != nil {
		t.Fatalf("send a frame: %v", err)
	}
}

// settledGoroutines is the number of goroutines once the short-lived ones
// (handshakes, writers with nothing left to write) have ended.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m == n {
			return n
		}
		n = m
	}
	return n
}

// rawWidget is a widget's WebSocket made by hand over a TCP socket: no
// goroutine reads it until the test does.
type rawWidget struct {
	conn net.Conn
	r    *bufio.Reader
}

func dialRawWidget(t testing.TB, base, token string) *rawWidget {
	t.Helper()
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	fmt.Fprint(conn, upgradeRequest(host, token))
	r := bufio.NewReaderSize(conn, 256)
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("read the handshake's answer: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %s", resp.Status)
	}
	return &rawWidget{conn: conn, r: r}
}

// readUntil reads server frames (unmasked, text or control) until one
// holds want, for up to five seconds.
func (w *rawWidget) readUntil(t *testing.T, want string) bool {
	t.Helper()
	_ = w.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var h [2]byte
		if _, err := io.ReadFull(w.r, h[:]); err != nil {
			t.Logf("read a frame: %v", err)
			return false
		}
		size := int(h[1] & 0x7f)
		switch size {
		case 126:
			var ext [2]byte
			if _, err := io.ReadFull(w.r, ext[:]); err != nil {
				return false
			}
			size = int(ext[0])<<8 | int(ext[1])
		case 127:
			t.Logf("a frame of more than 64 KiB")
			return false
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(w.r, payload); err != nil {
			return false
		}
		if bytes.Contains(payload, []byte(want)) {
			return true
		}
	}
}

// Where the event loop cannot start (a platform without epoll or kqueue),
// widgets are served one goroutine each, as dashboards are, and work the
// same: a visitor's message is echoed and reaches the dashboard, an
// agent's reply and availability reach the widget, a binary frame is
// refused and a bad one answered, and a closed widget leaves the hub.
func TestWidgetsWithoutTheEventLoop(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	web.WithoutWidgetLoop(s.App.Web)
	a := s.AddAgent("ann@example.com", "Ann")
	dash := s.DialAgent(a.Token)

	const n = 20
	tokens := widgetTokens(t, s, n)
	before := settledGoroutines()
	idle := dialRawWidgets(t, s, tokens[1:])
	// A goroutine each (its reads) against none on the loop: half of
	// them leaves room for goroutines of the start ending meanwhile.
	if held := settledGoroutines() - before; held < (n-1)/2 {
		t.Fatalf("%d widgets hold %d goroutines: the event loop serves them", n-1, held)
	}
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	for i, w := range idle {
		if !w.readUntil(t, `"type":"agents"`) {
			t.Fatalf("widget %d never got the agents frame", i)
		}
	}

	w := s.DialWidget(tokens[0])
	w.Send(map[string]string{"type": "message", "body": "Hello there", "client_id": "c1"})
	echo := w.WaitFor("message", 5*time.Second)
	msg, _ := echo["message"].(map[string]any)
	conv, _ := msg["conversation_id"].(string)
	if msg["client_id"] != "c1" || conv == "" {
		t.Fatalf("echo: %v", echo)
	}
	dash.WaitFor("message.created", 5*time.Second)
	s.Do("POST", "/api/v1/conversations/"+conv+"/messages", a.Token, map[string]string{"body": "Hi!", "kind": "reply"}, http.StatusCreated, nil)
	if got := w.WaitFor("message", 5*time.Second); got["message"].(map[string]any)["body"] != "Hi!" {
		t.Fatalf("reply: %v", got)
	}
	w.Send(map[string]string{"type": "shout"})
	if got := w.WaitFor("error", 5*time.Second); got["code"] != "bad_frame" {
		t.Fatalf("a bad frame answered %v", got)
	}

	raw := idle[0]
	if _, err := raw.conn.Write(maskedFrame(0x2, "\x01\x02")); err != nil { // binary
		t.Fatal(err)
	}
	if !raw.readUntil(t, "frames are JSON text messages") {
		t.Fatal("a binary frame was not refused")
	}
	for _, r := range idle {
		_ = r.conn.Close()
	}
	w.Close()
	apptest.Eventually(t, 10*time.Second, "no widget left in the hub", func() bool {
		n, _ := s.App.Hub.Counts()
		return n == 0
	})
}
