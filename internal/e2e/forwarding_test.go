package e2e

import (
	"net/http"
	"testing"
	"time"
)

// The forwarding line of the visitor panel writes its times in the
// workspace's zone: it says which one to an agent whose browser is in
// another zone, and nothing more to one in the same zone.
func TestForwardingLineNamesTheWorkspaceZone(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/settings", ada.Token, map[string]string{"time_zone": "Asia/Kathmandu"}, http.StatusOK, nil)
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Do you ship to Nepal?")
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ada.Token, map[string]string{"body": "We do.", "kind": "reply"}, http.StatusCreated, nil)

	a := newTab(t, "ada")
	a.setViewport(desktop)
	inTimeZone(a, "Europe/Lisbon")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	note := `document.querySelector('[data-testid="forwarding-zone"]')`
	a.waitFor("the forwarding line with its zone", note+` && `+note+`.offsetParent !== null && `+note+`.textContent === '(Asia/Kathmandu time)'`, 10*time.Second)
	a.screenshot("laptop-1366x900-forwarding-zone")

	inTimeZone(a, "Asia/Kathmandu")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	a.waitFor("the forwarding line", `document.querySelector('[data-testid="forwarding-decision"]')`, 10*time.Second)
	if !eval[bool](a, note+`.hidden`) {
		t.Errorf("an agent in the workspace's zone (%s) is told the zone: %s", eval[string](a, `Intl.DateTimeFormat().resolvedOptions().timeZone`),
			eval[string](a, `document.querySelector('[data-testid="forwarding-decision"]').outerHTML`))
	}
}
