package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// The visitor panel keeps what a live refresh would lose: a name typed but
// not saved (the focus gone elsewhere), and the error of a refused save.
func TestVisitorPanelKeepsEditsAndErrors(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	vid, convID := newVisitorConversation(t, srv, "Vera Lind", "vera@example.com", "Hi")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	write := func(body string) {
		t.Helper()
		if _, err := srv.App.Chat.VisitorSend(context.Background(), vid, body, model.NewID(), model.MsgChannelWidget); err != nil {
			t.Fatal(err)
		}
		a.waitFor("the visitor's message", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes(`+js(body)+`))`, 10*time.Second)
		time.Sleep(300 * time.Millisecond) // the rest of the refresh
	}
	name := `document.querySelector('[data-testid="visitor-name"]')`

	eval[bool](a, `(() => { const i = `+name+`; i.focus(); i.value = 'Vera Lindqvist'; i.blur(); return true; })()`)
	write("Are you there?")
	if got := eval[string](a, name+`.value`); got != "Vera Lindqvist" {
		t.Errorf("the name typed and not saved reads %q after a refresh", got)
	}

	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	eval[bool](a, `(document.querySelector('[data-testid="visitor-email"]').value = 'dev@acme', true)`)
	a.do("save a bad address", chromedp.Click(chromedp.CSS(`[data-testid="save-visitor"]`)))
	a.waitFor("the error", `!!document.querySelector('[data-testid="visitor-error"]')`, 10*time.Second)
	waitLive(a)
	write("Hello?")
	if !eval[bool](a, `!!document.querySelector('[data-testid="visitor-error"]') && document.querySelector('[data-testid="visitor-email"]').value === 'dev@acme'`) {
		t.Error("the save's error and the address it refused are gone after a refresh")
	}
}

// What the agent opened in the conversation's parts stays open through live
// refreshes: a part the event did not change is not drawn again, and one
// that changed keeps the visitor's last pages unfolded and the phone's
// "Visitor" button saying that the panel is open.
func TestConversationPartsKeepWhatTheAgentOpened(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	vid, convID := newVisitorConversation(t, srv, "Vera Lind", "vera@example.com", "Hi")
	key := model.VisitorKey{ID: vid, WorkspaceID: srv.Workspace.ID}
	visit := func(n int) {
		t.Helper()
		for {
			err := srv.App.Chat.VisitorPage(context.Background(), key, fmt.Sprintf("https://shop.example/page-%d", n), fmt.Sprintf("Page %d", n))
			if err == nil {
				return
			}
			if !strings.Contains(err.Error(), "slow down") {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for n := range 7 { // more than five: the list starts folded
		visit(n)
	}
	a := newTab(t, "ada")
	a.setViewport(phone)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)

	const (
		pages  = `document.querySelector('#visitor-panel details.visitor-pages')`
		toggle = `document.querySelector('#conv-head [data-testid="toggle-visitor"]')`
	)
	if eval[bool](a, pages+`.open`) {
		t.Fatal("seven pages are shown unfolded")
	}
	a.do("open the visitor panel", chromedp.Click(chromedp.CSS(`#conv-head [data-testid="toggle-visitor"]`)))
	a.do("unfold the pages", chromedp.Click(chromedp.CSS(`#visitor-panel details.visitor-pages > summary`)))
	eval[bool](a, `(`+pages+`.kept = true, `+toggle+`.kept = true, true)`)

	settle := func(what, cond string) {
		t.Helper()
		a.waitFor(what, cond, 10*time.Second)
		time.Sleep(700 * time.Millisecond) // the rest of the refresh
	}
	// A colleague's note changes the messages only.
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ben.Token, map[string]string{"body": "Vera ordered twice", "kind": "comment"}, http.StatusCreated, nil)
	settle("the note", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Vera ordered twice'))`)
	if !eval[bool](a, pages+`.kept === true && `+toggle+`.kept === true`) {
		t.Error("the header or the visitor panel was drawn again though neither changed")
	}

	// The visitor's message (their last activity), a new page: the panel
	// changes; an assignment: the header.
	if _, err := srv.App.Chat.VisitorSend(context.Background(), vid, "Are you there?", model.NewID(), model.MsgChannelWidget); err != nil {
		t.Fatal(err)
	}
	settle("the visitor's message", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Are you there?'))`)
	visit(7)
	settle("the new page", pages+`.textContent.includes('Page 7')`)
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ben.Token, map[string]string{"agent_id": ben.ID}, http.StatusOK, nil)
	settle("the assignment", `document.querySelector('#conv-head select').selectedOptions[0].textContent.includes('Ben')`)
	if eval[bool](a, pages+`.kept === true || `+toggle+`.kept === true`) {
		t.Fatal("the header or the panel was not drawn again: nothing below is tested")
	}
	if !eval[bool](a, pages+`.open`) {
		t.Error("the pages the agent unfolded were folded again by a refresh")
	}
	if got := eval[string](a, toggle+`.getAttribute('aria-expanded')`); got != "true" {
		t.Errorf("with the panel open, the Visitor button says aria-expanded=%q after a refresh", got)
	}
	if !eval[bool](a, `document.body.classList.contains('panel-open')`) {
		t.Error("the visitor panel closed")
	}
	a.screenshot("phone-panel-after-refresh")

	// It covers the screen: Escape closes it, and the focus goes back to
	// the button that opened it.
	a.do("press Escape", chromedp.KeyEvent(kb.Escape))
	a.waitFor("the panel closed, the focus on its button", `!document.body.classList.contains('panel-open') && document.activeElement === `+toggle+` && `+toggle+`.getAttribute('aria-expanded') === 'false'`, 5*time.Second)
}

// The open conversation's refreshed parts keep the list's view: its back
// link and its forms return to the view the agent came from.
func TestConversationRefreshKeepsTheView(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	vid, convID := newVisitorConversation(t, srv, "Vera Lind", "vera@example.com", "Hi")
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]string{"agent_id": ada.ID}, http.StatusOK, nil)
	a := openAsAgent(t, srv, "ada@example.com", "/dashboard/conversations/"+convID+"?status=open&view=mine")
	state := `JSON.stringify([document.querySelector('#conv-head [data-testid="back"]').getAttribute('href'),
		Array.from(document.querySelectorAll('#conv-head input[name="view"], #visitor-panel input[name="view"]'), (i) => i.value)])`
	before := eval[string](a, state)
	if !strings.Contains(before, "view=mine") || strings.Contains(before, `"all"`) {
		t.Fatalf("the page itself does not keep the view: %s", before)
	}
	if _, err := srv.App.Chat.VisitorSend(context.Background(), vid, "Are you there?", model.NewID(), model.MsgChannelWidget); err != nil {
		t.Fatal(err)
	}
	a.waitFor("the visitor's message", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Are you there?'))`, 10*time.Second)
	time.Sleep(700 * time.Millisecond) // the rest of the refresh
	if after := eval[string](a, state); after != before {
		t.Errorf("after a refresh the header's back link and view fields read %s, before %s", after, before)
	}
}

// openAsAgent logs an agent in, in a new tab at desktop size, and opens
// path on the dashboard, live.
func openAsAgent(t *testing.T, srv *apptest.Server, email, path string) *tab {
	t.Helper()
	a := newTab(t, "agent")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, email)
	a.navigate(srv.URL + path)
	waitLive(a)
	return a
}

// The keyboard's first stops skip the header and the list: the first Tab
// reaches "Skip to the conversations", shown once focused, the second
// "Skip to the conversation", which takes the focus to its messages.
func TestSkipLinks(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Hello")
	a := openAsAgent(t, srv, "ada@example.com", "/dashboard/conversations/"+convID)
	eval[bool](a, `(document.activeElement.blur(), true)`)
	a.do("Tab", chromedp.KeyEvent(kb.Tab))
	if got := eval[string](a, `document.activeElement.dataset.testid || ''`); got != "skip-list" {
		t.Fatalf("the first Tab reaches %q, want the skip link", got)
	}
	if !eval[bool](a, `(() => { const r = document.activeElement.getBoundingClientRect(); return r.top >= 0 && r.height > 0; })()`) {
		t.Error("the focused skip link is not in view")
	}
	a.do("Tab, Enter", chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Enter))
	a.waitFor("the focus on the messages", `document.activeElement === document.getElementById('conv-messages')`, 5*time.Second)
}
