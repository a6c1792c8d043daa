package web_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"golang.org/x/net/html"
)

// visitorWrote makes a visitor who wrote body; it returns the
// conversation's id.
func visitorWrote(t *testing.T, s *apptest.Server, body string) string {
	t.Helper()
	sess := newSession(t, s, s.Workspace.SiteKey, "")
	var m model.Message
	s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "c1"}, http.StatusCreated, &m)
	return m.ConversationID
}

// online sets an agent online, so visitors may write without the contact form.
func online(t *testing.T, s *apptest.Server, a apptest.Agent) {
	t.Helper()
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
}

type listAnswer struct {
	Conversations []model.Conversation `json:"conversations"`
	NextCursor    *string              `json:"next_cursor"`
}

func ids(cs []model.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestAssign(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		online(t, s, ann)
		bob := s.AddAgent("bob@example.com", "Bob")
		other, err := s.App.Chat.CreateWorkspace(context.Background(), "Other")
		if err != nil {
			t.Fatal(err)
		}
		eve := s.AddAgent("eve@example.com", "Eve", other.ID)
		c1 := visitorWrote(t, s, "first")
		c2 := visitorWrote(t, s, "second")

		var c model.Conversation
		s.Do("GET", "/api/v1/conversations/"+c1, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee != nil {
			t.Fatalf("new conversation assigned to %+v", c.Assignee)
		}
		raw := s.Do("GET", "/api/v1/conversations/"+c1, ann.Token, nil, http.StatusOK, nil)
		if !strings.Contains(string(raw), `"assignee":null`) {
			t.Errorf("unassigned conversation does not say \"assignee\":null: %s", raw)
		}

		s.Do("PUT", "/api/v1/conversations/"+c1+"/assignee", ann.Token, map[string]any{"agent_id": bob.ID}, http.StatusOK, &c)
		if c.Assignee == nil || c.Assignee.ID != bob.ID || c.Assignee.Name != "Bob" {
			t.Fatalf("assignee %+v, want Bob", c.Assignee)
		}

		refused := []struct {
			name, conv, token string
			body              any
			status            int
			code              string
		}{
			{"another workspace's agent", c1, ann.Token, map[string]any{"agent_id": eve.ID}, 400, "invalid_agent"},
			{"no such agent", c1, ann.Token, map[string]any{"agent_id": "nobody"}, 400, "invalid_agent"},
			{"another workspace's conversation", c1, eve.Token, map[string]any{"agent_id": eve.ID}, 404, "not_found"},
			{"no such conversation", "nope", ann.Token, map[string]any{"agent_id": ann.ID}, 404, "not_found"},
			{"agent id not a string", c1, ann.Token, `{"agent_id":5}`, 400, "bad_request"},
			{"no agent id", c1, ann.Token, `{}`, 400, "bad_request"},
			{"agent id misspelled", c1, ann.Token, map[string]any{"agentId": nil}, 400, "bad_request"},
			{"malformed JSON", c1, ann.Token, `{"agent_id":`, 400, "bad_request"},
			{"no token", c1, "", map[string]any{"agent_id": ann.ID}, 401, "invalid_token"},
		}
		for _, tt := range refused {
			t.Run(tt.name, func(t *testing.T) {
				raw := s.Do("PUT", "/api/v1/conversations/"+tt.conv+"/assignee", tt.token, tt.body, tt.status, nil)
				if got := apptest.ErrorCode(raw); got != tt.code {
					t.Errorf("code %q, want %q (%s)", got, tt.code, raw)
				}
			})
		}
		s.Do("GET", "/api/v1/conversations/"+c1, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee == nil || c.Assignee.ID != bob.ID {
			t.Fatalf("a refused assignment changed the assignee to %+v", c.Assignee)
		}

		// Filters: me, none, an agent's id.
		filters := []struct {
			token, query string
			want         []string
		}{
			{bob.Token, "assignee=me", []string{c1}},
			{ann.Token, "assignee=me", []string{}},
			{ann.Token, "assignee=none", []string{c2}},
			{ann.Token, "assignee=" + bob.ID, []string{c1}},
			{ann.Token, "", []string{c2, c1}},
			{ann.Token, "status=closed&assignee=" + bob.ID, []string{}},
		}
		for _, f := range filters {
			var l listAnswer
			s.Do("GET", "/api/v1/conversations?"+f.query, f.token, nil, http.StatusOK, &l)
			if got := fmt.Sprint(ids(l.Conversations)); got != fmt.Sprint(f.want) {
				t.Errorf("?%s: %v, want %v", f.query, got, f.want)
			}
		}
		raw = s.Do("GET", "/api/v1/conversations?assignee="+eve.ID, ann.Token, nil, http.StatusBadRequest, nil)
		if apptest.ErrorCode(raw) != "invalid_agent" {
			t.Errorf("filter by another workspace's agent: %s", raw)
		}

		// Unassign; then a reply takes the conversation, and a reply by
		// someone else leaves it with them.
		s.Do("PUT", "/api/v1/conversations/"+c1+"/assignee", ann.Token, map[string]any{"agent_id": nil}, http.StatusOK, &c)
		if c.Assignee != nil {
			t.Fatalf("unassigned conversation has %+v", c.Assignee)
		}
		s.Do("POST", "/api/v1/conversations/"+c1+"/messages", ann.Token, map[string]string{"kind": "comment", "body": "note"}, http.StatusCreated, nil)
		s.Do("GET", "/api/v1/conversations/"+c1, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee != nil {
			t.Fatalf("an internal note took the conversation: %+v", c.Assignee)
		}
		s.Do("POST", "/api/v1/conversations/"+c1+"/messages", ann.Token, map[string]string{"body": "Hello"}, http.StatusCreated, nil)
		s.Do("POST", "/api/v1/conversations/"+c1+"/messages", bob.Token, map[string]string{"body": "Hi too"}, http.StatusCreated, nil)
		s.Do("GET", "/api/v1/conversations/"+c1, ann.Token, nil, http.StatusOK, &c)
		if c.Assignee == nil || c.Assignee.ID != ann.ID {
			t.Fatalf("after Ann's then Bob's reply the assignee is %+v, want Ann", c.Assignee)
		}
	})
}

// An assignment reaches every open dashboard as conversation.updated.
func TestAssignPushesEvent(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	online(t, s, ann)
	bob := s.AddAgent("bob@example.com", "Bob")
	c1 := visitorWrote(t, s, "hello")
	ws := s.DialAgent(bob.Token)
	s.Do("PUT", "/api/v1/conversations/"+c1+"/assignee", ann.Token, map[string]any{"agent_id": bob.ID}, http.StatusOK, nil)
	for {
		ev := ws.WaitFor("conversation.updated", 5*time.Second)
		d, _ := ev["data"].(map[string]any)
		if d["id"] != c1 {
			continue
		}
		as, _ := d["assignee"].(map[string]any)
		if as == nil {
			continue
		}
		if as["id"] != bob.ID || as["name"] != "Bob" {
			t.Fatalf("event assignee %v", as)
		}
		return
	}
}

// The conversation.updated of an assignment names the agent who made it
// (by), whether they chose in a menu or took the conversation by replying;
// other updates name nobody.
func TestAssignmentEventSaysWho(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	online(t, s, ann)
	bob := s.AddAgent("bob@example.com", "Bob")
	c1, c2 := visitorWrote(t, s, "hello"), visitorWrote(t, s, "hi")
	ws := s.DialAgent(bob.Token)
	reply := func(a apptest.Agent, conv, kind string) {
		s.Do("POST", "/api/v1/conversations/"+conv+"/messages", a.Token, map[string]string{"body": "On it.", "kind": kind}, http.StatusCreated, nil)
	}
	assign := func(a apptest.Agent, conv string, to any) {
		s.Do("PUT", "/api/v1/conversations/"+conv+"/assignee", a.Token, map[string]any{"agent_id": to}, http.StatusOK, nil)
	}
	tests := []struct {
		name     string
		do       func()
		conv     string
		assignee string // "" for nobody
		by       string
	}{
		{"a colleague's choice", func() { assign(ann, c1, bob.ID) }, c1, bob.ID, ann.ID},
		{"the same choice again", func() { assign(ann, c1, bob.ID) }, c1, bob.ID, ""},
		{"a reply to a colleague's", func() { reply(ann, c1, "reply") }, c1, bob.ID, ""},
		{"a note on an unassigned one", func() { reply(ann, c2, "comment") }, c2, "", ""},
		{"a reply that takes it", func() { reply(bob, c2, "reply") }, c2, bob.ID, bob.ID},
		{"given back to nobody", func() { assign(bob, c2, nil) }, c2, "", bob.ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do()
			for {
				ev := ws.WaitFor("conversation.updated", 5*time.Second)
				d, _ := ev["data"].(map[string]any)
				if d["id"] != tt.conv {
					continue
				}
				assignee := ""
				if as, _ := d["assignee"].(map[string]any); as != nil {
					assignee, _ = as["id"].(string)
				}
				by, _ := ev["by"].(string)
				if assignee != tt.assignee || by != tt.by {
					t.Errorf("assignee %q by %q, want %q by %q", assignee, by, tt.assignee, tt.by)
				}
				return
			}
		})
	}
}

// Two agents answering the same unassigned conversations at once: each
// is taken by one of them, and only that one's reply names an assigner,
// itself (the other read the conversation unassigned too).
func TestAssignmentEventWhenTwoReplyAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		bob := s.AddAgent("bob@example.com", "Bob")
		convs := make(map[string]bool)
		for range 20 {
			convs[visitorWrote(t, s, "hello")] = true
		}
		ws := s.DialAgent(ann.Token)
		atOnce(t, s, slices.Collect(maps.Keys(convs)), "POST", "/messages", http.StatusCreated, []apptest.Agent{ann, bob}, func(apptest.Agent) string { return `{"body":"On it.","kind":"reply"}` })
		for seen := 0; seen < 2*len(convs); {
			ev := ws.WaitFor("conversation.updated", 5*time.Second)
			d, _ := ev["data"].(map[string]any)
			if id, _ := d["id"].(string); !convs[id] {
				continue
			}
			seen++
			by, _ := ev["by"].(string)
			as, _ := d["assignee"].(map[string]any)
			if by != "" && (as == nil || as["id"] != by) {
				t.Errorf("conversation %v: an event by %s with assignee %v", d["id"], by, as)
			}
		}
	})
}

// Two agents taking the same conversations at the same moment: the
// history tells what happened, in order: the first took it from nobody,
// the second from the first, and the second has it.
func TestTwoAgentsTakeAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		bob := s.AddAgent("bob@example.com", "Bob")
		names := map[string]string{ann.ID: "Ann", bob.ID: "Bob"}
		var convs []string
		for range 20 {
			convs = append(convs, visitorWrote(t, s, "hello"))
		}
		atOnce(t, s, convs, "PUT", "/assignee", http.StatusOK, []apptest.Agent{ann, bob}, func(a apptest.Agent) string { return `{"agent_id":"` + a.ID + `"}` })
		for _, id := range convs {
			var c model.Conversation
			s.Do("GET", "/api/v1/conversations/"+id, ann.Token, nil, http.StatusOK, &c)
			lines := history(t, s, ann, id)
			if c.Assignee == nil {
				t.Fatalf("conversation %s: nobody has it", id)
			}
			last := names[c.Assignee.ID]
			first := "Ann"
			if last == "Ann" {
				first = "Bob"
			}
			want := []string{first + " took the conversation.", last + " took the conversation from " + first + "."}
			if !slices.Equal(lines, want) {
				t.Errorf("conversation %s, %s's: history %q, want %q", id, last, lines, want)
			}
		}
	})
}

// Two agents closing a conversation at the same moment leave one line.
func TestTwoAgentsCloseAtOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		bob := s.AddAgent("bob@example.com", "Bob")
		var convs []string
		for range 20 {
			convs = append(convs, visitorWrote(t, s, "hello"))
		}
		atOnce(t, s, convs, "POST", "/close", http.StatusOK, []apptest.Agent{ann, bob}, func(apptest.Agent) string { return "" })
		for _, id := range convs {
			if lines := history(t, s, ann, id); len(lines) != 1 || !strings.HasSuffix(lines[0], " closed the conversation.") {
				t.Errorf("conversation %s: history %q, want one close", id, lines)
			}
		}
	})
}

// atOnce sends, for each conversation, the same request from each agent at
// the same moment (method on /api/v1/conversations/ID+path, the body
// body(agent)), and fails on any answer but want.
func atOnce(t *testing.T, s *apptest.Server, convs []string, method, path string, want int, agents []apptest.Agent, body func(apptest.Agent) string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(agents)*len(convs))
	for _, id := range convs {
		for _, a := range agents {
			wg.Go(func() {
				req, _ := http.NewRequest(method, s.URL+"/api/v1/conversations/"+id+path, strings.NewReader(body(a)))
				req.Header.Set("Authorization", "Bearer "+a.Token)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err == nil {
					res.Body.Close()
					if res.StatusCode != want {
						err = fmt.Errorf("%s %s: %s", method, path, res.Status)
					}
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// history is a conversation's lines for agents (assignments, closes), in
// order.
func history(t *testing.T, s *apptest.Server, a apptest.Agent, id string) []string {
	t.Helper()
	var list struct{ Messages []model.Message }
	s.Do("GET", "/api/v1/conversations/"+id+"/messages", a.Token, nil, http.StatusOK, &list)
	var lines []string
	for _, m := range list.Messages {
		if m.Kind == model.KindEvent {
			lines = append(lines, m.Body)
		}
	}
	return lines
}

// A person whose invitation is pending cannot log in to see what they
// would be given: assigning them is refused as for a removed agent, and
// the dashboard's assign menus leave them out until they accepted.
func TestPendingInviteeNotAssignable(t *testing.T) {
	eachDB(t, nil, func(t *testing.T, s *apptest.Server) {
		ada := s.AddAgent("ada@example.com", "Ada")
		online(t, s, ada)
		b := newBrowser(t, s)
		b.login("ada@example.com")
		conv := visitorWrote(t, s, "hello")
		var inv struct {
			Agent     agentJSON `json:"agent"`
			InviteURL string    `json:"invite_url"`
		}
		s.Do("POST", "/api/v1/agents", ada.Token, map[string]string{"email": "cat@example.com", "name": "Cat"}, http.StatusCreated, &inv)
		cat := inv.Agent.ID
		option := `<option value="` + cat + `"`

		raw := s.Do("PUT", "/api/v1/conversations/"+conv+"/assignee", ada.Token, map[string]string{"agent_id": cat}, http.StatusBadRequest, nil)
		if apptest.ErrorCode(raw) != "invalid_agent" {
			t.Errorf("assigning a pending invitee: %s", raw)
		}
		var c model.Conversation
		s.Do("GET", "/api/v1/conversations/"+conv, ada.Token, nil, http.StatusOK, &c)
		if c.Assignee != nil {
			t.Errorf("the refused assignment stored: %+v", c.Assignee)
		}
		// The list's filter by agent still names them (nothing is theirs).
		s.Do("GET", "/api/v1/conversations?assignee="+cat, ada.Token, nil, http.StatusOK, nil)
		for _, path := range []string{"/dashboard", "/dashboard/conversations/" + conv} {
			page := b.get(path)
			mustContain(t, path, page.Body, `<option value="`+ada.ID+`"`)
			mustNotContain(t, path, page.Body, option)
		}

		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		r, err := client.PostForm(inv.InviteURL, url.Values{"password": {"cats like long passwords"}, "confirm_password": {"cats like long passwords"}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("accepting the invitation: %d", r.StatusCode)
		}
		s.Do("PUT", "/api/v1/conversations/"+conv+"/assignee", ada.Token, map[string]string{"agent_id": cat}, http.StatusOK, &c)
		if c.Assignee == nil || c.Assignee.ID != cat {
			t.Errorf("assigning the agent who accepted: %+v", c.Assignee)
		}
		mustContain(t, "the dashboard once accepted", b.get("/dashboard").Body, option)
	})
}

func TestListPagingErrors(t *testing.T) {
	s := apptest.Start(t, nil)
	ann := s.AddAgent("ann@example.com", "Ann")
	online(t, s, ann)
	visitorWrote(t, s, "hello")
	for _, q := range []string{"limit=0", "limit=-1", "limit=abc", "cursor=garbage", "cursor=" + url.QueryEscape("YWJj"), "status=nope"} {
		raw := s.Do("GET", "/api/v1/conversations?"+q, ann.Token, nil, http.StatusBadRequest, nil)
		if apptest.ErrorCode(raw) != "bad_request" {
			t.Errorf("?%s: %s", q, raw)
		}
	}
	var l listAnswer
	s.Do("GET", "/api/v1/conversations?limit=1000", ann.Token, nil, http.StatusOK, &l)
	if len(l.Conversations) != 1 || l.NextCursor != nil {
		t.Errorf("limit=1000: %d conversations, next %v", len(l.Conversations), l.NextCursor)
	}
}

// Following next_cursor lists every conversation once, while new
// conversations arrive and conversations not listed yet, and some listed
// already, get new messages and move to the front.
func TestListPagingWhileConversationsMove(t *testing.T) {
	// Many visitors write from one address: the per-address limits are off.
	eachDB(t, map[string]string{"PARLEY_RATE_LIMITS": "off"}, func(t *testing.T, s *apptest.Server) {
		ann := s.AddAgent("ann@example.com", "Ann")
		online(t, s, ann)
		online(t, s, ann)
		const n = 23
		tokens := map[string]string{}
		var all []string
		for i := 0; i < n; i++ {
			sess := newSession(t, s, s.Workspace.SiteKey, "")
			var m model.Message
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": fmt.Sprint("message ", i), "client_id": "c"}, http.StatusCreated, &m)
			tokens[m.ConversationID] = sess.VisitorToken
			all = append(all, m.ConversationID)
		}
		// Newest activity first: the last made is first.
		want := make([]string, n)
		for i := range all {
			want[n-1-i] = all[i]
		}

		seen := map[string]int{}
		var order []string
		cursor := ""
		for page := 0; ; page++ {
			q := "?status=all&limit=5"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			var l listAnswer
			s.Do("GET", "/api/v1/conversations"+q, ann.Token, nil, http.StatusOK, &l)
			for _, c := range l.Conversations {
				seen[c.ID]++
				order = append(order, c.ID)
			}
			if l.NextCursor == nil {
				break
			}
			cursor = *l.NextCursor
			// Between pages: a new conversation, a message in the oldest
			// conversation (not listed yet), one in the newest (listed
			// already), an agent's reply and an internal note in the middle.
			visitorWrote(t, s, fmt.Sprint("new during page ", page))
			oldest, newest, middle := all[page], all[n-1-page], all[n/2]
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tokens[oldest], "body": "again", "client_id": fmt.Sprint("o", page)}, http.StatusCreated, nil)
			s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tokens[newest], "body": "again", "client_id": fmt.Sprint("n", page)}, http.StatusCreated, nil)
			s.Do("POST", "/api/v1/conversations/"+middle+"/messages", ann.Token, map[string]string{"body": "a reply"}, http.StatusCreated, nil)
			s.Do("POST", "/api/v1/conversations/"+middle+"/messages", ann.Token, map[string]string{"body": "a note", "kind": "comment"}, http.StatusCreated, nil)
			if page > 10 {
				t.Fatal("paging does not end")
			}
		}
		if fmt.Sprint(order) != fmt.Sprint(want) {
			t.Errorf("pages listed\n%v\nwant (the list as it stood at the first page)\n%v", order, want)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("conversation %s listed %d times", id, k)
			}
		}

		// A new first page has the moved and the new conversations in front.
		var l listAnswer
		s.Do("GET", "/api/v1/conversations?status=all&limit=200", ann.Token, nil, http.StatusOK, &l)
		if len(l.Conversations) != n+4 {
			t.Errorf("%d conversations after paging, want %d", len(l.Conversations), n+4)
		}
		if l.Conversations[0].ID != all[n/2] {
			t.Errorf("first conversation %s, want the one answered last %s", l.Conversations[0].ID, all[n/2])
		}
	})
}

// Every row of the list carries an assign menu with an option an agent
// (rendered once a page and shared by the rows): each row's menu selects
// its own assignee, marks the agent viewing the page and the offline ones,
// and escapes the names.
func TestAssignMenusOfTheList(t *testing.T) {
	s, ada, b := setup(t)
	online(t, s, ada)
	ben := s.AddAgent("ben@example.com", `Ben <b> & "Co"`)
	cy := s.AddAgent("cy@example.com", "Cy")
	online(t, s, cy)
	benConv, cyConv, nobodyConv := visitorWrote(t, s, "one"), visitorWrote(t, s, "two"), visitorWrote(t, s, "three")
	s.Do("PUT", "/api/v1/conversations/"+benConv+"/assignee", ada.Token, map[string]string{"agent_id": ben.ID}, http.StatusOK, nil)
	s.Do("PUT", "/api/v1/conversations/"+cyConv+"/assignee", ada.Token, map[string]string{"agent_id": cy.ID}, http.StatusOK, nil)

	type opt struct {
		value, text, name string
		selected, me      bool
	}
	want := map[string]opt{
		"":     {value: "", text: "Unassigned"},
		ada.ID: {value: ada.ID, text: "Ada (you)", name: "Ada", me: true},
		ben.ID: {value: ben.ID, text: `Ben <b> & "Co" · offline`, name: `Ben <b> & "Co"`},
		cy.ID:  {value: cy.ID, text: "Cy", name: "Cy"},
	}
	// menus reads the page's assign menus (a conversation open on the
	// page has two: its row's and its header's): options by conversation,
	// the options sent once for the compact menus under sharedOptions,
	// and which conversations' menus are compact.
	const sharedOptions = "shared"
	menus := func(body string) (map[string][][]opt, map[string]bool) {
		doc, err := html.Parse(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, compact := map[string][][]opt{}, map[string]bool{}
		var walk func(n *html.Node, conv string)
		walk = func(n *html.Node, conv string) {
			if n.Type == html.ElementNode && n.Data == "form" && attr(n, "class") == "assign-form" {
				conv = attr(n, "data-id")
				got[conv] = append(got[conv], nil)
			}
			if _, ok := attrOK(n, "data-assign-options"); ok && n.Type == html.ElementNode && n.Data == "template" {
				conv = sharedOptions
				got[conv] = append(got[conv], nil)
			}
			if _, ok := attrOK(n, "data-compact"); ok && n.Type == html.ElementNode && n.Data == "select" {
				compact[conv] = true
			}
			if n.Type == html.ElementNode && n.Data == "option" && conv != "" {
				_, sel := attrOK(n, "selected")
				_, me := attrOK(n, "data-me")
				menu := &got[conv][len(got[conv])-1]
				*menu = append(*menu, opt{value: attr(n, "value"), text: text(n), name: attr(n, "data-name"), selected: sel, me: me})
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c, conv)
			}
		}
		walk(doc, "")
		return got, compact
	}
	assigned := map[string]string{benConv: ben.ID, cyConv: cy.ID, nobodyConv: ""} // conversation: the selected option
	for _, tc := range []struct {
		path  string
		menus map[string]int // conversation: its menus on the page
	}{
		{"/dashboard?status=all", map[string]int{benConv: 1, cyConv: 1, nobodyConv: 1}},
		{"/dashboard/conversations/" + benConv + "?status=all", map[string]int{benConv: 2, cyConv: 1, nobodyConv: 1}},
		{"/dashboard/conversations/" + nobodyConv + "?status=all", map[string]int{benConv: 1, cyConv: 1, nobodyConv: 2}},
		// The partial as a script from before compact menus asks for it.
		{"/dashboard/partials/list?status=all", map[string]int{benConv: 1, cyConv: 1, nobodyConv: 1}},
	} {
		a := b.get(tc.path)
		if a.Status != http.StatusOK {
			t.Fatalf("%s: status %d", tc.path, a.Status)
		}
		got, compact := menus(a.Body)
		if len(got[sharedOptions]) != 0 || len(compact) != 0 {
			t.Errorf("%s: a page has compact menus (%v) or options sent once (%v)", tc.path, compact, got[sharedOptions])
		}
		for conv, n := range tc.menus {
			if len(got[conv]) != n {
				t.Errorf("%s: %d menus for %s, want %d", tc.path, len(got[conv]), conv, n)
			}
		}
		for conv, menus := range got {
			for _, opts := range menus {
				sel := assigned[conv]
				if len(opts) != len(want) {
					t.Errorf("%s: menu of %s has %d options, want %d: %+v", tc.path, conv, len(opts), len(want), opts)
					continue
				}
				if opts[0].value != "" {
					t.Errorf("%s: menu of %s starts with %+v, not Unassigned", tc.path, conv, opts[0])
				}
				seen, selected := map[string]bool{}, 0
				for _, o := range opts {
					w, ok := want[o.value]
					w.selected = o.value == sel
					if !ok || o != w || seen[o.value] {
						t.Errorf("%s: menu of %s: option %+v (twice: %v), want %+v", tc.path, conv, o, seen[o.value], w)
					}
					seen[o.value] = true
					if o.selected {
						selected++
					}
				}
				if selected != 1 {
					t.Errorf("%s: menu of %s has %d options selected, want 1", tc.path, conv, selected)
				}
			}
		}
	}

	// The list's partial as dashboard.js asks for it: each row's menu
	// holds its selected option alone, and every agent's option comes once,
	// none selected, for the script to complete the menus with.
	a := b.get("/dashboard/partials/list?status=all&compact=1")
	got, compact := menus(a.Body)
	if shared := got[sharedOptions]; len(shared) != 1 || len(shared[0]) != len(want)-1 {
		t.Errorf("partial: options sent once %+v, want one set of %d", shared, len(want)-1)
	} else {
		for _, o := range shared[0] {
			if w := want[o.value]; o.value == "" || o != w {
				t.Errorf("partial: option sent once %+v, want %+v", o, w)
			}
		}
	}
	for conv, sel := range assigned {
		menu := []opt{want[""]}
		menu[0].selected = sel == ""
		if sel != "" {
			w := want[sel]
			w.selected = true
			menu = append(menu, w)
		}
		if len(got[conv]) != 1 || !slices.Equal(got[conv][0], menu) || !compact[conv] {
			t.Errorf("partial: menu of %s %+v (compact: %v), want %+v, compact", conv, got[conv], compact[conv], menu)
		}
	}
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}
