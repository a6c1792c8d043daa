package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// atSize shows the page at a viewport size, checks that nothing scrolls
// sideways there, and saves a screenshot (see screenshot).
func atSize(tb *tab, name string, width, height int64) {
	tb.t.Helper()
	tb.do("resize to "+name, chromedp.EmulateViewport(width, height))
	tb.waitFor("layout at "+name, `document.readyState === 'complete'`, 5*time.Second)
	if over := eval[bool](tb, `document.documentElement.scrollWidth > window.innerWidth`); over {
		tb.t.Errorf("%s: horizontal scroll at %dpx (content %dpx wide)", name, width, eval[int](tb, `document.documentElement.scrollWidth`))
	}
	tb.screenshot(name)
}

// TestInvitationToFirstLogin: an admin invites an agent from Settings →
// Agents, the invited person opens the link, sets a password and lands in
// the dashboard, where settings are read-only for them.
func TestInvitationToFirstLogin(t *testing.T) {
	srv := startParley(t)
	if _, err := srv.App.Chat.CreateAgent(context.Background(), srv.Workspace.ID, "ann@example.com", "Ann", agentPassword, ""); err != nil {
		t.Fatal(err)
	}
	admin := newTab(t, "admin")
	loginDashboard(admin, srv.URL, "ann@example.com")
	admin.navigate(srv.URL + "/dashboard/settings/agents")
	admin.do("invite Cat",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="invite-email"]`), "cat@example.com"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="invite-name"]`), "Cat <Støle>"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-submit"]`)),
	)
	admin.waitFor("the invitation link", `document.querySelector('[data-testid="invite-url"]')`, 10*time.Second)
	link := eval[string](admin, `document.querySelector('[data-testid="invite-url"]').textContent`)
	if !strings.HasPrefix(link, srv.URL+"/invite/") {
		t.Fatalf("invitation link %q", link)
	}
	if pending := eval[int](admin, `document.querySelectorAll('[data-testid="agent-invited"]').length`); pending != 1 {
		t.Errorf("%d pending invitations shown, want 1", pending)
	}
	atSize(admin, "agents-1366", 1366, 900)
	atSize(admin, "agents-390", 390, 844)

	// The email previews show the HTML part in a sandboxed frame, with the
	// workspace's name and this server's addresses.
	admin.navigate(srv.URL + "/dashboard/settings")
	admin.do("open the first preview", chromedp.Click(chromedp.CSS(`[data-testid="email-preview"] summary`)))
	admin.waitFor("the HTML preview", `(() => { const f = document.querySelector('[data-testid="email-preview-html"]');
		return f && f.contentDocument === null && f.getAttribute('sandbox') === '' && f.getAttribute('srcdoc').includes('Default'); })()`, 10*time.Second)
	if from := eval[string](admin, `document.querySelector('[data-testid="email-preview"] .small').textContent`); !strings.Contains(from, "Default") || !strings.Contains(from, "parley@localhost") {
		t.Errorf("preview header %q does not name the workspace and the configured sender", from)
	}
	atSize(admin, "settings-1366", 1366, 900)

	cat := newTab(t, "invited")
	cat.navigate(link)
	cat.waitFor("the invitation page", `document.querySelector('[data-testid="invite-intro"]')`, 10*time.Second)
	if intro := eval[string](cat, `document.querySelector('[data-testid="invite-intro"]').textContent`); !strings.Contains(intro, "Cat <Støle>") || !strings.Contains(intro, "Default") {
		t.Errorf("invitation page says %q", intro)
	}
	atSize(cat, "invite-390", 390, 844)
	atSize(cat, "invite-1366", 1366, 900)
	cat.do("set a password",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="invite-password"]`), "cats like long passwords"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="invite-confirm"]`), "cats like long passwords"),
		chromedp.Click(chromedp.CSS(`[data-testid="invite-accept"]`)),
	)
	cat.waitFor("the dashboard after accepting", `location.pathname === '/dashboard' && document.querySelector('[data-testid="status"]')`, 10*time.Second)
	waitLive(cat)
	if name := eval[string](cat, `document.querySelector('.agent-name').textContent`); name != "Cat <Støle>" {
		t.Errorf("header names %q", name)
	}

	// Settings are read-only for an agent.
	cat.navigate(srv.URL + "/dashboard/settings/agents")
	cat.waitFor("the read-only note", `document.querySelector('[data-testid="readonly-note"]')`, 10*time.Second)
	if n := eval[int](cat, `document.querySelectorAll('[data-testid="invite-submit"], [data-testid="remove-agent"]').length`); n != 0 {
		t.Errorf("an agent sees %d admin controls", n)
	}
	cat.navigate(srv.URL + "/dashboard/settings")
	if disabled := eval[bool](cat, `[...document.querySelectorAll('main fieldset')].every(f => f.matches(':disabled'))`); !disabled {
		t.Error("an agent can edit the settings")
	}

	// The admin sees Cat as an agent who has set a password now.
	admin.navigate(srv.URL + "/dashboard/settings/agents")
	if pending := eval[int](admin, `document.querySelectorAll('[data-testid="agent-invited"]').length`); pending != 0 {
		t.Errorf("invitation still pending after it was accepted")
	}

	// The used link is refused with a page that says what to do.
	again := newTab(t, "again")
	again.navigate(link)
	again.waitFor("the refusal", `document.querySelector('[data-testid="notice-page"]')`, 10*time.Second)
	if txt := eval[string](again, `document.body.innerText`); !strings.Contains(txt, "Ask an admin") {
		t.Errorf("used invitation page: %q", txt)
	}
}
