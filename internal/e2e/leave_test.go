package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
)

// A visitor who goes to another page leaves, even when the browser keeps
// the page in its back/forward cache (where its connection would stay
// open), and is online again when they come back to it with Back.
func TestLeavingThroughBackForwardCache(t *testing.T) {
	srv := startParley(t)
	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	fillContactForm(visitor, "Vera", "vera@example.com") // nobody online: the form comes first
	typeInWidget(visitor, "Is this in stock?")
	visitor.waitFor("the widget to confirm the message", inWidget(`$$('message').some((m) => m.getAttribute('data-id'))`), 10*time.Second)
	token := eval[string](visitor, `window.Parley.visitorToken()`)
	online := func() bool {
		v, err := srv.App.Chat.VisitorByToken(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		return v.Online
	}
	apptest.Eventually(t, 10*time.Second, "the visitor online", online)
	eval[bool](visitor, `(window.__cached = false, addEventListener('pageshow', (e) => { window.__cached = e.persisted; }), true)`)

	visitor.navigate(srv.URL + "/healthz")
	apptest.Eventually(t, 10*time.Second, "the visitor to have left", func() bool { return !online() })

	// chromedp.NavigateBack waits for a load, which a page restored from
	// the cache does not fire.
	eval[bool](visitor, `(history.back(), true)`)
	visitor.waitFor("the page", `location.pathname === '/demo' && document.readyState === 'complete'`, 10*time.Second)
	if !eval[bool](visitor, `window.__cached === true`) {
		t.Log("the browser did not keep the page in its back/forward cache: only the leave was checked")
		return
	}
	apptest.Eventually(t, 10*time.Second, "the visitor online again", online)
	visitor.waitFor("the conversation still in the widget", inWidget(`$$('message').some((m) => m.textContent.includes('Is this in stock?'))`), 10*time.Second)
}
