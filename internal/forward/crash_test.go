package forward_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
)

// Scenario 10: the server is killed (SIGKILL) between queueing and sending
// → after restart the email is sent, once.
func TestScenario10KilledBetweenQueueingAndSending(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the parley command")
	}
	t.Parallel()
	bin := apptest.BuildParley(t)
	relay := apptest.StartRelay(t)
	held := relay.Hold()
	addr := apptest.FreeAddr(t)
	url := "http://" + addr
	env := append(os.Environ(),
		"PARLEY_HTTP_ADDR="+addr,
		"PARLEY_PUBLIC_URL="+url,
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_SECRET=crash-test-secret-0123456789",
		"PARLEY_SMTP_URL="+relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_IDLE_AFTER=5s", "PARLEY_FORWARD_QUIET=1s",
		"PARLEY_VISITOR_GRACE=300ms", "PARLEY_MAIL_RETRY_BASE=200ms", "PARLEY_LOG_LEVEL=debug",
	)
	apptest.Run(t, bin, env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Split(strings.TrimSpace(apptest.Run(t, bin, env, "", "workspace", "list")), "\t")[2]

	first := apptest.StartServe(t, bin, env, url)
	var login struct {
		Token string `json:"token"`
	}
	apptest.Call(t, "POST", url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &login)
	apptest.Call(t, "PUT", url+"/api/v1/me/status", login.Token, map[string]string{"status": "online"}, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	apptest.Call(t, "POST", url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &sess)
	c, _, err := websocket.Dial(t.Context(), "ws://"+addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"contact","email":"vera@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(t.Context()); err != nil { // the contact frame
		t.Fatal(err)
	}
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	apptest.Call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, &m)
	c.Close(websocket.StatusGoingAway, "bye")
	var reply struct {
		ID string `json:"id"`
	}
	apptest.Call(t, "POST", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "Your answer", "kind": "reply"}, &reply)

	select {
	case <-held:
	case <-time.After(15 * time.Second):
		t.Fatal("the email never reached the relay")
	}
	// The email is queued and in the middle of being sent: kill the server.
	first.Kill()
	relay.Release()
	if got := len(relay.Mails()); got != 0 {
		t.Fatalf("relay accepted %d mails before the restart", got)
	}

	second := apptest.StartServe(t, bin, env, url)
	mails := relay.Wait(t, 1, 15*time.Second)
	time.Sleep(time.Second)
	if got := len(relay.Mails()); got != 1 {
		t.Fatalf("relay accepted %d mails, want exactly 1", got)
	}
	if !strings.Contains(string(mails[0].Raw), "Your answer") {
		t.Fatal("the mail lacks the reply")
	}
	var msgs struct {
		Messages []struct {
			ID        string `json:"id"`
			Forwarded *struct {
				Status string `json:"status"`
			} `json:"forwarded"`
		} `json:"messages"`
	}
	apptest.Eventually(t, 5*time.Second, "reply marked sent", func() bool {
		apptest.Call(t, "GET", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, nil, &msgs)
		for _, msg := range msgs.Messages {
			if msg.ID == reply.ID {
				return msg.Forwarded != nil && msg.Forwarded.Status == "sent"
			}
		}
		return false
	})
	if err := second.Stop(); err != nil {
		t.Fatalf("parley exited with %v after SIGTERM", err)
	}
}
