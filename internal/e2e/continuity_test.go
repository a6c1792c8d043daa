package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// "Ask for email" end to end: the agent asks in French from the
// conversation view, the visitor's widget shows an email field under the
// request (and not the general email offer), a bad address is refused, a
// good one identifies the visitor and the field goes away, and so does the
// dashboard's button.
func TestAskForEmail(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.DialAgent(a.Token) // a dashboard open keeps the agent present

	visitor := newTab(t, "visitor")
	visitor.setViewport(phone)
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Bonjour, livrez-vous en Norvège ?")
	tok := eval[string](visitor, `window.Parley.visitorToken()`)
	waitConversation(t, srv, tok)
	_, convID := conversationOf(t, srv, tok)

	agent := newTab(t, "agent")
	agent.setViewport(desktop)
	loginDashboard(agent, srv.URL, "ada@example.com")
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(agent)
	agent.waitFor("the Ask for email button", `document.querySelector('[data-testid="ask-email"]')`, 10*time.Second)
	checkAxe(agent, "dashboard conversation with Ask for email")
	// In one go: a live update may replace the visitor panel between two
	// separate steps.
	eval[bool](agent, `(() => { const f = document.querySelector('[data-testid="ask-email"]').form;
		f.querySelector('[data-testid="ask-email-locale"]').value = 'fr'; f.requestSubmit(); return true; })()`)
	agent.waitFor("the request in the conversation", `Array.from(document.querySelectorAll('[data-testid="message"][data-author-kind="agent"]')).some((m) => m.textContent.includes('Pourriez-vous nous laisser votre adresse e-mail'))`, 20*time.Second)
	waitLive(agent)
	agent.screenshot("dashboard ask for email 1366x900")

	field := inWidget(`(() => { const f = $('ask-email'); return !!f && !!f.closest('[data-parley="message"]') && f.isConnected; })()`)
	visitor.waitFor("the email field under the request", field, 10*time.Second)
	if !eval[bool](visitor, inWidget(`$('collector').hidden`)) {
		t.Error("the general email offer is shown beside the request's own field")
	}
	if eval[int](visitor, inWidget(`$$('ask-email').length`)) != 1 {
		t.Error("not exactly one email field")
	}
	visitor.screenshot("widget ask for email 390x844")
	checkAxe(visitor, "widget with the email field under a request")

	set := func(v string) {
		eval[bool](visitor, inWidget(`(() => { const i = $('ask-email-input'); i.value = `+js(v)+`;
			i.dispatchEvent(new Event('input', { bubbles: true })); i.form.requestSubmit(); return true; })()`))
	}
	set("not an address")
	visitor.waitFor("the field's error", inWidget(`$('ask-email-input').getAttribute('aria-invalid') === 'true' && !!$('error')`), 5*time.Second)
	set("jo@visitor.test")
	visitor.waitFor("the field gone once the visitor has an email", inWidget(`$$('ask-email').length === 0`), 10*time.Second)
	visitor.waitFor("the address confirmed", inWidget(`!!$('email-saved') && $('email-saved').getAttribute('role') === 'status' && $('email-saved').textContent.includes('jo@visitor.test')`), 5*time.Second)
	if !eval[bool](visitor, inWidget(`sr.activeElement === $('input')`)) {
		t.Error("the focus is not in the message box once the field is gone")
	}
	visitor.screenshot("widget email saved 390x844")
	if v, _ := conversationOf(t, srv, tok); v.Email == nil || *v.Email != "jo@visitor.test" {
		t.Fatalf("visitor email %v", v.Email)
	}
	// The request stays, as text.
	var found bool
	for _, m := range widgetMessages(visitor) {
		found = found || strings.Contains(m.Body, "Pourriez-vous")
	}
	if !found {
		t.Error("the request is gone from the widget")
	}

	// The dashboard no longer offers to ask (live update of the panel).
	agent.waitFor("the button gone", `!document.querySelector('[data-testid="ask-email"]')`, 10*time.Second)
	// Reloaded, the widget shows no field either.
	visitor.do("reload", chromedp.Reload())
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the history", inWidget(`$$('message').some((m) => m.textContent.includes('Pourriez-vous'))`), 10*time.Second)
	if n := eval[int](visitor, inWidget(`$$('ask-email').length`)); n != 0 {
		t.Errorf("%d email fields after a reload of an identified visitor", n)
	}
}

// The continuity report page: the empty state, then a day with a
// conversation, at desktop and phone sizes, without sideways scrolling of
// the page itself.
func TestContinuityReportPage(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	agent := newTab(t, "agent")
	agent.setViewport(desktop)
	loginDashboard(agent, srv.URL, "ada@example.com")

	agent.navigate(srv.URL + "/dashboard/reports/continuity")
	agent.waitFor("the empty state", `document.querySelector('[data-testid="report-empty"]')`, 10*time.Second)
	checkAxe(agent, "report empty")

	newVisitorConversation(t, srv, "Vera", "vera@example.com", "Do you ship to Norway?")
	agent.navigate(srv.URL + "/dashboard/reports/continuity")
	agent.waitFor("the table", `document.querySelector('[data-testid="report-table"]')`, 10*time.Second)
	today := time.Now().In(srv.Workspace.Location()).Format(time.DateOnly)
	row := `document.querySelector('[data-testid="report-day"][data-date="` + today + `"]')`
	if got := eval[string](agent, row+`.textContent.replace(/\s+/g, ' ').trim()`); !strings.HasPrefix(got, today+" 1 100%") {
		t.Errorf("today's row reads %q", got)
	}
	if n := eval[int](agent, `document.querySelectorAll('[data-testid="report-day"]').length`); n != 30 {
		t.Errorf("%d days shown, want the last 30", n)
	}
	// A day without conversations has no share, not 0 %.
	yesterday := time.Now().In(srv.Workspace.Location()).AddDate(0, 0, -1).Format(time.DateOnly)
	if got := eval[string](agent, `document.querySelector('[data-testid="report-day"][data-date="`+yesterday+`"]').textContent.replace(/\s+/g, ' ').trim()`); !strings.HasPrefix(got, yesterday+" 0 –") {
		t.Errorf("yesterday's row reads %q", got)
	}
	checkAxe(agent, "report")
	// At 1366 px the whole table shows, none of it behind a scroll bar
	// under thirty rows.
	if !eval[bool](agent, `(() => { const s = document.querySelector('.report-scroll'); return s.scrollWidth <= s.clientWidth; })()`) {
		t.Error("the report's table is wider than its box at 1366 px")
	}
	agent.screenshot("dashboard report 1366x900")

	agent.setViewport(phone)
	agent.navigate(srv.URL + "/dashboard/reports/continuity")
	agent.waitFor("the table", `document.querySelector('[data-testid="report-table"]')`, 10*time.Second)
	if w := eval[int](agent, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the report page at 390 px is %d px wide", w)
	}
	// Scrolled sideways, the figures keep their day beside them.
	if !eval[bool](agent, `(() => { const box = document.querySelector('.report-scroll'); box.scrollLeft = box.scrollWidth;
		const day = document.querySelector('[data-testid="report-day"] th').getBoundingClientRect(), b = box.getBoundingClientRect();
		return box.scrollLeft > 0 && day.left >= b.left - 1 && day.right <= b.right; })()`) {
		t.Error("at 390 px the day scrolls out of view with the figures")
	}
	agent.screenshot("dashboard report 390x844 scrolled")
	eval[bool](agent, `(document.querySelector('.report-scroll').scrollLeft = 0, true)`)
	agent.screenshot("dashboard report 390x844")

	// A reversed range says so.
	agent.navigate(srv.URL + "/dashboard/reports/continuity?from=2026-02-01&to=2026-01-01")
	agent.waitFor("the error", `(document.querySelector('[data-testid="report-error"]') || {}).textContent.includes('before')`, 10*time.Second)
}

// The response-times report, reached from the continuity report's tabs:
// empty, then with a conversation answered, at desktop and phone sizes,
// with no sideways scrolling of the page itself.
func TestResponseTimesReportPage(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	agent := newTab(t, "agent")
	agent.setViewport(desktop)
	loginDashboard(agent, srv.URL, "ada@example.com")
	agent.navigate(srv.URL + "/dashboard/reports/continuity")
	agent.do("the Response times tab", chromedp.Click(chromedp.CSS(`[data-testid="report-responses"]`)))
	agent.waitFor("the empty state", `location.pathname === '/dashboard/reports/responses' && !!document.querySelector('[data-testid="report-empty"]')`, 10*time.Second)
	checkAxe(agent, "response times empty")
	agent.screenshot("dashboard response times empty 1366x900")

	for _, name := range []string{"Vera", "Olaf"} {
		_, conv := newVisitorConversation(t, srv, name, strings.ToLower(name)+"@example.com", "Do you ship to Norway?")
		if name == "Vera" {
			srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "We do."}, http.StatusCreated, nil)
		}
	}
	agent.navigate(srv.URL + "/dashboard/reports/responses")
	agent.waitFor("the table", `!!document.querySelector('[data-testid="responses-table"]')`, 10*time.Second)
	if got := eval[string](agent, `document.querySelector('[data-testid="responses-total"]').textContent.replace(/\s+/g, ' ').trim()`); !strings.HasPrefix(got, "Total 2 1 50%") {
		t.Errorf("the total reads %q", got)
	}
	if got := eval[string](agent, `Array.from(document.querySelector('[data-testid="responses-agent"]').cells, (c) => c.textContent.trim()).join('|')`); !strings.HasPrefix(got, "Ada|1|") {
		t.Errorf("the agent's row reads %q", got)
	}
	checkAxe(agent, "response times")
	agent.screenshot("dashboard response times 1366x900")

	agent.setViewport(phone)
	agent.navigate(srv.URL + "/dashboard/reports/responses")
	agent.waitFor("the table", `!!document.querySelector('[data-testid="responses-table"]')`, 10*time.Second)
	if w := eval[int](agent, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the page at 390 px is %d px wide", w)
	}
	agent.screenshot("dashboard response times 390x844")
}
