package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A long conversation opens at its newest messages; scrolling up loads the
// older ones a page at a time, keeping in view what the agent was reading,
// until the first, each message once and in order. A search hit deep in
// its history opens the page around it, and scrolling down from there
// loads the newer ones.
func TestLongConversationPages(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Hello, a question about my order.")
	for i := 1; i < 230; i++ {
		body := fmt.Sprintf("Answer line %d about delivery times.", i)
		if i == 30 {
			body = "The parcel went to Quimperlé by mistake."
		}
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": body, "kind": "reply"}, http.StatusCreated, nil)
	}
	var ids []string
	rows, err := srv.App.DB.SQL.Query(`SELECT id FROM messages WHERE conversation_id = ? ORDER BY id`, convID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 230 {
		t.Fatalf("%d messages stored, want 230", len(ids))
	}
	shownIDs := func(tb *tab) []string {
		return eval[[]string](tb, `Array.from(document.querySelectorAll('[data-testid="message"]')).map((m) => m.dataset.id)`)
	}

	agent := newTab(t, "agent")
	agent.do("viewport", chromedp.EmulateViewport(1366, 900))
	loginDashboard(agent, srv.URL, "ada@example.com")
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(agent)
	first := shownIDs(agent)
	if len(first) == 0 || len(first) >= len(ids) || first[len(first)-1] != ids[len(ids)-1] {
		t.Fatalf("opened with %d messages, want the newest page of %d", len(first), len(ids))
	}
	if !eval[bool](agent, `!!document.querySelector('[data-testid="load-older"]')`) {
		t.Fatal("no way to older messages")
	}

	// Scroll up, page after page: the message at the top stays in view.
	for pages := 0; eval[bool](agent, `!!document.querySelector('[data-testid="load-older"]')`); pages++ {
		if pages > 10 {
			t.Fatal("older messages never end")
		}
		// The message at the top is read as the thread scrolls, in one go:
		// a page loading meanwhile (the last one's neighbour) puts other
		// messages at the top.
		have := len(shownIDs(agent))
		top := eval[string](agent, `(() => { const el = document.getElementById('conv-messages');
			el.scrollTop = 0; return el.querySelector('[data-testid="message"]').dataset.id; })()`)
		// As a reader keeps at the top until the page comes.
		agent.waitFor("older messages", fmt.Sprintf(`(() => { const el = document.getElementById('conv-messages');
			if (el.querySelectorAll('[data-testid="message"]').length > %d) return true;
			if (el.scrollTop > 0) el.scrollTop = 0; return false; })()`, have), 10*time.Second)
		inView := `(() => { const m = document.querySelector('[data-id=` + js(top) + `]'), b = document.getElementById('conv-messages').getBoundingClientRect();
			const r = m.getBoundingClientRect(); return r.bottom > b.top && r.top < b.bottom; })()`
		if !eval[bool](agent, inView) {
			t.Errorf("the message at the top (%s) went out of view when older ones loaded", top)
		}
	}
	if got := shownIDs(agent); !slices.Equal(got, ids) {
		t.Fatalf("after scrolling to the start: %d messages shown, want all %d once and in order", len(got), len(ids))
	}
	agent.screenshot("long-conversation-start")

	// A message arriving now appears at the end, the history stays.
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "One more, while scrolled up.", "kind": "comment"}, http.StatusCreated, nil)
	agent.waitFor("the new message", fmt.Sprintf(`document.querySelectorAll('[data-testid="message"]').length === %d`, len(ids)+1), 10*time.Second)
	if got := shownIDs(agent); !slices.Equal(got[:len(ids)], ids) {
		t.Fatal("the refetch after a new message lost the older messages")
	}

	// A search hit deep in the history.
	agent.do("search", chromedp.SendKeys(chromedp.CSS(`[data-testid="search-input"]`), "quimperle\n"))
	agent.waitFor("the result", `location.pathname === '/dashboard/search' && document.querySelector('[data-testid="search-result"]')`, 10*time.Second)
	agent.do("open the result", chromedp.Click(chromedp.CSS(`[data-testid="search-result"]`)))
	agent.waitFor("the conversation", `location.pathname === '/dashboard/conversations/`+convID+`' && document.readyState === 'complete'`, 10*time.Second)
	waitLive(agent)
	target := ids[30]
	shown := `(() => { const m = document.querySelector(':target'); const box = document.getElementById('conv-messages');
		if (!m || m.dataset.id !== ` + js(target) + `) return false;
		const r = m.getBoundingClientRect(), b = box.getBoundingClientRect();
		return r.bottom > b.top && r.top < b.bottom; })()`
	agent.waitFor("the found message in view", shown, 5*time.Second)
	around := shownIDs(agent)
	if slices.Contains(around, ids[len(ids)-1]) || !slices.Contains(around, target) {
		t.Fatalf("opened with %d messages, want the page around the hit, not the newest", len(around))
	}
	agent.screenshot("long-conversation-search-hit")
	// Down to the newest, page after page.
	for pages := 0; eval[bool](agent, `!!document.querySelector('[data-testid="load-newer"]')`); pages++ {
		if pages > 10 {
			t.Fatal("newer messages never end")
		}
		have := len(shownIDs(agent))
		eval[bool](agent, `(() => { const b = document.getElementById('conv-messages'); b.scrollTop = b.scrollHeight; return true; })()`)
		agent.waitFor("newer messages", fmt.Sprintf(`document.querySelectorAll('[data-testid="message"]').length > %d`, have), 10*time.Second)
	}
	got := shownIDs(agent)
	if len(got) < 2 || got[len(got)-2] != ids[len(ids)-1] {
		t.Fatalf("after scrolling down: %d messages, not up to the newest", len(got))
	}
	want := []string{}
	for _, id := range ids {
		if id >= got[0] {
			want = append(want, id)
		}
	}
	if !slices.Equal(got[:len(want)], want) || len(got) != len(want)+1 {
		t.Fatalf("after scrolling down: %d messages shown, want %d (and the new one) once and in order", len(got), len(want))
	}
}
