package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// TestNodeStoppedWithVisitorConnected: node A stops (SIGTERM) while an
// identified visitor with an unread reply is connected to it and idle;
// its widget is closed and the visitor leaves then. Node B, which keeps
// running, emails the reply LEFT_AFTER after that leave, not once the
// visitor has been inactive for IDLE_AFTER (30 s here).
func TestNodeStoppedWithVisitorConnected(t *testing.T) {
	cl := startCluster(t)
	a, b, relay, token := cl.a, cl.b, cl.relay, cl.token

	agentWS := dial(t, "ws://"+b.addr+"/api/v1/ws?token="+token)
	apptest.Call(t, "PUT", b.url+"/api/v1/me/status", token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
	widget := dial(t, "ws://"+a.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
	widget.send(`{"type":"contact","email":"vera@example.com","name":"Vera"}`)
	widget.waitFor("contact")
	widget.send(`{"type":"message","body":"Where is my order?","client_id":"a1"}`)
	convID := between(agentWS.waitFor("message.created", "Where is my order?"), `"conversation_id":"`, `"`)
	apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+convID+"/messages", token, map[string]string{"body": "It ships today", "kind": "reply"}, nil)
	widget.waitFor("message", "It ships today")

	apptest.Eventually(t, 10*time.Second, "a wait for the visitor's inactivity", func() bool {
		return apptest.Watch(t, b.url, token, convID).WaitsForIdle()
	})

	if err := a.proc.Stop(); err != nil {
		t.Fatalf("node A exited with %v after SIGTERM", err)
	}
	c := apptest.Watch(t, b.url, token, convID)
	if c.Visitor.Online || c.Visitor.LeftAt == nil {
		t.Fatalf("after node A stopped, the visitor is online %v, left at %v", c.Visitor.Online, c.Visitor.LeftAt)
	}
	m := relay.WaitExplained(t, 1, 15*time.Second, func() string {
		return fmt.Sprintf("after node A stopped, decision %+v", apptest.Watch(t, b.url, token, convID).Forwarding)
	})[0]
	if !strings.Contains(string(m.Raw), "It ships today") {
		t.Fatal("the email lacks the reply")
	}
	if after := m.Accepted.Sub(*c.Visitor.LeftAt); after < 2*time.Second {
		t.Fatalf("emailed %v after the visitor left: before LEFT_AFTER", after)
	}
	time.Sleep(time.Second)
	if n := len(relay.Mails()); n != 1 {
		t.Fatalf("%d emails, want exactly one", n)
	}
	if err := b.proc.Stop(); err != nil {
		t.Fatalf("node B exited with %v", err)
	}
}
