package forward_test

import (
	"fmt"
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
	srv := serveChat(t, bin, relay, "PARLEY_FORWARD_IDLE_AFTER=5s", "PARLEY_LOG_LEVEL=debug")
	first, url, login, sess, c := srv.proc, srv.url, srv.login, srv.sess, srv.ws
	env := srv.env
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
			// IDLE_AFTER and the agent's away time far beyond the test's
			// waits: only the leave can send the email in time.
			srv := serveChat(t, bin, relay, "PARLEY_FORWARD_IDLE_AFTER=10m", "PARLEY_AGENT_AWAY_AFTER=1h")
			first, url, login, sess, env := srv.proc, srv.url, srv.login, srv.sess, srv.env
			defer srv.ws.CloseNow()
			var m struct {
				ConversationID string `json:"conversation_id"`
			}
			apptest.Call(t, "POST", url+"/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello", "client_id": "1"}, &m)
			apptest.Call(t, "POST", url+"/api/v1/conversations/"+m.ConversationID+"/messages", login.Token, map[string]string{"body": "Your answer", "kind": "reply"}, nil)
			apptest.Eventually(t, 10*time.Second, "a wait for the visitor's inactivity", func() bool {
				return apptest.Watch(t, url, login.Token, m.ConversationID).WaitsForIdle()
			})

			ended := time.Now()
			if err := tt.end(first); err != nil {
				t.Fatalf("parley exited with %v", err)
			}
			second := apptest.StartServe(t, bin, env, url)
			conv := apptest.Watch(t, url, login.Token, m.ConversationID)
			if conv.Visitor.Online || conv.Visitor.LeftAt == nil || conv.Visitor.LeftAt.After(ended.Add(time.Second)) {
				t.Fatalf("after the restart the visitor is online %v, left at %v; want gone since the end at %v",
					conv.Visitor.Online, conv.Visitor.LeftAt, ended)
			}
			mail := relay.WaitExplained(t, 1, 15*time.Second, func() string {
				return fmt.Sprintf("after the restart, decision %+v", apptest.Watch(t, url, login.Token, m.ConversationID).Forwarding)
			})[0]
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

// servedChat is a `parley serve` started by serveChat.
type servedChat struct {
	proc  *apptest.Proc
	url   string
	env   []string
	login struct{ Token string }
	sess  struct {
		VisitorToken string `json:"visitor_token"`
	}
	ws *websocket.Conn // the visitor's widget, its contact frame sent
}

// serveChat runs bin's `parley serve` on a new SQLite file, sending to
// relay, with the forwarding's short timings and the extra variables
// given (which win): Ann is online and a visitor's widget is connected,
// its contact frame (vera@example.com) sent and not yet read.
func serveChat(t *testing.T, bin string, relay *apptest.Relay, extra ...string) servedChat {
	t.Helper()
	var srv servedChat
	addr := apptest.FreeAddr(t)
	srv.url = "http://" + addr
	srv.env = append(os.Environ(),
		"PARLEY_HTTP_ADDR="+addr,
		"PARLEY_PUBLIC_URL="+srv.url,
		"PARLEY_DATABASE_URL=sqlite:"+filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_SECRET=crash-test-secret-0123456789",
		"PARLEY_SMTP_URL="+relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER=2s", "PARLEY_FORWARD_QUIET=1s",
		"PARLEY_VISITOR_GRACE=300ms", "PARLEY_MAIL_RETRY_BASE=200ms",
	)
	srv.env = append(srv.env, extra...)
	apptest.Run(t, bin, srv.env, "correct horse battery\n", "agent", "add", "--email", "ann@example.com", "--name", "Ann", "--password-stdin")
	siteKey := strings.Split(strings.TrimSpace(apptest.Run(t, bin, srv.env, "", "workspace", "list")), "\t")[2]

	srv.proc = apptest.StartServe(t, bin, srv.env, srv.url)
	apptest.Call(t, "POST", srv.url+"/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, &srv.login)
	apptest.Call(t, "PUT", srv.url+"/api/v1/me/status", srv.login.Token, map[string]string{"status": "online"}, nil)
	apptest.Call(t, "POST", srv.url+"/api/widget/v1/session", "", map[string]string{"site_key": siteKey}, &srv.sess)
	c, _, err := websocket.Dial(t.Context(), "ws://"+addr+"/api/widget/v1/ws?visitor_token="+srv.sess.VisitorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(t.Context(), websocket.MessageText, []byte(`{"type":"contact","email":"vera@example.com"}`)); err != nil {
		t.Fatal(err)
	}
	srv.ws = c
	return srv
}
