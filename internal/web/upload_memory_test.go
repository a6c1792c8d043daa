package web_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// heldUpload starts a visitor's upload announcing size bytes over a raw
// connection, sends its first bytes and holds the rest back.
func heldUpload(t *testing.T, s *apptest.Server, visitorToken string, size int) net.Conn {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /api/widget/v1/uploads?visitor_token=%s HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n",
		url.QueryEscape(visitorToken), u.Host, size)
	fmt.Fprintf(c, "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello")
	return c
}

// answerOf reads the status line a held upload got within d, "" for none.
func answerOf(c net.Conn, d time.Duration) string {
	c.SetReadDeadline(time.Now().Add(d))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// A file is read whole before it is stored: an upload the visitor's
// limits refuse is refused before its body is read, and one address sends
// two at a time, so that nobody makes the server hold files it will not
// keep (each up to 10 MiB, in memory).
func TestUploadsRefusedBeforeReading(t *testing.T) {
	s := apptest.Start(t, nil)
	one := newSession(t, s, s.Workspace.SiteKey, "")
	held := []net.Conn{heldUpload(t, s, one.VisitorToken, 5<<20), heldUpload(t, s, one.VisitorToken, 5<<20)}
	time.Sleep(100 * time.Millisecond) // both in the gate
	other := newSession(t, s, s.Workspace.SiteKey, "")
	status, raw, h := visitorUpload(t, s, other.VisitorToken, "b.txt", []byte("small\n"))
	if status != http.StatusTooManyRequests || !strings.Contains(string(raw), "still arriving") || h.Get("Retry-After") == "" {
		t.Fatalf("a third upload from the address: %d %s %v", status, raw, h)
	}
	for _, c := range held {
		c.Close()
	}

	// The visitor's files: 10 in a burst; the 11th, announcing 5 MiB and
	// sending nothing, is answered at once.
	var answered bool
	for i := 0; i < 10; i++ {
		status, raw, _ := visitorUpload(t, s, other.VisitorToken, fmt.Sprintf("f%d.txt", i), []byte("small\n"))
		if status != http.StatusCreated {
			// The two held uploads may still be leaving the gate.
			if status == http.StatusTooManyRequests && strings.Contains(string(raw), "still arriving") && !answered {
				time.Sleep(200 * time.Millisecond)
				i--
				continue
			}
			t.Fatalf("upload %d: %d %s", i, status, raw)
		}
		answered = true
	}
	c := heldUpload(t, s, other.VisitorToken, 5<<20)
	if got := answerOf(c, 5*time.Second); got != "HTTP/1.1 429 Too Many Requests" {
		t.Fatalf("an upload over the visitor's limit, its body not sent: %q", got)
	}
}
