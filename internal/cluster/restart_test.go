package cluster

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// pgCluster runs pg_ctlcluster on the machine's PostgreSQL.
func pgCluster(t *testing.T, action string) {
	t.Helper()
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		t.Fatalf("no PostgreSQL cluster under /etc/postgresql: %v", err)
	}
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", versions[0].Name(), "main", action).CombinedOutput()
	if err != nil {
		t.Fatalf("pg_ctlcluster %s: %v\n%s", action, err, out)
	}
}

// TestDatabaseRestart stops PostgreSQL for 10 s under a running node: the
// node answers clear errors meanwhile, recovers by itself, and loses
// neither stored messages nor the queued email. It stops the machine's
// PostgreSQL server, so it runs only when PARLEY_TEST_PG_RESTART=1.
func TestDatabaseRestart(t *testing.T) {
	if os.Getenv("PARLEY_TEST_PG_RESTART") != "1" {
		t.Skip("stops the PostgreSQL server; set PARLEY_TEST_PG_RESTART=1 to run")
	}
	db := apptest.Postgres(t)
	bin := apptest.BuildParley(t)
	relay := apptest.StartRelay(t)
	n := &node{addr: apptest.FreeAddr(t)}
	n.url = "http://" + n.addr
	env := append(os.Environ(), "PARLEY_DATABASE_URL="+db, "PARLEY_SECRET=restart-test-secret-0123456789",
		"PARLEY_SMTP_URL="+relay.URL, "PARLEY_HTTP_ADDR="+n.addr, "PARLEY_PUBLIC_URL="+n.url,
		"PARLEY_FORWARD_LEFT_AFTER=3s", "PARLEY_FORWARD_QUIET=1s", "PARLEY_VISITOR_GRACE=300ms", "PARLEY_MAIL_RETRY_BASE=500ms")
	apptest.Run(t, bin, env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Split(strings.TrimSpace(apptest.Run(t, bin, env, "", "workspace", "list")), "\t")[2]
	n.proc = apptest.StartServe(t, bin, env, n.url)

	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", n.url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	apptest.Call(t, "PUT", n.url+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", n.url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	widget := dial(t, "ws://"+n.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
	widget.send(`{"type":"contact","email":"vera@example.com"}`)
	widget.waitFor("contact")
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	apptest.Call(t, "POST", n.url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "before the outage", "client_id": "1"}, &m)
	widget.c.CloseNow()
	apptest.Call(t, "POST", n.url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "Reply due during the outage", "kind": "reply"}, nil)

	pgCluster(t, "stop")
	stopped := true
	t.Cleanup(func() {
		if stopped {
			pgCluster(t, "start")
		}
	})
	// Meanwhile: clear errors, no hang.
	resp, err := http.Get(n.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz during the outage: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	req, _ := http.NewRequest("POST", n.url+"/api/v1/conversations/"+m.ConversationID+"/messages", strings.NewReader(`{"body":"x","kind":"reply"}`))
	req.Header.Set("Authorization", "Bearer "+login.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode < 500 {
		t.Fatalf("a write during the outage: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	time.Sleep(10 * time.Second)
	pgCluster(t, "start")
	stopped = false

	apptest.Eventually(t, 30*time.Second, "healthy again", func() bool {
		resp, err := http.Get(n.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	apptest.Call(t, "POST", n.url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "after the outage", "kind": "comment"}, nil)
	mails := relay.Wait(t, 1, 60*time.Second)
	if !strings.Contains(string(mails[0].Raw), "Reply due during the outage") {
		t.Fatal("the email lacks the reply")
	}
	var msgs struct {
		Messages []struct {
			Body string `json:"body"`
		} `json:"messages"`
	}
	apptest.Call(t, "GET", n.url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, nil, &msgs)
	var bodies []string
	for _, msg := range msgs.Messages {
		bodies = append(bodies, msg.Body)
	}
	if got := strings.Join(bodies, "|"); got != "before the outage|Reply due during the outage|after the outage" {
		t.Fatalf("messages after the restart: %s", got)
	}
	time.Sleep(2 * time.Second)
	if len(relay.Mails()) != 1 {
		t.Fatalf("%d emails, want 1", len(relay.Mails()))
	}
	if out := n.proc.Output(); !strings.Contains(out, "level=ERROR") {
		t.Logf("no error was logged during the outage:\n%s", out)
	}
}
