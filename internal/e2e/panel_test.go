package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/model"
)

// The visitor panel keeps what a live refresh would lose: a name typed but
// not saved (the focus gone elsewhere), and the error of a refused save.
func TestVisitorPanelKeepsEditsAndErrors(t *testing.T) {
	srv := startParley(t)
	srv.AddAgent("ada@example.com", "Ada")
	vid, convID := newVisitorConversation(t, srv, "Vera Lind", "vera@example.com", "Hi")
	a := newTab(t, "ada")
	a.setViewport(desktop)
	loginDashboard(a, srv.URL, "ada@example.com")
	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	write := func(body string) {
		t.Helper()
		if _, err := srv.App.Chat.VisitorSend(context.Background(), vid, body, model.NewID(), model.MsgChannelWidget); err != nil {
			t.Fatal(err)
		}
		a.waitFor("the visitor's message", `Array.from(document.querySelectorAll('[data-testid="message"]')).some((m) => m.textContent.includes(`+js(body)+`))`, 10*time.Second)
		time.Sleep(300 * time.Millisecond) // the rest of the refresh
	}
	name := `document.querySelector('[data-testid="visitor-name"]')`

	eval[bool](a, `(() => { const i = `+name+`; i.focus(); i.value = 'Vera Lindqvist'; i.blur(); return true; })()`)
	write("Are you there?")
	if got := eval[string](a, name+`.value`); got != "Vera Lindqvist" {
		t.Errorf("the name typed and not saved reads %q after a refresh", got)
	}

	a.navigate(srv.URL + "/dashboard/conversations/" + convID)
	waitLive(a)
	eval[bool](a, `(document.querySelector('[data-testid="visitor-email"]').value = 'dev@acme', true)`)
	a.do("save a bad address", chromedp.Click(chromedp.CSS(`[data-testid="save-visitor"]`)))
	a.waitFor("the error", `!!document.querySelector('[data-testid="visitor-error"]')`, 10*time.Second)
	waitLive(a)
	write("Hello?")
	if !eval[bool](a, `!!document.querySelector('[data-testid="visitor-error"]') && document.querySelector('[data-testid="visitor-email"]').value === 'dev@acme'`) {
		t.Error("the save's error and the address it refused are gone after a refresh")
	}
}
