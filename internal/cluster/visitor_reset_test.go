package cluster

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleychat/parley/internal/apptest"
)

// TestVisitorResetClosesWidgetsOnEveryNode: resetting a visitor's links on
// one node closes the widgets open with the old token on both nodes, and
// the old token is refused everywhere, while the token the reset handed out
// works on both.
func TestVisitorResetClosesWidgetsOnEveryNode(t *testing.T) {
	cl := startCluster(t)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	apptest.Call(t, "POST", cl.a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	old := sess.VisitorToken
	onA := closeCode(t, "ws://"+cl.a.addr+"/api/widget/v1/ws?visitor_token="+old)
	onB := closeCode(t, "ws://"+cl.b.addr+"/api/widget/v1/ws?visitor_token="+old)
	// (A widget connection is registered before its handshake completes.)

	// A answers the widget's session once more (a page change): it
	// remembers the visitor's key for the WebSocket to follow.
	apptest.Call(t, "POST", cl.a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey, "visitor_token": old}, nil)

	// The agent, on B, resets the visitor's links.
	apptest.Call(t, "POST", cl.b.url+"/api/v1/visitors/"+sess.Visitor.ID+"/reset-links", cl.token, nil, nil)
	waitClosed(t, "widget on the other node", onA)
	waitClosed(t, "widget on the same node", onB)
	// A may still remember the visitor's key from that session, so that
	// its check of the old token reads nothing: then the hub, told of the
	// reset, closes the connection as it registers. Either way the old
	// token holds no widget open on A.
	refusedOrClosed(t, "ws://"+cl.a.addr+"/api/widget/v1/ws?visitor_token="+old)
	for _, n := range []*node{cl.a, cl.b} {
		if code := status(t, n.url+"/api/widget/v1/messages?visitor_token="+old, ""); code != http.StatusUnauthorized {
			t.Errorf("%s: the old token answers %d, want 401", n.url, code)
		}
	}

	// The widget's own rotation, on A, hands out a token that works on B;
	// the one it replaced stops.
	var rot struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", cl.a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	if sess.VisitorToken == old {
		t.Fatal("a session with a reset token resumed the visitor")
	}
	mine := sess.VisitorToken
	onB = closeCode(t, "ws://"+cl.b.addr+"/api/widget/v1/ws?visitor_token="+mine)
	apptest.Call(t, "POST", cl.a.url+"/api/widget/v1/token/rotate", "", map[string]string{"visitor_token": mine}, &rot)
	if rot.VisitorToken == "" || rot.VisitorToken == mine || strings.Contains(rot.VisitorToken, "=") {
		t.Fatalf("rotation answered %q", rot.VisitorToken)
	}
	waitClosed(t, "widget of the rotated token on the other node", onB)
	if code := status(t, cl.b.url+"/api/widget/v1/messages?visitor_token="+mine, ""); code != http.StatusUnauthorized {
		t.Errorf("the rotated token answers %d on B, want 401", code)
	}
	if code := status(t, cl.b.url+"/api/widget/v1/messages?visitor_token="+rot.VisitorToken, ""); code != http.StatusOK {
		t.Errorf("the new token answers %d on B, want 200", code)
	}
}

// status is the status of a GET of u, with an agent's token when not "".
func status(t *testing.T, u, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// refusedOrClosed opens a WebSocket that must not stay open: refused with
// 401, or closed with 1008 at once.
func refusedOrClosed(t *testing.T, url string) {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial %s: %v (%v), want 401 or a 1008 close", url, err, resp)
		}
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
				t.Fatalf("%s: ended with %v, want a 1008 close", url, err)
			}
			return
		}
	}
}
