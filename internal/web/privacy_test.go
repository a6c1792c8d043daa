package web_test

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
	"github.com/parleychat/parley/internal/model"
)

func bothDatabases(t *testing.T, fn func(t *testing.T, env map[string]string)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, map[string]string{"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "p.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)})
	})
}

// TestRetention: with retention_days set, only conversations closed longer
// ago than that go (with a visitor left with nothing); open ones, recent
// ones and other workspaces' stay. A negative retention is refused.
func TestRetention(t *testing.T) {
	bothDatabases(t, func(t *testing.T, env map[string]string) {
		s := apptest.Start(t, env)
		a := s.AddAgent("ann@example.com", "Ann")
		s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
		other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		b := s.AddAgent("bob@example.com", "Bob", other.ID)
		s.Do("PUT", "/api/v1/me/status", b.Token, map[string]string{"status": "online"}, http.StatusOK, nil)

		chat := func(siteKey string) model.Message {
			sess := newSession(t, s, siteKey, "")
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello"}, http.StatusCreated, &m)
			return m
		}
		closed := chat(s.Workspace.SiteKey)
		open := chat(s.Workspace.SiteKey)
		otherClosed := chat(other.SiteKey)
		s.Do("POST", "/api/v1/conversations/"+closed.ConversationID+"/close", a.Token, nil, http.StatusOK, nil)
		s.Do("POST", "/api/v1/conversations/"+otherClosed.ConversationID+"/close", b.Token, nil, http.StatusOK, nil)

		for _, bad := range []any{-1, -365, 36501, "ten", 1.5} {
			raw := s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"retention_days": bad}, http.StatusBadRequest, nil)
			if code := apptest.ErrorCode(raw); code != "bad_request" {
				t.Errorf("retention_days %v: code %q", bad, code)
			}
		}
		var st model.Settings
		s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"retention_days": 30}, http.StatusOK, &st)
		if st.RetentionDays != 30 {
			t.Fatalf("settings after PUT: %+v", st)
		}

		ctx := t.Context()
		// 29 days on: nothing is old enough.
		n, err := s.App.Chat.RetainNow(ctx, time.Now().Add(29*24*time.Hour))
		if err != nil || n != 0 {
			t.Fatalf("after 29 days: %d deleted (%v)", n, err)
		}
		s.Do("GET", "/api/v1/conversations/"+closed.ConversationID, a.Token, nil, http.StatusOK, nil)

		// 31 days on: the closed conversation of the workspace with a
		// retention goes, with its visitor; the rest stays.
		n, err = s.App.Chat.RetainNow(ctx, time.Now().Add(31*24*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("after 31 days: %d deleted (%v)", n, err)
		}
		s.Do("GET", "/api/v1/conversations/"+closed.ConversationID, a.Token, nil, http.StatusNotFound, nil)
		s.Do("GET", "/api/v1/visitors/"+*closed.Author.ID, a.Token, nil, http.StatusNotFound, nil)
		s.Do("GET", "/api/v1/conversations/"+open.ConversationID, a.Token, nil, http.StatusOK, nil)
		var msgs struct {
			Messages []model.Message `json:"messages"`
		}
		s.Do("GET", "/api/v1/conversations/"+open.ConversationID+"/messages", a.Token, nil, http.StatusOK, &msgs)
		if len(msgs.Messages) != 1 {
			t.Errorf("open conversation has %d messages", len(msgs.Messages))
		}
		s.Do("GET", "/api/v1/conversations/"+otherClosed.ConversationID, b.Token, nil, http.StatusOK, nil)

		// Reopened conversations are no longer counted as closed.
		s.Do("POST", "/api/v1/conversations/"+otherClosed.ConversationID+"/reopen", b.Token, nil, http.StatusOK, nil)
		s.Do("PUT", "/api/v1/settings", b.Token, map[string]any{"retention_days": 1}, http.StatusOK, nil)
		if n, err := s.App.Chat.RetainNow(ctx, time.Now().Add(400*24*time.Hour)); err != nil || n != 0 {
			t.Errorf("reopened conversation: %d deleted (%v)", n, err)
		}

		// The daily run records itself: a second run the same day does nothing.
		if err := s.App.Chat.ApplyRetention(ctx); err != nil {
			t.Fatal(err)
		}
		next, err := s.App.Chat.NextRetention(ctx)
		if err != nil || next == nil || time.Until(*next) < 23*time.Hour {
			t.Errorf("next retention run at %v (%v), want about a day from now", next, err)
		}
	})
}

// TestWebhookAPIRefusals: the API's answers to bad webhooks.
func TestWebhookAPIRefusals(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	tests := []struct {
		name string
		body any
		code string
	}{
		{"loopback", map[string]any{"url": "http://127.0.0.1:8080/", "events": []string{"message.created"}}, "forbidden_url"},
		{"localhost", map[string]any{"url": "http://localhost:8080/", "events": []string{"message.created"}}, "forbidden_url"},
		{"IPv6 loopback", map[string]any{"url": "http://[::1]:8080/", "events": []string{"message.created"}}, "forbidden_url"},
		{"mapped loopback", map[string]any{"url": "http://[::ffff:127.0.0.1]:8080/", "events": []string{"message.created"}}, "forbidden_url"},
		{"metadata", map[string]any{"url": "http://169.254.169.254/latest/meta-data/", "events": []string{"message.created"}}, "forbidden_url"},
		{"credentials", map[string]any{"url": "https://user:secret@93.184.215.14/", "events": []string{"message.created"}}, "forbidden_url"},
		{"odd port", map[string]any{"url": "http://93.184.215.14:25/", "events": []string{"message.created"}}, "forbidden_url"},
		{"scheme", map[string]any{"url": "file:///etc/passwd", "events": []string{"message.created"}}, "forbidden_url"},
		{"unknown event", map[string]any{"url": "https://93.184.215.14/", "events": []string{"visitor.exploded"}}, "bad_request"},
		{"no event", map[string]any{"url": "https://93.184.215.14/", "events": []string{}}, "bad_request"},
		{"malformed", `{"url":`, "bad_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := s.Do("POST", "/api/v1/webhooks", a.Token, tc.body, http.StatusBadRequest, nil)
			if code := apptest.ErrorCode(raw); code != tc.code {
				t.Errorf("code %q, want %q (%s)", code, tc.code, raw)
			}
		})
	}
	var list struct {
		Webhooks []any `json:"webhooks"`
	}
	s.Do("GET", "/api/v1/webhooks", a.Token, nil, http.StatusOK, &list)
	if len(list.Webhooks) != 0 {
		t.Errorf("refused webhooks were stored: %v", list.Webhooks)
	}
	// A public IP literal is accepted (no DNS needed); another workspace
	// sees neither it nor its log.
	var created struct {
		Webhook struct {
			ID string `json:"id"`
		} `json:"webhook"`
		Secret string `json:"secret"`
	}
	s.Do("POST", "/api/v1/webhooks", a.Token, map[string]any{"url": "https://93.184.215.14/hook", "events": []string{"email.sent", "email.bounced"}}, http.StatusCreated, &created)
	other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	b := s.AddAgent("bob@example.com", "Bob", other.ID)
	s.Do("GET", "/api/v1/webhooks/"+created.Webhook.ID+"/deliveries", b.Token, nil, http.StatusNotFound, nil)
	s.Do("DELETE", "/api/v1/webhooks/"+created.Webhook.ID, b.Token, nil, http.StatusNotFound, nil)
	s.Do("GET", "/api/v1/webhooks", b.Token, nil, http.StatusOK, &list)
	if len(list.Webhooks) != 0 {
		t.Errorf("another workspace lists %v", list.Webhooks)
	}
	// An agent who is not an admin may neither manage webhooks nor export
	// or erase a visitor.
	c := s.AddAgentRole(s.Workspace.ID, "cid@example.com", "Cid", "agent")
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var v struct {
		ID string `json:"id"`
	}
	vis, err := s.App.Chat.VisitorByToken(t.Context(), sess.VisitorToken)
	if err != nil {
		t.Fatal(err)
	}
	v.ID = vis.ID
	for _, call := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/v1/webhooks", nil},
		{"POST", "/api/v1/webhooks", map[string]any{"url": "https://93.184.215.14/", "events": []string{"email.sent"}}},
		{"GET", "/api/v1/webhooks/" + created.Webhook.ID + "/deliveries", nil},
		{"DELETE", "/api/v1/webhooks/" + created.Webhook.ID, nil},
		{"GET", "/api/v1/visitors/" + v.ID + "/export", nil},
		{"DELETE", "/api/v1/visitors/" + v.ID, nil},
	} {
		if code := apptest.ErrorCode(s.Do(call.method, call.path, c.Token, call.body, http.StatusForbidden, nil)); code != "forbidden" {
			t.Errorf("%s %s by an agent: code %q", call.method, call.path, code)
		}
	}
	s.Do("GET", "/api/v1/visitors/"+v.ID, a.Token, nil, http.StatusOK, nil)

	s.Do("DELETE", "/api/v1/webhooks/"+created.Webhook.ID, a.Token, nil, http.StatusNoContent, nil)
	s.Do("DELETE", "/api/v1/webhooks/"+created.Webhook.ID, a.Token, nil, http.StatusNotFound, nil)
}

// TestEraseClosesTheWidget: erasing a visitor whose widget is open closes
// it (policy violation: the widget comes back as someone new), and the
// leave that follows is not retried forever for a visitor who no longer
// exists.
func TestEraseClosesTheWidget(t *testing.T) {
	var logs logtest.Buffer
	s := apptest.StartLogged(t, map[string]string{"PARLEY_VISITOR_GRACE": "50ms"},
		slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "My number is 555-0100", "client_id": "c1"}, http.StatusCreated, nil)
	w := s.DialWidget(sess.VisitorToken)

	s.Do("DELETE", "/api/v1/visitors/"+sess.Visitor.ID, a.Token, nil, http.StatusNoContent, nil)
	if code := w.CloseStatus(5 * time.Second); code != websocket.StatusPolicyViolation {
		t.Errorf("the erased visitor's widget closed with %v, want %v", code, websocket.StatusPolicyViolation)
	}
	// Past the grace period and a few retries' worth of time.
	time.Sleep(1500 * time.Millisecond)
	for _, l := range logs.Lines(t, "level", "ERROR") {
		t.Errorf("error logged after the erasure: %v", l)
	}
}

// The erase page names the visitor once: by name with the address beside
// it, or by the address alone when it is all they gave.
func TestErasePageNamesTheVisitor(t *testing.T) {
	srv := apptest.Start(t, nil)
	ada := srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	tests := []struct {
		name, email string
		want, never string
	}{
		{"", "vera@example.com", "<strong>vera@example.com</strong>:", "(vera@example.com)"},
		{"Sam", "sam@example.com", "<strong>Sam</strong> (sam@example.com):", ""},
	}
	for _, tt := range tests {
		sess := newSession(t, srv, srv.Workspace.SiteKey, "")
		patch := map[string]string{"email": tt.email}
		if tt.name != "" {
			patch["name"] = tt.name
		}
		srv.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, ada.Token, patch, http.StatusOK, nil)
		page := b.get("/dashboard/visitors/" + sess.Visitor.ID + "/erase").Body
		mustContain(t, "erase page of "+tt.email, page, tt.want)
		if tt.never != "" && strings.Contains(page, tt.never) {
			t.Errorf("the erase page of %s names it twice", tt.email)
		}
	}
}

// Erasing a visitor comes back to the list saying it was done; a
// conversation erased by a colleague while open says that instead.
func TestEraseComesBackToTheList(t *testing.T) {
	srv := apptest.Start(t, nil)
	srv.AddAgent("ada@example.com", "Ada")
	b := newBrowser(t, srv)
	b.login("ada@example.com")
	sess := newSession(t, srv, srv.Workspace.SiteKey, "")
	b.get("/dashboard/visitors/" + sess.Visitor.ID + "/erase")
	a := b.post("/dashboard/visitors/"+sess.Visitor.ID+"/erase", nil)
	if a.Status != http.StatusSeeOther || a.Location != "/dashboard?erased=1" {
		t.Fatalf("erase: %d to %q, want 303 to /dashboard?erased=1", a.Status, a.Location)
	}
	page := b.get(a.Location).Body
	mustContain(t, "the list after an erasure", page, `data-testid="erased-notice"`)
	if strings.Contains(page, `data-testid="gone-notice"`) {
		t.Error("the agent who erased is told a colleague did")
	}
	mustContain(t, "the list after a colleague's erasure", b.get("/dashboard?gone=1").Body, `data-testid="gone-notice"`)
}
