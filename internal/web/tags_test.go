package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

type tagsAnswer struct {
	Tags []model.WorkspaceTag `json:"tags"`
}

func putTags(t *testing.T, s *apptest.Server, token, conv string, tags ...string) model.Conversation {
	t.Helper()
	var c model.Conversation
	s.Do("PUT", "/api/v1/conversations/"+conv+"/tags", token, map[string]any{"tags": append([]string{}, tags...)}, http.StatusOK, &c)
	return c
}

func TestTagsAPI(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		admin := s.AddAgent("ann@example.com", "Ann")
		online(t, s, admin)
		// Any agent may tag, not only admins.
		bob := s.AddAgent("bob@example.com", "Bob")
		other, err := s.App.Chat.CreateWorkspace(context.Background(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		eve := s.AddAgent("eve@example.com", "Eve", other.ID)
		online(t, s, eve)
		c1 := visitorWrote(t, s, "first")
		c2 := visitorWrote(t, s, "second")
		c3 := visitorWrote(t, s, "third")

		// A conversation's tags are always an array.
		raw := s.Do("GET", "/api/v1/conversations/"+c1, bob.Token, nil, http.StatusOK, nil)
		if !strings.Contains(string(raw), `"tags":[]`) {
			t.Fatalf("untagged conversation does not say \"tags\":[]: %s", raw)
		}

		sets := []struct {
			name, conv string
			tags       []string
			want       string
		}{
			{"sorted without regard to case", c1, []string{"vip", "Billing", "  Refund   request "}, "[Billing Refund request vip]"},
			{"the workspace's first spelling wins", c2, []string{"BILLING", "billing", "Shipping/EU"}, "[Billing Shipping/EU]"},
			{"letters of any script", c3, []string{"Café", "Größe", "Dringend_2.0"}, "[Café Dringend_2.0 Größe]"},
			{"replaced", c3, []string{"vip", "cafe"}, "[cafe vip]"},
			{"ten is the most", c3, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}, "[a b c d e f g h i j]"},
			{"the same ten again", c3, []string{"A", "b", "c", "d", "e", "f", "g", "h", "i", "J"}, "[a b c d e f g h i j]"},
			{"emptied", c3, []string{}, "[]"},
		}
		for _, tt := range sets {
			c := putTags(t, s, bob.Token, tt.conv, tt.tags...)
			if got := fmt.Sprint(c.Tags); got != tt.want {
				t.Errorf("%s: answered %s, want %s", tt.name, got, tt.want)
			}
			var again model.Conversation
			s.Do("GET", "/api/v1/conversations/"+tt.conv, admin.Token, nil, http.StatusOK, &again)
			if got := fmt.Sprint(again.Tags); got != tt.want {
				t.Errorf("%s: read back %s, want %s", tt.name, got, tt.want)
			}
		}

		eleven := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"}
		refused := []struct {
			name, conv, token string
			body              any
			status            int
			code, names       string
		}{
			{"punctuation", c1, bob.Token, map[string]any{"tags": []string{"ok", "<b>x</b>"}}, 400, "invalid_tag", "<b>x</b>"},
			{"a comma", c1, bob.Token, map[string]any{"tags": []string{"a,b"}}, 400, "invalid_tag", "a,b"},
			{"an emoji", c1, bob.Token, map[string]any{"tags": []string{"hot 🔥"}}, 400, "invalid_tag", "hot"},
			{"a right-to-left mark", c1, bob.Token, map[string]any{"tags": []string{"abc\u202edef"}}, 400, "invalid_tag", "abc"},
			{"a tab inside", c1, bob.Token, map[string]any{"tags": []string{"a\tb"}}, 400, "invalid_tag", `a\tb`},
			{"empty", c1, bob.Token, map[string]any{"tags": []string{"   "}}, 400, "invalid_tag", `"   "`},
			{"33 characters", c1, bob.Token, map[string]any{"tags": []string{strings.Repeat("x", 33)}}, 400, "invalid_tag", strings.Repeat("x", 33)},
			{"eleven", c1, bob.Token, map[string]any{"tags": eleven}, 400, "invalid_tag", `"k"`},
			{"not strings", c1, bob.Token, `{"tags":[1]}`, 400, "bad_request", ""},
			{"no tags field", c1, bob.Token, `{}`, 400, "bad_request", ""},
			{"another workspace's conversation", c1, eve.Token, map[string]any{"tags": []string{"x"}}, 404, "not_found", ""},
			{"no such conversation", "nope", bob.Token, map[string]any{"tags": []string{"x"}}, 404, "not_found", ""},
			{"no token", c1, "", map[string]any{"tags": []string{"x"}}, 401, "invalid_token", ""},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				raw := s.Do("PUT", "/api/v1/conversations/"+tt.conv+"/tags", tt.token, tt.body, tt.status, nil)
				if got := apptest.ErrorCode(raw); got != tt.code {
					t.Errorf("code %q, want %q (%s)", got, tt.code, raw)
				}
				var e struct {
					Error struct{ Message string } `json:"error"`
				}
				_ = json.Unmarshal(raw, &e)
				if !strings.Contains(e.Error.Message, tt.names) {
					t.Errorf("message %q does not name %q", e.Error.Message, tt.names)
				}
			})
		}
		var c model.Conversation
		s.Do("GET", "/api/v1/conversations/"+c1, bob.Token, nil, http.StatusOK, &c)
		if got := fmt.Sprint(c.Tags); got != "[Billing Refund request vip]" {
			t.Errorf("refused sets changed the tags to %s", got)
		}

		// The filter: any case, with the status and assignee filters.
		putTags(t, s, bob.Token, c3, "billing")
		s.Do("POST", "/api/v1/conversations/"+c2+"/close", bob.Token, nil, http.StatusOK, nil)
		s.Do("PUT", "/api/v1/conversations/"+c3+"/assignee", bob.Token, map[string]any{"agent_id": bob.ID}, http.StatusOK, nil)
		putTags(t, s, eve.Token, visitorWroteIn(t, s, other.SiteKey), "Billing")
		filters := []struct {
			token, query string
			want         []string
		}{
			{bob.Token, "tag=Billing", []string{c3, c1}},
			{bob.Token, "tag=bILLING&status=all", []string{c3, c2, c1}},
			{bob.Token, "tag=billing&status=closed", []string{c2}},
			{bob.Token, "tag=billing&assignee=me", []string{c3}},
			{bob.Token, "tag=billing&assignee=none&status=all", []string{c2, c1}},
			{bob.Token, "tag=" + url.QueryEscape("refund  REQUEST"), []string{c1}},
			{bob.Token, "tag=nobody", []string{}},
			{bob.Token, "tag=Billing&limit=1", []string{c3}},
		}
		for _, f := range filters {
			var l listAnswer
			s.Do("GET", "/api/v1/conversations?"+f.query, f.token, nil, http.StatusOK, &l)
			if got := fmt.Sprint(ids(l.Conversations)); got != fmt.Sprint(f.want) {
				t.Errorf("?%s: %v, want %v", f.query, got, f.want)
			}
		}
		raw = s.Do("GET", "/api/v1/conversations?tag="+url.QueryEscape("<x>"), bob.Token, nil, http.StatusBadRequest, nil)
		if got := apptest.ErrorCode(raw); got != "invalid_tag" {
			t.Errorf("?tag=<x>: code %q, want invalid_tag", got)
		}

		// The workspace's tags in use, with their open conversations.
		var tags tagsAnswer
		s.Do("GET", "/api/v1/tags", bob.Token, nil, http.StatusOK, &tags)
		want := []model.WorkspaceTag{
			{Name: "Billing", OpenConversations: 2, Conversations: 3},
			{Name: "Refund request", OpenConversations: 1, Conversations: 1},
			{Name: "Shipping/EU", OpenConversations: 0, Conversations: 1},
			{Name: "vip", OpenConversations: 1, Conversations: 1},
		}
		if fmt.Sprint(tags.Tags) != fmt.Sprint(want) {
			t.Errorf("tags in use: %+v, want %+v", tags.Tags, want)
		}
		s.Do("GET", "/api/v1/tags", eve.Token, nil, http.StatusOK, &tags)
		if fmt.Sprint(tags.Tags) != fmt.Sprint([]model.WorkspaceTag{{Name: "Billing", OpenConversations: 1, Conversations: 1}}) {
			t.Errorf("the other workspace's tags: %+v", tags.Tags)
		}
		s.Do("GET", "/api/v1/tags", "", nil, http.StatusUnauthorized, nil)
	})
}

// visitorWroteIn makes a visitor of the site who wrote; it returns the
// conversation's id.
func visitorWroteIn(t *testing.T, s *apptest.Server, siteKey string) string {
	t.Helper()
	sess := newSession(t, s, siteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "hi", "client_id": "c1"}, http.StatusCreated, &m)
	return m.ConversationID
}

// A change of tags reaches the dashboards and the webhooks as
// conversation.updated with the conversation; setting the same tags again
// tells nobody.
func TestTagsPushEvent(t *testing.T) {
	hooks := make(chan []byte, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hooks <- b
	}))
	defer receiver.Close()
	s := apptest.Start(t, map[string]string{"PARLEY_WEBHOOK_ALLOW_PRIVATE": "1", "PARLEY_WEBHOOK_RETRY_BASE": "50ms"})
	ann := s.AddAgent("ann@example.com", "Ann")
	online(t, s, ann)
	bob := s.AddAgent("bob@example.com", "Bob")
	s.Do("POST", "/api/v1/webhooks", ann.Token, map[string]any{"url": receiver.URL, "events": []string{"conversation.updated"}}, http.StatusCreated, nil)
	c1 := visitorWrote(t, s, "hello")
	ws := s.DialAgent(ann.Token)

	putTags(t, s, bob.Token, c1, "Billing", "Größe/EU")
	for {
		ev := ws.WaitFor("conversation.updated", 5*time.Second)
		d, _ := ev["data"].(map[string]any)
		if d["id"] != c1 || fmt.Sprint(d["tags"]) != "[Billing Größe/EU]" {
			continue
		}
		break
	}
	select {
	case b := <-hooks:
		var body struct {
			Type string             `json:"type"`
			Data model.Conversation `json:"data"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			t.Fatalf("webhook body %s: %v", b, err)
		}
		if body.Type != "conversation.updated" || body.Data.ID != c1 || fmt.Sprint(body.Data.Tags) != "[Billing Größe/EU]" {
			t.Errorf("webhook %s", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivery of the tags")
	}

	// The same tags in another case change nothing, and tell nobody.
	putTags(t, s, bob.Token, c1, "billing", "größe/eu")
	ws.None("conversation.updated", 300*time.Millisecond)
	select {
	case b := <-hooks:
		t.Errorf("a change of nothing was delivered: %s", b)
	case <-time.After(300 * time.Millisecond):
	}
}

// The dashboard's tag forms work without its script: a tag is added and
// removed, a refused one comes back escaped beside the field, the list
// shows three tags a row and counts the others, and ?tag= filters the list
// and stays through the forms.
func TestDashboardTags(t *testing.T) {
	srv, agent, b := setup(t)
	online(t, srv, agent)
	vc := newConversation(t, srv, srv.Workspace.SiteKey, "Vera", "My invoice")
	other := newConversation(t, srv, srv.Workspace.SiteKey, "Olaf", "Shipping?")
	conv := "/dashboard/conversations/" + vc.ConversationID
	b.get(conv)

	a := b.post(conv+"/tags", url.Values{"tag": {"Billing"}, "filter": {"open"}, "view": {"all"}, "list_tag": {"Billing"}})
	if a.Status != http.StatusSeeOther || a.Location != conv+"?tag=Billing" {
		t.Fatalf("add: %d %q", a.Status, a.Location)
	}
	a = b.post(conv+"/tags", url.Values{"tag": {`<img src=x onerror=alert(1)>`}})
	if a.Status != http.StatusBadRequest {
		t.Fatalf("refused tag: %d", a.Status)
	}
	mustContain(t, "refused tag", a.Body, `data-testid="tag-error"`, `value="&lt;img src=x onerror=alert(1)&gt;"`, `aria-invalid="true"`)
	mustNotContain(t, "refused tag", a.Body, `<img src=x`)
	putTags(t, srv, agent.Token, vc.ConversationID, "Billing", "VIP", "Refund", "Urgent", "Later")

	list := b.get("/dashboard").Body
	mustContain(t, "list", list, `aria-label="Tags"`, `>Billing</a>`, `>Later</a>`, `>Refund</a>`, `<span aria-hidden="true">+2</span>`, `title="Urgent, VIP"`)
	mustNotContain(t, "list", list, `>Urgent</a>`)

	page := b.get("/dashboard/conversations/" + vc.ConversationID)
	mustContain(t, "conversation", page.Body, `aria-label="Remove tag Urgent"`, `data-testid="add-tag"`, `<datalist id="tag-suggestions"`)

	filtered := b.get("/dashboard?tag=billing&status=all")
	mustContain(t, "filtered list", filtered.Body, `data-testid="tag-filter"`, `Tag: <span class="tag-chip">Billing`,
		`href="/dashboard?status=all"`, `data-testid="count-all">1<`, vc.ConversationID, `data-tag="billing"`)
	mustNotContain(t, "filtered list", filtered.Body, other.ConversationID)
	empty := b.get("/dashboard?tag=Nobody")
	mustContain(t, "list of a tag nobody has", empty.Body, "No open conversations tagged Nobody.")

	a = b.post(conv+"/tags/remove", url.Values{"tag": {"billing"}, "list_tag": {"VIP"}, "filter": {"all"}})
	if a.Status != http.StatusSeeOther || a.Location != conv+"?status=all&tag=VIP" {
		t.Fatalf("remove: %d %q", a.Status, a.Location)
	}
	var c model.Conversation
	srv.Do("GET", "/api/v1/conversations/"+vc.ConversationID, agent.Token, nil, http.StatusOK, &c)
	if fmt.Sprint(c.Tags) != "[Later Refund Urgent VIP]" {
		t.Errorf("tags after the forms: %v", c.Tags)
	}
}
