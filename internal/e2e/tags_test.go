package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Two agents at a desktop and at a phone: Ada tags a conversation from
// its header with the keyboard, Ben's list shows the tags live, a tag's
// chip filters the list (kept in the URL through a reload and undone by
// the back button), and a removed tag goes from both dashboards.
func TestTagsInTheDashboard(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t)
			srv.AddAgent("ada@example.com", "Ada")
			srv.AddAgent("ben@example.com", "Ben")
			_, tagged := newVisitorConversation(t, srv, "Vera", "vera@example.com", "My invoice is wrong")
			_, other := newVisitorConversation(t, srv, "Olaf", "olaf@example.com", "Do you ship to Norway?")

			ada, ben := newTab(t, "ada"), newTab(t, "ben")
			ada.setViewport(v)
			ben.setViewport(v)
			loginDashboard(ben, srv.URL, "ben@example.com")
			loginDashboard(ada, srv.URL, "ada@example.com")
			ada.navigate(srv.URL + "/dashboard/conversations/" + tagged)
			waitLive(ada)

			// Typing in the field is not a shortcut: j, k, ? stay in it.
			field := `document.querySelector('[data-testid="add-tag"]')`
			ada.do("type shortcut keys in the tag field", chromedp.Focus(chromedp.CSS(`[data-testid="add-tag"]`)))
			ada.press("j")
			ada.press("?")
			if got := eval[string](ada, field+`.value`); got != "j?" || eval[bool](ada, `document.getElementById('shortcuts').open`) ||
				!strings.HasSuffix(eval[string](ada, `location.pathname`), tagged) {
				t.Fatalf("keys in the tag field: value %q, shortcuts open %v, page %s", got,
					eval[bool](ada, `document.getElementById('shortcuts').open`), eval[string](ada, `location.href`))
			}
			eval[bool](ada, `(`+field+`.value = '', true)`)

			// A tag the rules refuse says why, as text, and stays in the field.
			ada.press("<b>x</b>")
			ada.press("\r")
			ada.waitFor("the refusal", `document.querySelector('[data-testid="tag-error"]')`, 10*time.Second)
			if msg := eval[string](ada, `document.querySelector('[data-testid="tag-error"]').textContent`); !strings.Contains(msg, "<b>x</b>") ||
				eval[bool](ada, `!!document.querySelector('[data-testid="tag-error"] b')`) || eval[string](ada, field+`.value`) != "<b>x</b>" ||
				eval[string](ada, field+`.getAttribute('aria-invalid')`) != "true" {
				t.Errorf("refusal %q (markup %s), field %q", msg, eval[string](ada, `document.querySelector('[data-testid="tag-error"]').innerHTML`), eval[string](ada, field+`.value`))
			}
			eval[bool](ada, `(`+field+`.value = '', true)`)

			// Two tags, each with Enter; the field keeps the focus.
			headTags := `Array.from(document.querySelectorAll('[data-testid="conv-tag"]')).map((a) => a.textContent).join(',')`
			ada.press("vip\r")
			ada.waitFor("the first tag in the header", headTags+` === 'vip'`, 10*time.Second)
			ada.press("Billing\r")
			ada.waitFor("both tags in the header", headTags+` === 'Billing,vip'`, 10*time.Second)
			if !eval[bool](ada, `document.activeElement === `+field+` && `+field+`.value === '' && !document.querySelector('[data-testid="tag-error"]')`) {
				t.Errorf("after adding: focus on %s, field %q", eval[string](ada, `document.activeElement.outerHTML.slice(0, 100)`), eval[string](ada, field+`.value`))
			}
			checkAxe(ada, v.name+" conversation header with tags")

			// Ben's list shows them at once.
			rowTags := func(conv string) string {
				return `Array.from(document.querySelectorAll('li.conv-row[data-id="` + conv + `"] [data-testid="row-tag"]')).map((a) => a.textContent).join(',')`
			}
			ben.waitFor("the tags in the list", rowTags(tagged)+` === 'Billing,vip'`, 10*time.Second)
			ben.screenshot(v.name + " list with tags")

			// A chip in the list shows that tag's conversations alone, kept in
			// the URL.
			ben.do("click the Billing chip", chromedp.Click(chromedp.CSS(`li.conv-row[data-id="`+tagged+`"] [data-testid="row-tag"]`)))
			ben.waitFor("the list of Billing", `new URLSearchParams(location.search).get('tag') === 'Billing' && document.readyState === 'complete'`, 10*time.Second)
			waitLive(ben)
			items := `Array.from(document.querySelectorAll('[data-testid="conversation-item"]')).map((a) => a.dataset.id).join(',')`
			filterChip := `(document.querySelector('[data-testid="tag-filter"]') || {}).textContent || ''`
			if got := eval[string](ben, items); got != tagged {
				t.Errorf("list of Billing: %s, want %s only", got, tagged)
			}
			if got := eval[string](ben, filterChip); !strings.Contains(got, "Tag: Billing") {
				t.Errorf("filter chip %q", got)
			}
			checkAxe(ben, v.name+" list filtered by a tag")
			ben.navigate(eval[string](ben, `location.href`))
			waitLive(ben)
			if got := eval[string](ben, items); got != tagged || !strings.Contains(eval[string](ben, filterChip), "Tag: Billing") {
				t.Errorf("after a reload: list %s, filter %q", got, eval[string](ben, filterChip))
			}

			// Ada's chip in the header: beside the conversation on a wide
			// screen, the list of the tag on a phone.
			ada.do("click the header's vip chip", chromedp.Click(chromedp.CSS(`[data-testid="conv-tag"][data-id="vip"]`)))
			ada.waitFor("the list of vip", `new URLSearchParams(location.search).get('tag') === 'vip' && document.readyState === 'complete'`, 10*time.Second)
			waitLive(ada)
			onConv := strings.HasSuffix(eval[string](ada, `location.pathname`), tagged)
			if onConv != (v.name == "desktop") {
				t.Errorf("the header's chip opened %s", eval[string](ada, `location.href`))
			}
			if got := eval[string](ada, items); got != tagged {
				t.Errorf("ada's list of vip: %s", got)
			}
			if v.name == "phone" {
				ada.screenshot(v.name + " list of a tag")
				ada.navigate(srv.URL + "/dashboard/conversations/" + tagged + "?tag=vip")
				waitLive(ada)
			}
			ada.screenshot(v.name + " conversation with tags")

			// Removing Billing takes it from both dashboards; Ben's list of
			// Billing says it has none left.
			ada.do("remove Billing", chromedp.Click(chromedp.CSS(`[aria-label="Remove tag Billing"]`)))
			ada.waitFor("Billing gone from the header", headTags+` === 'vip'`, 10*time.Second)
			if !eval[bool](ada, `document.activeElement === document.querySelector('[aria-label="Remove tag vip"]')`) {
				t.Errorf("after removing, focus on %s", eval[string](ada, `document.activeElement.outerHTML.slice(0, 100)`))
			}
			ben.waitFor("the empty list of Billing", `(document.querySelector('[data-testid="list-empty"]') || {}).textContent === 'No open conversations tagged Billing.'`, 10*time.Second)
			ben.screenshot(v.name + " empty list of a tag")

			// Back: the whole list again.
			eval[bool](ben, `(history.back(), true)`)
			ben.waitFor("the list without a filter", `!location.search.includes('tag=') && document.readyState === 'complete' && document.querySelector('[data-testid="conversation-item"][data-id="`+other+`"]')`, 10*time.Second)
			waitLive(ben)
			ben.waitFor("the tags of the list", rowTags(tagged)+` === 'vip'`, 10*time.Second)
			if eval[bool](ben, `!!document.querySelector('[data-testid="tag-filter"]')`) {
				t.Error("the filter chip is still shown")
			}
		})
	}
}
