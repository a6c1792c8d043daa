package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The visitor types in the widget and the agent sees the draft live; the
// agent types a reply and the widget says so with the agent's name. The
// visitor moves through the demo page (a link to an anchor, then a
// single-page navigation with a hostile title) and the visitor panel
// follows, showing the pages as text.
func TestTypingAndPagesBetweenWidgetAndDashboard(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	// Headless Chromium says so in its User-Agent (read as a robot): the
	// visitor's browser says it is Firefox on Windows instead.
	if _, err := chromedp.Call(visitor.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"}); err != nil {
		t.Fatalf("set the User-Agent: %v", err)
	}
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Hello there")
	visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
	_, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))

	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(agent)
	agent.waitFor("the page in the visitor panel", `(document.querySelector('[data-testid="visitor-page"]') || {}).textContent.includes('Parley demo')`, 10*time.Second)

	// Enough notes of a colleague to scroll the thread, which shows the
	// newest.
	bob := srv.AddAgent("bob@example.com", "Bob")
	for i := range 30 {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", bob.Token, map[string]string{"body": "Note " + strconv.Itoa(i), "kind": "comment"}, http.StatusCreated, nil)
	}
	atBottom := `((m) => m.scrollHeight > m.clientHeight + 1 && m.scrollHeight - m.scrollTop - m.clientHeight < 2)(document.getElementById('conv-messages'))`
	agent.waitFor("the last note in sight", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Note 29')) && `+atBottom, 10*time.Second)

	// The visitor types without sending: the dashboard shows the draft,
	// the newest note still in sight above it.
	eval[bool](visitor, inWidget(`($('input').focus(), true)`))
	visitor.do("type a draft", chromedp.KeyEvent("Where is my <b>order</b>?"))
	agent.waitFor("the visitor's draft", `!document.getElementById('visitor-typing').hidden &&
		document.querySelector('[data-testid="visitor-typing-preview"]').textContent === 'Where is my <b>order</b>?'`, 10*time.Second)
	if !eval[bool](agent, atBottom) {
		t.Error("the typing line hid the newest message")
	}
	if eval[bool](agent, `!!document.querySelector('#visitor-typing b')`) {
		t.Error("the draft was inserted as HTML")
	}
	// Sending it clears the indicator.
	visitor.do("send", chromedp.KeyEvent("\r"))
	agent.waitFor("the message in the dashboard", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Where is my <b>order</b>?'))`, 10*time.Second)
	agent.waitFor("the typing indicator gone", `document.getElementById('visitor-typing').hidden`, 10*time.Second)

	// Writing a note tells the visitor nothing: no typing request leaves
	// the dashboard, and Ctrl+Enter adds the note.
	eval[bool](agent, `(window.typingPosts = 0, window.realFetch = window.realFetch || window.fetch,
		window.fetch = (u, o) => { if (String(u).endsWith('/typing')) window.typingPosts++; return window.realFetch(u, o); }, true)`)
	agent.do("tick writing a note", chromedp.Click(chromedp.CSS(`[data-testid="note-mode"]`)))
	agent.do("type a note", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Check the order in the shop first"))
	if n := eval[int](agent, `window.typingPosts`); n != 0 {
		t.Errorf("writing a note sent %d typing requests", n)
	}
	agent.do("add the note", chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	agent.waitFor("the note in the conversation", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes('Check the order in the shop first') && m.textContent.includes('Internal note'))`, 10*time.Second)
	eval[bool](agent, `((cb) => (cb && cb.checked && cb.click(), true))(document.querySelector('[data-testid="note-mode"]'))`)

	// The agent types: the widget names them.
	agent.do("type a reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Let me check"))
	visitor.waitFor("the agent typing in the widget", inWidget(`!$('typing').hidden && $('typing').textContent === 'Ada is typing\u2026'`), 10*time.Second)
	sendReply(agent, "send-reply")
	visitor.waitFor("the reply hides the indicator", inWidget(`$$('message').some((m) => m.textContent.includes('Let me check')) && $('typing').hidden`), 10*time.Second)

	// Navigation: an anchor link, then a single-page navigation whose title
	// is markup (shown as text, never run).
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(agent)
	eval[bool](visitor, `(document.querySelector('a[href="#pricing"]').click(), true)`)
	agent.waitFor("the anchor page in the panel", `(document.querySelector('[data-testid="visitor-page"]') || {}).textContent.includes('/demo#pricing')`, 10*time.Second)
	eval[bool](visitor, `(history.pushState({}, '', '/demo?step=checkout'), document.title = '<img src=x onerror=alert(1)> Checkout', true)`)
	agent.waitFor("the new page in the panel", `(document.querySelector('[data-testid="visitor-page"]') || {}).textContent.includes('<img src=x onerror=alert(1)> Checkout')`, 10*time.Second)
	if eval[bool](agent, `!!document.querySelector('#visitor-panel img')`) {
		t.Error("a page title was inserted as HTML")
	}
	if n := agent.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened in the dashboard", n)
	}
	pages := eval[[]string](agent, `Array.from(document.querySelectorAll('[data-testid="visitor-page-item"] a')).map((a) => a.getAttribute('href'))`)
	want := []string{srv.URL + "/demo?step=checkout", srv.URL + "/demo#pricing", srv.URL + "/demo"}
	if len(pages) != len(want) {
		t.Fatalf("last pages %q, want %q", pages, want)
	}
	for i := range want {
		if pages[i] != want[i] {
			t.Fatalf("last pages %q, want %q", pages, want)
		}
	}
	if got := eval[string](agent, `document.querySelector('[data-testid="visitor-browser"]').textContent`); got != "Firefox 128 on Windows 10" {
		t.Errorf("browser %q in the visitor panel", got)
	}
	for what, sel := range map[string]string{"language": "visitor-language", "local time": "visitor-local-time"} {
		if got := eval[string](agent, `(document.querySelector('[data-testid="`+sel+`"]') || {}).textContent || ''`); got == "" {
			t.Errorf("no %s in the visitor panel", what)
		} else {
			t.Logf("%s: %s", what, got)
		}
	}

	// The panel at a laptop's and a phone's size, checked by axe.
	atSize(agent, "visitor panel 1366x900", 1366, 900)
	checkAxe(agent, "visitor panel with pages, desktop")
	agent.do("phone viewport", chromedp.EmulateViewport(390, 844))
	// Clicked in the page: a live refresh can replace the button between a
	// node's lookup and a click on it.
	eval[bool](agent, `(document.querySelector('[data-testid="toggle-visitor"]').click(), true)`)
	agent.waitFor("the panel open", `document.body.classList.contains('panel-open')`, 5*time.Second)
	atSize(agent, "visitor panel 390x844", 390, 844)
	checkAxe(agent, "visitor panel with pages, phone")
	// The widget showing an agent typing passes axe too.
	agent.do("type again", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "One more thing"))
	visitor.waitFor("the agent typing again", inWidget(`!$('typing').hidden`), 10*time.Second)
	checkAxe(visitor, "widget with an agent typing")
}
