package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Ada, writing a note, types "@b" and picks Ben from the suggestions; Ben,
// elsewhere in the dashboard, is notified that Ada mentioned him, though
// the conversation is not his. A reply naming him, or a note naming
// someone else, tells him nothing. At a desktop and at a phone.
func TestMentionInANote(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			ada := srv.AddAgent("ada@example.com", "Ada")
			srv.AddAgent("ben@example.com", "Ben Okafor")
			srv.AddAgent("bea@example.com", "Bea")
			_, conv := newVisitorConversation(t, srv, "Vera", "vera@example.com", "My invoice is wrong")

			b := newTab(t, "ben")
			allowNotifications(b, srv.URL)
			loginDashboard(b, srv.URL, "ben@example.com")
			waitLive(b)
			eval[bool](b, wrapNotification)

			a := newTab(t, "ada")
			a.setViewport(v)
			loginDashboard(a, srv.URL, "ada@example.com")
			// Nobody mentioned Ada yet: the view says how mentions come.
			a.navigate(srv.URL + "/dashboard?view=mentions")
			a.waitFor("the empty Mentions view", `!!document.querySelector('[data-testid="mentions-hint"]')`, 5*time.Second)
			a.screenshot(v.name + " mentions view empty")
			a.navigate(srv.URL + "/dashboard/conversations/" + conv)
			waitLive(a)

			// Not in a reply: "@" suggests nobody there.
			a.do("focus the reply box", chromedp.Click(chromedp.CSS(`[data-testid="reply-body"]`)))
			a.press("@b")
			time.Sleep(200 * time.Millisecond)
			if eval[bool](a, `!document.querySelector('[data-testid="canned-list"]').hidden`) {
				t.Error("colleagues suggested while writing a reply")
			}
			eval[bool](a, `(document.querySelector('[data-testid="reply-body"]').value = '', true)`)

			a.do("note mode", chromedp.Click(chromedp.CSS(`[data-testid="note-mode"]`)), chromedp.Click(chromedp.CSS(`[data-testid="reply-body"]`)))
			// Writing a note, there is no "Send reply" to send it to the visitor by.
			if !eval[bool](a, `document.querySelector('[data-testid="send-reply"]').hidden && document.querySelector('[data-testid="send-reply"]').offsetParent === null`) {
				t.Error(`"Send reply" shown while writing a note`)
			}
			a.press("Please check, @b")
			options := `Array.from(document.querySelectorAll('[data-testid="canned-option"] strong')).map((o) => o.textContent).join('|')`
			a.waitFor("two colleagues", options+` === '@Bea|@Ben Okafor'`, 5*time.Second)
			if got := eval[string](a, `document.querySelector('[data-testid="canned-list"]').getAttribute('aria-label')`); got != "Colleagues to mention" {
				t.Errorf("list named %q", got)
			}
			a.press("e")
			a.press("n")
			a.waitFor("Ben alone", options+` === '@Ben Okafor'`, 5*time.Second)
			a.screenshot(v.name + " mention suggestions")
			a.press(kb.Enter)
			if got := eval[string](a, `document.querySelector('[data-testid="reply-body"]').value`); got != "Please check, @Ben Okafor " {
				t.Fatalf("reply box %q", got)
			}
			a.press("the invoice?")
			a.do("add the note", chromedp.Click(chromedp.CSS(`[data-testid="send-comment"]`)))
			a.waitFor("the note", `document.body.textContent.includes('the invoice?')`, 10*time.Second)
			// The name it mentions is marked in the note, live and after a reload.
			marked := `Array.from(document.querySelectorAll('.msg-comment [data-testid="mention"]'), (m) => m.textContent).join('|')`
			a.waitFor("the mention marked", marked+` === '@Ben Okafor'`, 5*time.Second)
			a.navigate(srv.URL + "/dashboard/conversations/" + conv)
			a.waitFor("the mention marked after a reload", marked+` === '@Ben Okafor' && document.querySelector('.msg-comment .msg-body').textContent === 'Please check, @Ben Okafor the invoice?'`, 5*time.Second)
			a.screenshot(v.name + " mention marked in a note")

			notes := `JSON.stringify(window.__notes)`
			b.waitFor("Ben's notification", `window.__notes.some((n) => n.title === 'Ada mentioned you')`, 10*time.Second)
			if got := eval[string](b, notes); !strings.Contains(got, "Please check, @Ben Okafor the invoice?") {
				t.Errorf("notification %s", got)
			}

			if v.name == "desktop" {
				// Another Ben, named alone: "@Ben Okafor" is not him, "@Ben"
				// is. A name in a script written without spaces needs none
				// around it.
				srv.AddAgent("ben2@example.com", "Ben")
				srv.AddAgent("wang@example.com", "王芳")
				srv.AddAgent("chloe@example.com", "Chloé Martin")
				others := map[string]*tab{}
				for _, who := range []string{"ben2", "wang", "chloe"} {
					tb := newTab(t, who)
					allowNotifications(tb, srv.URL)
					loginDashboard(tb, srv.URL, who+"@example.com")
					if who == "ben2" {
						// A page without assign menus knows the colleagues'
						// names too: "@Ben Okafor" is not this Ben.
						tb.navigate(srv.URL + "/dashboard/settings/account")
					}
					waitLive(tb)
					eval[bool](tb, wrapNotification)
					others[who] = tb
				}
				srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "@Ben Okafor again, please", "kind": "comment"}, http.StatusCreated, nil)
				b.waitFor("Ben Okafor's second notification", `window.__notes.length === 2`, 10*time.Second)
				srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "请@王芳看一下", "kind": "comment"}, http.StatusCreated, nil)
				others["wang"].waitFor("王芳's notification", `window.__notes.some((n) => n.body === '请@王芳看一下')`, 10*time.Second)
				// Without the accent, in another case.
				srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "@chloe martin, yours", "kind": "comment"}, http.StatusCreated, nil)
				others["chloe"].waitFor("Chloé's notification", `window.__notes.some((n) => n.body === '@chloe martin, yours')`, 10*time.Second)
				srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "@Ben, can you?", "kind": "comment"}, http.StatusCreated, nil)
				others["ben2"].waitFor("Ben's notification", `window.__notes.some((n) => n.body === '@Ben, can you?')`, 10*time.Second)
				if got := eval[string](others["ben2"], `JSON.stringify(window.__notes.map((n) => n.body))`); got != `["@Ben, can you?"]` {
					t.Errorf("Ben was told of %s", got)
				}
				if got := eval[string](others["wang"], `JSON.stringify(window.__notes.map((n) => n.body))`); got != `["请@王芳看一下"]` {
					t.Errorf("王芳 was told of %s", got)
				}
			}

			// A reply naming Ben, and a note naming Bea alone: nothing.
			before := eval[int](b, `window.__notes.length`)
			srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "@Ben will call you", "kind": "reply"}, http.StatusCreated, nil)
			srv.Do("POST", "/api/v1/conversations/"+conv+"/messages", ada.Token, map[string]string{"body": "@Bea and not @Benjamin", "kind": "comment"}, http.StatusCreated, nil)
			b.waitFor("the reply in the list", `document.body.textContent.includes('@Ben will call you')`, 10*time.Second)
			a.waitFor("the note in the conversation", `document.body.textContent.includes('not @Benjamin')`, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			if got := eval[int](b, `window.__notes.length`); got != before {
				t.Errorf("notified again: %s", eval[string](b, notes))
			}

			// The mention waits in Ben's Mentions view, counted live.
			b.setViewport(v)
			b.waitFor("the Mentions count", `document.querySelector('[data-testid="count-mentions"]').textContent === '1'`, 10*time.Second)
			b.do("the Mentions view", chromedp.Click(chromedp.CSS(`[data-testid="view-mentions"]`)))
			b.waitFor("the conversation in it", `location.search === '?view=mentions' && document.querySelectorAll('#convs li.conv-row[data-id]').length === 1 && !!document.querySelector('#convs li.conv-row[data-id="`+conv+`"]')`, 10*time.Second)
			b.screenshot(v.name + " mentions view")
			checkAxe(b, "the Mentions view")
		})
	}
}
