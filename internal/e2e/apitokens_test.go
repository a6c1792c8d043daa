package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
)

// An agent makes an API token in Settings → Your account at a desktop and
// at a phone: the secret is shown once and works, the list says when it
// was used, and Revoke (after asking) ends it.
func TestAPITokensInSettings(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			srv.AddAgent("ada@example.com", "Ada")
			a := newTab(t, "ada")
			a.setViewport(v)
			loginDashboard(a, srv.URL, "ada@example.com")
			a.navigate(srv.URL + "/dashboard/settings/account#api-tokens")
			a.waitFor("the empty list", `!!document.querySelector('[data-testid="no-tokens"]')`, 10*time.Second)
			a.screenshot(v.name + " no API tokens")

			a.do("name a token", chromedp.SendKeys(chromedp.CSS(`[data-testid="token-name"]`), "CRM sync"))
			eval[bool](a, `(document.querySelector('[data-testid="token-days"]').value = '0', true)`)
			a.do("confirm with the password", chromedp.SendKeys(chromedp.CSS(`[data-testid="token-password"]`), apptest.AgentPassword))
			a.do("make it", chromedp.Click(chromedp.CSS(`[data-testid="create-token"]`)))
			a.waitFor("the secret", `!!document.querySelector('[data-testid="token-secret"]')`, 10*time.Second)
			secret := eval[string](a, `document.querySelector('[data-testid="token-secret"]').value`)
			if !strings.HasPrefix(secret, "pat_") {
				t.Fatalf("secret %q", secret)
			}
			checkAxe(a, v.name+" a token just made")
			a.screenshot(v.name + " API token made")

			var me struct{ Email string }
			srv.Do("GET", "/api/v1/me", secret, nil, http.StatusOK, &me)
			if me.Email != "ada@example.com" {
				t.Errorf("the token acts as %q", me.Email)
			}
			a.navigate(srv.URL + "/dashboard/settings/account#api-tokens")
			a.waitFor("the row", `!!document.querySelector('[data-testid="token-row"]')`, 10*time.Second)
			row := `document.querySelector('[data-testid="token-row"]').textContent`
			if got := eval[string](a, row); !strings.Contains(got, "CRM sync") || strings.Contains(got, secret) ||
				strings.Count(got, "Never") != 1 || eval[bool](a, `!!document.querySelector('[data-testid="token-secret"]')`) {
				t.Errorf("row %q (used once, never expires; no secret)", got)
			}
			a.screenshot(v.name + " API tokens listed")

			// Revoke asks first: declined, nothing happens.
			a.do("revoke, declined", chromedp.Click(chromedp.CSS(`[data-testid="revoke-token"]`)))
			deadline := time.Now().Add(5 * time.Second)
			for a.dialogs.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := a.dialogs.Load(); n != 1 {
				t.Fatalf("%d dialogs, want the question", n)
			}
			srv.Do("GET", "/api/v1/me", secret, nil, http.StatusOK, nil)
			if !eval[bool](a, `!!document.querySelector('[data-testid="token-row"]')`) {
				t.Error("declined, the token left the list")
			}
			eval[bool](a, `(window.confirm = () => true, true)`)
			a.do("revoke", chromedp.Click(chromedp.CSS(`[data-testid="revoke-token"]`)))
			a.waitFor("the notice", `(document.querySelector('[data-testid="account-notice"]') || {}).textContent === 'API token revoked: it no longer works.'`, 10*time.Second)
			srv.Do("GET", "/api/v1/me", secret, nil, http.StatusUnauthorized, nil)
		})
	}
}

// An admin finds a colleague's API tokens under them in Settings →
// Agents, at a desktop and at a phone, and revokes one there: it stops
// working, the colleague's other token does not.
func TestAdminRevokesATokenInAgents(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada") // admin
	bob := srv.AddAgent("bob@example.com", "Bob Okafor")
	var crm, bot struct{ ID, Token string }
	for _, m := range []struct {
		name string
		out  any
	}{{"CRM sync for the support team's ticketing", &crm}, {"Bot", &bot}} {
		srv.Do("POST", "/api/v1/me/tokens", bob.Token, map[string]any{"name": m.name, "password": apptest.AgentPassword}, http.StatusCreated, m.out)
	}
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings/agents")
	tokens := `document.querySelector('[data-testid="agent-row"][data-id="` + bob.ID + `"] [data-testid="agent-tokens"]')`
	a.waitFor("Bob's tokens", `!!`+tokens+` && `+tokens+`.querySelectorAll('[data-testid="token-row"]').length === 2`, 10*time.Second)
	a.do("open them", chromedp.Click(chromedp.CSS(`[data-id="`+bob.ID+`"] [data-testid="agent-tokens"] summary`)))
	checkAxe(a, "an agent's API tokens")
	atSize(a, "agents tokens 1366", 1366, 900)
	atSize(a, "agents tokens 390", 390, 844)
	a.setViewport(desktop)

	eval[bool](a, `(window.confirm = () => true, true)`)
	a.do("revoke the CRM's", chromedp.Click(chromedp.CSS(`[data-testid="token-row"][data-id="`+crm.ID+`"] [data-testid="revoke-token"]`)))
	a.waitFor("the notice", `(document.querySelector('[data-testid="agents-notice"]') || {}).textContent === 'API token revoked: what used it stops working at once.'`, 10*time.Second)
	if n := eval[int](a, tokens+`.querySelectorAll('[data-testid="token-row"]').length`); n != 1 {
		t.Errorf("%d of Bob's tokens listed after the revoke, want 1", n)
	}
	srv.Do("GET", "/api/v1/me", crm.Token, nil, http.StatusUnauthorized, nil)
	srv.Do("GET", "/api/v1/me", bot.Token, nil, http.StatusOK, nil)
}
