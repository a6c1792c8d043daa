package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// eachDB runs a test on a server backed by SQLite and by PostgreSQL.
func eachDB(t *testing.T, env map[string]string, test func(t *testing.T, s *apptest.Server)) {
	t.Run("sqlite", func(t *testing.T) { test(t, apptest.Start(t, env)) })
	t.Run("postgres", func(t *testing.T) {
		e := map[string]string{"PARLEY_DATABASE_URL": apptest.Postgres(t)}
		for k, v := range env {
			e[k] = v
		}
		test(t, apptest.Start(t, e))
	})
}

type agentJSON struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	Role         string  `json:"role"`
	Status       string  `json:"status"`
	StatusSource string  `json:"status_source"`
	AvatarURL    *string `json:"avatar_url"`
}

// call makes a request and returns the status and the error code of the
// answer ("" when it is not an error).
func call(t *testing.T, s *apptest.Server, method, path, token string, body any) (int, string, []byte) {
	t.Helper()
	var rd *strings.Reader
	if body == nil {
		rd = strings.NewReader("")
	} else {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = io.Copy(&buf, resp.Body)
	raw := []byte(buf.String())
	return resp.StatusCode, apptest.ErrorCode(raw), raw
}

func TestAgentJSONShape(t *testing.T) {
	s := apptest.Start(t, nil)
	admin := s.AddAgent("ann@example.com", "Ann")
	var me map[string]any
	s.Do("GET", "/api/v1/me", admin.Token, nil, http.StatusOK, &me)
	for _, k := range []string{"id", "name", "email", "role", "status", "status_source", "avatar_url", "workspace_id"} {
		if _, ok := me[k]; !ok {
			t.Errorf("GET /me lacks %q: %v", k, me)
		}
	}
	if me["role"] != "admin" || me["status_source"] != "agent" || me["avatar_url"] != nil {
		t.Errorf("GET /me = %v", me)
	}
	var list struct {
		Agents []map[string]any `json:"agents"`
	}
	s.Do("GET", "/api/v1/agents", admin.Token, nil, http.StatusOK, &list)
	if len(list.Agents) != 1 {
		t.Fatalf("agents = %v", list.Agents)
	}
	want := []string{"avatar_url", "email", "id", "name", "role", "status", "status_source"}
	var got []string
	for k := range list.Agents[0] {
		got = append(got, k)
	}
	if len(got) != len(want) {
		t.Errorf("Agent keys = %v, want exactly %v", got, want)
	}
}

func TestAgentRoleRules(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		admin := s.AddAgent("ann@example.com", "Ann")
		agent := s.AddAgent("bob@example.com", "Bob")
		if admin.Role != "admin" || agent.Role != "agent" {
			t.Fatalf("roles: first %q, second %q; want admin then agent", admin.Role, agent.Role)
		}
		other, err := s.App.Chat.CreateWorkspace(t.Context(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		stranger := s.AddAgent("eve@example.com", "Eve", other.ID)
		if stranger.Role != "admin" {
			t.Fatalf("first agent of another workspace is %q, want admin", stranger.Role)
		}

		cases := []struct {
			name, method, path, token string
			body                      any
			status                    int
			code                      string
		}{
			{"agent lists agents", "GET", "/api/v1/agents", agent.Token, nil, 200, ""},
			{"agent invites", "POST", "/api/v1/agents", agent.Token, map[string]string{"email": "x@example.com", "name": "X"}, 403, "forbidden"},
			{"agent renames another", "PATCH", "/api/v1/agents/" + admin.ID, agent.Token, map[string]string{"name": "Z"}, 403, "forbidden"},
			{"agent promotes self", "PATCH", "/api/v1/agents/" + agent.ID, agent.Token, map[string]string{"role": "admin"}, 403, "forbidden"},
			{"agent renames self", "PATCH", "/api/v1/agents/" + agent.ID, agent.Token, map[string]string{"name": "Bobby"}, 200, ""},
			{"agent removes", "DELETE", "/api/v1/agents/" + admin.ID, agent.Token, nil, 403, "forbidden"},
			{"agent changes settings", "PUT", "/api/v1/settings", agent.Token, map[string]string{"email_forwarding": "off"}, 403, "forbidden"},
			{"agent connects a channel", "PUT", "/api/v1/channels/meta", agent.Token, map[string]string{"page_id": "1"}, 403, "forbidden"},
			{"agent disconnects a channel", "DELETE", "/api/v1/channels/meta", agent.Token, nil, 403, "forbidden"},
			{"admin invites with a bad email", "POST", "/api/v1/agents", admin.Token, map[string]string{"email": "not an email", "name": "X"}, 400, "invalid_email"},
			{"admin invites with a bad role", "POST", "/api/v1/agents", admin.Token, map[string]string{"email": "x@example.com", "name": "X", "role": "owner"}, 400, "bad_request"},
			{"admin invites without a name", "POST", "/api/v1/agents", admin.Token, map[string]string{"email": "x@example.com"}, 400, "bad_request"},
			{"admin invites a taken email", "POST", "/api/v1/agents", admin.Token, map[string]string{"email": "BOB@example.com", "name": "B"}, 409, "already_exists"},
			{"admin renames another workspace's agent", "PATCH", "/api/v1/agents/" + stranger.ID, admin.Token, map[string]string{"name": "Z"}, 404, "not_found"},
			{"admin removes another workspace's agent", "DELETE", "/api/v1/agents/" + stranger.ID, admin.Token, nil, 404, "not_found"},
			{"admin removes an unknown agent", "DELETE", "/api/v1/agents/nope", admin.Token, nil, 404, "not_found"},
			{"admin sets a bad role", "PATCH", "/api/v1/agents/" + agent.ID, admin.Token, map[string]string{"role": "root"}, 400, "bad_request"},
			{"last admin demotes self", "PATCH", "/api/v1/agents/" + admin.ID, admin.Token, map[string]string{"role": "agent"}, 409, "last_admin"},
			{"last admin removes self", "DELETE", "/api/v1/agents/" + admin.ID, admin.Token, nil, 409, "last_admin"},
			{"bad time zone", "PUT", "/api/v1/settings", admin.Token, map[string]string{"time_zone": "Mars/Olympus"}, 400, "invalid_time_zone"},
			{"Local is no IANA zone", "PUT", "/api/v1/settings", admin.Token, map[string]string{"time_zone": "Local"}, 400, "invalid_time_zone"},
			{"empty workspace name", "PUT", "/api/v1/settings", admin.Token, map[string]string{"workspace_name": "  "}, 400, "bad_request"},
			{"no token", "GET", "/api/v1/agents", "", nil, 401, "invalid_token"},
		}
		for _, c := range cases {
			status, code, raw := call(t, s, c.method, c.path, c.token, c.body)
			if status != c.status || code != c.code {
				t.Errorf("%s: %d %q, want %d %q (%s)", c.name, status, code, c.status, c.code, raw)
			}
		}

		// Every refusal left things as they were.
		var list struct{ Agents []agentJSON }
		s.Do("GET", "/api/v1/agents", admin.Token, nil, 200, &list)
		if len(list.Agents) != 2 {
			t.Fatalf("agents after the refusals: %+v", list.Agents)
		}
		for _, a := range list.Agents {
			if a.ID == agent.ID && (a.Name != "Bobby" || a.Role != "agent") {
				t.Errorf("Bob after the refusals: %+v", a)
			}
			if a.ID == admin.ID && (a.Name != "Ann" || a.Role != "admin") {
				t.Errorf("Ann after the refusals: %+v", a)
			}
		}

		// Workspace settings: name and time zone.
		var st map[string]any
		s.Do("PUT", "/api/v1/settings", admin.Token, map[string]string{"workspace_name": "Acme Support", "time_zone": "Europe/Paris"}, 200, &st)
		if st["workspace_name"] != "Acme Support" || st["time_zone"] != "Europe/Paris" {
			t.Errorf("settings = %v", st)
		}
		var sess struct {
			WorkspaceName string `json:"workspace_name"`
		}
		s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, 200, &sess)
		if sess.WorkspaceName != "Acme Support" {
			t.Errorf("widget session names the workspace %q", sess.WorkspaceName)
		}

		// With a second admin, the first may step down; the second, now
		// alone, may not.
		var got agentJSON
		s.Do("PATCH", "/api/v1/agents/"+agent.ID, admin.Token, map[string]string{"role": "admin"}, 200, &got)
		if got.Role != "admin" {
			t.Fatalf("promoted agent: %+v", got)
		}
		s.Do("PATCH", "/api/v1/agents/"+admin.ID, admin.Token, map[string]string{"role": "agent"}, 200, &got)
		if status, code, _ := call(t, s, "DELETE", "/api/v1/agents/"+agent.ID, agent.Token, nil); status != 409 || code != "last_admin" {
			t.Errorf("removing the only admin left: %d %q", status, code)
		}
		// Ann is an agent now: admin calls are refused at once.
		if status, code, _ := call(t, s, "POST", "/api/v1/agents", admin.Token, map[string]string{"email": "y@example.com", "name": "Y"}); status != 403 || code != "forbidden" {
			t.Errorf("demoted admin invites: %d %q", status, code)
		}
	})
}

func TestPasswordChange(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		var second struct{ Token string }
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": apptest.AgentPassword}, 200, &second)
		otherWS := s.DialAgent(second.Token)
		ownWS := s.DialAgent(ann.Token)

		cases := []struct {
			name, current, next string
			status              int
			code                string
		}{
			{"wrong current password", "wrong password", "a new long password", 403, "invalid_credentials"},
			{"new password too short", apptest.AgentPassword, "short", 400, "weak_password"},
			{"new password of 7 characters", apptest.AgentPassword, "1234567", 400, "weak_password"},
		}
		for _, c := range cases {
			status, code, raw := call(t, s, "PUT", "/api/v1/me/password", ann.Token, map[string]string{"current_password": c.current, "new_password": c.next})
			if status != c.status || code != c.code {
				t.Errorf("%s: %d %q, want %d %q (%s)", c.name, status, code, c.status, c.code, raw)
			}
		}
		// Nothing changed: the other session still works.
		s.Do("GET", "/api/v1/me", second.Token, nil, 200, nil)

		s.Do("PUT", "/api/v1/me/password", ann.Token, map[string]string{"current_password": apptest.AgentPassword, "new_password": "a new long password"}, 204, nil)
		if status, code, _ := call(t, s, "GET", "/api/v1/me", second.Token, nil); status != 401 || code != "invalid_token" {
			t.Errorf("other session after the change: %d %q", status, code)
		}
		s.Do("GET", "/api/v1/me", ann.Token, nil, 200, nil)
		if got := otherWS.CloseStatus(10 * time.Second); got != websocket.StatusPolicyViolation {
			t.Errorf("the other session's socket closed with %v, want 1008", got)
		}
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "a new long password"}, 200, nil)
		if status, code, _ := call(t, s, "POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": apptest.AgentPassword}); status != 401 || code != "invalid_credentials" {
			t.Errorf("old password: %d %q", status, code)
		}
		// The session that changed it keeps its socket.
		s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, 200, nil)
		if ownWS.WaitFor("agent.updated", 10*time.Second) == nil {
			t.Error("the current session's socket stopped receiving events")
		}
	})
}

func TestRevokedTokensCloseSockets(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		bob := s.AddAgent("bob@example.com", "Bob")

		// Logout closes the sockets of that token only.
		var second struct{ Token string }
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": apptest.AgentPassword}, 200, &second)
		stays := s.DialAgent(second.Token)
		leaves := s.DialAgent(bob.Token)
		s.Do("POST", "/api/v1/auth/logout", bob.Token, nil, 204, nil)
		if got := leaves.CloseStatus(10 * time.Second); got != websocket.StatusPolicyViolation {
			t.Errorf("logged-out socket closed with %v, want 1008", got)
		}
		if status, _, _ := call(t, s, "GET", "/api/v1/me", bob.Token, nil); status != 401 {
			t.Errorf("logged-out token: %d", status)
		}
		s.Do("PUT", "/api/v1/me/status", ann.Token, map[string]string{"status": "online"}, 200, nil)
		if stays.WaitFor("agent.updated", 10*time.Second) == nil {
			t.Fatal("the other session's socket stopped receiving events")
		}

		// Removal closes every socket of the agent and stops every token.
		s.Do("DELETE", "/api/v1/agents/"+bob.ID, ann.Token, nil, 204, nil)
		if got := stays.CloseStatus(10 * time.Second); got != websocket.StatusPolicyViolation {
			t.Errorf("removed agent's socket closed with %v, want 1008", got)
		}
		if status, code, _ := call(t, s, "GET", "/api/v1/me", second.Token, nil); status != 401 || code != "invalid_token" {
			t.Errorf("removed agent's token: %d %q", status, code)
		}
		if status, code, _ := call(t, s, "POST", "/api/v1/auth/login", "", map[string]string{"email": "bob@example.com", "password": apptest.AgentPassword}); status != 401 || code != "invalid_credentials" {
			t.Errorf("removed agent logs in: %d %q", status, code)
		}
		if status, code, _ := call(t, s, "PATCH", "/api/v1/agents/"+bob.ID, ann.Token, map[string]string{"name": "B"}); status != 404 || code != "not_found" {
			t.Errorf("patching a removed agent: %d %q", status, code)
		}
	})
}

// Removing an agent gives their conversations back to nobody, live and
// with a line saying so, and keeps the canned replies they made.
func TestRemovedAgentUnassigned(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		bob := s.AddAgent("bob@example.com", "Bob")
		online(t, s, bob)
		conv := visitorWrote(t, s, "hello")
		s.Do("POST", "/api/v1/conversations/"+conv+"/messages", bob.Token, map[string]string{"body": "Bob here"}, http.StatusCreated, nil)
		s.Do("POST", "/api/v1/canned", bob.Token, map[string]string{"shortcut": "hi", "body": "Hello!"}, http.StatusCreated, nil)
		var c model.Conversation
		s.Do("GET", "/api/v1/conversations/"+conv, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee == nil || c.Assignee.ID != bob.ID {
			t.Fatalf("before removal the assignee is %+v, want Bob (his reply took it)", c.Assignee)
		}
		// The forwarding engine's own update of the conversation (after
		// Bob's reply) must not be taken for the removal's.
		apptest.Eventually(t, 10*time.Second, "the forwarding engine's decision", func() bool {
			var c model.Conversation
			s.Do("GET", "/api/v1/conversations/"+conv, ann.Token, nil, http.StatusOK, &c)
			return c.Forwarding != nil
		})
		ws := s.DialAgent(ann.Token)
		s.Do("DELETE", "/api/v1/agents/"+bob.ID, ann.Token, nil, http.StatusNoContent, nil)
		// The engine's event of the visitor's message may still be on its
		// way (it is published after its commit, which the wait above saw),
		// with Bob as assignee: the removal's event follows it.
		for {
			data, _ := ws.WaitFor("conversation.updated", 5*time.Second)["data"].(map[string]any)
			if data["id"] != conv {
				continue
			}
			if a, ok := data["assignee"]; ok && a == nil {
				break
			}
		}
		s.Do("GET", "/api/v1/conversations/"+conv, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee != nil {
			t.Errorf("after removal the assignee is %+v, want nobody", c.Assignee)
		}
		// The conversation says why nobody has it (its last line named Bob),
		// and the dashboards are told.
		if lines := history(t, s, ann, conv); len(lines) == 0 || lines[len(lines)-1] != "Bob was removed from the team: nobody has the conversation now." {
			t.Errorf("history after removal: %q", lines)
		}
		for {
			data, _ := ws.WaitFor("message.created", 5*time.Second)["data"].(map[string]any)
			if data["conversation_id"] == conv && data["kind"] == "event" {
				break
			}
		}
		var canned struct {
			Canned []struct{ Shortcut string } `json:"canned"`
		}
		s.Do("GET", "/api/v1/canned", ann.Token, nil, http.StatusOK, &canned)
		if len(canned.Canned) != 1 || canned.Canned[0].Shortcut != "hi" {
			t.Errorf("canned replies after removal: %+v", canned.Canned)
		}
	})
}

func TestRemovedAgentMessagesKeepName(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	bob := s.AddAgent("bob@example.com", "Bob")
	s.Do("PUT", "/api/v1/me/status", bob.Token, map[string]string{"status": "online"}, 200, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": s.Workspace.SiteKey}, 200, &sess)
	var msg struct {
		ConversationID string `json:"conversation_id"`
	}
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hello"}, 201, &msg)
	s.Do("POST", "/api/v1/conversations/"+msg.ConversationID+"/messages", bob.Token, map[string]string{"body": "Hi, Bob here"}, 201, nil)
	s.Do("DELETE", "/api/v1/agents/"+bob.ID, ann.Token, nil, 204, nil)
	var list struct {
		Messages []struct {
			Body   string `json:"body"`
			Author struct {
				Name *string `json:"name"`
			} `json:"author"`
		} `json:"messages"`
	}
	s.Do("GET", "/api/v1/conversations/"+msg.ConversationID+"/messages", ann.Token, nil, 200, &list)
	found := false
	for _, m := range list.Messages {
		if m.Body == "Hi, Bob here" {
			found = true
			if m.Author.Name == nil || *m.Author.Name != "Bob" {
				t.Errorf("removed agent's message author: %v", m.Author.Name)
			}
		}
	}
	if !found {
		t.Fatalf("removed agent's message is gone: %+v", list.Messages)
	}
}

func TestInvitation(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		var inv struct {
			Agent     agentJSON `json:"agent"`
			InviteURL string    `json:"invite_url"`
		}
		s.Do("POST", "/api/v1/agents", ann.Token, map[string]string{"email": "Cat@Example.com", "name": "Cat <b>"}, 201, &inv)
		if inv.Agent.Role != "agent" || inv.Agent.Email != "cat@example.com" || !strings.HasPrefix(inv.InviteURL, s.URL+"/invite/") {
			t.Fatalf("invitation: %+v", inv)
		}
		// Not yet able to log in; the invited admin does not count as one.
		if status, _, _ := call(t, s, "POST", "/api/v1/auth/login", "", map[string]string{"email": "cat@example.com", "password": ""}); status != 401 {
			t.Errorf("invited agent logs in without a password: %d", status)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		page, err := client.Get(inv.InviteURL)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, page)
		if page.StatusCode != 200 || !strings.Contains(body, "Cat &lt;b&gt;") || strings.Contains(body, "Cat <b>") {
			t.Fatalf("invite page %d: %s", page.StatusCode, body)
		}
		post := func(pw, confirm string) *http.Response {
			r, err := client.PostForm(inv.InviteURL, url.Values{"password": {pw}, "confirm_password": {confirm}})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		if r := post("short", "short"); r.StatusCode != 400 || !strings.Contains(readAll(t, r), "at least 8 characters") {
			t.Errorf("weak password on the invite page: %d", r.StatusCode)
		}
		if r := post("a long password", "another one"); r.StatusCode != 400 {
			t.Errorf("differing passwords: %d", r.StatusCode)
		}
		r := post("cats like long passwords", "cats like long passwords")
		readAll(t, r)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/dashboard" {
			t.Fatalf("accepting: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
		// Single use.
		again, err := client.Get(inv.InviteURL)
		if err != nil {
			t.Fatal(err)
		}
		if b := readAll(t, again); again.StatusCode != 404 || !strings.Contains(b, "Invitation not valid") {
			t.Errorf("reused link: %d %s", again.StatusCode, b)
		}
		if r := post("cats like long passwords", "cats like long passwords"); r.StatusCode != 404 {
			t.Errorf("reused link accepted: %d", r.StatusCode)
		}
		s.Do("POST", "/api/v1/auth/login", "", map[string]string{"email": "cat@example.com", "password": "cats like long passwords"}, 200, nil)
	})
}

func TestLandingPages(t *testing.T) {
	s := apptest.Start(t, nil)
	cases := []struct {
		name, method, path string
		status             int
		want               string
	}{
		{"unknown page", "GET", "/no/such/page", 404, "Page not found"},
		{"invalid chat link", "GET", "/chat/forged-token", 404, "This chat link does not work"},
		{"invalid unsubscribe link (GET)", "GET", "/unsubscribe/forged-token", 404, "This unsubscribe link does not work"},
		{"invalid unsubscribe link (POST)", "POST", "/unsubscribe/forged-token", 404, "This unsubscribe link does not work"},
		{"invalid invitation", "GET", "/invite/forged-token", 404, "Invitation not valid"},
		{"unknown API endpoint stays JSON", "GET", "/api/v1/nope", 404, `"not_found"`},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, s.URL+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(t, resp)
		if resp.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want %d with %q: %s", c.name, resp.StatusCode, c.status, c.want, body)
		}
		if !strings.HasPrefix(c.path, "/api/") && (!strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "dashboard.css")) {
			t.Errorf("%s: not a styled page: %s", c.name, body)
		}
	}
}

func readAll(t *testing.T, r *http.Response) string {
	t.Helper()
	defer r.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, r.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestInvitationEmailedThroughTheRelay(t *testing.T) {
	relay := apptest.StartRelay(t)
	s := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL, "PARLEY_MAIL_FROM": "chat@acme.example"})
	ann := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/settings", ann.Token, map[string]string{"workspace_name": "Acme"}, 200, nil)
	var inv struct {
		InviteURL string `json:"invite_url"`
	}
	s.Do("POST", "/api/v1/agents", ann.Token, map[string]string{"email": "cat@example.com", "name": "Cat"}, 201, &inv)
	mails := relay.Wait(t, 1, 30*time.Second)
	m := mails[0]
	if m.From != "chat@acme.example" || len(m.To) != 1 || m.To[0] != "cat@example.com" {
		t.Fatalf("envelope from %q to %v", m.From, m.To)
	}
	if subj := m.Msg.Header.Get("Subject"); !strings.Contains(subj, "Acme") {
		t.Errorf("subject %q does not name the workspace", subj)
	}
	if !strings.Contains(string(m.Raw), inv.InviteURL) {
		t.Errorf("the email lacks the link %s:\n%s", inv.InviteURL, m.Raw)
	}
}

// Guesses at the current password in a password change wait as guesses at
// the login form do, and count with them: a dashboard left open is no way
// around the login's lockout.
func TestPasswordChangeGuessesWait(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	change := func(current string) (int, string) {
		status, code, _ := call(t, s, "PUT", "/api/v1/me/password", ann.Token, map[string]string{"current_password": current, "new_password": "a new long password"})
		return status, code
	}
	limited := false
	for i := range 8 {
		status, code := change(fmt.Sprint("guess ", i))
		if status == http.StatusTooManyRequests && code == "rate_limited" {
			limited = true
			break
		}
		if status != http.StatusForbidden || code != "invalid_credentials" {
			t.Fatalf("guess %d: %d %q", i+1, status, code)
		}
	}
	if !limited {
		t.Fatal("eight wrong current passwords, none refused as too many")
	}
	if status, code := change(apptest.AgentPassword); status != http.StatusTooManyRequests {
		t.Errorf("the right password during the wait: %d %q, want 429", status, code)
	}
	if status, code, _ := call(t, s, "POST", "/api/v1/auth/login", "", map[string]string{"email": "ann@example.com", "password": "one more guess"}); status != http.StatusTooManyRequests {
		t.Errorf("a login guess after them: %d %q, want 429", status, code)
	}
}

// An invitation whose link expired (or was lost) says so in Settings →
// Agents, and an admin makes a new link there: it works, the old one no
// longer does. An accepted invitation cannot be renewed.
func TestInvitationRenewed(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		var inv struct {
			Agent     agentJSON `json:"agent"`
			InviteURL string    `json:"invite_url"`
		}
		s.Do("POST", "/api/v1/agents", ann.Token, map[string]string{"email": "cat@example.com", "name": "Cat"}, 201, &inv)
		b := newBrowser(t, s)
		b.login("ann@example.com")
		page := b.get("/dashboard/settings/agents")
		mustContain(t, "agents", page.Body, "Invitation pending")
		mustContain(t, "agents", page.Body, `data-testid="renew-invite"`)

		// A week later: expired.
		if _, err := s.App.DB.SQL.Exec(`UPDATE agent_invites SET expires_at = created_at - 1000`); err != nil {
			t.Fatal(err)
		}
		page = b.get("/dashboard/settings/agents")
		mustContain(t, "agents", page.Body, "Invitation expired")
		renewed := b.post("/dashboard/settings/agents/"+inv.Agent.ID+"/invite", url.Values{})
		if renewed.Status != http.StatusOK {
			t.Fatalf("renewing: %d %s", renewed.Status, renewed.Body)
		}
		link := regexp.MustCompile(`data-testid="invite-url">([^<]+)<`).FindStringSubmatch(renewed.Body)
		if link == nil || link[1] == inv.InviteURL {
			t.Fatalf("no new link in the answer: %v", link)
		}
		mustContain(t, "agents", renewed.Body, "Invitation pending")
		for u, want := range map[string]int{inv.InviteURL: 404, html.UnescapeString(link[1]): 200} {
			res, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, res)
			if res.StatusCode != want {
				t.Errorf("%s: %d, want %d", u, res.StatusCode, want)
			}
		}
		// Once accepted, nothing to renew.
		res, err := http.PostForm(html.UnescapeString(link[1]), url.Values{"password": {"cats like long passwords"}, "confirm_password": {"cats like long passwords"}})
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, res)
		if again := b.post("/dashboard/settings/agents/"+inv.Agent.ID+"/invite", url.Values{}); again.Status != http.StatusBadRequest || !strings.Contains(again.Body, "accepted their invitation already") {
			t.Errorf("renewing an accepted invitation: %d", again.Status)
		}
		mustNotContain(t, "agents", b.get("/dashboard/settings/agents").Body, `data-testid="renew-invite"`)
	})
}
