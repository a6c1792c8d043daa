package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// A visitor whose address was unsubscribed (from another visitor record)
// types it into the contact form: the widget says so and offers the opt-in
// box; saving without ticking it is refused in the form, and ticking it
// makes the address receive emails again.
func TestWidgetOptIn(t *testing.T) {
	srv := startParley(t)
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
	a, err := srv.App.DB.EmailAddress(ctx, srv.Workspace.ID, "vera@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != model.EmailOK || a.OptInAt == nil {
		t.Fatalf("address after the tick: %+v", a)
	}
}
