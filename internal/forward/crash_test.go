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

// TestVisitorConnectedAcrossRestart: the server stops (SIGTERM) or is
// killed (SIGKILL) while an identified visitor with an unread reply is
// connected and idle, and the visitor never comes back. After a restart
// the reply is emailed LEFT_AFTER after the leave: on a stop the leave is
// recorded as the widget is closed; on a kill, the next start counts the
// visitor gone since the dead process's last heartbeat. Never once the
// visitor has been inactive for IDLE_AFTER.
func TestVisitorConnectedAcrossRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the parley command")
	}
	bin := apptest.BuildParley(t)
	for _, tt := range []struct {
		name string
		end  func(*apptest.Proc) error
	}{
		{"SIGTERM", (*apptest.Proc).Stop},
		{"SIGKILL", func(p *apptest.Proc) error { p.Kill(); return nil }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			relay := apptest.StartRelay(t)
			addr := apptest.FreeAddr(t)
			url := "http://" + addr
			env := append(os.Environ(),
				"PARLEY_HTTP_ADDR="+addr,
				"PARLEY_PUBLIC_URL="+url,
				"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "parley.db"),
				"PARLEY_SECRET=crash-test-secret-0123456789",
				"PARLEY_SMTP_URL="+relay.URL,
				// IDLE_AFTER and the agent's away time far beyond the test's
				// waits: only the leave can send the email in time.
				"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_IDLE_AFTER=10m", "PARLEY_FORWARD_QUIET=1s",
				"PARLEY_AGENT_AWAY_AFTER=1h", "PARLEY_VISITOR_GRACE=300ms", "PARLEY_MAIL_RETRY_BASE=200ms",
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
			defer c.CloseNow()
			if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"contact","email":"vera@example.com"}`)); err != nil {
				t.Fatal(err)
			}
			var m struct {
				ConversationID string `json:"conversation_id"`
			}
			apptest.Call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, &m)
			apptest.Call(t, "POST", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "Your answer", "kind": "reply"}, nil)
			var conv struct {
				Forwarding *struct {
					Code   string `json:"code"`
					Reason string `json:"reason"`
				} `json:"forwarding"`
				Visitor struct {
					Online bool       `json:"online"`
					LeftAt *time.Time `json:"left_at"`
				} `json:"visitor"`
			}
			apptest.Eventually(t, 10*time.Second, "a wait for the visitor's inactivity", func() bool {
				apptest.Call(t, "GET", url+"/api/v1/conversations/"+m.ConversationID, login.Token, nil, &conv)
				return conv.Forwarding != nil && conv.Forwarding.Code == "waiting" && strings.Contains(conv.Forwarding.Reason, "idle")
			})

			ended := time.Now()
			if err := tt.end(first); err != nil {
				t.Fatalf("parley exited with %v", err)
			}
			second := apptest.StartServe(t, bin, env, url)
			apptest.Call(t, "GET", url+"/api/v1/conversations/"+m.ConversationID, login.Token, nil, &conv)
			if conv.Visitor.Online || conv.Visitor.LeftAt == nil || conv.Visitor.LeftAt.After(ended.Add(time.Second)) {
				t.Fatalf("after the restart the visitor is online %v, left at %v; want gone since the end at %v",
					conv.Visitor.Online, conv.Visitor.LeftAt, ended)
			}
			deadline := time.Now().Add(15 * time.Second)
			for len(relay.Mails()) == 0 {
				if time.Now().After(deadline) {
					apptest.Call(t, "GET", url+"/api/v1/conversations/"+m.ConversationID, login.Token, nil, &conv)
					t.Fatalf("no email 15s after the restart; decision %+v", conv.Forwarding)
				}
				time.Sleep(50 * time.Millisecond)
			}
			mail := relay.Mails()[0]
			if !strings.Contains(string(mail.Raw), "Your answer") {
				t.Fatal("the mail lacks the reply")
			}
			if after := mail.Accepted.Sub(*conv.Visitor.LeftAt); after < 2*time.Second {
				t.Fatalf("emailed %v after the visitor left: before LEFT_AFTER", after)
			}
			if err := second.Stop(); err != nil {
				t.Fatalf("parley exited with %v after SIGTERM", err)
			}
		})
	}
}
