// Package cluster holds the tests of several Parley nodes sharing one
// PostgreSQL: real processes, real WebSockets, a real SMTP relay.
package cluster

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
)

type node struct {
	addr, url string
	proc      *apptest.Proc
	env       []string
}

// cluster is two parley processes on one fresh PostgreSQL database, an
// agent (ann@example.com) logged in on B and a real SMTP relay.
type cluster struct {
	a, b    *node
	relay   *apptest.Relay
	siteKey string
	token   string // Ann's bearer token
	dbURL   string
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs two parley processes")
	}
	db := apptest.Postgres(t)
	bin := apptest.BuildParley(t)
	cl := &cluster{relay: apptest.StartRelay(t), dbURL: db}
	common := append(os.Environ(),
		"PARLEY_DATABASE_URL="+db,
		"PARLEY_SECRET=cluster-test-secret-0123456789",
		"PARLEY_SMTP_URL="+cl.relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_IDLE_AFTER=30s", "PARLEY_FORWARD_QUIET=1s",
		"PARLEY_VISITOR_GRACE=300ms", "PARLEY_NODE_TIMEOUT=2s", "PARLEY_MAIL_RETRY_BASE=200ms",
		// Every visitor of these tests comes from one address.
		"PARLEY_RATE_LIMITS=off",
	)
	mk := func() *node {
		n := &node{addr: apptest.FreeAddr(t)}
		n.url = "http://" + n.addr
		n.env = append(append([]string{}, common...), "PARLEY_HTTP_ADDR="+n.addr, "PARLEY_PUBLIC_URL="+n.url)
		return n
	}
	cl.a, cl.b = mk(), mk()
	apptest.Run(t, bin, cl.a.env, "", "migrate")
	apptest.Run(t, bin, cl.a.env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	cl.siteKey = strings.Split(strings.TrimSpace(apptest.Run(t, bin, cl.a.env, "", "workspace", "list")), "\t")[2]
	cl.a.proc = apptest.StartServe(t, bin, cl.a.env, cl.a.url)
	cl.b.proc = apptest.StartServe(t, bin, cl.b.env, cl.b.url)
	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", cl.b.url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	cl.token = login.Token
	return cl
}

func TestTwoNodesBehaveAsOne(t *testing.T) {
	cl := startCluster(t)
	a, b, relay, siteKey := cl.a, cl.b, cl.relay, cl.siteKey
	token := cl.token

	// A first visitor opens the widget on node A while nobody is online.
	var sess struct {
		VisitorToken    string `json:"visitor_token"`
		AgentsAvailable bool   `json:"agents_available"`
		Visitor         struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	if sess.AgentsAvailable {
		t.Fatal("agents available before anyone went online")
	}
	early := dial(t, "ws://"+a.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)

	// The agent works on node B.
	agentWS := dial(t, "ws://"+b.addr+"/api/v1/ws?token="+token)
	apptest.Call(t, "PUT", b.url+"/api/v1/me/status", token, map[string]string{"status": "online"}, nil)
	// Node A's widgets learn it; from then on, so do A's new sessions
	// (what A remembered of the site is forgotten).
	early.waitFor("agents", `"available":true`)

	// The visitor is on node A.
	apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	if !sess.AgentsAvailable {
		t.Error("a session on A, after A's widgets were told an agent is online on B: agents unavailable")
	}
	widget := dial(t, "ws://"+a.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
	widget.send(`{"type":"contact","email":"vera@example.com","name":"Vera"}`)
	widget.waitFor("contact")
	widget.send(`{"type":"message","body":"Typed on node A","client_id":"a1"}`)

	// The agent on B sees it live.
	ev := agentWS.waitFor("message.created", "Typed on node A")
	convID := between(ev, `"conversation_id":"`, `"`)
	// And the visitor is online as seen from B.
	var c struct {
		Visitor struct {
			Online bool `json:"online"`
		} `json:"visitor"`
	}
	apptest.Call(t, "GET", b.url+"/api/v1/conversations/"+convID, token, nil, &c)
	if !c.Visitor.Online {
		t.Fatal("visitor connected to A is not online as seen from B")
	}

	// The agent's reply, posted on B, reaches the widget on A.
	apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+convID+"/messages", token, map[string]string{"body": "Answered from node B", "kind": "reply"}, nil)
	widget.waitFor("message", "Answered from node B")
	// A second reply the visitor does not read.
	apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+convID+"/messages", token, map[string]string{"body": "Unread reply", "kind": "reply"}, nil)
	widget.waitFor("message", "Unread reply")

	// Node A dies with the visitor's connection open. Once its heartbeat is
	// stale, B counts the visitor as left and the unread replies are emailed
	// once.
	killed := time.Now()
	a.proc.Kill()
	mails := relay.Wait(t, 1, 20*time.Second)
	if !strings.Contains(string(mails[0].Raw), "Unread reply") {
		t.Fatalf("the email lacks the unread reply")
	}
	// The visitor left at A's last heartbeat, before the kill (not when B
	// noticed), and the email is due LEFT_AFTER after that. The heartbeat
	// is read back rather than assumed: on a loaded machine one can be late.
	var left struct {
		Visitor struct {
			LeftAt *time.Time `json:"left_at"`
		} `json:"visitor"`
	}
	apptest.Call(t, "GET", b.url+"/api/v1/conversations/"+convID, token, nil, &left)
	switch leftAt := left.Visitor.LeftAt; {
	case leftAt == nil || !leftAt.Before(killed):
		t.Fatalf("visitor left at %v, want A's last heartbeat before the kill at %v", leftAt, killed)
	case mails[0].Accepted.Sub(*leftAt) < 2*time.Second:
		t.Fatalf("emailed %v after the visitor left (%v after the node died): before LEFT_AFTER",
			mails[0].Accepted.Sub(*leftAt), mails[0].Accepted.Sub(killed))
	}
	time.Sleep(2 * time.Second)
	if n := len(relay.Mails()); n != 1 {
		t.Fatalf("%d emails, want exactly one", n)
	}
	if err := b.proc.Stop(); err != nil {
		t.Fatalf("node B exited with %v", err)
	}
}

type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan string
}

func dial(t *testing.T, url string) *wsClient {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	w := &wsClient{t: t, c: c, frames: make(chan string, 256)}
	go func() {
		for {
			_, b, err := c.Read(t.Context())
			if err != nil {
				close(w.frames)
				return
			}
			w.frames <- string(b)
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	return w
}

func (w *wsClient) send(frame string) {
	w.t.Helper()
	if err := w.c.Write(w.t.Context(), websocket.MessageText, []byte(frame)); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor skips frames until one of the type holding every given text.
func (w *wsClient) waitFor(typ string, texts ...string) string {
	w.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				w.t.Fatalf("connection closed waiting for %s", typ)
			}
			if !strings.Contains(f, `"type":"`+typ+`"`) {
				continue
			}
			all := true
			for _, text := range texts {
				all = all && strings.Contains(f, text)
			}
			if all {
				return f
			}
		case <-deadline:
			w.t.Fatalf("no %s frame within 10s", typ)
		}
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j]
	}
	return s
}
