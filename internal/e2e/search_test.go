package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// An agent searches for an accented word typed without its accents, sees
// the match marked in a snippet (user text shown as text), and opens the
// conversation at that message, scrolled into view and marked.
func TestSearchOpensConversationAtMessage(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, `Zoë <b>Dupont</b>`, "zoe@example.com", "Bonjour, je voudrais un Café crème <script>window.__pwned=1</script> s'il vous plaît.")
	var target model.Message
	// The match is the first message; many come after it, so the view has
	// to scroll up to show it.
	if err := srv.App.DB.SQL.QueryRow(`SELECT id FROM messages WHERE conversation_id = ? ORDER BY id LIMIT 1`, convID).Scan(&target.ID); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": fmt.Sprintf("Line %d of a long answer about delivery times.", i)}, http.StatusCreated, nil)
	}
	_, other := newVisitorConversation(t, srv, "Marc", "marc@example.com", "Un thé, merci")

	agent := newTab(t, "agent")
	for _, size := range []struct {
		name string
		w, h int64
	}{{"1366x900", 1366, 900}, {"390x844", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			agent.t = t
			agent.do("viewport", chromedp.EmulateViewport(size.w, size.h))
			loginDashboard(agent, srv.URL, "ada@example.com")
			agent.do("search", chromedp.SendKeys(chromedp.CSS(`[data-testid="search-input"]`), "CAFE crem\n"))
			agent.waitFor("the results", `location.pathname === '/dashboard/search' && document.querySelector('[data-testid="search-result"]')`, 10*time.Second)
			results := eval[[]string](agent, `Array.from(document.querySelectorAll('[data-testid="search-result"]')).map((r) => r.getAttribute('href'))`)
			if len(results) != 1 || !strings.Contains(results[0], convID) || strings.Contains(strings.Join(results, " "), other) {
				t.Fatalf("results %v, want the one conversation %s", results, convID)
			}
			marks := eval[[]string](agent, `Array.from(document.querySelectorAll('[data-testid="search-snippet"] mark')).map((m) => m.textContent)`)
			if strings.Join(marks, "|") != "Café|crème" {
				t.Errorf("marked %q, want Café and crème", marks)
			}
			snippet := eval[string](agent, `document.querySelector('[data-testid="search-snippet"]').textContent`)
			if !strings.Contains(snippet, "<script>window.__pwned=1</script>") {
				t.Errorf("snippet %q does not show the text as written", snippet)
			}
			if eval[bool](agent, `!!window.__pwned || !!document.querySelector('.result-snippet script, .conv-name b')`) {
				t.Fatal("user text was run or rendered as HTML")
			}
			if got := eval[string](agent, `document.querySelector('.result .conv-name').textContent`); got != `Zoë <b>Dupont</b>` {
				t.Errorf("name shown as %q", got)
			}
			if eval[bool](agent, `document.documentElement.scrollWidth > document.documentElement.clientWidth`) {
				t.Errorf("the results page scrolls sideways at %s", size.name)
			}
			agent.screenshot("search-results-" + size.name)

			agent.do("open the result", chromedp.Click(chromedp.CSS(`[data-testid="search-result"]`)))
			agent.waitFor("the conversation at the message", `location.pathname === '/dashboard/conversations/`+convID+`' && document.readyState === 'complete'`, 10*time.Second)
			waitLive(agent)
			if got := eval[string](agent, `location.hash`); got != "#msg-"+target.ID {
				t.Errorf("opened at %q, want #msg-%s", got, target.ID)
			}
			// The message is the page's target (marked) and inside the
			// visible part of the message list.
			shown := `(() => { const m = document.querySelector(':target'); const box = document.getElementById('conv-messages');
				if (!m || m.dataset.id !== ` + js(target.ID) + `) return false;
				const r = m.getBoundingClientRect(), b = box.getBoundingClientRect();
				return r.bottom > b.top && r.top < b.bottom && r.top >= 0 && r.top < window.innerHeight; })()`
			agent.waitFor("the found message in view", shown, 5*time.Second)
			if o := eval[string](agent, `getComputedStyle(document.querySelector(':target .msg-body')).outlineStyle`); o == "none" {
				t.Error("the found message is not marked")
			}
			// It stays marked when a new message makes the view refetch.
			srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "A note while searching " + size.name, "kind": "comment"}, http.StatusCreated, nil)
			agent.waitFor("the refetched messages", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes(`+js("A note while searching "+size.name)+`))`, 10*time.Second)
			if o := eval[string](agent, `getComputedStyle(document.querySelector('[data-id=`+js(target.ID)+`] .msg-body')).outlineStyle`); o == "none" {
				t.Error("the found message lost its mark when the messages were refetched")
			}
			// The newest message is out of view: the list was not simply
			// scrolled to the bottom.
			if eval[bool](agent, `(() => { const box = document.getElementById('conv-messages'); return box.scrollHeight - box.scrollTop - box.clientHeight < 80; })()`) &&
				eval[bool](agent, `document.getElementById('conv-messages').scrollHeight > document.getElementById('conv-messages').clientHeight + 200`) {
				t.Error("the conversation opened at its newest message, not at the match")
			}
			agent.screenshot("search-opened-" + size.name)
			agent.do("log out", chromedp.Click(chromedp.CSS(`.logout-form button`)))
			agent.waitFor("the login page", `location.pathname === '/dashboard/login'`, 10*time.Second)
		})
	}
}
