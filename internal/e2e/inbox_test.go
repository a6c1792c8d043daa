package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// count of a view ("mine", "unassigned", "all") in the dashboard's list.
func viewCount(tb *tab, view string) string {
	tb.t.Helper()
	return eval[string](tb, `(document.querySelector('[data-testid="count-`+view+`"]') || {}).textContent || ''`)
}

// listAssignee is what the list shows as a conversation's assignee.
func listAssignee(id string) string {
	return `((document.querySelector('#convs > li[data-id="` + id + `"] [data-testid="list-assignee"]') || {}).textContent || '').trim()`
}

// chooseAssignee picks an agent in an assign menu as a person would.
func chooseAssignee(tb *tab, sel, agentID string) {
	tb.t.Helper()
	eval[bool](tb, `(() => { const s = document.querySelector(`+js(sel)+`); s.focus(); s.value = `+js(agentID)+`;
		s.dispatchEvent(new Event('change', { bubbles: true })); s.blur(); return true; })()`)
}

// One agent assigns; the other agent's dashboard shows it without a reload,
// with the views' counts.
func TestAssignmentSeenLiveBySecondAgent(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")

	a := newTab(t, "ada")
	b := newTab(t, "ben")
	loginDashboard(a, srv.URL, "ada@example.com")
	loginDashboard(b, srv.URL, "ben@example.com")
	if got := eval[string](b, listAssignee(convID)); got != "Unassigned" {
		t.Fatalf("Ben's list says %q before any assignment", got)
	}
	if got := viewCount(b, "unassigned"); got != "1" {
		t.Fatalf("Ben's Unassigned count %q, want 1", got)
	}
	eval[bool](b, `(window.__sameDocument = true)`)

	// Ada opens the conversation and takes it with the keyboard ("a").
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	a.do("press a", chromedp.KeyEvent("a"))
	b.waitFor("Ada as the assignee in Ben's list", listAssignee(convID)+` === 'Ada'`, 10*time.Second)
	b.waitFor("Ben's counts", `document.querySelector('[data-testid="count-unassigned"]').textContent === '0' && document.querySelector('[data-testid="count-mine"]').textContent === '0'`, 10*time.Second)
	a.waitFor("Ada's menu to say Ada", `document.querySelector('[data-testid="assign-conversation"]').value === `+js(ada.ID), 10*time.Second)
	a.waitFor("a screen reader told", `document.querySelector('[data-testid="announcer"]').textContent.trim() === 'Assigned to you.'`, 5*time.Second)

	// Ada gives it to Ben from the conversation's menu.
	chooseAssignee(a, `[data-testid="assign-conversation"]`, ben.ID)
	a.waitFor("a screen reader told", `document.querySelector('[data-testid="announcer"]').textContent.trim() === 'Assigned to Ben.'`, 5*time.Second)
	b.waitFor("Ben's list to say You", listAssignee(convID)+` === 'You'`, 10*time.Second)
	b.waitFor("Ben's Mine count", `document.querySelector('[data-testid="count-mine"]').textContent === '1'`, 10*time.Second)
	if !eval[bool](b, `window.__sameDocument === true`) {
		t.Fatal("Ben's dashboard reloaded instead of updating live")
	}
	// Ben's Mine view lists it; Ada's does not.
	b.navigate(srv.URL + "/dashboard?view=mine")
	if n := eval[int](b, `document.querySelectorAll('[data-testid="conversation-item"]').length`); n != 1 {
		t.Errorf("Ben's Mine view lists %d conversations, want 1", n)
	}
	// Ben unassigns it from the list; Ada sees it live.
	waitLive(b)
	b.navigate(srv.URL + "/dashboard")
	waitLive(b)
	chooseAssignee(b, `#convs > li[data-id="`+convID+`"] [data-testid="assign-list"]`, "")
	a.waitFor("Unassigned in Ada's menu", `document.querySelector('[data-testid="assign-conversation"]').value === ''`, 10*time.Second)
	a.waitFor("Unassigned in Ada's list", listAssignee(convID)+` === 'Unassigned'`, 10*time.Second)
}

// Typing "/" and letters in the reply box offers canned replies; the
// keyboard alone picks one and inserts its text.
func TestCannedReplyPicker(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	for _, c := range [][2]string{{"hello", "Hello! How can I help you today?"}, {"help", "Here is our help centre: https://example.com/help"}, {"bye", "Have a nice day!"}} {
		srv.Do("POST", "/api/v1/canned", ada.Token, map[string]string{"shortcut": c[0], "body": c[1]}, http.StatusCreated, nil)
	}
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Hi")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)

	// "r" focuses the reply box.
	a.do("press r", chromedp.KeyEvent("r"))
	a.waitFor("focus in the reply box", `document.activeElement === document.querySelector('[data-testid="reply-body"]')`, 5*time.Second)
	if got := eval[string](a, `document.activeElement.value`); got != "" {
		t.Fatalf("pressing r typed %q into the reply box", got)
	}
	a.do("type /he", chromedp.KeyEvent("Thanks. /he"))
	a.waitFor("two matching options", `document.querySelectorAll('[data-testid="canned-option"]').length === 2 && !document.querySelector('[data-testid="canned-list"]').hidden`, 5*time.Second)
	state := eval[map[string]string](a, `(() => { const r = document.querySelector('[data-testid="reply-body"]'); return {
		role: r.getAttribute('role'), expanded: r.getAttribute('aria-expanded'), controls: r.getAttribute('aria-controls'),
		active: r.getAttribute('aria-activedescendant') || '', listRole: document.getElementById('canned-list').getAttribute('role'),
		first: document.querySelector('[data-testid="canned-option"]').textContent,
		selected: document.querySelector('[data-testid="canned-option"]').getAttribute('aria-selected') }; })()`)
	want := map[string]string{"role": "combobox", "expanded": "true", "controls": "canned-list", "active": "canned-opt-0", "listRole": "listbox", "selected": "true"}
	for k, v := range want {
		if state[k] != v {
			t.Errorf("%s = %q, want %q", k, state[k], v)
		}
	}
	if !strings.HasPrefix(state["first"], "/hello") {
		t.Errorf("first option %q, want /hello", state["first"])
	}
	a.do("arrow down", chromedp.KeyEvent(kb.ArrowDown))
	a.waitFor("the second option chosen", `document.querySelector('[data-testid="reply-body"]').getAttribute('aria-activedescendant') === 'canned-opt-1'`, 5*time.Second)
	a.do("Enter", chromedp.KeyEvent("\r"))
	a.waitFor("the help text inserted", `document.querySelector('[data-testid="reply-body"]').value === 'Thanks. Here is our help centre: https://example.com/help'`, 5*time.Second)
	if !eval[bool](a, `document.querySelector('[data-testid="canned-list"]').hidden && document.querySelector('[data-testid="reply-body"]').getAttribute('aria-expanded') === 'false'`) {
		t.Error("the list stays open after inserting")
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM messages WHERE author_kind = 'agent'`); n != 0 {
		t.Fatalf("Enter in the picker sent the reply (%d agent messages)", n)
	}
	// Escape closes the list and keeps the text; Tab inserts too.
	a.do("type /b, Escape", chromedp.KeyEvent(" /b"))
	a.waitFor("the bye option", `document.querySelectorAll('[data-testid="canned-option"]').length === 1`, 5*time.Second)
	a.do("Escape", chromedp.KeyEvent(kb.Escape))
	a.waitFor("the list closed", `document.querySelector('[data-testid="canned-list"]').hidden`, 5*time.Second)
	if got := eval[string](a, `document.querySelector('[data-testid="reply-body"]').value`); !strings.HasSuffix(got, " /b") {
		t.Errorf("after Escape the reply box holds %q", got)
	}
	a.do("type y, Tab", chromedp.KeyEvent("y"))
	a.waitFor("the bye option again", `document.querySelectorAll('[data-testid="canned-option"]').length === 1`, 5*time.Second)
	a.do("Tab", chromedp.KeyEvent(kb.Tab))
	a.waitFor("bye inserted", `document.querySelector('[data-testid="reply-body"]').value.endsWith(' Have a nice day!')`, 5*time.Second)
	// No match, no list.
	a.do("type /zz", chromedp.KeyEvent(" /zz"))
	if eval[bool](a, `!document.querySelector('[data-testid="canned-list"]').hidden`) {
		t.Error("the list shows for a shortcut nobody has")
	}
	// Ctrl+Enter sends what the box holds.
	a.do("Ctrl+Enter", chromedp.KeyEvent("\r", chromedp.KeyModifiers(2)))
	apptest.Eventually(t, 10*time.Second, "the reply to be stored", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM messages WHERE author_kind = 'agent' AND body LIKE 'Thanks. Here is our help centre%Have a nice day! /zz'`) == 1
	})
}

// grantPermissions is the DevTools command Browser.grantPermissions.
var grantPermissions = cdp.Command[struct {
	Permissions      []string             `json:"permissions"`
	Origin           string               `json:"origin,omitempty"`
	BrowserContextID cdp.BrowserContextID `json:"browserContextId,omitempty"`
}, cdp.Empty]{Method: "Browser.grantPermissions"}

// wrapNotification replaces window.Notification with a wrapper that
// records each notification made (and permission requests).
const wrapNotification = `(() => {
	const N = window.Notification;
	window.__notes = []; window.__asked = 0;
	function Wrapped(title, opts) { window.__notes.push({ title: title, body: (opts && opts.body) || '' }); return new N(title, opts); }
	Object.defineProperty(Wrapped, 'permission', { get: () => N.permission });
	// The browser's prompt: the test answers it through the DevTools protocol.
	Wrapped.requestPermission = (cb) => { window.__asked++; return new Promise((resolve) => {
		const t = setInterval(() => { if (N.permission !== 'default') { clearInterval(t); if (cb) cb(N.permission); resolve(N.permission); } }, 20); }); };
	window.Notification = Wrapped;
	return true; })()`

// allowNotifications answers the browser's notification prompt for
// origin: granted.
func allowNotifications(a *tab, origin string) {
	a.t.Helper()
	bctx := chromedp.FromContext(a.ctx).BrowserContextID
	if _, err := chromedp.CallBrowser(a.ctx, grantPermissions, struct {
		Permissions      []string             `json:"permissions"`
		Origin           string               `json:"origin,omitempty"`
		BrowserContextID cdp.BrowserContextID `json:"browserContextId,omitempty"`
	}{Permissions: []string{"notifications"}, Origin: origin, BrowserContextID: bctx}); err != nil {
		a.t.Fatalf("Browser.grantPermissions: %v", err)
	}
}

// A visitor writing in a colleague's conversation is not announced while
// the colleague is there to answer; once they are offline, it is, saying
// so: nobody else would hear the visitor.
func TestNoticeWhenTheAssigneeIsOffline(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	veraToken, convID := visitorWithToken(t, srv, "Vera", "vera@example.com", "Hello")
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": ben.ID}, http.StatusOK, nil)
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	a := newTab(t, "ada")
	allowNotifications(a, srv.URL)
	loginDashboard(a, srv.URL, "ada@example.com")
	waitLive(a)
	eval[bool](a, wrapNotification)
	write := func(body string) {
		srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": veraToken, "body": body, "client_id": body}, http.StatusCreated, nil)
		a.waitFor("the message in the list", `document.body.textContent.includes(`+js(body)+`)`, 10*time.Second)
		time.Sleep(300 * time.Millisecond) // the notice waits for the conversation's update
	}

	write("Ben is here, is he not?")
	if n := eval[int](a, `window.__notes.length`); n != 0 {
		t.Errorf("%d notifications for Ben's conversation while he is online: %s", n, eval[string](a, `JSON.stringify(window.__notes)`))
	}
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	a.waitFor("Ben offline in the menus", `[...document.querySelectorAll('option[value="`+ben.ID+`"]')].some((o) => o.textContent === 'Ben · offline')`, 10*time.Second)
	write("Anyone there?")
	a.waitFor("a notification saying Ben is offline", `window.__notes.some((n) => n.title === 'Vera (Ben is offline)' && n.body === 'Anyone there?')`, 10*time.Second)

	// Offline when the page was drawn: the page says so.
	a.navigate(srv.URL + "/dashboard")
	waitLive(a)
	eval[bool](a, wrapNotification)
	write("Still nobody?")
	a.waitFor("a notification after a reload", `window.__notes.some((n) => n.title === 'Vera (Ben is offline)' && n.body === 'Still nobody?')`, 10*time.Second)
}

// A wave of new conversations is a few notifications and one that counts
// the rest, not one each.
func TestNotificationBurstTold(t *testing.T) {
	srv := startParley(t, "PARLEY_RATE_LIMITS", "off") // ten visitors from one address
	srv.AddAgent("ada@example.com", "Ada")
	a := newTab(t, "ada")
	allowNotifications(a, srv.URL)
	loginDashboard(a, srv.URL, "ada@example.com")
	waitLive(a)
	eval[bool](a, wrapNotification)
	const n = 10
	for i := range n {
		newVisitorConversation(t, srv, fmt.Sprint("Visitor ", i), fmt.Sprintf("v%d@example.com", i), "Hello")
	}
	// Each conversation is told, alone or counted in a summary.
	const told = `window.__notes.reduce((sum, n) => { const m = /^(\d+) more conversations? needs? an answer$/.exec(n.title); return sum + (m ? +m[1] : n.title.startsWith('New conversation: ') ? 1 : 0); }, 0)`
	a.waitFor("every conversation told", told+` === `+fmt.Sprint(n), 15*time.Second)
	if got := eval[int](a, `window.__notes.length`); got > 5 {
		t.Errorf("%d notifications for %d conversations arriving together: %s", got, n, eval[string](a, `JSON.stringify(window.__notes.map((n) => n.title))`))
	}
}

// Permission is asked once, from a click; once granted, a new
// conversation and a visitor message out of sight make a desktop
// notification; the setting turns them off.
func TestNotificationPermissionFlow(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	veraToken, first := visitorWithToken(t, srv, "Vera", "vera@example.com", "Hello")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")

	if got := eval[string](a, `Notification.permission`); got != "default" {
		t.Fatalf("permission %q before anything, want default", got)
	}
	a.waitFor("the banner offering notifications", `!document.querySelector('[data-testid="notify-banner"]').hidden`, 5*time.Second)
	eval[bool](a, wrapNotification)
	// Click "Turn on" (a real click: a user gesture), then answer the
	// prompt by granting through the DevTools protocol.
	a.do("click Turn on", chromedp.Click(chromedp.CSS(`[data-testid="notify-enable"]`)))
	a.waitFor("the permission request", `window.__asked === 1`, 5*time.Second)
	allowNotifications(a, srv.URL)
	a.waitFor("the banner gone", `document.querySelector('[data-testid="notify-banner"]').hidden`, 5*time.Second)
	if n := eval[int](a, `window.__asked`); n != 1 {
		t.Errorf("permission requested %d times, want 1", n)
	}
	if got := eval[string](a, `Notification.permission`); got != "granted" {
		t.Fatalf("permission %q after granting", got)
	}

	// A new conversation: a notification naming it.
	newVisitorConversation(t, srv, "Walt", "walt@example.com", "Do you deliver on Sundays?")
	a.waitFor("a notification for the new conversation", `window.__notes.some((n) => n.title === 'New conversation: Walt' && n.body === 'Do you deliver on Sundays?')`, 10*time.Second)

	// A visitor message in a conversation not on screen.
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": veraToken, "body": "One more question", "client_id": "c2"}, http.StatusCreated, nil)
	a.waitFor("a notification for the message", `window.__notes.some((n) => n.title === 'Vera' && n.body === 'One more question')`, 10*time.Second)
	// Not for a message in the conversation on screen.
	a.navigate(srv.URL + "/dashboard/conversations/" + first)
	waitLive(a)
	eval[bool](a, wrapNotification)
	a.do("focus the page", chromedp.Click(chromedp.CSS(`[data-testid="reply-body"]`)))
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": veraToken, "body": "I am looking at it", "client_id": "c3"}, http.StatusCreated, nil)
	a.waitFor("the message on screen", `document.body.textContent.includes('I am looking at it')`, 10*time.Second)
	if n := eval[int](a, `window.__notes.length`); n != 0 && eval[bool](a, `document.hasFocus()`) {
		t.Errorf("%d notifications for a message in the conversation on screen", n)
	}

	// The setting turns desktop notifications off (kept in this browser).
	a.navigate(srv.URL + "/dashboard/settings")
	a.waitFor("the notification settings", `document.querySelector('[data-testid="pref-desktop"]').checked && document.querySelector('[data-testid="notify-permission"]').textContent.includes('allowed')`, 5*time.Second)
	a.do("turn desktop notifications off", chromedp.Click(chromedp.CSS(`[data-testid="pref-desktop"]`)))
	a.navigate(srv.URL + "/dashboard")
	waitLive(a)
	eval[bool](a, wrapNotification)
	if !eval[bool](a, `document.querySelector('[data-testid="notify-banner"]').hidden`) {
		t.Error("the banner asks again after permission was given")
	}
	newVisitorConversation(t, srv, "Yann", "yann@example.com", "Hello again")
	a.waitFor("Yann in the list", `document.body.textContent.includes('Yann')`, 10*time.Second)
	if n := eval[int](a, `window.__notes.length`); n != 0 {
		t.Errorf("%d notifications with desktop notifications off", n)
	}
}

// newestInView: the conversation's newest message is on the screen.
const newestInView = `(() => { const m = [...document.querySelectorAll('#conv-messages > li')].pop(); if (!m) return false; const r = m.getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()`

const noHorizontalScroll = `document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth`

// On a 390 px wide phone the dashboard shows the list, then the
// conversation, then the list again, with the visitor panel on demand and
// nothing wider than the screen.
// A phone on its side (844×390): the list takes the screen, rows and all,
// nothing wider than it; a conversation then takes it in turn.
func TestPhoneOnItsSide(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	var convID string
	for _, name := range []string{"Vera " + strings.Repeat("Longname", 12), "Walt", "Xena"} {
		_, convID = newVisitorConversation(t, srv, name, strings.ToLower(name[:4])+"@example.com", "Hello "+strings.Repeat("a", 200))
	}
	a := newTab(t, "ada")
	a.do("phone on its side", chromedp.EmulateViewport(844, 390, chromedp.EmulateMobile))
	loginDashboard(a, srv.URL, "ada@example.com")
	if !eval[bool](a, noHorizontalScroll) {
		t.Errorf("the list scrolls sideways at 844 px: %v", eval[int](a, `document.documentElement.scrollWidth`))
	}
	if h := eval[float64](a, `document.getElementById('conv-list').getBoundingClientRect().height`); h < 150 {
		t.Errorf("the list is %v px high on a 390 px screen", h)
	}
	a.screenshot("phone-844x390-list")
	a.do("open the conversation", chromedp.Click(chromedp.CSS(`[data-testid="conversation-item"][data-id="`+convID+`"]`)))
	a.waitFor("the conversation alone", `location.pathname.endsWith('`+convID+`') && getComputedStyle(document.querySelector('.sidebar')).display === 'none' && !!document.querySelector('[data-testid="reply-body"]')`, 10*time.Second)
	if !eval[bool](a, noHorizontalScroll) {
		t.Errorf("the conversation scrolls sideways at 844 px: %v", eval[int](a, `document.documentElement.scrollWidth`))
	}
	a.screenshot("phone-844x390-conversation")
}

func TestPhoneLayout(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	var convID string
	for i, name := range []string{"Vera Longname-Withahyphenatedsurname", "Walt", "Xena"} {
		_, convID = newVisitorConversation(t, srv, name, strings.ToLower(name[:4])+"@example.com",
			"A rather long first message that goes on and on to see whether the list cuts it neatly "+strings.Repeat("word ", i*10))
	}
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": ada.ID}, http.StatusOK, nil)
	for i := range 12 {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ada.Token, map[string]string{"body": fmt.Sprintf("Earlier answer %d, long enough to take a line or two on a phone.", i+1)}, http.StatusCreated, nil)
	}
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ada.Token, map[string]string{"body": "https://example.com/a/very/long/link/that/should/wrap/instead/of/making/the/page/wider/than/the/phone/screen/" + strings.Repeat("x", 80)}, http.StatusCreated, nil)

	a := newTab(t, "ada")
	a.do("phone viewport", chromedp.EmulateViewport(390, 844))
	loginDashboard(a, srv.URL, "ada@example.com")
	if !eval[bool](a, noHorizontalScroll) {
		t.Errorf("the list scrolls sideways at 390 px: %v > 390", eval[int](a, `document.documentElement.scrollWidth`))
	}
	if !eval[bool](a, `(() => { const r = document.querySelector('[data-testid="conversation-item"]').getBoundingClientRect(); return r.width > 300 && r.right <= window.innerWidth; })()`) {
		t.Error("the list does not take the phone's width")
	}
	a.screenshot("phone-390x844-list")

	a.do("open the conversation", chromedp.Click(chromedp.CSS(`[data-testid="conversation-item"][data-id="`+convID+`"]`)))
	a.waitFor("the conversation", `location.pathname === '/dashboard/conversations/`+url.PathEscape(convID)+`' && document.querySelector('[data-testid="reply-body"]')`, 10*time.Second)
	waitLive(a)
	checks := map[string]string{
		"no sideways scroll":          noHorizontalScroll,
		"list hidden":                 `getComputedStyle(document.querySelector('.sidebar')).display === 'none'`,
		"reply box within the screen": `(() => { const r = document.querySelector('[data-testid="reply-body"]').getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth && r.width > 250; })()`,
		"send button visible":         `(() => { const r = document.querySelector('[data-testid="send-reply"]').getBoundingClientRect(); return r.width > 0 && r.right <= window.innerWidth; })()`,
		// The reply area leaves the thread most of the screen (it took a third).
		"reply area about a quarter of the screen": `document.getElementById('composer').getBoundingClientRect().height <= window.innerHeight * 0.27`,
		"back link visible":                        `document.querySelector('[data-testid="back"]').getBoundingClientRect().width > 0`,
		"visitor panel hidden":                     `getComputedStyle(document.getElementById('visitor-panel')).display === 'none'`,
		"newest message in view":                   newestInView,
	}
	for what, cond := range checks {
		if !eval[bool](a, cond) {
			t.Errorf("conversation at 390 px: not %s", what)
		}
	}
	a.screenshot("phone-390x844-conversation")

	// The list is out of sight, the tab's title too: the back arrow counts
	// the unread conversations, and a new one arriving.
	backCount := `((b) => b.hidden ? 0 : parseInt(b.textContent, 10))(document.querySelector('[data-testid="back-unread"]'))`
	before := eval[int](a, backCount)
	if before == 0 {
		t.Error("the back arrow shows no count with unread conversations in the list")
	}
	newVisitorConversation(t, srv, "Yann", "yann@example.com", "Are you open on Sunday?")
	a.waitFor("the back arrow to count the new conversation", backCount+` === `+fmt.Sprint(before+1)+` && document.querySelector('[data-testid="back-unread"]').getBoundingClientRect().right <= window.innerWidth`, 10*time.Second)
	a.screenshot("phone-390x844-conversation-unread")

	eval[bool](a, `(document.querySelector('[data-testid="toggle-visitor"]').click(), true)`)
	a.waitFor("the visitor panel", `getComputedStyle(document.getElementById('visitor-panel')).display !== 'none' && document.querySelector('[data-testid="visitor-email"]').getBoundingClientRect().right <= window.innerWidth`, 5*time.Second)
	a.screenshot("phone-390x844-visitor")
	eval[bool](a, `(document.querySelector('[data-testid="close-visitor"]').click(), true)`)
	a.waitFor("the panel closed", `getComputedStyle(document.getElementById('visitor-panel')).display === 'none'`, 5*time.Second)

	eval[bool](a, `(document.querySelector('[data-testid="back"]').click(), true)`)
	a.waitFor("the list again", `location.pathname === '/dashboard' && document.querySelectorAll('[data-testid="conversation-item"]').length === 4`, 10*time.Second)
	if !eval[bool](a, noHorizontalScroll) {
		t.Error("the list scrolls sideways after coming back")
	}
	a.navigate(srv.URL + "/dashboard/settings/canned")
	if !eval[bool](a, noHorizontalScroll) {
		t.Error("Settings → Canned replies scrolls sideways at 390 px")
	}

	// The same conversation on a laptop: list, conversation and visitor side by side.
	a.do("laptop viewport", chromedp.EmulateViewport(1366, 900))
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	if !eval[bool](a, noHorizontalScroll+` && getComputedStyle(document.querySelector('.sidebar')).display !== 'none' && getComputedStyle(document.getElementById('visitor-panel')).display !== 'none'`) {
		t.Error("at 1366 px the list, the conversation and the visitor are not side by side")
	}
	if !eval[bool](a, newestInView) {
		t.Error("at 1366 px the conversation does not open at its newest message")
	}
	a.screenshot("laptop-1366x900-conversation")
}

// visitorWithToken is newVisitorConversation that also returns the
// visitor's token, to write again.
func visitorWithToken(t *testing.T, srv *apptest.Server, name, email, body string) (token, convID string) {
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
	var m struct {
		ConversationID string `json:"conversation_id"`
	}
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": body, "client_id": "c1"}, http.StatusCreated, &m)
	return sess.VisitorToken, m.ConversationID
}

// From the keyboard, the arrows move through an assign menu without
// assigning each agent they pass; Enter assigns the one chosen.
func TestAssignMenuByKeyboard(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	assignee := func() string {
		var c struct {
			Assignee *struct {
				ID string `json:"id"`
			} `json:"assignee"`
		}
		srv.Do("GET", "/api/v1/conversations/"+convID, ada.Token, nil, http.StatusOK, &c)
		if c.Assignee == nil {
			return ""
		}
		return c.Assignee.ID
	}

	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	const menu = `document.querySelector('[data-testid="assign-conversation"]')`
	eval[bool](a, `(`+menu+`.focus(), true)`)
	a.do("arrow down twice", chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	chosen := eval[string](a, menu+`.value`)
	if chosen == "" {
		t.Fatal("the arrows did not move through the menu")
	}
	time.Sleep(700 * time.Millisecond)
	if got := assignee(); got != "" {
		t.Fatalf("moving through the menu assigned %s", got)
	}
	a.do("Enter", chromedp.KeyEvent("\r"))
	deadline := time.Now().Add(10 * time.Second)
	for assignee() != chosen {
		if time.Now().After(deadline) {
			t.Fatalf("Enter did not assign the chosen agent %s (now %q)", chosen, assignee())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A keyboard user who sends a reply or closes a conversation stays where
// they were: the page comes back with the focus in the reply box, or on
// the button that undoes the close, not at the top of the page.
func TestKeyboardFocusAfterReplyAndClose(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)

	eval[bool](a, `(document.querySelector('[data-testid="reply-body"]').focus(), true)`)
	a.do("type a reply", chromedp.KeyEvent("It left this morning."))
	eval[bool](a, `(document.querySelector('[data-testid="send-reply"]').focus(), true)`)
	a.do("send with Enter", chromedp.KeyEvent("\r"))
	a.waitFor("the reply on the page", `[...document.querySelectorAll('#conv-messages > li')].some((m) => m.textContent.includes('It left this morning.'))`, 10*time.Second)
	a.waitFor("the focus in the reply box", `document.activeElement === document.querySelector('[data-testid="reply-body"]')`, 5*time.Second)

	eval[bool](a, `(document.querySelector('[data-testid="close-conversation"]').focus(), true)`)
	a.do("close with Enter", chromedp.KeyEvent("\r"))
	a.waitFor("the focus on Reopen", `document.activeElement === document.querySelector('[data-testid="reopen-conversation"]')`, 10*time.Second)
}

// The reply box keeps, per conversation, its draft through the page's
// reloads (a status change, another conversation and back) and "Writing a
// note" after a note is added; a sent reply leaves no draft behind.
func TestReplyDraftAndNoteModeKept(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	_, otherID := newVisitorConversation(t, srv, "Sam", "sam@example.com", "Do you ship to Oslo?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	box := `document.querySelector('[data-testid="reply-body"]')`

	eval[bool](a, `(`+box+`.focus(), true)`)
	a.do("type a draft", chromedp.KeyEvent("Good news: your parcel"))
	eval[bool](a, `((sel) => (window.__before = true, sel.value = 'invisible', sel.dispatchEvent(new Event('change', { bubbles: true })), true))(document.querySelector('[data-testid="status"]'))`)
	a.waitFor("the page reloaded", `!window.__before && document.readyState === 'complete' && document.querySelector('[data-testid="status"]').value === 'invisible'`, 10*time.Second)
	if got := eval[string](a, box+`.value`); got != "Good news: your parcel" {
		t.Errorf("after the status change the box holds %q", got)
	}

	a.navigate(srv.URL + "/dashboard/conversations/" + otherID)
	if got := eval[string](a, box+`.value`); got != "" {
		t.Errorf("another conversation's box holds %q", got)
	}
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	if got := eval[string](a, box+`.value`); got != "Good news: your parcel" {
		t.Errorf("back in the conversation the box holds %q", got)
	}

	eval[bool](a, `(`+box+`.value = '', true)`)
	a.do("tick writing a note", chromedp.Click(chromedp.CSS(`[data-testid="note-mode"]`)))
	eval[bool](a, `(`+box+`.focus(), true)`)
	a.do("write a note", chromedp.KeyEvent("Customer is upset, be kind"))
	a.do("add it with Ctrl+Enter", chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	a.waitFor("the note on the page", `[...document.querySelectorAll('#conv-messages > li')].some((m) => m.textContent.includes('Customer is upset'))`, 10*time.Second)
	if !eval[bool](a, `document.querySelector('[data-testid="note-mode"]').checked && `+box+`.classList.contains('note-mode')`) {
		t.Error("after a note the box no longer writes notes: the next Ctrl+Enter would reach the visitor")
	}

	a.do("untick writing a note", chromedp.Click(chromedp.CSS(`[data-testid="note-mode"]`)))
	eval[bool](a, `(`+box+`.focus(), true)`)
	a.do("write a reply", chromedp.KeyEvent("It left this morning."))
	sendReply(a, "send-reply")
	a.waitFor("the reply on the page", `[...document.querySelectorAll('#conv-messages > li')].some((m) => m.textContent.includes('It left this morning.'))`, 10*time.Second)
	if got := eval[string](a, box+`.value`); got != "" {
		t.Errorf("after sending, the box holds %q", got)
	}
	if eval[bool](a, `document.querySelector('[data-testid="note-mode"]').checked`) {
		t.Error("writing a note again after it was unticked")
	}
}

// The chime still sounds after the page was reloaded by a click (opening a
// conversation, sending a reply): the page does not wait for another
// gesture on it to make its sound.
func TestChimeAfterAReload(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.do("open the conversation", chromedp.Click(chromedp.CSS(`[data-testid="conversation-item"][data-id="`+convID+`"]`)))
	a.waitFor("the conversation page", `location.pathname === '/dashboard/conversations/`+convID+`' && document.readyState === 'complete'`, 10*time.Second)
	waitLive(a)
	eval[bool](a, toneCounter)
	newVisitorConversation(t, srv, "Sam", "sam@example.com", "Do you ship to Oslo?")
	a.waitFor("the chime", `window.__tones > 0`, 10*time.Second)
}

// A reply sent while Parley cannot be reached stays in the box, with a
// line saying so, instead of leaving for the browser's error page; sent
// again once the network is back, it arrives once. A refused one still
// shows the server's reason.
func TestReplyWhileOffline(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	box := `document.querySelector('[data-testid="reply-body"]')`
	eval[bool](a, `(window.__samePage = true, `+box+`.focus(), true)`)
	a.do("type a reply", chromedp.KeyEvent("It left this morning."))
	// The browser refuses the request, as it does with the network or the
	// server gone.
	block := func(pattern string) {
		t.Helper()
		if _, err := chromedp.Call(a.ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		var patterns []*network.BlockPattern
		if pattern != "" {
			patterns = append(patterns, &network.BlockPattern{URLPattern: pattern, Block: true})
		}
		if _, err := chromedp.Call(a.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
			t.Fatal(err)
		}
	}
	block(srv.URL + "/dashboard/conversations/*")
	a.do("send", chromedp.Click(chromedp.CSS(`[data-testid="send-reply"]`)))
	a.waitFor("the line saying it was not sent", `!!document.querySelector('[data-testid="reply-offline"]')`, 10*time.Second)
	a.screenshot("laptop-1366x900-reply-offline")
	if !eval[bool](a, `window.__samePage === true && `+box+`.value === 'It left this morning.'`) {
		t.Fatal("the page left, or the reply box lost its text")
	}
	block("")
	sendReply(a, "send-reply")
	a.waitFor("the reply on the page", `[...document.querySelectorAll('#conv-messages > li')].some((m) => m.textContent.includes('It left this morning.'))`, 10*time.Second)
	if n := eval[int](a, `[...document.querySelectorAll('#conv-messages > li')].filter((m) => m.textContent.includes('It left this morning.')).length`); n != 1 {
		t.Errorf("the reply is on the page %d times", n)
	}
	if got := eval[string](a, box+`.value`); got != "" {
		t.Errorf("after sending, the box holds %q", got)
	}

	// A note too long for the server: the server's reason shows above it,
	// the text kept, on the same page: posted once, the address the
	// conversation's. Refused again, the reason shows once.
	long := strings.Repeat("x", 20001)
	eval[bool](a, `(window.__samePage = true, `+box+`.value = `+js(long)+`, true)`)
	posts := `performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/messages')).length`
	before := eval[int](a, posts)
	for range 2 {
		a.do("add the note", chromedp.Click(chromedp.CSS(`[data-testid="send-comment"]`)))
		a.waitFor("the server's reason", `!!document.querySelector('[data-testid="reply-error"]')`, 10*time.Second)
	}
	a.waitFor("the second post", posts+` === `+strconv.Itoa(before+2), 10*time.Second)
	if !eval[bool](a, `window.__samePage === true && location.pathname === '/dashboard/conversations/`+convID+`'`) {
		t.Errorf("a refused note left the page for %s", eval[string](a, `location.href`))
	}
	if n := eval[int](a, `document.querySelectorAll('[data-testid="reply-error"]').length`); n != 1 {
		t.Errorf("the reason shows %d times", n)
	}
	if got := eval[int](a, box+`.value.length`); got != len(long) {
		t.Errorf("the refused note's box holds %d characters", got)
	}
	a.screenshot("laptop-1366x900-reply-refused")
}

// A conversation a colleague gives to an agent chimes on that agent's
// dashboard (not for their own choice), and the thread keeps a line of
// who gave it to whom.
func TestAssignmentAnnounced(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	b := newTab(t, "ben")
	loginDashboard(b, srv.URL, "ben@example.com")
	waitLive(b)
	eval[bool](b, toneCounter)

	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": ben.ID}, http.StatusOK, nil)
	b.waitFor("the chime for the conversation given to Ben", `window.__tones > 0`, 10*time.Second)
	var list struct{ Messages []model.Message }
	srv.Do("GET", "/api/v1/conversations/"+convID+"/messages", ada.Token, nil, http.StatusOK, &list)
	if last := list.Messages[len(list.Messages)-1]; last.Kind != model.KindEvent || last.Body != "Ada assigned the conversation to Ben." {
		t.Errorf("the thread's last line: %+v", last)
	}

	// Ben's own choice in his list makes no sound.
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": nil}, http.StatusOK, nil)
	sel := `document.querySelector('.assign-form[data-id="` + convID + `"] select')`
	b.waitFor("the list to show it unassigned", sel+` && `+sel+`.value === ''`, 10*time.Second)
	eval[bool](b, `(window.__tones = 0, true)`)
	eval[bool](b, `((s) => (s.value = `+js(ben.ID)+`, s.dispatchEvent(new Event('change', { bubbles: true })), true))(`+sel+`)`)
	b.waitFor("the list to show it Ben's", `[...`+sel+`.options].some((o) => o.defaultSelected && o.value === `+js(ben.ID)+`)`, 10*time.Second)
	if n := eval[int](b, `window.__tones`); n != 0 {
		t.Errorf("Ben's own choice chimed (%d tones)", n)
	}
	srv.Do("GET", "/api/v1/conversations/"+convID+"/messages", ada.Token, nil, http.StatusOK, &list)
	if last := list.Messages[len(list.Messages)-1]; last.Body != "Ben took the conversation." {
		t.Errorf("the thread's last line: %+v", last)
	}
	b.navigate(srv.URL + "/dashboard/conversations/" + convID)
	if !eval[bool](b, `[...document.querySelectorAll('#conv-messages > li[data-kind="event"]')].some((m) => m.textContent.includes('Ada assigned the conversation to Ben.'))`) {
		t.Error("the thread does not show the assignment")
	}
	b.screenshot("laptop-assignment-lines")
}

// Only a colleague's choice chimes "Assigned to you": in a view whose list
// does not hold the conversation too; the agent's own choice does not in
// another tab, nor does a reply that takes an unassigned conversation.
func TestAssignmentChimesForAColleaguesChoiceOnly(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, given := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	_, chosen := newVisitorConversation(t, srv, "Walt", "walt@example.com", "Do you ship to Oslo?")
	_, answered := newVisitorConversation(t, srv, "Xena", "xena@example.com", "Is it in stock?")
	mine := newTab(t, "ben-mine")
	loginDashboard(mine, srv.URL, "ben@example.com")
	mine.navigate(srv.URL + "/dashboard?view=mine")
	all := newTab(t, "ben-all")
	loginDashboard(all, srv.URL, "ben@example.com")
	countChimes(mine)
	countChimes(all)
	row := func(id string) string { return `document.querySelector('.conv-row[data-id="` + id + `"]')` }
	menu := func(id string) string { return `document.querySelector('.assign-form[data-id="` + id + `"] select')` }
	hisInMenu := func(id string) string {
		return menu(id) + ` && [...` + menu(id) + `.options].some((o) => o.defaultSelected && o.value === ` + js(ben.ID) + `)`
	}
	silent := func(what string) {
		t.Helper()
		time.Sleep(300 * time.Millisecond) // a chime would have begun at the event
		for _, b := range []*tab{mine, all} {
			if n := eval[int](b, `window.__tones`); n != 0 {
				t.Errorf("%s chimed in %s (%d tones)", what, b.name, n)
			}
		}
	}

	if eval[bool](mine, row(given)+` !== null`) {
		t.Fatal("Mine lists a conversation nobody has")
	}
	srv.Do("PUT", "/api/v1/conversations/"+given+"/assignee", ada.Token, map[string]any{"agent_id": ben.ID}, http.StatusOK, nil)
	mine.waitFor("the chime for the conversation Ada gave Ben", `window.__tones > 0`, 10*time.Second)
	all.waitFor("the chime in his other tab", `window.__tones > 0`, 10*time.Second)
	mine.waitFor("Mine to list it", row(given)+` !== null`, 10*time.Second)

	// Both tabs list everything now: the one that did not choose sees the
	// change too.
	mine.navigate(srv.URL + "/dashboard")
	countChimes(mine)
	eval[bool](all, `(window.__tones = 0, true)`)
	eval[bool](all, `((s) => (s.value = `+js(ben.ID)+`, s.dispatchEvent(new Event('change', { bubbles: true })), true))(`+menu(chosen)+`)`)
	for _, b := range []*tab{mine, all} {
		b.waitFor("his choice in the list", hisInMenu(chosen), 10*time.Second)
	}
	silent("Ben's own choice")

	srv.Do("POST", "/api/v1/conversations/"+answered+"/messages", ben.Token, map[string]string{"body": "Yes, it is.", "kind": "reply"}, http.StatusCreated, nil)
	for _, b := range []*tab{mine, all} {
		b.waitFor("the reply's taking in the list", hisInMenu(answered), 10*time.Second)
	}
	silent("Ben's reply that took it")
}

// toneCounter makes the page count in window.__tones the tones its chimes
// play from now on.
const toneCounter = `((p) => { window.__tones = 0; const make = p.createOscillator; p.createOscillator = function () { window.__tones++; return make.call(this); }; return true; })(AudioContext.prototype)`

// countChimes counts in window.__tones the tones the live dashboard in b
// plays from now on, once the agent touched the page (a background tab's
// sound starts only then, as it would for them).
func countChimes(b *tab) {
	b.t.Helper()
	waitLive(b)
	eval[bool](b, toneCounter)
	if _, err := chromedp.Call(b.ctx, page.BringToFront, cdp.Empty{}); err != nil {
		b.t.Fatalf("bring %s to the front: %v", b.name, err)
	}
	b.do("touch the page", chromedp.MouseClickXY(700, 450)) // beside the list
}

// An agent's own choice stays silent when a colleague's change to the
// same conversation reaches the page between the choice and its answer.
func TestOwnChoiceAfterAColleaguesChange(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": ada.ID}, http.StatusOK, nil)
	b := newTab(t, "ben")
	loginDashboard(b, srv.URL, "ben@example.com")
	waitLive(b)
	eval[bool](b, toneCounter)
	// Ben's request waits in the page until the colleague's change is in.
	eval[bool](b, `(() => { const f = window.fetch; window.__held = []; window.fetch = function (u, o) {
		if (o && o.method === 'PUT' && String(u).endsWith('/assignee')) return new Promise((ok) => window.__held.push(() => ok(f.call(this, u, o))));
		return f.call(this, u, o); }; return true; })()`)
	sel := `document.querySelector('.assign-form[data-id="` + convID + `"] select')`
	eval[bool](b, `((s) => (s.value = `+js(ben.ID)+`, s.dispatchEvent(new Event('change', { bubbles: true })), true))(`+sel+`)`)
	b.waitFor("Ben's request held", `window.__held.length === 1`, 10*time.Second)
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ada.Token, map[string]any{"agent_id": nil}, http.StatusOK, nil)
	b.waitFor("the colleague's change shown", `[...`+sel+`.options].some((o) => o.defaultSelected && o.value === '')`, 10*time.Second)
	eval[bool](b, `(window.__held.shift()(), true)`)
	b.waitFor("the list to show it Ben's", `[...`+sel+`.options].some((o) => o.defaultSelected && o.value === `+js(ben.ID)+`)`, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // a chime would have begun at the event
	if n := eval[int](b, `window.__tones`); n != 0 {
		t.Errorf("Ben's own choice chimed (%d tones)", n)
	}
}

// Two agents with the same conversation open: the one who writes a reply
// is shown to the other ("Ben is typing a reply…"), not to himself, until
// the reply arrives.
func TestColleagueTyping(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a, b := newTab(t, "ada"), newTab(t, "ben")
	for _, tb := range []*tab{a, b} {
		loginDashboard(tb, srv.URL, strings.ToLower(tb.name)+"@example.com")
		tb.navigate(srv.URL + "/dashboard/conversations/" + convID)
		waitLive(tb)
	}
	eval[bool](b, `(document.querySelector('[data-testid="reply-body"]').focus(), true)`)
	b.do("type a reply", chromedp.KeyEvent("It left"))
	a.waitFor("Ben typing, on Ada's page", `((p) => p && !p.hidden && p.textContent === 'Ben is typing a reply\u2026')(document.querySelector('[data-testid="agent-typing"]'))`, 10*time.Second)
	a.screenshot("laptop-1366x900-colleague-typing")
	if !eval[bool](b, `document.querySelector('[data-testid="agent-typing"]').hidden`) {
		t.Error("Ben sees himself typing")
	}
	b.do("finish and send", chromedp.KeyEvent(" this morning."), chromedp.Click(chromedp.CSS(`[data-testid="send-reply"]`)))
	a.waitFor("the reply on Ada's page, the line gone", `[...document.querySelectorAll('#conv-messages > li')].some((m) => m.textContent.includes('It left this morning.')) && document.querySelector('[data-testid="agent-typing"]').hidden`, 10*time.Second)
}

// The dashboard of a server that restarted is live again as soon as the
// browser is back online or the tab back in view, not at the end of its
// growing wait.
func TestDashboardReconnectsWhenBack(t *testing.T) {
	env := map[string]string{"PARLEY_HTTP_ADDR": apptest.FreeAddr(t),
		"PARLEY_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "parley.db")}
	srv := apptest.Start(t, env)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	a.do("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	eval[bool](a, `(window.scrollTo(0, document.body.scrollHeight), true)`) // the header out of view

	srv.Stop()
	a.waitFor("the dashboard to see the connection gone", `document.body.dataset.ws === 'closed'`, 10*time.Second)
	// On a phone, scrolled: the notice is in view all the same.
	if !eval[bool](a, `(() => { const r = document.querySelector('.conn-lost').getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; })()`) {
		t.Error("\"Reconnecting…\" is out of view on a phone")
	}
	time.Sleep(4 * time.Second) // a few failed attempts: the next waits 4 s or more
	apptest.Start(t, env)
	eval[bool](a, `(window.dispatchEvent(new Event('online')), true)`)
	a.waitFor("the dashboard live again", `document.body.dataset.ws === 'open'`, 2*time.Second)
}

// The assign menus say which colleagues are offline, and follow their
// status live: nobody gives a conversation to an agent who is away
// without knowing.
func TestAssignMenuShowsWhoIsOffline(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	option := `document.querySelector('[data-testid="assign-conversation"] option[value="` + ben.ID + `"]').textContent`
	if got := eval[string](a, option); got != "Ben · offline" {
		t.Errorf("Ben's option while offline: %q", got)
	}
	if got := eval[string](a, `document.querySelector('[data-testid="assign-conversation"] option[data-me]').textContent`); got != "Ada (you)" {
		t.Errorf("Ada's own option: %q", got)
	}
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	a.waitFor("Ben online in the menu", option+` === 'Ben'`, 10*time.Second)
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	a.waitFor("Ben offline in the menu", option+` === 'Ben · offline'`, 10*time.Second)

	// Settings → Agents follows too.
	a.navigate(srv.URL + "/dashboard/settings/agents")
	waitLive(a)
	status := `document.querySelector('.agent-row[data-email="ben@example.com"] [data-testid="agent-status"]').textContent`
	if got := eval[string](a, status); got != "offline" {
		t.Errorf("Ben's status on Settings → Agents: %q", got)
	}
	srv.Do("PUT", "/api/v1/me/status", ben.Token, map[string]string{"status": "invisible"}, http.StatusOK, nil)
	a.waitFor("Ben invisible on Settings → Agents", status+` === 'invisible'`, 10*time.Second)
}

// The list's relative times move on while the page stays open: a
// conversation's "now" becomes "5m" five minutes later, without a reload.
func TestListTimesMoveOn(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	item := `document.querySelector('[data-testid="conversation-item"][data-id="` + convID + `"] time.conv-time')`
	a.waitFor("the conversation in the list, now", `!!`+item+` && `+item+`.textContent === 'now'`, 10*time.Second)
	// Its message as if five minutes old, then three hours: the page's
	// clock (at most 15 s away, or at once with any change to the page)
	// says so.
	for _, c := range []struct {
		minutes int
		want    string
	}{{5, "5m"}, {180, "3h"}, {3 * 1440, "3d"}} {
		eval[bool](a, `(`+item+`.setAttribute('datetime', new Date(Date.now() - `+strconv.Itoa(c.minutes)+` * 60000).toISOString()),
			document.body.appendChild(document.createElement('span')), true)`)
		a.waitFor("the list saying "+c.want, item+`.textContent === `+js(c.want), 20*time.Second)
	}
	if u := eval[string](a, `location.pathname`); u != "/dashboard" {
		t.Errorf("the page moved to %s", u)
	}
}

// An agent away from visitors is told, live, that visitors wait: the
// banner comes when a visitor writes, counts one less when a colleague
// answers (reading is no answer) and goes when the agent is back online
// from elsewhere (another tab, the API), without a reload.
func TestAwayBannerLive(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	eval[bool](a, `(window.__samePage = true, true)`)
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	newVisitorConversation(t, srv, "Vera", "vera@example.com", "Anyone there?")
	a.waitFor("the banner", `((b) => !!b && b.textContent.includes('1 visitor is waiting'))(document.querySelector('[data-testid="away-banner"]'))`, 10*time.Second)
	// The header's switch says so too, set elsewhere as it was.
	const ownStatus = `document.querySelector('[data-testid="status"]').value + ' ' + document.querySelector('.status-label .dot').className`
	a.waitFor("the status switch on offline", ownStatus+` === 'offline dot dot-offline'`, 10*time.Second)
	a.screenshot("laptop-1366x900-away-banner")
	_, sam := newVisitorConversation(t, srv, "Sam", "sam@example.com", "Hello?")
	a.waitFor("the banner counting two", `((b) => !!b && b.textContent.includes('2 visitors are waiting'))(document.querySelector('[data-testid="away-banner"]'))`, 10*time.Second)
	ben := srv.AddAgent("ben@example.com", "Ben")
	srv.Do("POST", "/api/v1/conversations/"+sam+"/read", ben.Token, nil, http.StatusOK, nil)
	srv.Do("POST", "/api/v1/conversations/"+sam+"/messages", ben.Token, map[string]string{"body": "Hello Sam!", "kind": "reply"}, http.StatusCreated, nil)
	a.waitFor("the banner counting the one Ben did not answer", `((b) => !!b && b.textContent.includes('1 visitor is waiting'))(document.querySelector('[data-testid="away-banner"]'))`, 10*time.Second)
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	a.waitFor("the banner gone", `!document.querySelector('[data-testid="away-banner"]')`, 10*time.Second)
	a.waitFor("the status switch on online", ownStatus+` === 'online dot dot-online'`, 10*time.Second)
	if !eval[bool](a, `window.__samePage === true`) {
		t.Error("the page was reloaded")
	}
}

// On a laptop, the away banner takes its room from the conversations, not
// from below the window: the reply box stays in view, and a message
// arriving does not scroll the page (and its header) away.
func TestAwayBannerKeepsTheReplyBoxInView(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	veraToken, convID := visitorWithToken(t, srv, "Vera", "vera@example.com", "Anyone there?")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	a.waitFor("the banner", `!!document.querySelector('[data-testid="away-banner"]')`, 10*time.Second)
	const fits = `document.documentElement.scrollHeight <= window.innerHeight && document.querySelector('[data-testid="reply-body"]').getBoundingClientRect().bottom <= window.innerHeight`
	if !eval[bool](a, fits) {
		t.Errorf("with the banner, the page is %d px high in a %d px window", eval[int](a, `document.documentElement.scrollHeight`), eval[int](a, `window.innerHeight`))
	}
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": veraToken, "body": "Still there?", "client_id": "c2"}, http.StatusCreated, nil)
	a.waitFor("the message", `document.querySelector('#conv-messages').textContent.includes('Still there?')`, 10*time.Second)
	if y := eval[float64](a, `window.scrollY`); y != 0 {
		t.Errorf("the page scrolled by %v px when the message arrived: the header is out of view", y)
	}
	a.screenshot("laptop-1366x900-away-banner-conversation")
}

// The list's partial sends each row's assign menu with its selected option
// alone and the agents' options once: after a live refresh, and in the
// rows "Load more" adds, every menu ends as the full page renders it.
func TestListMenusCompletedByTheScript(t *testing.T) {
	srv := startParley(t, "PARLEY_RATE_LIMITS", "off") // 52 visitors from one address
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", `Ben <b> & "Co"`)
	srv.AddAgent("cy@example.com", "Cy")
	// Ada online from the start: her option's label does not move between
	// the readings below (Ben and Cy stay offline).
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	const n = 52 // the list shows 50, then "Load more"
	convs := make([]string, n)
	for i := range convs {
		_, convs[i] = newVisitorConversation(t, srv, fmt.Sprint("Visitor ", i), fmt.Sprintf("v%d@example.com", i), "Hello")
	}
	srv.Do("PUT", "/api/v1/conversations/"+convs[n-1]+"/assignee", ada.Token, map[string]string{"agent_id": ben.ID}, http.StatusOK, nil)

	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard?status=all")
	waitLive(a)
	// menus: each row's menu as the page holds it, by conversation: its
	// attributes, then an option a line (a refresh that patches a row may
	// reorder an option's attributes, so they are listed by name).
	const menus = `Object.fromEntries(Array.from(document.querySelectorAll('#convs > li')).map((li) => {
		const s = li.querySelector('select'), attrs = (el) => Array.from(el.attributes).map((a) => a.name + '=' + a.value).sort().join(' ');
		return [li.dataset.id, [attrs(s), s.value, ...Array.from(s.options).map((o) => attrs(o) + ' > ' + o.textContent)].join('\n')];
	}))`
	full := eval[map[string]string](a, menus)
	if len(full) != 50 {
		t.Fatalf("%d rows on the first page, want 50", len(full))
	}

	// A live refresh: another conversation is given to Ben, and the list
	// is fetched again. The rows that did not change stay as they were,
	// elements included (a new CSRF mask in each response must not read as
	// a change: every row would be redrawn on every event).
	eval[int](a, `Array.from(document.querySelectorAll('#convs > li form')).map((f) => { f.kept = true; }).length`)
	srv.Do("PUT", "/api/v1/conversations/"+convs[n-2]+"/assignee", ada.Token, map[string]string{"agent_id": ben.ID}, http.StatusOK, nil)
	row := `document.querySelector('#convs > li[data-id="` + convs[n-2] + `"] select')`
	a.waitFor("the row's menu on Ben", row+`.value === `+js(ben.ID), 10*time.Second)
	if kept := eval[int](a, `Array.from(document.querySelectorAll('#convs > li form')).filter((f) => f.kept).length`); kept < 49 {
		t.Errorf("%d of the 49 rows that did not change kept their elements", kept)
	}
	live := eval[map[string]string](a, menus)
	a.navigate(srv.URL + "/dashboard?status=all")
	waitLive(a)
	again := eval[map[string]string](a, menus)
	if len(live) != 50 || len(again) != 50 {
		t.Fatalf("rows: %d after the refresh, %d after a reload, want 50", len(live), len(again))
	}
	for id, m := range again {
		if live[id] != m {
			t.Errorf("row %s's menu after a live refresh:\n%s\nafter a reload:\n%s", id, live[id], m)
		}
		if id != convs[n-2] && full[id] != m {
			t.Errorf("row %s's menu changed: %s, then %s", id, full[id], m)
		}
	}
	if eval[bool](a, `!!document.querySelector('template[data-assign-options], select[data-compact]')`) {
		t.Error("a compact menu or the options sent once left in the page")
	}

	// "Load more" adds the two oldest rows, unassigned: their menus are
	// those of an unassigned row of the first page.
	// Clicked from the page: the refresh the reload's live connection
	// asks for may replace the link between a lookup and a click.
	eval[bool](a, `(document.querySelector('[data-testid="load-more"]').click(), true)`)
	a.waitFor("52 rows", `document.querySelectorAll('#convs > li').length === 52`, 10*time.Second)
	more := eval[map[string]string](a, menus)
	unassigned := again[convs[10]]
	if strings.Count(unassigned, " > ") != 4 {
		t.Fatalf("an unassigned row's menu: %s", unassigned)
	}
	for _, id := range convs[:2] {
		if more[id] != unassigned {
			t.Errorf("row %s's menu after Load more:\n%s\nwant\n%s", id, more[id], unassigned)
		}
	}
}

// Each response carries the CSRF token under a new mask; the script gives
// what it fetches the page's token, so that a part that did not change
// reads the same: the away banner (which holds a form) is not drawn and
// said again when a colleague's note leaves the count as it was.
func TestAwayBannerNotSaidAgain(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Anyone there?")
	const banner = `document.querySelector('[data-testid="away-banner"]')`
	a.waitFor("the banner", `((b) => !!b && b.textContent.includes('1 visitor is waiting'))(`+banner+`)`, 10*time.Second)
	eval[bool](a, `(`+banner+`.kept = true)`)
	for i := range 3 {
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", ben.Token, map[string]string{"body": fmt.Sprint("Note ", i), "kind": "comment"}, http.StatusCreated, nil)
		time.Sleep(700 * time.Millisecond) // the banner is fetched 300 ms after an event
	}
	if !eval[bool](a, `((b) => !!b && b.kept === true)(`+banner+`)`) {
		t.Error("the away banner was drawn again (and said again) though it did not change")
	}
}

// The hint beside an empty list follows the list when a conversation
// arrives live, and back when the last one leaves the view.
func TestEmptyListHintFollowsTheList(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	a := openAsAgent(t, srv, "ada@example.com", "/dashboard")
	const hint = `document.querySelector('[data-testid="placeholder-hint"]').textContent`
	if got := eval[string](a, hint); got != "Nothing to answer in this view." {
		t.Fatalf("empty list: hint %q", got)
	}
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Hello?")
	a.waitFor("the new conversation", `!!document.querySelector('#convs > li')`, 10*time.Second)
	a.waitFor("the hint to point at it", hint+` === 'Select a conversation on the left.'`, 5*time.Second)
	srv.Do("POST", "/api/v1/conversations/"+convID+"/close", ada.Token, nil, http.StatusOK, nil)
	a.waitFor("the conversation gone from the open ones", `!document.querySelector('#convs > li')`, 10*time.Second)
	a.waitFor("the hint back", hint+` === 'Nothing to answer in this view.'`, 5*time.Second)
}

// A live refresh of the list asked for before "Load more" and answered
// after it lacks the rows just loaded: it must not take them away (it is
// asked again for what is shown). The refresh's answer is held in the
// page until the next page has been loaded.
func TestRefreshAnsweredAfterLoadMore(t *testing.T) {
	srv := startParley(t, "PARLEY_RATE_LIMITS", "off")
	ada := srv.AddAgent("ada@example.com", "Ada")
	const n = 52 // the list shows 50, then "Load more"
	convs := make([]string, n)
	for i := range convs {
		_, convs[i] = newVisitorConversation(t, srv, fmt.Sprint("Visitor ", i), fmt.Sprintf("v%d@example.com", i), "Hello")
	}
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard?status=all")
	waitLive(a)
	rows := `document.querySelectorAll('#convs > li').length`
	if got := eval[int](a, rows); got != 50 {
		t.Fatalf("%d rows on the first page, want 50", got)
	}
	// Refreshes of the list (limit=…) wait for window.release().
	eval[bool](a, `(() => {
		const f = window.fetch; window.held = 0;
		let open; const gate = new Promise((r) => { open = r; }); window.release = open;
		window.fetch = (url, opts) => {
			if (String(url).includes('/dashboard/partials/list') && String(url).includes('limit=')) {
				window.held++;
				return gate.then(() => f(url, opts));
			}
			return f(url, opts);
		};
		return true; })()`)
	srv.Do("PUT", "/api/v1/conversations/"+convs[n-1]+"/assignee", ada.Token, map[string]any{"agent_id": ada.ID}, http.StatusOK, nil)
	a.waitFor("a refresh on its way", `window.held > 0`, 10*time.Second)
	// Clicked by the script, not at its place: scrolled to, the link
	// loads the next page by itself, and the rows it adds move it from
	// under a pointer.
	eval[bool](a, `(document.querySelector('[data-testid="load-more"]').click(), true)`)
	a.waitFor("52 rows", rows+` === 52`, 10*time.Second)
	// The fewest rows the list has from now on (scrolled to its end, the
	// list would load the next page again at once: the loss would last a
	// moment, and the list jump).
	eval[bool](a, `(() => { window.fewest = 52; new MutationObserver(() => {
		window.fewest = Math.min(window.fewest, `+rows+`); }).observe(document.getElementById('conv-list'), { childList: true, subtree: true }); return true; })()`)
	eval[bool](a, `(window.release(), true)`)
	a.waitFor("the refresh asked again", `window.held > 1`, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if got, fewest := eval[int](a, rows), eval[int](a, `window.fewest`); got != 52 || fewest != 52 {
		t.Fatalf("%d rows once the refresh came, %d at the fewest; want the 52 shown throughout", got, fewest)
	}
	for _, id := range convs[:2] {
		if !eval[bool](a, `!!document.querySelector('#convs > li[data-id="`+id+`"]')`) {
			t.Errorf("row %s, loaded by Load more, is gone", id)
		}
	}
}

// A canned reply's variables are filled in from the conversation when it
// is inserted: the visitor's first name (or the fallback), the agent's,
// the workspace's. One the conversation cannot fill stays in the box with
// a note above it, and sending it is refused with the text kept.
func TestCannedReplyVariables(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			ada := srv.AddAgent("ada@example.com", "Ada Lovelace")
			srv.Do("PUT", "/api/v1/settings", ada.Token, map[string]string{"workspace_name": "Kettle & Co."}, http.StatusOK, nil)
			for _, c := range [][2]string{{"hey", "Hi {{visitor.first_name | there}}, {{agent.first_name}} from {{workspace.name}} here."}, {"mail", "We will answer at {{visitor.email}}."}} {
				srv.Do("POST", "/api/v1/canned", ada.Token, map[string]string{"shortcut": c[0], "body": c[1]}, http.StatusCreated, nil)
			}
			_, named := newVisitorConversation(t, srv, "Vera Lind", "vera@example.com", "Hi")
			dash := srv.DialAgent(ada.Token)
			defer dash.Close()
			srv.Do("PUT", "/api/v1/me/status", ada.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
			var sess struct {
				VisitorToken string `json:"visitor_token"`
			}
			srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
			var m model.Message
			srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": sess.VisitorToken, "body": "Anyone there?", "client_id": "c1"}, http.StatusCreated, &m)
			anonymous := m.ConversationID

			a := newTab(t, "ada")
			a.setViewport(v)
			loginDashboard(a, srv.URL, "ada@example.com")
			box := `document.querySelector('[data-testid="reply-body"]')`
			insert := func(conv, shortcut string) string {
				t.Helper()
				a.navigate(srv.URL + "/dashboard/conversations/" + conv)
				waitLive(a)
				eval[bool](a, `(`+box+`.value = '', `+box+`.focus(), true)`)
				a.do("type the shortcut", chromedp.KeyEvent("/"+shortcut))
				a.waitFor("the option", `document.querySelectorAll('[data-testid="canned-option"]').length === 1`, 5*time.Second)
				a.do("Tab", chromedp.KeyEvent(kb.Tab))
				a.waitFor("the text inserted", box+`.value !== '/`+shortcut+`'`, 5*time.Second)
				return eval[string](a, box+`.value`)
			}
			if got := insert(named, "hey"); got != "Hi Vera, Ada from Kettle & Co. here." {
				t.Errorf("for Vera Lind: %q", got)
			}
			if eval[bool](a, `!!document.querySelector('[data-testid="variables-missing"]')`) {
				t.Error("a note about variables when all were filled")
			}
			if got := insert(anonymous, "hey"); got != "Hi there, Ada from Kettle & Co. here." {
				t.Errorf("for a visitor without a name: %q", got)
			}
			// A visitor whose name holds braces fills nothing with it.
			_, braces := newVisitorConversation(t, srv, "{{agent.name}}", "mallory@example.com", "Hi")
			if got := insert(braces, "hey"); got != "Hi there, Ada from Kettle & Co. here." {
				t.Errorf("for a visitor named {{agent.name}}: %q", got)
			}
			if got := insert(anonymous, "mail"); got != "We will answer at {{visitor.email}}." {
				t.Errorf("for a visitor without an email: %q", got)
			}
			a.waitFor("the note above the box", `(document.querySelector('[data-testid="variables-missing"]') || {}).textContent === 'Not known for this conversation: write {{visitor.email}} yourself before sending.'`, 5*time.Second)
			a.screenshot(v.name + " canned variable not known")
			checkAxe(a, "a canned reply's variable not known")
			a.do("send", chromedp.Click(`[data-testid="send-reply"]`))
			a.waitFor("the refusal", `(document.querySelector('[data-testid="reply-error"]') || {}).textContent === '{{visitor.email}} was not filled in: write it yourself before sending'`, 10*time.Second)
			if got := eval[string](a, box+`.value`); got != "We will answer at {{visitor.email}}." {
				t.Errorf("after the refusal the box holds %q", got)
			}
			if n := count(t, srv, `SELECT COUNT(*) FROM messages WHERE author_kind = 'agent' AND body LIKE '%{{%'`); n != 0 {
				t.Fatalf("%d replies with a variable stored", n)
			}
			// Written by hand: the note goes.
			eval[bool](a, `(`+box+`.value = 'We will answer here.', `+box+`.dispatchEvent(new Event('input', { bubbles: true })), true)`)
			a.waitFor("the note gone", `!document.querySelector('[data-testid="variables-missing"]')`, 5*time.Second)
		})
	}
}
