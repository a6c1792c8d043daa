package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// An agent at a desktop and at a phone selects several conversations in
// the list (a click on a row selects it while selecting, a new
// conversation arriving keeps the selection), tags, assigns and closes
// them at once; a colleague's list follows; x selects the open
// conversation and Escape stops selecting.
func TestBulkChangesInTheList(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			ada := srv.AddAgent("ada@example.com", "Ada")
			srv.AddAgent("ben@example.com", "Ben")
			var convs []string
			for _, name := range []string{"Vera", "Olaf", "Pia", "Quinn"} {
				_, c := newVisitorConversation(t, srv, name, strings.ToLower(name)+"@example.com", "A question from "+name)
				convs = append(convs, c)
			}
			a, b := newTab(t, "ada"), newTab(t, "ben")
			a.setViewport(v)
			b.setViewport(v)
			loginDashboard(b, srv.URL, "ben@example.com")
			loginDashboard(a, srv.URL, "ada@example.com")
			a.navigate(srv.URL + "/dashboard")
			waitLive(a)

			count := `document.querySelector('[data-testid="bulk-count"]').textContent`
			picked := `Array.from(document.querySelectorAll('#convs .pick:checked')).map((b) => b.value).sort().join(',')`
			row := func(id string) string { return `li.conv-row[data-id="` + id + `"] a.conv` }
			if eval[bool](a, `!document.querySelector('[data-testid="bulk-bar"]').hidden || !!document.querySelector('#convs .pick').offsetParent`) {
				t.Fatal("the bar or the boxes show before Select")
			}
			a.do("Select", chromedp.Click(chromedp.CSS(`[data-testid="select-toggle"]`)))
			a.waitFor("the bar", `!document.querySelector('[data-testid="bulk-bar"]').hidden && `+count+` === 'None selected'`, 5*time.Second)
			if !eval[bool](a, `document.querySelector('[data-testid="bulk-close"]').disabled && location.pathname === '/dashboard'`) {
				t.Error("Close is enabled with nothing selected, or the page changed")
			}

			// Clicking rows selects them (it does not open them).
			a.do("select Vera and Olaf", chromedp.Click(chromedp.CSS(row(convs[0]))), chromedp.Click(chromedp.CSS(row(convs[1]))))
			a.waitFor("two selected", count+` === '2 selected'`, 5*time.Second)
			if eval[string](a, `location.pathname`) != "/dashboard" {
				t.Fatalf("a click on a row while selecting opened %s", eval[string](a, `location.href`))
			}
			// A visitor writes: the list is redrawn, the selection stays.
			_, fifth := newVisitorConversation(t, srv, "Rosa", "rosa@example.com", "Is this thing on?")
			a.waitFor("the new conversation in the list", `!!document.querySelector('li.conv-row[data-id="`+fifth+`"]')`, 10*time.Second)
			if got, want := eval[string](a, picked), sorted(convs[0], convs[1]); got != want || eval[string](a, count) != "2 selected" {
				t.Errorf("after a redraw: selected %s (%s), want %s", got, eval[string](a, count), want)
			}
			checkAxe(a, v.name+" list while selecting")
			a.screenshot(v.name + " list while selecting")

			// A tag with Enter in its field.
			a.do("type a tag", chromedp.Click(chromedp.CSS(`[data-testid="bulk-tag"]`)))
			a.press("Refund\r")
			a.waitFor("the answer", `(document.querySelector('[data-testid="bulk-notice"]') || {}).textContent === 'Tagged Refund: 2 conversations.'`, 10*time.Second)
			waitLive(a)
			if got := eval[string](a, `location.search`); got != "" {
				t.Errorf("the answer stays in the address (%s): a reload would say it again", got)
			}
			rowTags := func(id string) string {
				return `Array.from(document.querySelectorAll('li.conv-row[data-id="` + id + `"] [data-testid="row-tag"]')).map((a) => a.textContent).join(',')`
			}
			b.waitFor("Ben's list with the tags", rowTags(convs[0])+` === 'Refund' && `+rowTags(convs[1])+` === 'Refund' && `+rowTags(convs[2])+` === ''`, 10*time.Second)
			if eval[bool](a, `document.body.classList.contains('selecting')`) {
				t.Error("still selecting after the change")
			}
			a.screenshot(v.name + " list after tagging")

			// All shown but one, to Ben.
			a.do("Select", chromedp.Click(chromedp.CSS(`[data-testid="select-toggle"]`)))
			a.do("select all", chromedp.Click(chromedp.CSS(`[data-testid="pick-all"]`)))
			a.waitFor("all five", count+` === '5 selected'`, 5*time.Second)
			a.do("but Rosa", chromedp.Click(chromedp.CSS(row(fifth))))
			a.waitFor("four", count+` === '4 selected' && document.querySelector('[data-testid="pick-all"]').indeterminate`, 5*time.Second)
			eval[bool](a, `(() => { const s = document.querySelector('[data-testid="bulk-agent"]'); s.value = Array.from(s.options).find((o) => o.dataset.name === 'Ben').value; return true; })()`)
			a.do("Assign", chromedp.Click(chromedp.CSS(`[data-testid="bulk-assign"]`)))
			a.waitFor("the answer", `(document.querySelector('[data-testid="bulk-notice"]') || {}).textContent === 'Assigned to Ben: 4 conversations.'`, 10*time.Second)
			waitLive(a)
			b.waitFor("Ben's view Mine", `document.querySelector('[data-testid="count-mine"]').textContent === '4'`, 10*time.Second)

			// A refused tag says why, keeps the selection and changes nothing.
			a.do("Select", chromedp.Click(chromedp.CSS(`[data-testid="select-toggle"]`)))
			a.do("select Pia", chromedp.Click(chromedp.CSS(row(convs[2]))))
			a.do("type a bad tag", chromedp.Click(chromedp.CSS(`[data-testid="bulk-tag"]`)))
			a.press("<b>x</b>\r")
			a.waitFor("the refusal", `!!document.querySelector('[data-testid="bulk-error"]')`, 10*time.Second)
			waitLive(a)
			if msg := eval[string](a, `document.querySelector('[data-testid="bulk-error"]').textContent`); !strings.Contains(msg, "<b>x</b>") ||
				eval[bool](a, `!!document.querySelector('[data-testid="bulk-error"] b')`) || eval[string](a, picked) != convs[2] ||
				eval[string](a, count) != "1 selected" || eval[string](a, `document.querySelector('[data-testid="bulk-tag"]').value`) != "<b>x</b>" {
				t.Errorf("refusal %q, selected %s (%s)", msg, eval[string](a, picked), eval[string](a, count))
			}
			a.screenshot(v.name + " a refused change")

			// Close Pia and Quinn: gone from both open lists.
			a.do("select Quinn", chromedp.Click(chromedp.CSS(row(convs[3]))))
			a.do("Close", chromedp.Click(chromedp.CSS(`[data-testid="bulk-close"]`)))
			a.waitFor("the answer", `(document.querySelector('[data-testid="bulk-notice"]') || {}).textContent === 'Closed 2 conversations.'`, 10*time.Second)
			for _, tb := range []*tab{a, b} {
				tb.waitFor("the closed ones gone", `!document.querySelector('li.conv-row[data-id="`+convs[2]+`"]') && !document.querySelector('li.conv-row[data-id="`+convs[3]+`"]') && !!document.querySelector('li.conv-row[data-id="`+convs[0]+`"]')`, 10*time.Second)
			}
			for i, c := range convs {
				var got model.Conversation
				srv.Do("GET", "/api/v1/conversations/"+c, ada.Token, nil, http.StatusOK, &got)
				want := "open"
				if i >= 2 {
					want = "closed"
				}
				if got.Status != want || got.Assignee == nil || got.Assignee.Name != "Ben" {
					t.Errorf("conversation %d: %s, assignee %v", i, got.Status, got.Assignee)
				}
			}

			// x selects the open conversation, j goes on to the next with
			// the selection kept, x adds it; Escape stops selecting, also
			// from a box.
			first := eval[string](a, `document.querySelector('[data-testid="conversation-item"]').dataset.id`)
			a.navigate(srv.URL + "/dashboard/conversations/" + first)
			waitLive(a)
			a.press("x")
			a.waitFor("selecting with the open one", `document.body.classList.contains('selecting') && `+count+` === '1 selected'`, 5*time.Second)
			if got := eval[string](a, picked); got != first {
				t.Errorf("x selected %s", got)
			}
			if v.name == "desktop" {
				a.screenshot(v.name + " selecting beside a conversation")
			}
			a.press("j")
			a.waitFor("the next conversation", `location.pathname !== `+js("/dashboard/conversations/"+first)+` && document.readyState === 'complete'`, 10*time.Second)
			waitLive(a)
			second := eval[string](a, `document.body.dataset.conversation`)
			a.waitFor("the selection kept", `document.body.classList.contains('selecting') && `+count+` === '1 selected'`, 5*time.Second)
			a.press("x")
			a.waitFor("two selected", count+` === '2 selected'`, 5*time.Second)
			if got, want := eval[string](a, picked), sorted(first, second); got != want {
				t.Errorf("after x, j, x: %s, want %s", got, want)
			}
			if v.name == "desktop" { // a phone shows the conversation alone
				a.do("focus a box", chromedp.Focus(chromedp.CSS(`li.conv-row[data-id="`+second+`"] .pick`)))
			}
			a.press("\x1b")
			a.waitFor("no longer selecting", `!document.body.classList.contains('selecting') && document.querySelector('[data-testid="bulk-bar"]').hidden`, 5*time.Second)
			if got := eval[string](a, picked); got != "" {
				t.Errorf("still ticked after Escape: %s", got)
			}
			if v.name == "phone" {
				a.navigate(srv.URL + "/dashboard")
				waitLive(a)
			}
			a.do("focus the toggle", chromedp.Focus(chromedp.CSS(`[data-testid="select-toggle"]`)))
			a.press(" ")
			a.waitFor("selecting with Space", `document.body.classList.contains('selecting')`, 5*time.Second)
		})
	}
}

func sorted(ids ...string) string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return strings.Join(out, ",")
}
