package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

const wait = 5 * time.Second

func field(f map[string]any, path ...string) any {
	var cur any = f
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

func TestLiveChat(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	agentWS := s.DialAgent(a.Token)
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, 200, nil)

	sess := newSession(t, s, s.Workspace.SiteKey, "")
	other := newSession(t, s, s.Workspace.SiteKey, "")
	visitor := s.DialWidget(sess.VisitorToken)
	bystander := s.DialWidget(other.VisitorToken)

	visitor.Send(map[string]string{"type": "message", "body": "Hi <b>there</b>", "client_id": "c-1"})
	echo := visitor.WaitFor("message", wait)
	if field(echo, "message", "client_id") != "c-1" || field(echo, "message", "body") != "Hi <b>there</b>" {
		t.Fatalf("echo: %v", echo)
	}
	ev := agentWS.WaitFor("message.created", wait)
	convID, _ := field(ev, "data", "conversation_id").(string)
	if convID == "" || field(ev, "data", "author", "kind") != "visitor" {
		t.Fatalf("agent event: %v", ev)
	}

	// Resending the same client_id stores nothing new and echoes the stored message.
	visitor.Send(map[string]string{"type": "message", "body": "Hi <b>there</b>", "client_id": "c-1"})
	again := visitor.WaitFor("message", wait)
	if field(again, "message", "id") != field(echo, "message", "id") {
		t.Fatalf("resend made a new message: %v", again)
	}

	var reply model.Message
	s.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Hello!", "kind": "reply"}, 201, &reply)
	s.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "secret note", "kind": "comment"}, 201, nil)
	got := visitor.WaitFor("message", wait)
	if field(got, "message", "id") != reply.ID || field(got, "message", "author", "name") != "Ann" {
		t.Fatalf("visitor got %v", got)
	}
	visitor.None("message", 300*time.Millisecond) // the comment never reaches the widget
	bystander.None("message", 100*time.Millisecond)

	var msgs struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+convID+"/messages", a.Token, nil, 200, &msgs)
	if len(msgs.Messages) != 3 {
		t.Fatalf("want visitor message, reply and comment once each; got %d", len(msgs.Messages))
	}

	// Read receipt: agents learn it, and the visitor's other tab (whose
	// unread count it ends) gets the message again, read.
	secondTab := s.DialWidget(sess.VisitorToken)
	visitor.Send(map[string]string{"type": "read", "message_id": reply.ID})
	upd := agentWS.WaitFor("message.updated", wait)
	if field(upd, "data", "id") != reply.ID || field(upd, "data", "read_by_visitor_at") == nil {
		t.Fatalf("read receipt event: %v", upd)
	}
	again = secondTab.WaitFor("message", wait)
	if field(again, "message", "id") != reply.ID || field(again, "message", "read_by_visitor_at") == nil || field(again, "message", "author", "name") != "Ann" {
		t.Fatalf("the other tab's frame: %v", again)
	}
	bystander.None("message", 100*time.Millisecond)
}

func TestBadFramesKeepTheConnection(t *testing.T) {
	s, _, w := onlineWidget(t)
	tests := []struct {
		name  string
		frame any
		code  string
	}{
		{"not JSON", "{nope", "bad_frame"},
		{"JSON but not an object", "[1,2]", "bad_frame"},
		{"unknown type", map[string]string{"type": "shout"}, "bad_frame"},
		{"no type", map[string]string{"body": "x"}, "bad_frame"},
		{"invalid UTF-8", []byte("{\"type\":\"message\",\"body\":\"\xff\xfe\"}"), "bad_frame"},
		{"too long", map[string]string{"type": "message", "body": strings.Repeat("x", 10001), "client_id": "long"}, "message_too_long"},
		{"empty", map[string]string{"type": "message", "body": "  "}, "bad_frame"},
		{"bad email", map[string]string{"type": "contact", "email": "not-an-address"}, "invalid_email"},
		{"read of unknown message", map[string]string{"type": "read", "message_id": "nope"}, "bad_frame"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.Send(tt.frame)
			f := w.WaitFor("error", wait)
			if f["code"] != tt.code {
				t.Fatalf("got %v, want code %s", f, tt.code)
			}
		})
	}
	if err := w.Conn.Write(t.Context(), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if f := w.WaitFor("error", wait); f["code"] != "bad_frame" {
		t.Fatalf("binary frame: %v", f)
	}
	// Still connected and working.
	w.Send(map[string]string{"type": "message", "body": "still here", "client_id": "ok"})
	if f := w.WaitFor("message", wait); field(f, "message", "body") != "still here" {
		t.Fatalf("%v", f)
	}
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("refused frames stored messages: %d %v", n, err)
	}
}

func TestContactFormRequiredOverWebSocket(t *testing.T) {
	s := apptest.Start(t, nil) // no agent online: the offline form is required
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	if !sess.ContactFormRequired {
		t.Fatal("session should require the contact form")
	}
	w := s.DialWidget(sess.VisitorToken)
	w.Send(map[string]string{"type": "message", "body": "Are you there?", "client_id": "m1"})
	f := w.WaitFor("error", wait)
	if f["code"] != "contact_form_required" || f["client_id"] != "m1" {
		t.Fatalf("got %v", f)
	}
	w.Send(map[string]string{"type": "contact", "email": "vi@example.com", "name": "<script>Vi</script>"})
	c := w.WaitFor("contact", wait)
	if field(c, "visitor", "email") != "vi@example.com" || field(c, "visitor", "name") != "<script>Vi</script>" {
		t.Fatalf("contact: %v", c)
	}
	w.Send(map[string]string{"type": "message", "body": "Are you there?", "client_id": "m1"})
	if m := w.WaitFor("message", wait); field(m, "message", "body") != "Are you there?" {
		t.Fatalf("%v", m)
	}
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("want exactly the accepted message stored, got %d (%v)", n, err)
	}
}

func TestOnlineRequiredForm(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "invisible"}, 200, nil)
	if sess := newSession(t, s, s.Workspace.SiteKey, ""); sess.ContactFormRequired || !sess.AgentsAvailable {
		t.Fatalf("invisible agent counts as available; optional form: %+v", sess)
	}
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"contact_form": map[string]string{"online": "required"}}, 200, nil)
	if sess := newSession(t, s, s.Workspace.SiteKey, ""); !sess.ContactFormRequired {
		t.Fatalf("online mode required: %+v", sess)
	}
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "offline"}, 200, nil)
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"contact_form": map[string]any{"offline_requires_form": false}}, 200, nil)
	if sess := newSession(t, s, s.Workspace.SiteKey, ""); sess.ContactFormRequired || sess.AgentsAvailable {
		t.Fatalf("offline without the offline form: %+v", sess)
	}
}

func TestVisitorFloodIsRateLimited(t *testing.T) {
	s, _, w := onlineWidget(t)
	for i := 0; i < 30; i++ {
		w.Send(map[string]any{"type": "message", "body": "spam", "client_id": "s" + strings.Repeat("x", i)})
	}
	f := w.WaitFor("error", wait)
	if f["code"] != "rate_limited" {
		t.Fatalf("got %v", f)
	}
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n >= 30 || n < 5 {
		t.Fatalf("stored %d of 30 flooded messages (%v)", n, err)
	}
}

// Logging out of the last dashboard sets the agent offline at once (the
// away timer's wait is for a dashboard closed by chance): visitors stop
// being told someone is there. Another session's dashboard keeps them.
func TestLogoutSetsTheAgentAwayAtOnce(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_AGENT_AWAY_AFTER": "1h"})
	a := s.AddAgent("ann@example.com", "Ann")
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	w := s.DialWidget(sess.VisitorToken)
	login := func() string {
		var out struct{ Token string }
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": apptest.AgentPassword}, http.StatusOK, &out)
		return out.Token
	}
	status := func() (string, string) {
		var me model.Agent
		s.Do("GET", "/api/v1/me", a.Token, nil, http.StatusOK, &me)
		return me.Status, me.StatusSource
	}
	other := login()
	s.DialAgent(a.Token)
	s.DialAgent(other)
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	if f := w.WaitFor("agents", wait); f["available"] != true {
		t.Fatalf("%v", f)
	}

	s.Do("POST", "/api/v1/auth/logout", other, nil, http.StatusNoContent, nil)
	time.Sleep(300 * time.Millisecond) // its dashboard closes
	if st, _ := status(); st != "online" {
		t.Fatalf("logged out of one session with another's dashboard open: %s", st)
	}

	last := login()
	s.Do("POST", "/api/v1/auth/logout", a.Token, nil, http.StatusNoContent, nil)
	if f := w.WaitFor("agents", wait); f["available"] != false {
		t.Fatalf("%v", f)
	}
	var me model.Agent
	s.Do("GET", "/api/v1/me", last, nil, http.StatusOK, &me)
	if me.Status != "offline" || me.StatusSource != "away_timer" {
		t.Fatalf("after logging out of the last dashboard: %s (%s), want offline (away_timer)", me.Status, me.StatusSource)
	}

	// A dashboard opened again gives back the status chosen; closed by
	// chance it keeps it (the away timer waits); a logout with none open
	// sets them offline at once.
	dash := s.DialAgent(last)
	if f := w.WaitFor("agents", wait); f["available"] != true {
		t.Fatalf("%v", f)
	}
	dash.Close()
	time.Sleep(300 * time.Millisecond)
	s.Do("GET", "/api/v1/me", last, nil, http.StatusOK, &me)
	if me.Status != "online" {
		t.Fatalf("a dashboard closed without a logout: %s", me.Status)
	}
	s.Do("POST", "/api/v1/auth/logout", last, nil, http.StatusNoContent, nil)
	if f := w.WaitFor("agents", wait); f["available"] != false {
		t.Fatalf("%v", f)
	}
}

func TestAgentsFrameAndAutoOffline(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_AGENT_AWAY_AFTER": "1s"})
	a := s.AddAgent("ann@example.com", "Ann")
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	w := s.DialWidget(sess.VisitorToken)

	dash := s.DialAgent(a.Token)
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, 200, nil)
	if f := w.WaitFor("agents", wait); f["available"] != true {
		t.Fatalf("%v", f)
	}
	// While the dashboard is open the agent stays online.
	time.Sleep(1500 * time.Millisecond)
	var me model.Agent
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	if me.Status != "online" {
		t.Fatalf("agent with an open dashboard went %s", me.Status)
	}
	dash.Close()
	if f := w.WaitFor("agents", wait); f["available"] != false {
		t.Fatalf("%v", f)
	}
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	if me.Status != "offline" {
		t.Fatalf("agent status %s after the away period", me.Status)
	}
	if me.StatusSource != "away_timer" {
		t.Fatalf("status_source %q after the away timer, want away_timer", me.StatusSource)
	}
	ws, err := s.App.DB.Workspace(t.Context(), s.Workspace.ID)
	if err != nil || ws.AgentsUnavailableSince == nil {
		t.Fatalf("agents_unavailable_since not recorded: %+v %v", ws, err)
	}

	// Opening a dashboard again gives back the status they had chosen.
	dash = s.DialAgent(a.Token)
	if f := w.WaitFor("agents", wait); f["available"] != true {
		t.Fatalf("%v", f)
	}
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	if me.Status != "online" || me.StatusSource != "agent" {
		t.Fatalf("after reconnecting: status %s (%s), want online (agent)", me.Status, me.StatusSource)
	}

	// A status the agent chose is never changed by the server: offline
	// chosen stays offline when a dashboard opens.
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "offline"}, 200, nil)
	dash.Close()
	w.WaitFor("agents", wait)
	dash = s.DialAgent(a.Token) // the connection is recorded before the handshake ends
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	if me.Status != "offline" || me.StatusSource != "agent" {
		t.Fatalf("chosen offline became %s (%s) when a dashboard opened", me.Status, me.StatusSource)
	}
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "invisible"}, 200, nil)
	if f := w.WaitFor("agents", wait); f["available"] != true {
		t.Fatalf("%v", f)
	}
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	if me.Status != "invisible" || me.StatusSource != "agent" {
		t.Fatalf("chosen invisible became %s (%s)", me.Status, me.StatusSource)
	}
	dash.Close()
}

func TestVisitorPresence(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_FORWARD_LEFT_AFTER": "2s", "PARLEY_VISITOR_GRACE": "500ms"})
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	visitor := func() model.Visitor {
		v, err := s.App.DB.VisitorByID(t.Context(), sess.Visitor.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	w := s.DialWidget(sess.VisitorToken)
	apptest.Eventually(t, wait, "visitor online", func() bool { return visitor().Online })
	if visitor().LastActiveAt == nil {
		t.Fatal("connecting did not set last_active_at")
	}

	// A page change: close and reconnect within the grace period.
	w.Close()
	w = s.DialWidget(sess.VisitorToken)
	time.Sleep(900 * time.Millisecond)
	if v := visitor(); !v.Online || v.LeftAt != nil {
		t.Fatalf("a reconnect within the grace period counted as a leave: %+v", v)
	}

	// Two tabs: closing one is no leave.
	w2 := s.DialWidget(sess.VisitorToken)
	w2.Close()
	time.Sleep(900 * time.Millisecond)
	if !visitor().Online {
		t.Fatal("closing one of two tabs counted as a leave")
	}

	before := time.Now()
	w.Close()
	apptest.Eventually(t, wait, "visitor left", func() bool { return !visitor().Online })
	v := visitor()
	if v.LeftAt == nil || v.LeftAt.Before(before.Add(-time.Second)) || v.LeftAt.After(before.Add(400*time.Millisecond)) {
		t.Fatalf("left_at %v should be when the last connection closed (%v), not when the grace ended", v.LeftAt, before)
	}

	// Activity moves last_active_at.
	w = s.DialWidget(sess.VisitorToken)
	apptest.Eventually(t, wait, "visitor online again", func() bool { return visitor().Online })
	first := *visitor().LastActiveAt
	time.Sleep(1100 * time.Millisecond)
	w.Send(map[string]string{"type": "activity"})
	apptest.Eventually(t, wait, "activity recorded", func() bool { return visitor().LastActiveAt.After(first) })
}

func TestUnauthenticatedWebSockets(t *testing.T) {
	s := apptest.Start(t, nil)
	for _, path := range []string{"/api/widget/v1/ws?visitor_token=forged", "/api/v1/ws?token=forged", "/api/v1/ws"} {
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", path, resp.StatusCode)
		}
	}
}

// Frames around and far beyond a widget connection's buffers (256 bytes
// read, 1 KiB written) cross both ways whole, one after the other on the
// same connection.
func TestLongMessagesOverSmallBuffers(t *testing.T) {
	s, a, w := onlineWidget(t)
	var convID string
	for i, n := range []int{180, 200, 220, 240, 260, 900, 950, 1000, 1050, 11000} {
		body := strings.Repeat("é<b>x</b> ", n/11) + strings.Repeat("y", n%11) // n bytes
		w.Send(map[string]string{"type": "message", "body": body, "client_id": fmt.Sprintf("c-%d", i)})
		echo := w.WaitFor("message", wait)
		if field(echo, "message", "body") != body {
			t.Fatalf("%d bytes: the echo differs (%d bytes)", n, len(field(echo, "message", "body").(string)))
		}
		convID, _ = field(echo, "message", "conversation_id").(string)
		s.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": body, "kind": "reply"}, 201, nil)
		if got := w.WaitFor("message", wait); field(got, "message", "body") != body {
			t.Fatalf("%d bytes: the reply reached the widget changed", n)
		}
	}
}

// Shutting down closes every socket with 1001 (going away), so that widgets
// reconnect to another node or when the server is back.
func TestShutdownClosesSocketsGoingAway(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	w := s.DialWidget(sess.VisitorToken)
	dash := s.DialAgent(a.Token)
	s.Stop()
	for name, c := range map[string]*apptest.WS{"widget": w, "dashboard": dash} {
		if got := c.CloseStatus(wait); got != websocket.StatusGoingAway {
			t.Errorf("%s closed with %v, want %v", name, got, websocket.StatusGoingAway)
		}
	}
}

// onlineWidget starts a server with an agent online and opens a new
// visitor's widget.
func onlineWidget(t *testing.T) (*apptest.Server, apptest.Agent, *apptest.WS) {
	t.Helper()
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, 200, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	return s, a, s.DialWidget(sess.VisitorToken)
}

// TestVisitorPageChangeWritesOnlyActivity: a visitor back within the grace
// period keeps this node's presence row the whole time, is not announced
// to the dashboards again, and only their activity time moves, at most
// once a minute: a page change within a minute of the activity recorded
// last writes nothing.
func TestVisitorPageChangeWritesOnlyActivity(t *testing.T) {
	s := apptest.Start(t, map[string]string{"PARLEY_FORWARD_LEFT_AFTER": "2m", "PARLEY_VISITOR_GRACE": "1m"})
	a := s.AddAgent("pages@example.com", "Pages")
	dash := s.DialAgent(a.Token)
	defer dash.Close()
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	visitor := func() model.Visitor {
		v, err := s.App.DB.VisitorByID(t.Context(), sess.Visitor.ID)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// untilMarker reads the dashboard up to a marker event (a status
	// change), reporting whether a visitor.updated came before it.
	untilMarker := func(status string) (announced bool) {
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": status}, 200, nil)
		for {
			f := dash.Next(wait)
			switch f["type"] {
			case "visitor.updated":
				announced = true
			case "agent.updated":
				return announced
			}
		}
	}
	// pageChange closes the widget's connection and opens another.
	pageChange := func(w *apptest.WS) *apptest.WS {
		t.Helper()
		w.Close()
		// The server learns of the close on its own time: wait until it
		// has, so that the next connection is the page change and not a
		// second tab.
		for deadline := time.Now().Add(wait); ; time.Sleep(5 * time.Millisecond) {
			if n, _ := s.App.Hub.Counts(); n == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the server never saw the widget close")
			}
		}
		// The leave is pending for a minute: the row stays meanwhile.
		present, err := s.App.DB.Present(t.Context(), store.PresenceVisitor, sess.Visitor.ID)
		if err != nil || !present {
			t.Fatalf("presence right after the page closed: %v, %v; want kept through the grace period", present, err)
		}
		w = s.DialWidget(sess.VisitorToken) // recorded before the handshake ends
		if v := visitor(); !v.Online || v.LeftAt != nil {
			t.Fatalf("a page change counted as a leave: %+v", v)
		}
		return w
	}
	w := s.DialWidget(sess.VisitorToken)
	if !untilMarker("invisible") {
		t.Fatal("the first connection was not announced to the dashboards")
	}
	first := *visitor().LastActiveAt

	w = pageChange(w)
	if got := *visitor().LastActiveAt; !got.Equal(first) {
		t.Errorf("last_active_at moved to %v on a page change within a minute of %v, want it kept", got, first)
	}
	// The activity recorded last is older than a minute: the next page
	// records it.
	earlier := first.Add(-2 * time.Minute)
	if _, err := s.App.DB.SQL.ExecContext(t.Context(), `UPDATE visitors SET last_active_at = ? WHERE id = ?`, earlier.UnixMicro(), sess.Visitor.ID); err != nil {
		t.Fatal(err)
	}
	w = pageChange(w)
	defer w.Close()
	if got := *visitor().LastActiveAt; !got.After(first) {
		t.Errorf("last_active_at %v did not move on a page change a minute after %v", got, earlier)
	}
	// Anything published for the reconnections came before the marker.
	if untilMarker("online") {
		t.Fatal("a page change was announced to the dashboards")
	}
}
