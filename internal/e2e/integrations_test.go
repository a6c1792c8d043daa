package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/store"
)

// Settings → Integrations: an admin adds a webhook from the form, sees its
// secret once, reads its delivery log, sees a disabled webhook's notice and
// enables it again; the page passes axe at desktop and phone sizes and
// needs no sideways scrolling at 320 px. Then the visitor panel's erase
// button asks for confirmation and erases.
func TestIntegrationsPage(t *testing.T) {
	for _, v := range []viewport{desktop, phone} {
		t.Run(v.name, func(t *testing.T) {
			srv := startParley(t, "PARLEY_WEBHOOK_ALLOW_PRIVATE", "1", "PARLEY_WEBHOOK_RETRY_BASE", "50ms")
			a := srv.AddAgent("ada@example.com", "Ada")
			down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				http.Error(w, "<b>maintenance</b> until 14:00", http.StatusServiceUnavailable)
			}))
			t.Cleanup(down.Close)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(up.Close)

			agent := newTab(t, "agent")
			agent.setViewport(v)
			loginDashboard(agent, srv.URL, "ada@example.com")
			agent.navigate(srv.URL + "/dashboard/settings/integrations")
			waitLive(agent)
			checkAxe(agent, v.name+" integrations empty")

			// A refused URL keeps what was typed and says why.
			agent.do("add a webhook on the metadata address",
				chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-url-input"]`), "http://user:pw@169.254.169.254/latest"),
				chromedp.Click(chromedp.CSS(`input[name="events"][value="message.created"]`)),
				chromedp.Click(chromedp.CSS(`[data-testid="webhook-add"]`)),
			)
			agent.waitFor("the refusal", `document.querySelector('[data-testid="integrations-error"]')`, 10*time.Second)
			if got := eval[string](agent, `document.querySelector('[data-testid="integrations-error"]').textContent`); got == "" {
				t.Error("no error text")
			}

			for _, url := range []string{down.URL + "/hook", up.URL + "/hook"} {
				agent.navigate(srv.URL + "/dashboard/settings/integrations")
				agent.do("add a webhook",
					chromedp.SendKeys(chromedp.CSS(`[data-testid="webhook-url-input"]`), url),
					chromedp.Click(chromedp.CSS(`input[name="events"][value="conversation.created"]`)),
					chromedp.Click(chromedp.CSS(`input[name="events"][value="message.created"]`)),
					chromedp.Click(chromedp.CSS(`[data-testid="webhook-add"]`)),
				)
				agent.waitFor("the secret", `document.querySelector('[data-testid="webhook-secret"]')`, 10*time.Second)
				if s := eval[string](agent, `document.querySelector('[data-testid="webhook-secret"]').textContent`); len(s) < 20 {
					t.Errorf("secret %q", s)
				}
			}
			checkAxe(agent, v.name+" integrations created")

			visitorID, convID := newVisitorConversation(t, srv, "Vera", "vera@example.com", "Hello <script>alert(1)</script>")
			hooks, err := srv.App.DB.Webhooks(t.Context(), srv.Workspace.ID)
			if err != nil || len(hooks) != 2 {
				t.Fatalf("webhooks %v (%v)", hooks, err)
			}
			failing := hooks[0]
			apptest.Eventually(t, 10*time.Second, "failed tries logged", func() bool {
				log, _ := srv.App.DB.WebhookAttempts(t.Context(), failing.ID)
				return len(log) >= 3
			})
			// A day of failures disables it: the streak is moved a day back,
			// and the next failure is recorded as the deliverer records it.
			if _, err := srv.App.DB.SQL.ExecContext(t.Context(), `UPDATE webhooks SET failing_since = ? WHERE id = ?`,
				time.Now().Add(-25*time.Hour).UnixMicro(), failing.ID); err != nil {
				t.Fatal(err)
			}
			d := store.WebhookDelivery{WebhookID: failing.ID, EventID: "ev-test", EventType: "message.created"}
			code := 503
			if _, err := srv.App.DB.RecordWebhookAttempt(t.Context(), d, store.WebhookOutcome{
				Attempt: store.WebhookAttempt{EventID: d.EventID, EventType: d.EventType, At: time.Now(), StatusCode: &code, Error: "the receiver answered 503"},
				Next:    time.Now().Add(time.Hour), DisableAfter: 24 * time.Hour}); err != nil {
				t.Fatal(err)
			}
			agent.navigate(srv.URL + "/dashboard/settings/integrations?log=" + failing.ID + "#log")
			waitLive(agent)
			agent.waitFor("the disabled notice", `document.querySelector('[data-testid="webhooks-disabled"]') && document.querySelector('[data-testid="webhook-disabled"]')`, 10*time.Second)
			agent.waitFor("the log", `document.querySelectorAll('[data-testid="attempt"]').length >= 3`, 10*time.Second)
			// Retries are seconds apart: the log's times keep their seconds.
			if !eval[bool](agent, `[...document.querySelectorAll('[data-testid="attempt"] time')].every((t) => /\d:\d\d:\d\d/.test(t.textContent))`) {
				t.Errorf("the log's times without seconds: %s", eval[string](agent, `[...document.querySelectorAll('[data-testid="attempt"] time')].map((t) => t.textContent).join(' | ')`))
			}
			if txt := eval[string](agent, `document.querySelector('[data-testid="webhook-disabled"]').textContent`); strings.Contains(txt, "1 deliveries") {
				t.Errorf("the disabled webhook's line: %q", txt)
			}
			if eval[bool](agent, `!!document.querySelector('[data-testid="webhook-log"] b')`) {
				t.Error("the receiver's HTML was rendered, not shown as text")
			}
			eval[bool](agent, `(document.querySelectorAll('details').forEach((d) => { d.open = true; }), true)`)
			checkAxe(agent, v.name+" integrations log and disabled")
			eval[bool](agent, `(window.scrollTo(0, 0), true)`)
			agent.screenshot(v.name + " integrations top")

			agent.do("enable it again", chromedp.Click(chromedp.CSS(`[data-testid="webhook-enable"]`)))
			agent.waitFor("the notice gone", `location.search === '' && !document.querySelector('[data-testid="webhooks-disabled"]')`, 10*time.Second)

			agent.setViewport(viewport{"narrow", 320, 640, 1, true})
			agent.navigate(srv.URL + "/dashboard/settings/integrations?log=" + failing.ID)
			if w := eval[int](agent, `document.documentElement.scrollWidth`); w > 320 {
				t.Errorf("integrations at 320 px is %d px wide", w)
				agent.screenshot("narrow integrations")
			}
			agent.setViewport(v)

			// Erasing the visitor from their panel asks first.
			agent.navigate(srv.URL + "/dashboard/conversations/" + convID)
			waitLive(agent)
			openPanel := func() {
				// On a phone the visitor panel opens over the conversation.
				if v.mobile {
					agent.do("open the visitor panel", chromedp.Click(chromedp.CSS(`[data-testid="toggle-visitor"]`)))
				}
			}
			openPanel()
			// The live panel may be redrawn between finding the button and
			// clicking it: click whatever button is there at that moment.
			agent.waitFor("the erase button", `document.querySelector('[data-testid="erase-visitor"]')`, 10*time.Second)
			eval[bool](agent, `(document.querySelector('[data-testid="erase-visitor"]').click(), true)`)
			agent.waitFor("the confirmation", `document.querySelector('[data-testid="erase-visitor-confirm"]')`, 10*time.Second)
			checkAxe(agent, v.name+" visitor erase confirmation")
			// Cancel goes back to the conversation, nothing erased.
			agent.do("cancel", chromedp.Click(chromedp.CSS(`[data-testid="erase-visitor-cancel"]`)))
			agent.waitFor("the conversation again", `location.pathname === '/dashboard/conversations/`+convID+`'`, 10*time.Second)
			srv.Do("GET", "/api/v1/conversations/"+convID, a.Token, nil, http.StatusOK, nil)
			// The second time through the page's own URL (the button was tried
			// above; the live panel may be redrawn under a click).
			agent.navigate(srv.URL + "/dashboard/visitors/" + visitorID + "/erase")
			agent.waitFor("the confirmation", `document.querySelector('[data-testid="erase-visitor-confirm"]')`, 10*time.Second)
			agent.do("confirm", chromedp.Click(chromedp.CSS(`[data-testid="erase-visitor-confirm"]`)))
			agent.waitFor("back on the list", `location.pathname === '/dashboard' && location.search === '?erased=1'`, 10*time.Second)
			agent.waitFor("the erasure said", `(document.querySelector('[data-testid="erased-notice"]') || {}).textContent === 'The visitor was erased, with their conversations, messages and files.'`, 10*time.Second)
			srv.Do("GET", "/api/v1/conversations/"+convID, a.Token, nil, http.StatusNotFound, nil)
		})
	}
}
