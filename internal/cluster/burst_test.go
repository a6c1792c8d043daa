package cluster

import (
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"

	"github.com/parleychat/parley/internal/apptest"
)

// A node dies (SIGKILL) in the middle of a forwarding burst, holding
// claimed emails and one in the relay's hands: the other node sends every
// email, without waiting for the dead node's claims to run out, and none
// twice. The node that claimed the due conversations queues their emails
// and claims them; it is the one killed, visitors' (A) or agent's (B).
func TestNodeKilledMidBurst(t *testing.T) {
	cl := startCluster(t)
	a, b := cl.a, cl.b
	db, err := sql.Open("pgx", cl.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// n identified visitors on A, each with an unread reply from the agent
	// on B.
	const n = 40
	widgets := make([]*wsClient, n)
	for i := range widgets {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		apptest.Call(t, "POST", a.url+"/api/widget/v1/session", "", map[string]string{"site_key": cl.siteKey}, &sess)
		w := dial(t, "ws://"+a.addr+"/api/widget/v1/ws?visitor_token="+sess.VisitorToken)
		w.send(fmt.Sprintf(`{"type":"contact","email":"v%d@example.com","name":"V%d"}`, i, i))
		w.waitFor("contact")
		w.send(fmt.Sprintf(`{"type":"message","body":"Question %d","client_id":"q"}`, i))
		convID := between(w.waitFor("message", "Question"), `"conversation_id":"`, `"`)
		apptest.Call(t, "POST", b.url+"/api/v1/conversations/"+convID+"/messages", cl.token,
			map[string]string{"body": fmt.Sprintf("Answer %d", i), "kind": "reply"}, nil)
		w.waitFor("message", "Answer")
		widgets[i] = w
	}
	var nodeA string
	if err := db.QueryRow(`SELECT DISTINCT node_id FROM presence WHERE kind = 'visitor'`).Scan(&nodeA); err != nil {
		t.Fatalf("node A's id: %v", err)
	}
	var nodes int
	if err := db.QueryRow(`SELECT count(*) FROM nodes`).Scan(&nodes); err != nil || nodes != 2 {
		t.Fatalf("nodes: %d, %v; want 2", nodes, err)
	}

	// The relay stalls every message; all visitors leave.
	held := cl.relay.Hold()
	for _, w := range widgets {
		w.c.CloseNow()
	}
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("no email reached the relay")
	}
	var holder string
	apptest.Eventually(t, 10*time.Second, "a node holding claimed emails", func() bool {
		err := db.QueryRow(`SELECT claimed_by FROM emails WHERE claimed_by IS NOT NULL AND status = 'queued' LIMIT 1`).Scan(&holder)
		return err == nil
	})
	victim, survivor, names := a, b, "A, B"
	if holder != nodeA {
		victim, survivor, names = b, a, "B, A"
	}
	// The emails the relay took before it stalled have their outcome
	// written before the kill: one the relay took and the killed node had
	// not yet recorded would be sent again, as the forwarding rules allow
	// (a crash's duplicate keeps its Message-ID), and this test is of the
	// claims held at the kill, not of that window (on a loaded machine the
	// recording took over a second).
	accepted := len(cl.relay.Mails())
	apptest.Eventually(t, 10*time.Second, "the emails the relay took recorded as sent", func() bool {
		var sent int
		return db.QueryRow(`SELECT count(*) FROM emails WHERE status = 'sent'`).Scan(&sent) == nil && sent >= accepted
	})
	killed := time.Now()
	victim.proc.Kill()
	cl.relay.Release() // the stalled messages are refused: not delivered

	// The dead node's claims go back once the other sees its heartbeat
	// stale (2 s), far sooner than the two-minute lease.
	mails := cl.relay.Wait(t, n, 30*time.Second)
	took := time.Since(killed)
	cl.relay.EachConversationOnce(t, n, time.Second)
	t.Logf("killed, survivor: %s; %d emails delivered %v after the kill (%d relay attempts)", names, len(mails), took.Round(100*time.Millisecond), cl.relay.Attempts())
	if err := survivor.proc.Stop(); err != nil {
		t.Fatalf("the surviving node exited with %v", err)
	}
}
