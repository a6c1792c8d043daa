package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type session struct {
	VisitorToken        string        `json:"visitor_token"`
	Visitor             model.Visitor `json:"visitor"`
	ConversationID      *string       `json:"conversation_id"`
	AgentsAvailable     bool          `json:"agents_available"`
	ContactFormRequired bool          `json:"contact_form_required"`
}

func newSession(t testing.TB, s *apptest.Server, siteKey, tok string) session {
	t.Helper()
	var out session
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": siteKey, "visitor_token": tok}, http.StatusOK, &out)
	return out
}

// onlineAgent starts a server with env (nil: on a new SQLite file) and Ann
// online.
func onlineAgent(t *testing.T, env map[string]string) (*apptest.Server, apptest.Agent) {
	t.Helper()
	s := apptest.Start(t, env)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	return s, a
}

// chatting starts a server with an online agent and a visitor who wrote once.
func chatting(t *testing.T) (*apptest.Server, apptest.Agent, session, model.Message) {
	t.Helper()
	return chattingOn(t, nil)
}

// chattingOn is chatting on the database env names.
func chattingOn(t *testing.T, env map[string]string) (*apptest.Server, apptest.Agent, session, model.Message) {
	t.Helper()
	s, a := onlineAgent(t, env)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Hello, is anyone there?", "client_id": "c1"}, http.StatusCreated, &m)
	return s, a, sess, m
}

func TestLogin(t *testing.T) {
	s := apptest.Start(t, nil)
	s.AddAgent("ann@example.com", "Ann")
	tests := []struct {
		name     string
		body     any
		status   int
		wantCode string
	}{
		{"right password", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, 200, ""},
		{"email is case-insensitive", map[string]string{"email": "Ann@Example.com", "password": "correct horse battery"}, 200, ""},
		{"wrong password", map[string]string{"email": "ann@example.com", "password": "nope"}, 401, "invalid_credentials"},
		{"unknown email", map[string]string{"email": "bob@example.com", "password": "correct horse battery"}, 401, "invalid_credentials"},
		{"malformed JSON", `{"email":`, 400, "bad_request"},
		{"invalid UTF-8", []byte("{\"email\":\"\xff\"}"), 400, "bad_request"},
		{"oversized body", `{"email":"` + strings.Repeat("a", 300<<10) + `"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := s.Do("POST", "/api/v1/auth/login", "", tt.body, tt.status, nil)
			if got := apptest.ErrorCode(raw); got != tt.wantCode {
				t.Errorf("code %q, want %q (%s)", got, tt.wantCode, raw)
			}
			if tt.status != http.StatusOK {
				return
			}
			// The answer says when the token ends: 30 days from now.
			var out struct {
				Token     string    `json:"token"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			if err := json.Unmarshal(raw, &out); err != nil || out.Token == "" {
				t.Fatalf("answer %s: %v", raw, err)
			}
			if left := time.Until(out.ExpiresAt); left < 30*24*time.Hour-time.Minute || left > 30*24*time.Hour {
				t.Errorf("expires_at %v, %v from now: want 30 days", out.ExpiresAt, left)
			}
		})
	}
}

func TestLoginRateLimit(t *testing.T) {
	s := apptest.Start(t, nil)
	s.AddAgent("ann@example.com", "Ann")
	limited := 0
	for i := 0; i < 12; i++ {
		raw := s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "guess" + fmt.Sprint(i)}, 0, nil)
		if apptest.ErrorCode(raw) == "rate_limited" {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("12 wrong passwords in a row were never rate limited")
	}
	// Even the right password is refused while limited.
	raw := s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "correct horse battery"}, http.StatusTooManyRequests, nil)
	if apptest.ErrorCode(raw) != "rate_limited" {
		t.Fatalf("got %s", raw)
	}
}

func TestTokens(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	var me map[string]any
	s.Do("GET", "/api/v1/me", a.Token, nil, 200, &me)
	for _, k := range []string{"id", "name", "email", "status", "workspace_id"} {
		if _, ok := me[k]; !ok {
			t.Errorf("me lacks %q: %v", k, me)
		}
	}
	for _, tok := range []string{"", "forged", a.Token + "x", strings.Repeat("A", 500)} {
		raw := s.Do("GET", "/api/v1/me", tok, nil, http.StatusUnauthorized, nil)
		if apptest.ErrorCode(raw) != "invalid_token" {
			t.Errorf("token %.10q: %s", tok, raw)
		}
	}
	// Tokens are stored only as hashes.
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM agent_tokens WHERE token_hash = ?`, a.Token).Scan(&n); err != nil || n != 0 {
		t.Fatalf("token stored in clear (n=%d, err=%v)", n, err)
	}
	s.Do("POST", "/api/v1/auth/logout", a.Token, nil, http.StatusNoContent, nil)
	s.Do("GET", "/api/v1/me", a.Token, nil, http.StatusUnauthorized, nil)
}

func TestConversationFlow(t *testing.T) {
	s, a, sess, first := chatting(t)
	if first.Author.Kind != "visitor" || first.Channel != "widget" || first.Kind != "reply" {
		t.Fatalf("visitor message: %+v", first)
	}
	var list struct {
		Conversations []model.Conversation `json:"conversations"`
	}
	s.Do("GET", "/api/v1/conversations", a.Token, nil, 200, &list)
	if len(list.Conversations) != 1 || list.Conversations[0].Visitor.ID != sess.Visitor.ID || list.Conversations[0].Channel != "website" {
		t.Fatalf("list: %+v", list)
	}
	id := list.Conversations[0].ID

	var reply, note model.Message
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", a.Token, map[string]string{"body": "Hi! How can I help?", "kind": "reply"}, 201, &reply)
	s.Do("POST", "/api/v1/conversations/"+id+"/messages", a.Token, map[string]string{"body": "VIP customer", "kind": "comment"}, 201, &note)
	if reply.Author.Kind != "agent" || *reply.Author.Name != "Ann" || reply.Forwarded != nil || reply.ReadByVisitorAt != nil {
		t.Fatalf("reply: %+v", reply)
	}
	raw := s.Do("POST", "/api/v1/conversations/"+id+"/messages", a.Token, map[string]string{"body": "x", "kind": "shout"}, 400, nil)
	if apptest.ErrorCode(raw) != "bad_request" {
		t.Fatalf("bad kind: %s", raw)
	}

	var msgs struct {
		Messages []model.Message `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+id+"/messages", a.Token, nil, 200, &msgs)
	if len(msgs.Messages) != 3 || msgs.Messages[0].ID != first.ID || msgs.Messages[2].Kind != "comment" {
		t.Fatalf("agent sees %+v", msgs.Messages)
	}
	// A message reads the same when created and when read back.
	if !msgs.Messages[1].CreatedAt.Equal(reply.CreatedAt) {
		t.Errorf("created_at %v when posted, %v when read back", reply.CreatedAt, msgs.Messages[1].CreatedAt)
	}
	// The visitor sees the reply but never the comment.
	s.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, 200, &msgs)
	if len(msgs.Messages) != 2 || msgs.Messages[1].ID != reply.ID {
		t.Fatalf("visitor sees %+v", msgs.Messages)
	}

	var c model.Conversation
	s.Do("POST", "/api/v1/conversations/"+id+"/close", a.Token, nil, 200, &c)
	if c.Status != "closed" {
		t.Fatalf("close: %+v", c)
	}
	s.Do("GET", "/api/v1/conversations?status=open", a.Token, nil, 200, &list)
	if len(list.Conversations) != 0 {
		t.Fatalf("closed conversation listed as open")
	}
	// A visitor writing again reopens it.
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "One more thing"}, 201, nil)
	s.Do("GET", "/api/v1/conversations/"+id, a.Token, nil, 200, &c)
	if c.Status != "open" {
		t.Fatalf("visitor message did not reopen: %+v", c)
	}
	s.Do("POST", "/api/v1/conversations/"+id+"/close", a.Token, nil, 200, nil)
	s.Do("POST", "/api/v1/conversations/"+id+"/reopen", a.Token, nil, 200, &c)
	if c.Status != "open" {
		t.Fatalf("reopen: %+v", c)
	}
	raw = s.Do("GET", "/api/v1/conversations?status=weird", a.Token, nil, 400, nil)
	if apptest.ErrorCode(raw) != "bad_request" {
		t.Fatalf("bad status filter: %s", raw)
	}
}

func TestWorkspaceIsolation(t *testing.T) {
	s, _, sess, _ := chatting(t)
	other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	b := s.AddAgent("bob@example.com", "Bob", other.ID)
	var list struct {
		Conversations []model.Conversation `json:"conversations"`
	}
	s.Do("GET", "/api/v1/conversations?status=all", b.Token, nil, 200, &list)
	if len(list.Conversations) != 0 {
		t.Fatalf("another workspace's conversations leaked: %+v", list)
	}
	cid := *newSession(t, s, s.Workspace.SiteKey, sess.VisitorToken).ConversationID
	for _, call := range []struct{ method, path string }{
		{"GET", "/api/v1/conversations/" + cid},
		{"GET", "/api/v1/conversations/" + cid + "/messages"},
		{"POST", "/api/v1/conversations/" + cid + "/close"},
		{"POST", "/api/v1/conversations/" + cid + "/reopen"},
		{"PATCH", "/api/v1/visitors/" + sess.Visitor.ID},
	} {
		var body any
		if call.method == "PATCH" {
			body = map[string]string{"email": "x@example.com"}
		}
		raw := s.Do(call.method, call.path, b.Token, body, http.StatusNotFound, nil)
		if apptest.ErrorCode(raw) != "not_found" {
			t.Errorf("%s %s: %s", call.method, call.path, raw)
		}
	}
	raw := s.Do("POST", "/api/v1/conversations/"+cid+"/messages", b.Token, map[string]string{"body": "hijack"}, http.StatusNotFound, nil)
	if apptest.ErrorCode(raw) != "not_found" {
		t.Fatalf("post into other workspace: %s", raw)
	}
	// The visitor token of one site does not resume on another site.
	o := newSession(t, s, other.SiteKey, sess.VisitorToken)
	if o.Visitor.ID == sess.Visitor.ID {
		t.Fatal("visitor resumed across workspaces")
	}
}

func TestVisitorPatch(t *testing.T) {
	s, a, sess, _ := chatting(t)
	path := "/api/v1/visitors/" + sess.Visitor.ID
	var v model.Visitor
	s.Do("PATCH", path, a.Token, map[string]string{"email": " Jo@Example.COM ", "name": "Jo"}, 200, &v)
	if v.Email == nil || *v.Email != "Jo@example.com" || v.Name == nil || *v.Name != "Jo" {
		t.Fatalf("patched: %+v", v)
	}
	for _, bad := range []string{"jo", "jo@", "@example.com", "jo@example", "jo example@x.com", "<jo@x.com>", "jo@x..com"} {
		raw := s.Do("PATCH", path, a.Token, map[string]string{"email": bad}, 400, nil)
		if apptest.ErrorCode(raw) != "invalid_email" {
			t.Errorf("%q: %s", bad, raw)
		}
	}
	// A field left out stays; the rejected patches changed nothing.
	s.Do("PATCH", path, a.Token, map[string]string{"name": "Joanna"}, 200, &v)
	if *v.Email != "Jo@example.com" || *v.Name != "Joanna" {
		t.Fatalf("partial patch: %+v", v)
	}
	s.Do("PATCH", path, a.Token, map[string]any{"email": nil}, 200, &v)
	if v.Email != nil {
		t.Fatalf("null did not clear the email: %+v", v)
	}
}

func TestSettings(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	var st model.Settings
	s.Do("GET", "/api/v1/settings", a.Token, nil, 200, &st)
	def := model.DefaultSettings()
	def.WorkspaceName, def.TimeZone = "Default", "UTC"
	if st != def || st.EmailForwarding != "unread" || !st.ContactForm.OfflineRequiresForm || st.ContactForm.Online != "optional" {
		t.Fatalf("defaults: %+v", st)
	}
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"email_forwarding": "transcript"}, 200, &st)
	if st.EmailForwarding != "transcript" || st.ContactForm.Online != "optional" {
		t.Fatalf("subset update: %+v", st)
	}
	s.Do("PUT", "/api/v1/settings", a.Token, map[string]any{"contact_form": map[string]any{"offline_requires_form": false}}, 200, &st)
	if st.ContactForm.OfflineRequiresForm || st.ContactForm.Online != "optional" || st.EmailForwarding != "transcript" {
		t.Fatalf("nested subset update: %+v", st)
	}
	for _, bad := range []map[string]any{{"email_forwarding": "sometimes"}, {"contact_form": map[string]any{"online": "maybe"}}} {
		raw := s.Do("PUT", "/api/v1/settings", a.Token, bad, 400, nil)
		if apptest.ErrorCode(raw) != "bad_request" {
			t.Errorf("%v: %s", bad, raw)
		}
	}
	s.Do("GET", "/api/v1/settings", a.Token, nil, 200, &st)
	if st.EmailForwarding != "transcript" {
		t.Fatalf("a refused update changed settings: %+v", st)
	}
}

func TestWidgetSession(t *testing.T) {
	s := apptest.Start(t, nil)
	raw := s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": "nope"}, 404, nil)
	if apptest.ErrorCode(raw) != "unknown_site" {
		t.Fatalf("unknown site: %s", raw)
	}
	first := newSession(t, s, s.Workspace.SiteKey, "")
	if first.VisitorToken == "" || first.ConversationID != nil || first.AgentsAvailable || !first.ContactFormRequired {
		t.Fatalf("new session (no agent online, offline form required): %+v", first)
	}
	again := newSession(t, s, s.Workspace.SiteKey, first.VisitorToken)
	if again.Visitor.ID != first.Visitor.ID {
		t.Fatal("a valid token did not resume the visitor")
	}
	// The last two characters changed (to "bb" when they were "aa": the
	// forgery must differ from the token).
	tail := "aa"
	if strings.HasSuffix(first.VisitorToken, tail) {
		tail = "bb"
	}
	forged := newSession(t, s, s.Workspace.SiteKey, first.VisitorToken[:len(first.VisitorToken)-2]+tail)
	if forged.Visitor.ID == first.Visitor.ID {
		t.Fatal("a forged token resumed the visitor")
	}
	raw = s.Do("GET", "/api/widget/v1/messages?visitor_token=forged", "", nil, 401, nil)
	if apptest.ErrorCode(raw) != "invalid_token" {
		t.Fatalf("forged token on messages: %s", raw)
	}
}

func TestWidgetHTTPRules(t *testing.T) {
	s := apptest.Start(t, nil)
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	post := func(body string, status int) []byte {
		return s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "k-" + fmt.Sprint(len(body))}, status, nil)
	}
	// No agent available and no email: the contact form is required and
	// nothing is stored.
	if code := apptest.ErrorCode(post("Hello?", 403)); code != "contact_form_required" {
		t.Fatalf("got %q", code)
	}
	var n int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("refused message stored (%d, %v)", n, err)
	}
	if _, err := s.App.Chat.VisitorContact(t.Context(), sess.Visitor.ID, "vi@example.com", "Vi"); err != nil {
		t.Fatal(err)
	}
	post("Hello?", 201)
	if code := apptest.ErrorCode(post(strings.Repeat("é", 10001), 400)); code != "message_too_long" {
		t.Fatalf("got %q", code)
	}
	post(strings.Repeat("é", 10000), 201)
	if code := apptest.ErrorCode(post("   ", 400)); code != "empty_message" {
		t.Fatalf("got %q", code)
	}
}

func TestHealthz(t *testing.T) {
	s := apptest.Start(t, nil)
	var out map[string]string
	s.Do("GET", "/healthz", "", nil, 200, &out)
	if out["status"] != "ok" {
		t.Fatalf("%v", out)
	}
	s.App.DB.Close()
	s.Do("GET", "/healthz", "", nil, 503, nil)
}

// TestMessageKind: a message posted without a kind is a reply (the
// visitor sees it); a comment must say so; any other kind is refused.
func TestMessageKind(t *testing.T) {
	s, a, _, m := chatting(t)
	path := "/api/v1/conversations/" + m.ConversationID + "/messages"
	tests := []struct {
		name     string
		body     map[string]string
		status   int
		wantKind string
	}{
		{"no kind", map[string]string{"body": "a reply"}, http.StatusCreated, model.KindReply},
		{"empty kind", map[string]string{"body": "a reply", "kind": ""}, http.StatusCreated, model.KindReply},
		{"comment", map[string]string{"body": "a note", "kind": "comment"}, http.StatusCreated, model.KindComment},
		{"event", map[string]string{"body": "x", "kind": "event"}, http.StatusBadRequest, ""},
		{"unknown", map[string]string{"body": "x", "kind": "note"}, http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got model.Message
			raw := s.Do("POST", path, a.Token, tc.body, tc.status, &got)
			if tc.status != http.StatusCreated {
				if !strings.Contains(string(raw), `"bad_request"`) {
					t.Errorf("answer %s, want bad_request", raw)
				}
				return
			}
			if got.Kind != tc.wantKind {
				t.Errorf("kind %q, want %q", got.Kind, tc.wantKind)
			}
		})
	}
}

// A path the API serves, asked with a method it does not take, answers
// 405 with the methods it takes; a path nobody serves, 404.
func TestAPIWrongMethod(t *testing.T) {
	s := apptest.Start(t, nil)
	a := s.AddAgent("ann@example.com", "Ann")
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/conversations/c1/close", 405, "method_not_allowed", "POST"},
		{"DELETE", "/api/v1/conversations/c1", 405, "method_not_allowed", "GET"},
		{"GET", "/api/v1/nothing/here", 404, "not_found", ""},
		{"GET", "/api/v2/conversations", 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+a.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw := new(strings.Builder)
			_, _ = io.Copy(raw, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || apptest.ErrorCode([]byte(raw.String())) != tt.code || resp.Header.Get("Allow") != tt.allow {
				t.Errorf("%d %s, Allow %q; want %d %s, Allow %q", resp.StatusCode, raw, resp.Header.Get("Allow"), tt.status, tt.code, tt.allow)
			}
		})
	}
}
