package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// Working down the Unassigned queue from the keyboard: a conversation
// passed on the way (j, j) stays unread for the team and its visitor is
// not told "Seen"; the one looked at is read; once it leaves the view
// (answered, so now the agent's), j opens the one that took its place,
// not the top of the list.
func TestKeyboardQueue(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	ids := map[string]string{}
	for _, n := range []string{"Una", "Dos", "Tres"} { // the list shows the newest first: Tres, Dos, Una
		_, ids[n] = newVisitorConversation(t, srv, n, strings.ToLower(n)+"@example.com", "Hello from "+n)
		time.Sleep(5 * time.Millisecond)
	}
	unread := func(name string) int {
		t.Helper()
		var c model.Conversation
		srv.Do("GET", "/api/v1/conversations/"+ids[name], ben.Token, nil, http.StatusOK, &c)
		return c.Unread
	}
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard?view=unassigned")
	waitLive(a)
	opened := func(name string) {
		t.Helper()
		a.waitFor(name+" open", `location.pathname === '/dashboard/conversations/`+ids[name]+`' && document.readyState === 'complete'`, 10*time.Second)
	}
	a.do("press j", chromedp.KeyEvent("j"))
	opened("Tres")
	a.do("press j", chromedp.KeyEvent("j"))
	opened("Dos")
	waitLive(a)
	deadline := time.Now().Add(10 * time.Second)
	for unread("Dos") != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := unread("Dos"); n != 0 {
		t.Errorf("Dos, looked at: %d unread, want 0", n)
	}
	if n := unread("Tres"); n != 1 {
		t.Errorf("Tres, passed on the way: %d unread, want 1", n)
	}

	sendReply(a, "send-reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "Hola Dos"))
	opened("Dos")
	waitLive(a)
	a.waitFor("Dos gone from Unassigned", `!document.querySelector('[data-testid="conversation-item"][data-id="`+ids["Dos"]+`"]')`, 10*time.Second)
	eval[bool](a, `(document.activeElement.blur(), true)`) // out of the reply box, where the focus came back
	a.do("press j", chromedp.KeyEvent("j"))
	opened("Una")
}

// j goes on past the list's first page: from the 50th conversation it
// loads the next page and opens the 51st, and from there the 52nd (whose
// page lists only the first 50); k comes back.
func TestKeyboardPastTheFirstPage(t *testing.T) {
	srv := startParley(t, "PARLEY_RATE_LIMITS", "off") // 52 visitors from one address
	srv.AddAgent("ada@example.com", "Ada")
	const n = 52 // the list shows 50, then "Load more"
	convs := make([]string, n)
	for i := range convs {
		_, convs[n-1-i] = newVisitorConversation(t, srv, fmt.Sprint("Visitor ", i), fmt.Sprintf("v%d@example.com", i), "Hello")
	}
	// convs is in the list's order: the newest first.
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	opened := func(i int) {
		t.Helper()
		a.waitFor(fmt.Sprint("conversation ", i+1, " open"), `location.pathname === '/dashboard/conversations/`+convs[i]+`' && document.readyState === 'complete'`, 10*time.Second)
		waitLive(a)
		eval[bool](a, `(document.activeElement.blur(), true)`)
	}
	a.navigate(srv.URL + "/dashboard/conversations/" + convs[49])
	opened(49)
	if got := eval[int](a, `document.querySelectorAll('#convs > li').length`); got != 50 {
		t.Fatalf("%d rows in the list, want 50", got)
	}
	a.do("press j", chromedp.KeyEvent("j"))
	opened(50)
	a.do("press j", chromedp.KeyEvent("j"))
	opened(51)
	a.do("press k", chromedp.KeyEvent("k"))
	opened(50)
}

// Leaving a settings page with an edit not saved asks first; once saved,
// nothing asks.
func TestSettingsLeaveAsksAboutUnsavedEdits(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings")
	a.do("type a workspace name", chromedp.SendKeys(chromedp.CSS(`[data-testid="workspace-name"]`), " Support"))
	a.do("follow the Reports link", chromedp.Click(chromedp.CSS(`.topnav a[href="/dashboard/reports/continuity"]`)))
	if a.waitDialog() != 1 {
		t.Fatalf("%d dialogs, want the browser's question about the unsaved name", a.dialogs.Load())
	}
	if got := eval[string](a, `location.pathname`); got != "/dashboard/settings" {
		t.Errorf("left for %s though the question was turned down", got)
	}
	a.dialogs.Store(0)
	a.do("save the name", chromedp.Click(chromedp.CSS(`[data-testid="save-workspace"]`)))
	a.waitFor("the saved page", `document.readyState === 'complete' && !!document.querySelector('.saved-notice')`, 10*time.Second)
	// The notice stays until the next edit, which it no longer describes.
	a.do("type again", chromedp.SendKeys(chromedp.CSS(`[data-testid="workspace-name"]`), "!"))
	a.waitFor("the notice gone", `!document.querySelector('[data-testid="settings-saved"]')`, 5*time.Second)
	eval[bool](a, `(document.querySelectorAll('form').forEach((f) => f.reset()), true)`)
	a.do("follow the Reports link", chromedp.Click(chromedp.CSS(`.topnav a[href="/dashboard/reports/continuity"]`)))
	a.waitFor("the reports", `location.pathname === '/dashboard/reports/continuity'`, 10*time.Second)
	if n := a.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs when sending the form or leaving after saving", n)
	}
}

// On a slow network a reply takes seconds: pressing Send again meanwhile
// does not send the visitor the reply twice, and the box is empty after.
func TestReplySentOnceOnASlowNetwork(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := openAsAgent(t, srv, "ada@example.com", "/dashboard/conversations/"+convID)
	a.do("type the reply", chromedp.SendKeys(chromedp.CSS(`[data-testid="reply-body"]`), "It left this morning."))
	if _, err := chromedp.Call(a.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	latency := func(ms float64) {
		t.Helper()
		if _, err := chromedp.Call(a.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: ms, DownloadThroughput: -1, UploadThroughput: -1}}}); err != nil {
			t.Fatal(err)
		}
	}
	latency(3500)
	eval[bool](a, `(window.__beforeSend = true)`)
	a.do("send", chromedp.Click(chromedp.CSS(`[data-testid="send-reply"]`)))
	time.Sleep(time.Second)
	if !eval[bool](a, `document.getElementById('composer').getAttribute('aria-busy') === 'true' && document.querySelector('[data-testid="send-reply"]').disabled`) {
		t.Error("nothing says the reply is on its way")
	}
	time.Sleep(4500 * time.Millisecond)
	eval[bool](a, `(document.getElementById('composer').requestSubmit(document.querySelector('[data-testid="send-reply"]').disabled ? null : document.querySelector('[data-testid="send-reply"]')), true)`)
	a.waitFor("the page after sending", `!window.__beforeSend && document.readyState === 'complete'`, 30*time.Second)
	latency(0)
	time.Sleep(time.Second) // a second post would have arrived by now
	var list struct{ Messages []model.Message }
	srv.Do("GET", "/api/v1/conversations/"+convID+"/messages", ada.Token, nil, http.StatusOK, &list)
	n := 0
	for _, m := range list.Messages {
		if m.Body == "It left this morning." {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the reply was stored %d times, want once", n)
	}
	if got := eval[string](a, `document.querySelector('[data-testid="reply-body"]').value`); got != "" {
		t.Errorf("the reply box after sending: %q", got)
	}
}

// Deleting a canned reply, which the whole team shares, asks first: turned
// down, nothing is deleted; confirmed, it is.
func TestCannedReplyDeleteAsksFirst(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("POST", "/api/v1/canned", ada.Token, map[string]string{"shortcut": "hello", "body": "Hello! How can I help you today?"}, http.StatusCreated, nil)
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings/canned")
	count := func() int {
		t.Helper()
		var cs struct{ Canned []json.RawMessage }
		srv.Do("GET", "/api/v1/canned", ada.Token, nil, http.StatusOK, &cs)
		return len(cs.Canned)
	}
	del := chromedp.Click(chromedp.CSS(`[data-testid="canned-delete"]`))
	a.do("delete, then turn the question down", del)
	if a.waitDialog() != 1 {
		t.Fatalf("%d dialogs, want the question", a.dialogs.Load())
	}
	if n := count(); n != 1 {
		t.Fatalf("%d canned replies after the question was turned down, want 1", n)
	}
	eval[bool](a, `(window.confirm = () => true, true)`)
	a.do("delete, confirmed", del)
	a.waitFor("the reply gone", `!document.querySelector('[data-testid="canned-delete"]')`, 10*time.Second)
	if n := count(); n != 0 {
		t.Errorf("%d canned replies after a confirmed delete, want 0", n)
	}
	a.dialogs.Store(0) // the one question was this test's
}

// Settings are saved a section at a time: saving one while another holds
// unsaved edits asks first (turned down, nothing is saved), and saving
// with no other edits asks nothing.
func TestSettingsSaveAsksAboutOtherSections(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/settings")
	settings := func() (st struct {
		WorkspaceName string `json:"workspace_name"`
		RetentionDays int    `json:"retention_days"`
	}) {
		t.Helper()
		srv.Do("GET", "/api/v1/settings", ada.Token, nil, http.StatusOK, &st)
		return st
	}
	set := func(testid, v string) {
		t.Helper()
		eval[bool](a, `(document.querySelector('[data-testid="`+testid+`"]').value = `+js(v)+`, true)`)
	}
	set("workspace-name", "Acme Support")
	set("retention-days", "90")
	a.do("save the retention", chromedp.Click(chromedp.CSS(`[data-testid="save-retention"]`)))
	if a.waitDialog() != 1 {
		t.Fatalf("%d dialogs, want the question about the workspace's unsaved name", a.dialogs.Load())
	}
	if st := settings(); st.RetentionDays == 90 {
		t.Fatal("saved though the question was turned down")
	}
	a.dialogs.Store(0)

	// The agent puts the name back (leaving with it unsaved would ask).
	eval[bool](a, `(document.querySelectorAll('form').forEach((f) => f.reset()), true)`)
	a.navigate(srv.URL + "/dashboard/settings")
	set("retention-days", "90")
	eval[bool](a, `(window.__samePage = true, true)`)
	a.do("save the retention alone", chromedp.Click(chromedp.CSS(`[data-testid="save-retention"]`)))
	a.waitFor("the page after saving", `!window.__samePage && document.readyState === 'complete'`, 10*time.Second)
	if st := settings(); st.RetentionDays != 90 || st.WorkspaceName == "Acme Support" {
		t.Errorf("settings %+v, want retention 90 and the name untouched", st)
	}
	if n := a.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs for a section saved alone", n)
	}
}

// Assigning from a list row's menu hands the focus back to the row: the
// row shows the new assignee at once (the list is never redrawn under a
// focused menu) and the keys go to the shortcuts, not the menu.
func TestListMenuHandsTheFocusBack(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	waitLive(a)
	eval[bool](a, `(() => { const s = document.querySelector('#convs > li[data-id="`+convID+`"] [data-testid="assign-list"]'); s.focus(); s.value = `+js(ben.ID)+`;
		s.dispatchEvent(new Event('change', { bubbles: true })); return true; })()`)
	a.waitFor("the row saying Ben", listAssignee(convID)+` === 'Ben'`, 10*time.Second)
	if !eval[bool](a, `document.activeElement.matches('a.conv') && document.activeElement.dataset.id === `+js(convID)) {
		t.Errorf("the focus is on %s, want the row", eval[string](a, `document.activeElement.outerHTML.slice(0, 80)`))
	}
}

// "a" takes an unassigned conversation at once, and a colleague's only
// once the agent confirms.
func TestTakingAColleaguesConversationAsksFirst(t *testing.T) {
	srv := startParley(t)
	ada := srv.AddAgent("ada@example.com", "Ada")
	ben := srv.AddAgent("ben@example.com", "Ben")
	_, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Where is my parcel?")
	srv.Do("PUT", "/api/v1/conversations/"+convID+"/assignee", ben.Token, map[string]any{"agent_id": ben.ID}, http.StatusOK, nil)
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	menu := `document.querySelector('[data-testid="assign-conversation"]').value`
	a.do("press a", chromedp.KeyEvent("a"))
	if a.waitDialog() != 1 {
		t.Fatalf("%d dialogs, want the question", a.dialogs.Load())
	}
	time.Sleep(300 * time.Millisecond)
	if got := eval[string](a, menu); got != ben.ID {
		t.Fatalf("the conversation went to %q though the question was turned down", got)
	}
	eval[bool](a, `(window.confirm = () => true, true)`)
	a.do("press a, confirmed", chromedp.KeyEvent("a"))
	a.waitFor("Ada's", menu+` === `+js(ada.ID), 10*time.Second)
	a.dialogs.Store(0)
}

// A newest message taller than the thread's box opens at its first line,
// not its last.
func TestLongNewestMessageOpensAtItsStart(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	var long strings.Builder
	long.WriteString("Dear team, first line of a long message.")
	for i := range 60 {
		fmt.Fprintf(&long, "\nLine %d of the order's story.", i+2)
	}
	_, convID := newVisitorConversation(t, srv, "Pat", "pat@example.com", long.String())
	a := newTab(t, "ada")
	loginDashboard(a, srv.URL, "ada@example.com")
	for _, v := range []viewport{desktop, phone} {
		a.setViewport(v)
		a.navigate(srv.URL + "/dashboard/conversations/" + convID)
		waitLive(a)
		// The message's top is in sight: below the thread's top edge, or
		// the sticky head of the conversation on a phone.
		if !eval[bool](a, `(() => { const m = [...document.querySelectorAll('li[data-testid="message"]')].pop(); const r = m.getBoundingClientRect();
			const box = document.getElementById('conv-messages'); const own = box.scrollHeight > box.clientHeight + 1;
			const top = own ? box.getBoundingClientRect().top : document.querySelector('.conv-head').getBoundingClientRect().bottom;
			return r.top >= top - 1 && r.top < window.innerHeight / 2; })()`) {
			t.Errorf("%s: the long message does not open at its start", v.name)
		}
		a.screenshot(v.name + " long message opened")
	}
}

// waitDialog waits up to two seconds for a dialog (a question the page
// asked, answered no by newTab) and returns how many the tab has had.
func (tb *tab) waitDialog() int32 {
	deadline := time.Now().Add(2 * time.Second)
	for tb.dialogs.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return tb.dialogs.Load()
}

// j pressed while the next page of the list is being loaded (its link
// scrolled into view) waits for that page, rather than do nothing.
func TestKeyWhileTheNextPageLoads(t *testing.T) {
	srv := startParley(t, "PARLEY_RATE_LIMITS", "off") // 52 visitors from one address
	srv.AddAgent("ada@example.com", "Ada")
	const n = 52
	convs := make([]string, n)
	for i := range convs {
		_, convs[n-1-i] = newVisitorConversation(t, srv, fmt.Sprint("Visitor ", i), fmt.Sprintf("v%d@example.com", i), "Hello")
	}
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convs[49])
	waitLive(a)
	eval[bool](a, `(document.activeElement.blur(), true)`)
	// The next page's answer waits for window.release().
	eval[bool](a, `(() => {
		const f = window.fetch; window.held = 0;
		let open; const gate = new Promise((r) => { open = r; }); window.release = open;
		window.fetch = (url, opts) => {
			if (String(url).includes('/dashboard/partials/list') && String(url).includes('cursor=')) {
				window.held++;
				return gate.then(() => f(url, opts));
			}
			return f(url, opts);
		};
		return true; })()`)
	eval[bool](a, `(document.querySelector('[data-testid="load-more"]').click(), true)`)
	a.waitFor("the next page on its way", `window.held === 1`, 5*time.Second)
	a.do("press j", chromedp.KeyEvent("j"))
	time.Sleep(300 * time.Millisecond)
	eval[bool](a, `(window.release(), true)`)
	a.waitFor("conversation 51 open", `location.pathname === '/dashboard/conversations/`+convs[50]+`'`, 10*time.Second)
}
