package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/chat"
)

// postFrom posts a JSON body with extra headers and returns the status,
// the Retry-After header and the body.
func postFrom(t *testing.T, s *apptest.Server, path string, body any, header map[string]string) (int, string, []byte) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", s.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), out
}

func countRows(t *testing.T, s *apptest.Server, table string) int {
	t.Helper()
	var n int
	if err := s.App.DB.SQL.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// newVisitors asks for n new visitor sessions with the given headers and
// returns how many were made, and the first refusal.
func newVisitors(t *testing.T, s *apptest.Server, n int, header map[string]string) (made int, refusal string, retry string) {
	t.Helper()
	for range n {
		status, ra, body := postFrom(t, s, "/api/widget/v1/session", map[string]string{"site_key": s.Workspace.SiteKey}, header)
		switch status {
		case http.StatusOK:
			made++
		case http.StatusTooManyRequests:
			if refusal == "" {
				refusal, retry = apptest.ErrorCode(body), ra
			}
		default:
			t.Fatalf("session: status %d: %s", status, body)
		}
	}
	return made, refusal, retry
}

// One client asking for visitor after visitor used to get them all (about
// 1,100 rows a second, kept forever): now 30 from one address, then one
// every 3 seconds, refused with 429 rate_limited and Retry-After.
func TestVisitorSessionFlood(t *testing.T) {
	s := apptest.Start(t, nil)
	made, code, retry := newVisitors(t, s, 100, nil)
	if made != 30 || code != "rate_limited" {
		t.Fatalf("100 sessions from one address: %d made, refusal %q; want 30 made, then rate_limited", made, code)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 3 {
		t.Errorf("Retry-After = %q, want 1 to 3 seconds", retry)
	}
	if n := countRows(t, s, "visitors"); n != 30 {
		t.Errorf("%d visitor rows, want 30", n)
	}
	// Without a trusted proxy, a forged X-Forwarded-For changes nothing.
	if made, _, _ := newVisitors(t, s, 5, map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}); made != 0 {
		t.Errorf("a forged X-Forwarded-For got %d new visitors past the limit", made)
	}
	// A returning visitor is no new row and passes.
	var sess session
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey, "visitor_token": firstToken(t, s)}, http.StatusOK, &sess)
}

// firstToken is the visitor token of some visitor of the server.
func firstToken(t *testing.T, s *apptest.Server) string {
	t.Helper()
	var id string
	if err := s.App.DB.SQL.QueryRow("SELECT id FROM visitors LIMIT 1").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return s.App.Chat.Signer().Sign("visitor", id)
}

// Behind a trusted proxy each client is limited on its own address; the
// site as a whole takes 300 new visitors in a burst.
func TestVisitorLimitsBehindTrustedProxy(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1/32"})
	fwd := func(addr string) map[string]string {
		return map[string]string{"X-Forwarded-For": "198.51.100.7, " + addr}
	}
	if made, _, _ := newVisitors(t, s, 35, fwd("203.0.113.1")); made != 30 {
		t.Fatalf("first client: %d made, want 30", made)
	}
	if made, _, _ := newVisitors(t, s, 5, fwd("203.0.113.2")); made != 5 {
		t.Fatalf("second client behind the same proxy: %d made, want 5", made)
	}
	// The left-most, client-written entry is not the key.
	if made, _, _ := newVisitors(t, s, 3, map[string]string{"X-Forwarded-For": "192.0.2.50, 203.0.113.1"}); made != 0 {
		t.Fatalf("spoofed left entry: %d made, want 0", made)
	}
	// X-Real-IP when the proxy sends no X-Forwarded-For.
	if made, _, _ := newVisitors(t, s, 2, map[string]string{"X-Real-IP": "203.0.113.3"}); made != 2 {
		t.Fatalf("X-Real-IP client: %d made, want 2", made)
	}
	// With X-Forwarded-For, X-Real-IP is not believed, even when the
	// former names nobody but the proxy: clients claiming a new address
	// each time share the proxy's bucket.
	made := 0
	for i := range 35 {
		n, _, _ := newVisitors(t, s, 1, map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Real-IP": fmt.Sprintf("203.0.113.%d", 100+i)})
		made += n
	}
	if made != 30 {
		t.Fatalf("clients claiming X-Real-IP behind an X-Forwarded-For of the proxy: %d made, want 30", made)
	}
	// The site's bucket: 300 in a burst whatever the addresses.
	total := 67
	for i := 0; total < 300; i++ {
		made, _, _ := newVisitors(t, s, 30, fwd(fmt.Sprintf("10.1.%d.1", i)))
		total += made
	}
	// The bucket refills at 5 a second: 25 quick tries past the burst,
	// each from a fresh address, get few through.
	made, code := 0, ""
	for i := range 25 {
		m, c, _ := newVisitors(t, s, 1, fwd(fmt.Sprintf("10.2.0.%d", i)))
		made += m
		if code == "" {
			code = c
		}
	}
	if made >= 25 || code != "rate_limited" {
		t.Fatalf("past the site's burst: %d of 25 made, refusal %q", made, code)
	}
}

// 300 new visitors × 10 messages from one address all used to be stored;
// now one address sends 30 messages in a burst, whatever visitors it holds.
func TestVisitorMessageFloodFromOneAddress(t *testing.T) {
	s, _ := onlineAgent(t, map[string]string{"PARLEY_TRUSTED_PROXIES": "127.0.0.1"})
	var tokens []string
	for i := range 10 {
		var sess session
		status, _, body := postFrom(t, s, "/api/widget/v1/session", map[string]string{"site_key": s.Workspace.SiteKey}, map[string]string{"X-Real-IP": fmt.Sprintf("10.9.0.%d", i)})
		if status != http.StatusOK || json.Unmarshal(body, &sess) != nil {
			t.Fatalf("session: %d %s", status, body)
		}
		tokens = append(tokens, sess.VisitorToken)
	}
	stored, refused := 0, 0
	for _, tok := range tokens {
		for j := range 10 {
			status, retry, body := postFrom(t, s, "/api/widget/v1/messages",
				map[string]string{"visitor_token": tok, "body": "spam", "client_id": fmt.Sprint(j)}, map[string]string{"X-Real-IP": "203.0.113.66"})
			switch {
			case status == http.StatusCreated:
				stored++
			case status == http.StatusTooManyRequests && apptest.ErrorCode(body) == "rate_limited" && retry != "":
				refused++
			default:
				t.Fatalf("message: %d (Retry-After %q) %s", status, retry, body)
			}
		}
	}
	if stored != 30 || refused != 70 {
		t.Fatalf("100 messages of 10 visitors from one address: %d stored, %d refused; want 30 and 70", stored, refused)
	}
}

// 5,000 WebSockets for one visitor from one address used to open in 1.3 s;
// now a visitor holds 16 at once, and the 17th is told rate_limited with a
// retry hint and closed with 1013 (try again later).
func TestWidgetConnectionsPerVisitor(t *testing.T) {
	s := apptest.Start(t, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var open []*apptest.WS
	for range 16 {
		open = append(open, s.DialWidget(sess.VisitorToken))
	}
	// Every one of them is served: each gets its own error frame back.
	for _, w := range open {
		w.Send(`{"type":"nonsense"}`)
		if f := w.WaitFor("error", wait); f["code"] != "bad_frame" {
			t.Fatalf("open connection: %v", f)
		}
	}
	extra := s.DialWidget(sess.VisitorToken)
	f := extra.WaitFor("error", wait)
	if f["code"] != "rate_limited" || f["retry_after"] == nil {
		t.Fatalf("17th connection: %v", f)
	}
	if st := extra.CloseStatus(wait); st != websocket.StatusTryAgainLater {
		t.Fatalf("17th connection closed with %v, want 1013", st)
	}
	// Closing one makes room for another.
	open[0].Close()
	apptest.Eventually(t, wait, "a free slot", func() bool {
		w := dialRaw(t, s, sess.VisitorToken)
		defer w.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_ = w.Write(ctx, websocket.MessageText, []byte(`{"type":"nonsense"}`))
		_, raw, err := w.Read(ctx)
		return err == nil && bytes.Contains(raw, []byte(`"bad_frame"`))
	})
}

func dialRaw(t *testing.T, s *apptest.Server, tok string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), "ws"+s.URL[len("http"):]+"/api/widget/v1/ws?visitor_token="+tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Opening connections from one address: 60 in a burst, then one a second.
func TestWidgetConnectionRateFromOneAddress(t *testing.T) {
	s := apptest.Start(t, nil)
	var toks []string
	for range 5 {
		toks = append(toks, newSession(t, s, s.Workspace.SiteKey, "").VisitorToken)
	}
	opened, refused := 0, 0
	for i := range 70 {
		c := dialRaw(t, s, toks[i%len(toks)])
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		_ = c.Write(ctx, websocket.MessageText, []byte(`{"type":"nonsense"}`))
		_, raw, err := c.Read(ctx)
		cancel()
		switch {
		case err == nil && bytes.Contains(raw, []byte(`"bad_frame"`)):
			opened++
		case err == nil && bytes.Contains(raw, []byte(`"rate_limited"`)):
			refused++
		default:
			t.Fatalf("connection %d: %s %v", i, raw, err)
		}
		c.CloseNow()
	}
	if opened != 60 || refused != 10 {
		t.Fatalf("70 connections in a row: %d opened, %d refused; want 60 and 10", opened, refused)
	}
}

// PARLEY_RATE_LIMITS=off lets a load test drive many visitors from one
// address; the per-visitor message limit stays.
func TestRateLimitsOff(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	if made, code, _ := newVisitors(t, s, 60, nil); made != 60 {
		t.Fatalf("limits off: %d of 60 made (%s)", made, code)
	}
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	tok := newSession(t, s, s.Workspace.SiteKey, "").VisitorToken
	stored := 0
	for i := range 12 {
		status, _, _ := postFrom(t, s, "/api/widget/v1/messages", map[string]string{"visitor_token": tok, "body": "hi", "client_id": fmt.Sprint(i)}, nil)
		if status == http.StatusCreated {
			stored++
		}
	}
	if stored != 10 {
		t.Fatalf("one visitor, limits off: %d of 12 stored, want the per-visitor burst of 10", stored)
	}
}

// Every visitor used to be a row kept forever. A day on, those who never
// wrote (no message, no contact, no connection) are deleted; the others
// stay.
func TestSilentVisitorsPruned(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_RATE_LIMITS": "off"})
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	for range 50 {
		newSession(t, s, s.Workspace.SiteKey, "")
	}
	wrote := newSession(t, s, s.Workspace.SiteKey, "")
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": wrote.VisitorToken, "body": "hello", "client_id": "c1"}, http.StatusCreated, nil)
	contact := newSession(t, s, s.Workspace.SiteKey, "")
	w := s.DialWidget(contact.VisitorToken)
	w.Send(map[string]string{"type": "contact", "email": "vera@example.com"})
	w.WaitFor("contact", wait)
	w.Close()
	connected := newSession(t, s, s.Workspace.SiteKey, "")
	s.DialWidget(connected.VisitorToken)
	apptest.Eventually(t, wait, "the connected visitor online", func() bool {
		var online int
		_ = s.App.DB.SQL.QueryRow("SELECT online FROM visitors WHERE id = ?", connected.Visitor.ID).Scan(&online)
		return online == 1
	})

	ctx := context.Background()
	if n, err := s.App.Chat.PruneSilentVisitors(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) visitors younger than a day", n, err)
	}
	n, err := s.App.Chat.PruneSilentVisitors(ctx, time.Now().Add(chat.SilentVisitorAge+time.Minute))
	if err != nil || n != 50 {
		t.Fatalf("a day later: pruned %d (%v), want the 50 who never wrote", n, err)
	}
	if left := countRows(t, s, "visitors"); left != 3 {
		t.Fatalf("%d visitors left, want the one who wrote, the one who left an email and the connected one", left)
	}
	// The one who wrote still has their conversation.
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey, "visitor_token": wrote.VisitorToken}, http.StatusOK, nil)
}
