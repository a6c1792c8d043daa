package e2e

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// startParley runs Parley with short timings: an agent whose dashboard is
// closed goes offline after 2s, so the tests also check that the dashboard
// keeps its agent present.
func startParley(t *testing.T, env ...string) *apptest.Server {
	t.Helper()
	vars := map[string]string{
		"PARLEY_AGENT_AWAY_AFTER": "2s",
		"PARLEY_VISITOR_GRACE":    "1s",
	}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	return apptest.Start(t, vars)
}

// startWithAgentOnline runs Parley with Ada online through the API alone:
// with no dashboard open, she is kept from going away during the test.
func startWithAgentOnline(t *testing.T) (*apptest.Server, apptest.Agent) {
	t.Helper()
	srv := startParley(t, "PARLEY_AGENT_AWAY_AFTER", "5m")
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	return srv, a
}

// agentAndVisitor runs Parley with Ada signed in to the dashboard in one
// tab, and opens the tab of a visitor not yet on the site.
func agentAndVisitor(t *testing.T) (srv *apptest.Server, agent, visitor *tab) {
	t.Helper()
	srv = startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	agent = newTab(t, "agent")
	visitor = newTab(t, "visitor")
	loginDashboard(agent, srv.URL, "ada@example.com")
	return srv, agent, visitor
}

// visitorWrites opens the widget on url, waits for an agent online, skips
// the optional form and sends text, until the server confirms it.
func visitorWrites(tb *tab, url, text string) {
	tb.t.Helper()
	openWidget(tb, url)
	tb.waitFor("the widget to show agents online", inWidget(`$('status').textContent === 'online'`), 10*time.Second)
	skipOptionalForm(tb)
	typeInWidget(tb, text)
	tb.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
}

// count runs a COUNT(*) query.
func count(t *testing.T, srv *apptest.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := srv.App.DB.SQL.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func conversationOf(t *testing.T, srv *apptest.Server, visitorToken string) (model.Visitor, string) {
	t.Helper()
	v, err := srv.App.Chat.VisitorByToken(context.Background(), visitorToken)
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := srv.App.DB.SQL.QueryRow(`SELECT id FROM conversations WHERE visitor_id = ?`, v.ID).Scan(&id); err != nil {
		t.Fatalf("conversation of visitor %s: %v", v.ID, err)
	}
	return v, id
}

// A visitor writes in the widget; the agent sees it arrive in the dashboard
// without reloading, answers, and the widget shows the answer.
func TestLiveChatBetweenWidgetAndDashboard(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	if got := eval[string](agent, `document.querySelector('[data-testid="status"]').value`); got != "online" {
		t.Fatalf("status after login %q, want online", got)
	}
	eval[bool](agent, `(window.__sameDocument = true)`)

	visitorWrites(visitor, srv.URL+"/demo", "Do you ship to Norway?")

	// The dashboard list updates live: same document, new item, unread badge.
	agent.waitFor("the new conversation in the list", `Array.from(document.querySelectorAll('[data-testid="conversation-item"]')).some((a) => a.textContent.includes('Do you ship to Norway?') && a.querySelector('[data-testid="unread"]') && a.querySelector('[data-testid="unread"]').textContent.trim() === '1')`, 10*time.Second)
	if !eval[bool](agent, `window.__sameDocument === true`) {
		t.Fatal("the dashboard reloaded instead of updating live")
	}

	token := eval[string](visitor, `window.Parley.visitorToken()`)
	v, convID := conversationOf(t, srv, token)

	agent.do("open the conversation", chromedp.Click(chromedp.CSS(`[data-testid="conversation-item"][data-id="`+convID+`"]`)))
	agent.waitFor("the conversation page", `location.pathname === '/dashboard/conversations/`+convID+`' && document.querySelector('[data-testid="reply-body"]')`, 10*time.Second)
	waitLive(agent)
	msgs := dashMessages(agent)
	if len(msgs) != 1 || msgs[0].AuthorKind != "visitor" || msgs[0].Body != "Do you ship to Norway?" {
		t.Fatalf("dashboard shows %+v", msgs)
	}
	if got := eval[string](agent, `document.querySelector('[data-testid="visitor-presence"]').textContent.trim()`); got != "Online" {
		t.Errorf("visitor presence %q, want Online", got)
	}
	if eval[bool](agent, `!!document.querySelector('[data-testid="unread"]')`) {
		t.Error("unread badge still shown with the conversation open")
	}
	// The visitor sees that the team read their message, live.
	visitor.waitFor(`"Seen" under the visitor's message`, inWidget(`$$('message').some((m) => m.textContent.includes('Do you ship to Norway?') && m.getAttribute('data-status') === 'seen' && m.querySelector('.state').textContent === 'Seen')`), 10*time.Second)

	sendReply(agent, "send-reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Yes, in 3 to 5 days."))
	agent.waitFor("the reply in the dashboard", `Array.from(document.querySelectorAll('[data-testid="message"][data-author-kind="agent"]')).some((m) => m.textContent.includes('Yes, in 3 to 5 days.'))`, 10*time.Second)
	visitor.waitFor("the reply in the widget", inWidget(`$$('message').some((m) => m.getAttribute('data-author-kind') === 'agent' && m.textContent.includes('Yes, in 3 to 5 days.') && m.textContent.includes('Ada'))`), 10*time.Second)
	// The widget is open and visible, so the reply is read; the dashboard
	// shows "Seen" on it without a reload.
	agent.waitFor(`"Seen" on the reply`, `Array.from(document.querySelectorAll('[data-testid="message"][data-author-kind="agent"]')).some((m) => m.textContent.includes('Yes, in 3 to 5 days.') && m.querySelector('[data-testid="seen"]'))`, 10*time.Second)

	// With the conversation open, a new visitor message appears live, and
	// the reply textarea keeps what the agent is typing.
	waitLive(agent)
	agent.do("start typing", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Half-typed answer"))
	eval[bool](agent, `(window.__sameDocument = true)`)
	typeInWidget(visitor, "Great, thanks!")
	agent.waitFor("the second visitor message in the open conversation", `Array.from(document.querySelectorAll('[data-testid="message"][data-author-kind="visitor"]')).some((m) => m.textContent.includes('Great, thanks!'))`, 10*time.Second)
	if got := eval[string](agent, `document.querySelector('[data-testid="reply-body"]').value`); got != "Half-typed answer" {
		t.Errorf("reply textarea holds %q after the live update", got)
	}
	if !eval[bool](agent, `window.__sameDocument === true && document.activeElement === document.querySelector('[data-testid="reply-body"]')`) {
		t.Error("the live update reloaded the page or took the focus from the reply box")
	}
	// Seen while open: the unread count goes back to zero.
	apptest.Eventually(t, 10*time.Second, "the open conversation to be marked seen", func() bool {
		c, err := srv.App.Chat.Conversation(context.Background(), model.Agent{WorkspaceID: v.WorkspaceID}, convID)
		return err == nil && c.Unread == 0
	})
	agent.waitFor("no unread badge", `!document.querySelector('[data-testid="unread"]')`, 10*time.Second)
	// "Seen" moves to the visitor's newest message.
	visitor.waitFor(`"Seen" under the newest message only`, inWidget(`$$('message').filter((m) => m.getAttribute('data-status') === 'seen').map((m) => m.textContent.includes('Great, thanks!')).join() === 'true'`), 10*time.Second)
	// A seen message looks sent, not pending.
	if got := eval[string](visitor, inWidget(`getComputedStyle($$('message').find((m) => m.getAttribute('data-status') === 'seen').querySelector('.body')).borderTopStyle`)); got == "dashed" {
		t.Error("the seen message is drawn as a message still being sent")
	}
	visitor.screenshot("widget seen")
}

// With every agent offline, the widget asks for an email first, and no
// message is taken until the visitor gave one.
func TestOfflineContactForm(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")

	visitor.waitFor("the contact form", inWidget(`!$('contact-form').hidden && $('input').closest('.composer').hidden`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('status').textContent`)); got != "away" {
		t.Errorf("widget status %q, want away", got)
	}
	// The server refuses a message from this visitor as well.
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	raw := srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": token, "body": "sneaky", "client_id": "x"}, http.StatusForbidden, nil)
	if code := apptest.ErrorCode(raw); code != "contact_form_required" {
		t.Errorf("error code %q, want contact_form_required", code)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored before the contact form", n)
	}

	// An invalid address is refused in the form, and so is none.
	fillContactForm(visitor, "Vera", "")
	visitor.waitFor("the email error", inWidget(`$('error') && $('error').textContent === 'Please enter a valid email address.'`), 10*time.Second)
	fillContactForm(visitor, "Vera", "not-an-email")
	visitor.waitFor("the email error", inWidget(`$('error') && $('error').textContent === 'Please enter a valid email address.'`), 10*time.Second)
	if n := count(t, srv, `SELECT COUNT(*) FROM visitors WHERE email IS NOT NULL`); n != 0 {
		t.Fatalf("an invalid address was stored")
	}

	fillContactForm(visitor, "Vera", "vera@example.com")
	visitor.waitFor("the composer after the contact form", inWidget(`$('contact-form').hidden && !$('input').closest('.composer').hidden`), 10*time.Second)
	typeInWidget(visitor, "Is the Morning Pot dishwasher safe?")
	apptest.Eventually(t, 10*time.Second, "the message to be stored", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM messages WHERE body = ?`, "Is the Morning Pot dishwasher safe?") == 1
	})
	v, _ := conversationOf(t, srv, token)
	if v.Email == nil || *v.Email != "vera@example.com" || v.Name == nil || *v.Name != "Vera" {
		t.Errorf("visitor %+v, want Vera <vera@example.com>", v)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM messages`); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

// The optional form, given a name without an address, says how to go on
// without one; Skip does.
func TestOptionalFormWithANameAlone(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	visitor.waitFor("the optional form", inWidget(`!$('contact-form').hidden && !$('contact-skip').hidden`), 10*time.Second)
	fillContactForm(visitor, "Vera", "")
	visitor.waitFor("the way on", inWidget(`$('error') && $('error').textContent === 'Add your email address, or choose Skip.'`), 10*time.Second)
	fillContactForm(visitor, "Vera", "vera@")
	visitor.waitFor("the address refused", inWidget(`$('error') && $('error').textContent === 'Please enter a valid email address.'`), 10*time.Second)
	eval[bool](visitor, inWidget(`($('contact-skip').click(), true)`))
	visitor.waitFor("the composer", inWidget(`$('contact-form').hidden && !$('input').closest('.composer').hidden && !$('error')`), 10*time.Second)
}

// A page reload keeps the visitor (token in localStorage), shows the
// history and continues the same conversation.
func TestReloadContinuesConversation(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	visitor := newTab(t, "visitor")
	visitorWrites(visitor, srv.URL+"/demo", "First question")
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	_, convID := conversationOf(t, srv, token)
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "First answer", "kind": "reply"}, http.StatusCreated, nil)
	visitor.waitFor("the answer", inWidget(`$$('message').some((m) => m.textContent.includes('First answer'))`), 10*time.Second)

	visitor.do("reload", chromedp.Reload())
	openWidget(visitor, srv.URL+"/demo")
	if got := eval[string](visitor, `window.Parley.visitorToken()`); got != token {
		t.Fatalf("visitor token changed on reload: %q → %q", token, got)
	}
	if got := eval[string](visitor, `localStorage.getItem('parley.visitor_token.' + `+js(srv.Workspace.SiteKey)+`)`); got != token {
		t.Errorf("localStorage token %q, want %q", got, token)
	}
	visitor.waitFor("the history after reload", inWidget(`$$('message').length === 2`), 10*time.Second)
	msgs := widgetMessages(visitor)
	if msgs[0].Kind != "visitor" || msgs[0].Body != "First question" || msgs[1].Kind != "agent" || msgs[1].Body != "First answer" || msgs[1].Author != "Ada" {
		t.Fatalf("history after reload: %+v", msgs)
	}
	if eval[bool](visitor, inWidget(`!$('contact-form').hidden`)) {
		t.Error("the contact form is shown again to a returning visitor")
	}

	typeInWidget(visitor, "Second question")
	apptest.Eventually(t, 10*time.Second, "the second message in the same conversation", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM messages WHERE conversation_id = ?`, convID) == 3
	})
	if n := count(t, srv, `SELECT COUNT(*) FROM conversations`); n != 1 {
		t.Errorf("%d conversations, want 1", n)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM visitors`); n != 1 {
		t.Errorf("%d visitors, want 1", n)
	}
}

// newVisitorConversation makes an identified visitor who wrote body.
func newVisitorConversation(t *testing.T, srv *apptest.Server, name, email, body string) (visitorID, convID string) {
	t.Helper()
	var sess struct {
		VisitorToken string `json:"visitor_token"`
		Visitor      struct {
			ID string `json:"id"`
		} `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	if _, err := srv.App.Chat.VisitorContact(context.Background(), sess.Visitor.ID, email, name); err != nil {
		t.Fatal(err)
	}
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "c1"}, http.StatusCreated, &m)
	return sess.Visitor.ID, m.ConversationID
}

// A reply forwarded by email shows "(forwarded to ADDRESS)" beside the
// agent's name, live and after a reload.
func TestForwardedMarker(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Are you open on Sunday?")
	var reply model.Message
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "We are, 10 to 4.", "kind": "reply"}, http.StatusCreated, &reply)

	agent := newTab(t, "agent")
	loginDashboard(agent, srv.URL, "ada@example.com")
	agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(agent)
	if eval[bool](agent, `!!document.querySelector('[data-testid="forwarded"]')`) {
		t.Fatal("forwarded marker shown before the reply was forwarded")
	}

	if _, err := srv.App.DB.SQL.Exec(`UPDATE messages SET forwarded_to = ?, forwarded_at = ?, forwarded_status = 'sent' WHERE id = ?`,
		"vera@example.com", time.Now().UnixMicro(), reply.ID); err != nil {
		t.Fatal(err)
	}
	// Any event about the conversation refreshes the open view.
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "She may write back.", "kind": "comment"}, http.StatusCreated, nil)
	marker := `(() => { const f = document.querySelector('[data-testid="message"][data-id="` + reply.ID + `"] [data-testid="forwarded"]');
		return f && f.textContent.trim() === '(forwarded to vera@example.com)' && f.previousElementSibling && f.previousElementSibling.textContent === 'Ada'; })()`
	agent.waitFor("the forwarded marker, live", marker, 10*time.Second)

	agent.do("reload", chromedp.Reload())
	agent.waitFor("the forwarded marker after reload", marker, 10*time.Second)
	if got := eval[string](agent, `document.querySelector('[data-testid="forwarded-status"]').textContent`); got != "sent" {
		t.Errorf("delivery status %q, want sent", got)
	}
	if n := eval[int](agent, `document.querySelectorAll('[data-testid="forwarded"]').length`); n != 1 {
		t.Errorf("%d forwarded markers, want 1 (only the forwarded reply)", n)
	}
	// The internal note looks like a note.
	note := eval[dashMessage](agent, `(() => { const m = document.querySelector('[data-testid="message"][data-kind="comment"]');
		return { Class: m.className, Body: m.querySelector('.msg-body').textContent, Author: m.querySelector('.note-label').textContent }; })()`)
	if !strings.Contains(note.Class, "msg-comment") || note.Author != "Internal note" || note.Body != "She may write back." {
		t.Errorf("comment shown as %+v", note)
	}
	if bg := eval[string](agent, `getComputedStyle(document.querySelector('[data-kind="comment"] .msg-body')).backgroundColor`); bg == eval[string](agent, `getComputedStyle(document.querySelector('[data-kind="reply"][data-author-kind="agent"] .msg-body')).backgroundColor`) {
		t.Errorf("a comment has the same background as a reply (%s)", bg)
	}
}

// Script tags in names and messages are shown as text in the widget and
// in the dashboard: no dialog, no injected element, no script run.
func TestUserTextIsShownAsText(t *testing.T) {
	srv := startParley(t)
	const (
		agentName   = `<img src=x onerror="window.__pwned=1">Ann`
		visitorName = `<script>window.__pwned=1;alert(1)</script>`
		visitorBody = `<script>alert(2)</script><b>bold</b><img src=x onerror="window.__pwned=1">`
		replyBody   = `<img src=x onerror="alert(3)"><script>window.__pwned=1</script>`
	)
	if _, err := srv.App.Chat.CreateAgent(context.Background(), srv.Workspace.ID, "ann@example.com", agentName, agentPassword, ""); err != nil {
		t.Fatal(err)
	}
	visitor := newTab(t, "visitor")
	agent := newTab(t, "agent")

	// Agents offline: the visitor goes through the contact form with the name.
	openWidget(visitor, srv.URL+"/demo")
	fillContactForm(visitor, visitorName, "mallory@example.com")
	visitor.waitFor("the composer", inWidget(`!$('input').closest('.composer').hidden`), 10*time.Second)
	eval[bool](visitor, inWidget(`(() => { $('input').value = `+js(visitorBody)+`; $('input').dispatchEvent(new Event('input', { bubbles: true })); $('send').click(); return true; })()`))
	visitor.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)

	loginDashboard(agent, srv.URL, "ann@example.com")
	agent.waitFor("the conversation in the list", `document.querySelector('[data-testid="conversation-item"]')`, 10*time.Second)
	if got := eval[string](agent, `document.querySelector('[data-testid="conversation-item"] .conv-name').textContent`); got != visitorName {
		t.Errorf("list shows the name as %q", got)
	}
	if got := eval[string](agent, `document.querySelector('[data-testid="conversation-item"] .conv-preview').textContent`); got != visitorBody {
		t.Errorf("list shows the preview as %q", got)
	}
	agent.do("open the conversation", chromedp.Click(chromedp.CSS(`[data-testid="conversation-item"]`)))
	agent.waitFor("the conversation", `document.querySelector('[data-testid="reply-body"]')`, 10*time.Second)
	msgs := dashMessages(agent)
	if len(msgs) != 1 || msgs[0].Body != visitorBody || msgs[0].Author != visitorName {
		t.Errorf("dashboard shows %+v", msgs)
	}
	if got := eval[string](agent, `document.querySelector('.conv-title h1').textContent`); got != visitorName {
		t.Errorf("conversation title %q", got)
	}
	sendReply(agent, "send-reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), replyBody))
	agent.waitFor("the reply", `document.querySelectorAll('[data-testid="message"]').length === 2`, 10*time.Second)
	if got := dashMessages(agent)[1]; got.Body != replyBody || got.Author != agentName {
		t.Errorf("dashboard shows the reply as %+v", got)
	}

	visitor.waitFor("the reply in the widget", inWidget(`$$('message').some((m) => m.getAttribute('data-author-kind') === 'agent')`), 10*time.Second)
	wm := widgetMessages(visitor)
	if len(wm) != 2 || wm[0].Body != visitorBody || wm[1].Body != replyBody || wm[1].Author != agentName {
		t.Errorf("widget shows %+v", wm)
	}

	// Give a failed <img> time to fire onerror, had one been created.
	time.Sleep(300 * time.Millisecond)
	for _, tb := range []*tab{agent, visitor} {
		if eval[bool](tb, `window.__pwned === 1`) {
			t.Errorf("%s tab: injected script ran", tb.name)
		}
		if n := tb.dialogs.Load(); n != 0 {
			t.Errorf("%s tab: %d dialogs opened", tb.name, n)
		}
	}
	if n := eval[int](agent, `document.querySelectorAll('main script, main img, main b, #conv-list script, #conv-list img').length`); n != 0 {
		t.Errorf("dashboard: %d injected elements", n)
	}
	if n := eval[int](visitor, inWidget(`sr.querySelectorAll('[data-parley="messages"] script, [data-parley="messages"] img, [data-parley="messages"] b').length`)); n != 0 {
		t.Errorf("widget: %d injected elements", n)
	}
}

// A conversation opened in a tab nobody looks at (in the background,
// restored with the browser) is not read: the visitor sees no "Seen" and
// the team's unread count stays until the tab is shown.
func TestConversationOpenedInAHiddenTab(t *testing.T) {
	srv, agent, visitor := agentAndVisitor(t)
	visitorWrites(visitor, srv.URL+"/demo", "Anyone there?")
	v, convID := conversationOf(t, srv, eval[string](visitor, `window.Parley.visitorToken()`))

	// The agent's next page loads hidden until the test shows it.
	ctx, cancel := context.WithTimeout(agent.ctx, 20*time.Second)
	defer cancel()
	const hidden = `(() => { window.__shown = false;
		Object.defineProperty(document, 'visibilityState', { get: () => window.__shown ? 'visible' : 'hidden' });
		Object.defineProperty(document, 'hidden', { get: () => !window.__shown }); })()`
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: hidden}); err != nil {
		t.Fatalf("hide the tab: %v", err)
	}
	agent.do("load the conversation", chromedp.Navigate(srv.URL+"/dashboard/conversations/"+convID))
	agent.waitFor("the conversation page", `!!document.querySelector('[data-testid="reply-body"]')`, 10*time.Second)
	waitLive(agent)
	time.Sleep(time.Second) // what a wrong read would have sent by now
	if eval[bool](visitor, inWidget(`$$('message').some((m) => m.getAttribute('data-status') === 'seen')`)) {
		t.Fatal(`the visitor sees "Seen" for a conversation loaded in a hidden tab`)
	}
	if c, err := srv.App.Chat.Conversation(context.Background(), model.Agent{WorkspaceID: v.WorkspaceID}, convID); err != nil || c.Unread != 1 {
		t.Fatalf("unread %d (%v) with the conversation loaded in a hidden tab, want 1", c.Unread, err)
	}

	// Shown: read, and the visitor is told.
	eval[bool](agent, `(window.__shown = true, document.dispatchEvent(new Event('visibilitychange')), true)`)
	visitor.waitFor(`"Seen" once the tab is shown`, inWidget(`$$('message').some((m) => m.textContent.includes('Anyone there?') && m.getAttribute('data-status') === 'seen')`), 10*time.Second)
}

// TestChatStaysOpenAcrossPages: a chat the visitor left open on one page of
// the site opens again on the next (a laptop), beside the page and without
// taking its focus; one they closed stays closed. On a phone, where the
// chat covers the whole page, the next page shows the page.
func TestChatStaysOpenAcrossPages(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	tests := []struct {
		name          string
		width, height int64
		reopens       bool
	}{
		{"laptop", 1366, 900, true},
		{"phone", 390, 844, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTab(t, "visitor-"+tt.name)
			v.do("viewport", chromedp.EmulateViewport(tt.width, tt.height))
			// The pages' clock, moved on by the test (kept across pages).
			const clock = `(() => { const now = Date.now; Date.now = () => now() + (+sessionStorage.getItem('test.clock') || 0); })()`
			ctx, cancel := context.WithTimeout(v.ctx, 20*time.Second)
			defer cancel()
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: clock}); err != nil {
				t.Fatalf("the pages' clock: %v", err)
			}
			visitorWrites(v, srv.URL+"/demo", "Looking at your prices")
			// Opened more than half an hour ago, and open still: what counts
			// is that it was open while the visitor was last active on the
			// page (the click on the link to the next page).
			eval[bool](v, `(sessionStorage.setItem('test.clock', String(31 * 60 * 1000)), true)`)
			v.do("a click on the page", chromedp.MouseClickXY(100, 700))

			// The next page of the site (the chat's state is decided as the
			// launcher is drawn).
			nextPage := func(page int) bool {
				t.Helper()
				v.navigate(srv.URL + "/demo?page=" + strconv.Itoa(page))
				v.waitFor("the widget launcher", inWidget(`$('launcher')`), 10*time.Second)
				return eval[bool](v, inWidget(`!$('window').hidden`))
			}
			if open := nextPage(2); open != tt.reopens {
				t.Fatalf("the chat left open is open on the next page: %v, want %v", open, tt.reopens)
			}
			if !tt.reopens {
				return
			}
			v.waitFor("the history", inWidget(`$$('message').some((m) => m.textContent.includes('Looking at your prices'))`), 10*time.Second)
			if eval[bool](v, `document.activeElement === document.querySelector('#parley-widget')`) {
				t.Error("the chat opened again took the page's focus")
			}
			if !eval[bool](v, inWidget(`$('launcher').getAttribute('aria-expanded') === 'true'`)) {
				t.Error("the launcher does not say the chat is open")
			}
			v.screenshot("laptop-1366x900-chat-open-on-the-next-page")

			eval[bool](v, inWidget(`($('close').click(), true)`))
			eval[bool](v, `(window.__page = 2, true)`)
			if nextPage(3) {
				t.Error("the chat closed on one page is open on the next")
			}

			// Back to page 2, from the back/forward cache, with its chat
			// closed, though page 3 had opened it: the next page follows
			// page 2.
			eval[bool](v, inWidget(`($('launcher').click(), true)`))
			v.waitFor("the chat open on page 3", inWidget(`!$('window').hidden`), 10*time.Second)
			eval[bool](v, `(history.back(), true)`)
			v.waitFor("page 2 again", `location.search === '?page=2' && document.readyState === 'complete'`, 10*time.Second)
			if !eval[bool](v, `window.__page === 2`) {
				t.Log("page 2 was loaded again, not restored from the back/forward cache: nothing more to check")
				return
			}
			if nextPage(4) {
				t.Error("the chat closed on the page restored from the back/forward cache is open on the next")
			}
		})
	}
}

// TestReplyPreviewWhileClosed: a reply that comes while the chat is closed
// shows above the launcher, as text, with who wrote it; the visitor can
// hide it until the next reply, it follows to the site's next page while
// unread, and it opens the chat. A site can turn it off (data-preview).
func TestReplyPreviewWhileClosed(t *testing.T) {
	for _, vp := range []viewport{desktop, phone} {
		t.Run(vp.name, func(t *testing.T) {
			srv, a := startWithAgentOnline(t)
			v := newTab(t, "visitor")
			v.setViewport(vp)
			visitorWrites(v, srv.URL+"/demo", "Do you ship to Norway?")
			token := eval[string](v, `window.Parley.visitorToken()`)
			_, convID := conversationOf(t, srv, token)
			reply := func(body string) {
				t.Helper()
				srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": body, "kind": "reply"}, http.StatusCreated, nil)
			}
			shows := func(body string) string {
				return inWidget(`!$('preview').hidden && $('preview-name').textContent === 'Ada' && $('preview-body').textContent === ` + js(body))
			}
			eval[bool](v, inWidget(`($('close').click(), true)`))
			v.waitFor("the window closed", inWidget(`$('window').hidden`), 5*time.Second)
			if !eval[bool](v, inWidget(`$('preview').hidden`)) {
				t.Error("a preview with nothing unread")
			}

			first := "Yes: <b>3 days</b> to Oslo."
			reply(first)
			v.waitFor("the reply above the launcher, as text", shows(first), 10*time.Second)
			if eval[int](v, inWidget(`$('preview-body').children.length`)) != 0 {
				t.Error("the reply's markup was drawn")
			}
			inView := inWidget(`(() => { const p = $('preview').getBoundingClientRect(), l = $('launcher').getBoundingClientRect();
				return p.left >= 0 && p.right <= innerWidth && p.top >= 0 && p.bottom <= l.top; })()`)
			if !eval[bool](v, inView) {
				t.Error("the preview is not in the window, above the launcher")
			}
			checkAxe(v, "widget reply preview "+vp.name)

			// Hidden: the launcher keeps the focus and the count.
			eval[bool](v, inWidget(`($('preview-hide').click(), true)`))
			v.waitFor("the preview hidden", inWidget(`$('preview').hidden && $('badge').textContent === '1'`), 5*time.Second)
			if !eval[bool](v, inWidget(`sr.activeElement === $('launcher')`)) {
				t.Error("hiding the preview lost the focus")
			}
			v.navigate(srv.URL + "/demo")
			v.waitFor("the count on the next page", inWidget(`$('badge') && $('badge').textContent === '1'`), 10*time.Second)
			if !eval[bool](v, inWidget(`$('preview').hidden`)) {
				t.Error("a hidden preview came back on the next page")
			}

			// A newer reply shows again, and on the next page while unread.
			second := "Shipping is free over 50 €."
			reply(second)
			v.waitFor("the newer reply above the launcher", shows(second), 10*time.Second)
			v.navigate(srv.URL + "/demo")
			v.waitFor("the unread reply on the next page", shows(second), 10*time.Second)

			// It opens the chat, and is read there.
			eval[bool](v, inWidget(`($('preview-open').click(), true)`))
			v.waitFor("the chat open, the preview gone", inWidget(`!$('window').hidden && $('preview').hidden`), 5*time.Second)
			eval[bool](v, inWidget(`($('close').click(), true)`))
			v.waitFor("nothing unread", inWidget(`$('window').hidden && $('badge').hidden && $('preview').hidden`), 10*time.Second)

			// A site that turns previews off keeps the count alone.
			site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><head><title>Shop</title></head><body><h1>Teapots</h1>
<script src="%s" data-site-key="%s" data-visitor-token="%s" data-preview="off" async></script></body></html>`,
					html.EscapeString(srv.URL+"/widget.js"), html.EscapeString(srv.Workspace.SiteKey), html.EscapeString(token))
			}))
			defer site.Close()
			v.navigate(site.URL)
			v.waitFor("the widget on the site", inWidget(`!!$('launcher')`), 10*time.Second)
			reply("Anything else?")
			v.waitFor("the count of the reply", inWidget(`$('badge').textContent === '1'`), 10*time.Second)
			if !eval[bool](v, inWidget(`$('preview').hidden`)) {
				t.Error("data-preview=\"off\" shows the preview")
			}
		})
	}
}

// TestUnreadReplyInTheTabTitle: a reply that comes while the visitor looks
// at another tab shows in the site's tab title, with how many are unread;
// the page's own title comes back once the visitor returns to it.
func TestUnreadReplyInTheTabTitle(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	v := newTab(t, "visitor")
	visitorWrites(v, srv.URL+"/demo", "Do you ship to Norway?")
	_, convID := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`))
	own := eval[string](v, `document.title`)

	// The visitor goes to another tab.
	eval[bool](v, `(() => { window.__shown = false;
		Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => window.__shown ? 'visible' : 'hidden' });
		Object.defineProperty(document, 'hidden', { configurable: true, get: () => !window.__shown });
		document.dispatchEvent(new Event('visibilitychange')); return true; })()`)
	for i, want := range []string{"(1) New message from Ada", "(2) New message from Ada"} {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": fmt.Sprintf("Yes, answer %d", i+1), "kind": "reply"}, http.StatusCreated, nil)
		v.waitFor("the title "+want, `document.title === `+js(want), 10*time.Second)
	}

	// Back on the page: its title, and the replies read.
	eval[bool](v, `(window.__shown = true, document.dispatchEvent(new Event('visibilitychange')), true)`)
	v.waitFor("the page's own title", `document.title === `+js(own), 10*time.Second)
	if own == "" || strings.Contains(own, "New message") {
		t.Errorf("the page's own title: %q", own)
	}
}
