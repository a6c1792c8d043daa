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
func heldUpload(t *testing.T, s *apptest.Server, visitorToken string, size int, from ...string) net.Conn {
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
	forwarded := ""
	if len(from) > 0 {
		forwarded = "X-Forwarded-For: " + from[0] + "\r\n"
	}
	fmt.Fprintf(c, "POST /api/widget/v1/uploads?visitor_token=%s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: multipart/form-data; boundary=b\r\nContent-Length: %d\r\n\r\n",
		url.QueryEscape(visitorToken), u.Host, forwarded, size)
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
// limits refuse is refused before its body is read; a visitor sends two
// at a time, an address four; and visitors holding uploads open never
// keep an agent from sending files.
func TestUploadsRefusedBeforeReading(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1/32"})
	ann := s.AddAgent("ann@example.com", "Ann")
	session := func() string { return newSession(t, s, s.Workspace.SiteKey, "").VisitorToken }
	one := session()
	heldUpload(t, s, one, 5<<20, "198.51.100.1")
	heldUpload(t, s, one, 5<<20, "198.51.100.1")
	time.Sleep(time.Second) // both in the gate, however busy the machine
	third := heldUpload(t, s, one, 5<<20, "198.51.100.1")
	if got := answerOf(third, 5*time.Second); got != "HTTP/1.1 429 Too Many Requests" {
		t.Fatalf("a third upload of one visitor at once: %q", got)
	}
	// Other visitors at the address: four uploads at once in all.
	heldUpload(t, s, session(), 10<<20, "198.51.100.1")
	heldUpload(t, s, session(), 10<<20, "198.51.100.1")
	time.Sleep(time.Second)
	fifth := heldUpload(t, s, session(), 5<<20, "198.51.100.1")
	if got := answerOf(fifth, 5*time.Second); got != "HTTP/1.1 429 Too Many Requests" {
		t.Fatalf("a fifth upload from one address at once: %q", got)
	}
	// Another address's three fill the visitors' budget (60 of 64 MiB
	// held); an agent's file still goes.
	for range 3 {
		heldUpload(t, s, session(), 10<<20+60<<10, "198.51.100.2")
	}
	time.Sleep(time.Second) // all in the gate
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	tok := session()
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "hello", "client_id": "c1"}, http.StatusCreated, &m)
	start := time.Now()
	if status, raw, _ := upload(t, s.URL, "/api/v1/conversations/"+m.ConversationID+"/uploads", ann.Token, "reply.txt", []byte(strings.Repeat("x", 5<<20)+"\n")); status != http.StatusCreated {
		t.Fatalf("an agent's file while visitors hold the budget: %d %s", status, raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("an agent's file waited %v behind visitors' uploads", d)
	}

	// The visitor's files: 10 in a burst; the 11th, announcing 5 MiB and
	// sending nothing, is answered at once.
	other := session()
	for i := 0; i < 10; i++ {
		status, raw, _ := visitorUpload(t, s, other, fmt.Sprintf("f%d.txt", i), []byte("small\n"))
		if status != http.StatusCreated {
			t.Fatalf("upload %d: %d %s", i, status, raw)
		}
	}
	c := heldUpload(t, s, other, 5<<20)
	if got := answerOf(c, 5*time.Second); got != "HTTP/1.1 429 Too Many Requests" {
		t.Fatalf("an upload over the visitor's limit, its body not sent: %q", got)
	}
}
