package web_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/logging/logtest"
	"github.com/parleychat/parley/internal/model"
)

// lines decodes the JSON lines whose msg is msg.
func TestAccessLog(t *testing.T) {
	var logs logtest.Buffer
	s := apptest.StartLogged(t, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	a := s.AddAgent("ann@example.com", "Ann") // one request: the login
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Hello", "client_id": "c1"}, http.StatusCreated, &m)
	s.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusOK, nil)
	s.Do("GET", "/api/v1/conversations/"+m.ConversationID, a.Token, nil, http.StatusOK, nil)
	s.Do("GET", "/api/v1/nothing-here", a.Token, nil, http.StatusNotFound, nil)
	s.Do("GET", "/chat/not-a-valid-token-abc123", "", nil, http.StatusNotFound, nil)
	ws := s.DialWidget(sess.VisitorToken)
	ws.Close()
	apptest.Eventually(t, 5*time.Second, "the WebSocket's line once it closed", func() bool {
		for _, l := range logs.Lines(t, "msg", "http request") {
			if l["route"] == "GET /api/widget/v1/ws" {
				return true
			}
		}
		return false
	})

	want := []struct {
		route  string
		status float64
	}{
		{"POST /api/v1/auth/login", 200},
		{"PUT /api/v1/me/status", 200},
		{"POST /api/widget/v1/session", 200},
		{"POST /api/widget/v1/messages", 201},
		{"GET /api/widget/v1/messages", 200},
		{"GET /api/v1/conversations/{id}", 200},
		{"unmatched", 404},
		{"GET /chat/{token}", 404},
		{"GET /api/widget/v1/ws", 101},
	}
	got := logs.Lines(t, "msg", "http request")
	if len(got) != len(want) {
		t.Fatalf("%d access-log lines for %d requests:\n%s", len(got), len(want), logs.String())
	}
	ids := map[string]bool{}
	for i, w := range want {
		l := got[i]
		if l["route"] != w.route || l["status"] != w.status || l["level"] != "INFO" {
			t.Errorf("line %d: route %v status %v level %v, want %s %v INFO", i, l["route"], l["status"], l["level"], w.route, w.status)
		}
		if l["method"] == "" || l["duration"] == nil {
			t.Errorf("line %d lacks method or duration: %v", i, l)
		}
		id, _ := l["request_id"].(string)
		if id == "" || ids[id] {
			t.Errorf("line %d: request id %q missing or reused", i, id)
		}
		ids[id] = true
	}
	all := logs.String()
	for _, secret := range []string{sess.VisitorToken, a.Token, m.ConversationID, "not-a-valid-token-abc123", "correct horse battery"} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds %q:\n%s", secret, all)
		}
	}
}

func TestAccessLogRequestID(t *testing.T) {
	var logs logtest.Buffer
	s := apptest.StartLogged(t, nil, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	tests := []struct {
		name, sent string
		kept       bool
	}{
		{"from the proxy", "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7", true},
		{"none", "", false},
		{"unsafe characters", "abc\" injected=1", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.URL+"/healthz", nil)
			if tt.sent != "" {
				req.Header.Set("X-Request-Id", tt.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			id := resp.Header.Get("X-Request-Id")
			if tt.kept != (id == tt.sent) || id == "" {
				t.Fatalf("sent %q, answered %q", tt.sent, id)
			}
			lines := logs.Lines(t, "msg", "http request")
			last := lines[len(lines)-1]
			if last["request_id"] != id || last["route"] != "GET /healthz" {
				t.Fatalf("logged %v, answered id %q", last, id)
			}
		})
	}
}
