package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// A visitor whose address was unsubscribed (from another visitor record)
// types it into the contact form: the widget says so and offers the opt-in
// box; saving without ticking it is refused in the form, and ticking it
// emails the address a link (anybody can type an address), which the widget
// says; the address receives emails again once the link is confirmed.
func TestWidgetOptIn(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := startParley(t, "PARLEY_SMTP_URL", relay.URL)
	ctx := context.Background()
	if _, err := srv.App.DB.StopEmailAddress(ctx, srv.Workspace.ID, "vera@example.com", model.EmailUnsubscribed,
		model.EmailStatusByUnsubscribe, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	fillContactForm(visitor, "Vera", "Vera@Example.com")
	visitor.waitFor("the opt-in offer", inWidget(`!$('contact-form').hidden && !$('contact-optin-row').hidden && !$('input').closest('.composer').hidden`), 10*time.Second)
	if got := eval[string](visitor, inWidget(`$('contact-intro').textContent`)); got == "" {
		t.Error("no explanation above the opt-in box")
	}
	if eval[bool](visitor, inWidget(`$('contact-optin').checked`)) {
		t.Fatal("the opt-in box is ticked already")
	}

	// Saving without the tick changes nothing.
	eval[bool](visitor, inWidget(`($('contact-submit').click(), true)`))
	visitor.waitFor("the error asking for the tick", inWidget(`$('error') && $('error').textContent.includes('Tick the box')`), 10*time.Second)
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	v, err := srv.App.Chat.VisitorByToken(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if v.EmailStatus != model.EmailUnsubscribed {
		t.Fatalf("status %q before the tick", v.EmailStatus)
	}

	eval[bool](visitor, inWidget(`($('contact-optin').click(), $('contact-submit').click(), true)`))
	visitor.waitFor("the offer to close", inWidget(`$('contact-form').hidden`), 10*time.Second)
	visitor.waitFor("the widget to say where the link went", inWidget(`$$('email-saved').some((n) => n.textContent.toLowerCase().includes('we sent a link to vera@example.com'))`), 10*time.Second)
	visitor.screenshot("widget-opt-in-sent")
	if note := eval[string](visitor, inWidget(`$('note').textContent`)); strings.Contains(note, "our answer goes to") {
		t.Errorf("the away note promises answers by email to an unsubscribed address: %q", note)
	}
	address := func() store.EmailAddress {
		a, err := srv.App.DB.EmailAddress(ctx, srv.Workspace.ID, "vera@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := address(); a.Status != model.EmailUnsubscribed {
		t.Fatalf("a tick in the chat restarted the emails: %+v", a)
	}
	text, err := relay.Wait(t, 1, 10*time.Second)[0].Text()
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`https?://\S+/email-opt-in/[a-z2-7]+`).FindString(text)
	if link == "" {
		t.Fatalf("no link in the confirmation:\n%s", text)
	}
	page := newTab(t, "mailbox")
	page.navigate(link)
	page.screenshot("opt-in-confirm")
	page.do("confirm", chromedp.Click(chromedp.CSS(`[data-testid="confirm-opt-in"]`)))
	page.waitFor("the confirmation page", `document.querySelector('h1') && document.querySelector('h1').textContent.includes('You will receive replies again')`, 10*time.Second)
	if a := address(); a.Status != model.EmailOK || a.OptInAt == nil {
		t.Fatalf("address after the confirmation: %+v", a)
	}
}
