package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An admin turns on automatic assignment in Settings; the next visitor's
// conversation is in the online agent's Mine view, with the line saying
// why.
func TestAutoAssignFromSettings(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings#assignment")
	if eval[bool](a, `document.querySelector('[data-testid="auto-assign"]').checked`) {
		t.Fatal("automatic assignment on before anyone turned it on")
	}
	a.do("turn automatic assignment on", chromedp.Click(chromedp.CSS(`[data-testid="auto-assign"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="save-assignment"]`)))
	a.waitFor("the saved page", `document.readyState === 'complete' && !!document.querySelector('.saved-notice') && location.hash === '#assignment'`, 10*time.Second)
	if !eval[bool](a, `document.querySelector('[data-testid="auto-assign"]').checked`) {
		t.Fatal("not checked after saving")
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
}
