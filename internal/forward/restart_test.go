package forward_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// TestLeaveAtShutdownOutlivesRestart: Parley stops (SIGTERM) while an
// identified visitor with an unread reply is connected and idle. Stopping
// closes the widget ("going away") and records the leave; the visitor
// never comes back. Started again on the same database, Parley emails the
// reply LEFT_AFTER after that leave, as when the widget closes while it
// runs, not once the visitor has been inactive for IDLE_AFTER. On SQLite
// and PostgreSQL.
func TestLeaveAtShutdownOutlivesRestart(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			w := newWorld(t, restartEnv(t, db))
			v := w.visitorChats("vera@example.com")
			w.reply(v.conv, "Your order shipped today")
			apptest.Eventually(t, wait, "a wait for the visitor's inactivity", func() bool {
				code, reason := w.state(v.conv)
				return code == "waiting" && strings.Contains(reason, "idle")
			})

			stopping := time.Now()
			w.s.Stop()
			if st := v.ws.CloseStatus(wait); st != websocket.StatusGoingAway {
				t.Fatalf("widget closed with %v, want going away", st)
			}
			w.s = apptest.Start(t, w.vars)
			visitor, err := w.s.App.DB.VisitorByID(t.Context(), v.id)
			if err != nil {
				t.Fatal(err)
			}
			if visitor.Online || visitor.LeftAt == nil || visitor.LeftAt.Before(stopping.Add(-time.Second)) {
				t.Fatalf("after the stop the visitor is online %v, left at %v; want left when it stopped, at %v",
					visitor.Online, visitor.LeftAt, stopping)
			}

			mails := w.relay.WaitExplained(t, 1, 15*time.Second, func() string {
				code, reason := w.state(v.conv)
				return "after the restart, decision " + code + ": " + reason
			})
			if !strings.Contains(string(mails[0].Raw), "Your order shipped today") {
				t.Fatal("the email lacks the reply")
			}
			if after := mails[0].Accepted.Sub(*visitor.LeftAt); after < leftAfter-200*time.Millisecond {
				t.Fatalf("emailed %v after the visitor left: before LEFT_AFTER", after)
			}
			if code, reason := w.state(v.conv); code != "queued" && code != "sent" {
				t.Errorf("decision %s (%s), want the email's", code, reason)
			}
			w.noMail(1, time.Second)
		})
	}
}

// restartEnv is the configuration of a test that restarts Parley on
// the same database, db "sqlite" (a file) or "postgres": inactivity and
// agents away are far beyond the test's waits, so neither sends an email
// in time.
func restartEnv(t *testing.T, db string) map[string]string {
	env := map[string]string{
		"PARLEY_DATABASE_URL":       "sqlite:" + filepath.Join(t.TempDir(), "parley.db"),
		"PARLEY_FORWARD_IDLE_AFTER": "10m",
		"PARLEY_AGENT_AWAY_AFTER":   "1h",
	}
	if db == "postgres" {
		env["PARLEY_DATABASE_URL"] = apptest.Postgres(t)
	}
	return env
}

// untold is the forwarding engine as a reply leaves it when the process
// stops before its engine decided: never told.
type untold struct{}

func (untold) ConversationChanged(context.Context, string)              {}
func (untold) ConversationWritten(model.Conversation, *model.Workspace) {}
func (untold) VisitorChanged(context.Context, string)                   {}
func (untold) WorkspaceChanged(context.Context, string)                 {}

// TestReplyOutlivesAnEngineNotTold: an agent answers a visitor who has
// left, and the engine is never told (the process is killed in the
// moment after the reply's commit, or while its engine is behind a
// burst). Started again, Parley emails the reply: the reply's own
// transaction put the conversation on the schedule. On SQLite and
// PostgreSQL.
func TestReplyOutlivesAnEngineNotTold(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			w := newWorld(t, restartEnv(t, db))
			v := w.visitorChats("vera@example.com")
			v.leave()
			apptest.Eventually(t, wait, "the visitor gone, nothing to email", func() bool {
				visitor, err := w.s.App.DB.VisitorByID(t.Context(), v.id)
				st, _ := w.s.App.DB.ForwardState(t.Context(), v.conv)
				return err == nil && visitor.LeftAt != nil && st.DueAt == nil && st.Code != ""
			})

			w.s.App.Chat.SetEvaluator(untold{})
			w.reply(v.conv, "Your order shipped today")
			w.s.Stop()
			w.s = apptest.Start(t, w.vars)

			mails := w.relay.WaitExplained(t, 1, 15*time.Second, func() string {
				code, reason := w.state(v.conv)
				return "after the restart, decision " + code + ": " + reason
			})
			if !strings.Contains(string(mails[0].Raw), "Your order shipped today") {
				t.Fatal("the email lacks the reply")
			}
			w.noMail(1, time.Second)
		})
	}
}
