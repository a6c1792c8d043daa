package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// An admin turns on automatic assignment in Settings, with at most one
// open conversation per agent; the next visitor's conversation is in the
// online agent's Mine view, with the line saying why; the one after waits
// in Unassigned until the agent closes the first.
func TestAutoAssignFromSettings(t *testing.T) {
	srv, ada := startWithAgentOnline(t)
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings#assignment")
	if eval[bool](a, `document.querySelector('[data-testid="auto-assign"]').checked`) {
		t.Fatal("automatic assignment on before anyone turned it on")
	}
	a.do("turn automatic assignment on, one at a time", chromedp.Click(chromedp.CSS(`[data-testid="auto-assign"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="auto-assign-limit"]`), "1"),
		chromedp.Click(chromedp.CSS(`[data-testid="save-assignment"]`)))
	a.waitFor("the saved page", `document.readyState === 'complete' && !!document.querySelector('.saved-notice') && location.hash === '#assignment'`, 10*time.Second)
	if !eval[bool](a, `document.querySelector('[data-testid="auto-assign"]').checked && document.querySelector('[data-testid="auto-assign-limit"]').value === '1'`) {
		t.Fatal("not checked, or not a limit of one, after saving")
	}
	a.do("scroll to it", chromedp.ScrollIntoView(chromedp.CSS(`#assignment`)))
	a.screenshot("desktop settings assignment")
	a.setViewport(phone)
	a.do("scroll to it", chromedp.ScrollIntoView(chromedp.CSS(`#assignment`)))
	a.screenshot("phone settings assignment")
	a.setViewport(desktop)

	_, conv := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Do you ship to Norway?")
	a.navigate(srv.URL + "/dashboard?view=mine")
	a.waitFor("the conversation in Mine", `!!document.querySelector('[data-testid="conversation-item"][data-id="`+conv+`"]')`, 10*time.Second)
	a.navigate(srv.URL + "/dashboard/conversations/" + conv)
	a.waitFor("the line", `Array.from(document.querySelectorAll('.event-body')).some((e) => e.textContent.includes('Assigned automatically to Ada'))`, 10*time.Second)
	a.screenshot("desktop auto assigned conversation")
	a.setViewport(phone)
	a.screenshot("phone auto assigned conversation")
	a.setViewport(desktop)

	// Ada has her one: the next waits in Unassigned.
	_, next := newVisitorConversation(t, srv, "Walt", "walt@example.com", "Is the blue one in stock?")
	var c model.Conversation
	srv.Do("GET", "/api/v1/conversations/"+next, ada.Token, nil, http.StatusOK, &c)
	if c.Assignee != nil {
		t.Fatalf("the second conversation was given to %s past the limit", c.Assignee.Name)
	}
	a.navigate(srv.URL + "/dashboard?view=unassigned")
	a.waitFor("the second in Unassigned", `!!document.querySelector('[data-testid="conversation-item"][data-id="`+next+`"]')`, 10*time.Second)
	// She closes the first (in another tab): the second is hers, in the
	// list at once, with a chime.
	a.navigate(srv.URL + "/dashboard?view=mine")
	countChimes(a)
	srv.Do("POST", "/api/v1/conversations/"+conv+"/close", ada.Token, nil, http.StatusOK, nil)
	a.waitFor("the second in Mine", `!!document.querySelector('[data-testid="conversation-item"][data-id="`+next+`"]')`, 10*time.Second)
	a.waitFor("the chime", `window.__tones > 0`, 10*time.Second)
	a.navigate(srv.URL + "/dashboard/conversations/" + next)
	a.waitFor("its line", `Array.from(document.querySelectorAll('.event-body')).some((e) => e.textContent.includes('Assigned automatically to Ada'))`, 10*time.Second)
	a.screenshot("desktop handed out after closing")
	a.setViewport(phone)
	a.screenshot("phone handed out after closing")
}
