package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// The widget keeps its own look on a page that writes right to left and
// forces text styles on every element: left to right (its languages are),
// no capitals or spacing from the page; and a link in a reply keeps the
// closing bracket it opened.
func TestWidgetOnAHostilePage(t *testing.T) {
	srv, a, v := visitorChatting(t)
	_, convID := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`))
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "See https://en.wikipedia.org/wiki/Norway_(disambiguation).", "kind": "reply"}, http.StatusCreated, nil)
	v.waitFor("the reply", inWidget(`$$('message').some((m) => m.textContent.includes('Norway_'))`), 10*time.Second)

	eval[bool](v, `(() => { document.documentElement.dir = 'rtl'; const st = document.createElement('style');
		st.textContent = '* { text-transform: uppercase !important; letter-spacing: 2px !important; word-spacing: 9px !important }';
		document.head.append(st); return true; })()`)
	got := eval[map[string]string](v, inWidget(`(() => { const m = $$('message')[0]; const cs = getComputedStyle(m);
		return { direction: getComputedStyle($('window')).direction, transform: cs.textTransform, spacing: cs.letterSpacing,
			words: cs.wordSpacing, link: (sr.querySelector('[data-parley="message"] a[href*="Norway"]') || {}).href || '' }; })()`))
	want := map[string]string{"direction": "ltr", "transform": "none", "spacing": "normal", "words": "0px",
		"link": "https://en.wikipedia.org/wiki/Norway_(disambiguation)"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	v.screenshot("laptop-1366x900-widget-on-a-hostile-page")

	// Rules on every div and on the body's children, and a bar of the
	// site's own at the highest layer: the chat stays in its corner, over
	// the bar (it comes later in the page), and takes clicks.
	eval[bool](v, `(() => { const st = document.createElement('style');
		st.textContent = 'div { position: relative; z-index: 1 } body > * { will-change: transform; pointer-events: none }' +
			' .promo { position: fixed; left: 0; right: 0; bottom: 0; height: 120px; z-index: 2147483647; background: #c00 }';
		document.head.append(st); const bar = document.createElement('aside'); bar.className = 'promo'; document.body.insertBefore(bar, document.body.firstChild); return true; })()`)
	on := eval[map[string]any](v, inWidget(`(() => { const b = $('launcher').getBoundingClientRect(); const x = b.left + b.width / 2, y = b.top + b.height / 2;
		return { bottom: window.innerHeight - b.bottom, top: document.elementFromPoint(x, y) === document.getElementById('parley-widget') }; })()`))
	if on["top"] != true {
		t.Error("the launcher is under the site's bar, or takes no clicks")
	}
	if b, _ := on["bottom"].(float64); b < 0 || b > 40 {
		t.Errorf("the launcher is %v px above the window's bottom, want its corner", b)
	}
}

// Typing when every agent goes away: the form that asks for an email takes
// the box's place and the focus with it, the draft is kept, and both come
// back when an agent does.
func TestAgentsAwayWhileTheVisitorTypes(t *testing.T) {
	srv, a, v := visitorChatting(t)
	eval[bool](v, inWidget(`(() => { const i = $('input'); i.focus(); i.value = 'And to Iceland'; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	v.waitFor("the form in the box's place", inWidget(`!$('contact-form').hidden && $('input').closest('[hidden]') !== null`), 10*time.Second)
	v.waitFor("the focus in the form", inWidget(`$('contact-form').contains(sr.activeElement)`), 5*time.Second)
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	v.waitFor("the box back with the focus", inWidget(`$('contact-form').hidden && sr.activeElement === $('input')`), 10*time.Second)
	if got := eval[string](v, inWidget(`$('input').value`)); got != "And to Iceland" {
		t.Errorf("the draft reads %q once the box is back", got)
	}
}

// An agent's initials in the widget are made of letters, as in the
// dashboard: "(Ben) O'Brien" is BO, not "(O".
func TestWidgetInitialsAreLetters(t *testing.T) {
	srv, a, v := visitorChatting(t)
	srv.Do("PATCH", "/api/v1/agents/"+a.ID, a.Token, map[string]string{"name": "(Ben) O'Brien"}, http.StatusOK, nil)
	_, convID := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`))
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "We do.", "kind": "reply"}, http.StatusCreated, nil)
	v.waitFor("the reply with the initials BO", inWidget(`$$('message').some((m) => m.textContent.includes('We do.') && m.querySelector('.av').textContent === 'BO')`), 10*time.Second)
}

// A message not sent yet (no connection) and a draft follow the visitor
// to the site's next page, where the message is sent, once.
func TestUnsentMessageFollowsToTheNextPage(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	v := newTab(t, "visitor")
	v.setViewport(desktop)
	// No WebSocket opens while this tab's storage says so, and the HTTP
	// fallback for messages is blocked: nothing can be sent.
	const cut = `(() => { const Real = window.WebSocket;
		window.WebSocket = function (url, protocols) {
			if (sessionStorage.getItem('cut') !== '1') return new Real(url, protocols);
			const s = { readyState: 0, send() { throw new Error('not open'); }, close() {} };
			setTimeout(() => { s.readyState = 3; if (s.onclose) s.onclose({ code: 1006 }); }, 10);
			return s;
		}; })()`
	if _, err := chromedp.Call(v.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cut}); err != nil {
		t.Fatal(err)
	}
	block := func(patterns ...*network.BlockPattern) {
		t.Helper()
		if _, err := chromedp.Call(v.ctx, network.Enable, network.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Call(v.ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
			t.Fatal(err)
		}
	}
	v.navigate(srv.URL + "/demo")
	eval[bool](v, `(sessionStorage.setItem('cut', '1'), true)`)
	block(&network.BlockPattern{URLPattern: srv.URL + "/api/widget/v1/messages", Block: true})
	openWidget(v, srv.URL+"/demo")
	skipOptionalForm(v)
	typeInWidget(v, "My order number is 55123")
	v.waitFor("the message not sent yet", inWidget(`$$('message').some((m) => m.textContent.includes('55123') && m.textContent.includes('Not sent yet'))`), 10*time.Second)
	eval[bool](v, inWidget(`(() => { const i = $('input'); i.value = 'And the parcel is'; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))
	tok := eval[string](v, `window.Parley.visitorToken()`)

	// The next page, connected again.
	eval[bool](v, `(sessionStorage.setItem('cut', '0'), true)`)
	block()
	openWidget(v, srv.URL+"/demo?page=2")
	waitConversation(t, srv, tok)
	_, convID := conversationOf(t, srv, tok)
	apptest.Eventually(t, 10*time.Second, "the message stored", func() bool {
		var list struct{ Messages []model.Message }
		srv.Do("GET", "/api/v1/conversations/"+convID+"/messages", a.Token, nil, http.StatusOK, &list)
		for _, m := range list.Messages {
			if m.Body == "My order number is 55123" {
				return true
			}
		}
		return false
	})
	v.waitFor("the message shown sent, once", inWidget(`$$('message').filter((m) => m.textContent.includes('55123')).length === 1 && !$$('message').some((m) => m.textContent.includes('Not sent yet'))`), 10*time.Second)
	if got := eval[string](v, inWidget(`$('input').value`)); got != "And the parcel is" {
		t.Errorf("the draft on the next page: %q", got)
	}
	// Sent: nothing is sent again from the page after.
	openWidget(v, srv.URL+"/demo?page=3")
	v.waitFor("the conversation", inWidget(`$$('message').some((m) => m.textContent.includes('55123'))`), 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := count(t, srv, `SELECT COUNT(*) FROM messages WHERE body = 'My order number is 55123'`); n != 1 {
		t.Errorf("%d copies of the message stored, want 1", n)
	}
}

// A connection that dies without closing (a tunnel: nothing comes and
// nothing goes) is noticed: the message sent into it says "Not sent yet",
// the header says the widget is reconnecting, and the message goes once
// the network is back. Going off the network is said at once.
func TestDeadConnectionNoticed(t *testing.T) {
	srv, a := startWithAgentOnline(t)
	v := newTab(t, "visitor")
	v.setViewport(phone)
	// In the tunnel, an open connection passes nothing either way, and a
	// new one never opens (it fails after a while, as the browser's would).
	const tunnel = `(() => { const Real = window.WebSocket;
		const Tunnelled = class extends Real {
			send(d) { if (!window.__tunnel) super.send(d); }
			set onmessage(fn) { super.onmessage = (e) => { if (!window.__tunnel) fn(e); }; }
			get onmessage() { return super.onmessage; }
		};
		window.WebSocket = function (url, protocols) {
			if (!window.__tunnel) return new Tunnelled(url, protocols);
			const s = { readyState: 0, send() { throw new Error('not open'); }, close() {} };
			setTimeout(() => { s.readyState = 3; if (s.onclose) s.onclose({ code: 1006 }); }, 3000);
			return s;
		}; })()`
	if _, err := chromedp.Call(v.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: tunnel}); err != nil {
		t.Fatal(err)
	}
	openWidget(v, srv.URL+"/demo")
	skipOptionalForm(v)
	typeInWidget(v, "Before the tunnel")
	tok := eval[string](v, `window.Parley.visitorToken()`)
	waitConversation(t, srv, tok)
	_, convID := conversationOf(t, srv, tok)

	eval[bool](v, `(window.__tunnel = true, true)`)
	typeInWidget(v, "In the tunnel")
	v.waitFor("the message not sent yet, and the header reconnecting", inWidget(`$$('message').some((m) => m.textContent.includes('In the tunnel') && m.textContent.includes('Not sent yet')) && $('status').textContent !== 'online'`), 20*time.Second)
	v.screenshot("phone-390x844-widget-dead-connection")
	eval[bool](v, `(window.__tunnel = false, window.dispatchEvent(new Event('online')), true)`)
	apptest.Eventually(t, 30*time.Second, "the message stored", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM messages WHERE conversation_id = '`+convID+`' AND body = 'In the tunnel'`) == 1
	})
	v.waitFor("the header online again", inWidget(`$('status').textContent === 'online' && !$$('message').some((m) => m.textContent.includes('Not sent yet'))`), 20*time.Second)

	// Off the network: said at once.
	eval[bool](v, `(window.dispatchEvent(new Event('offline')), true)`)
	v.waitFor("the header reconnecting", inWidget(`$('status').textContent !== 'online' && !$('connection').hidden`), 2*time.Second)
	_ = a
}

// visitorChatting starts Parley with an agent online and a visitor on a
// laptop who skipped the optional form and wrote once (stored).
func visitorChatting(t *testing.T) (*apptest.Server, apptest.Agent, *tab) {
	t.Helper()
	srv, a := startWithAgentOnline(t)
	v := newTab(t, "visitor")
	v.setViewport(desktop)
	openWidget(v, srv.URL+"/demo")
	skipOptionalForm(v)
	typeInWidget(v, "Do you ship to Norway?")
	waitConversation(t, srv, eval[string](v, `window.Parley.visitorToken()`))
	return srv, a, v
}

// An address the widget took from a message can be changed by the visitor
// where the widget says where answers go: Change opens the field with the
// address in it, the first press asks to confirm (the former address is
// told), and the second replaces it.
func TestVisitorChangesTheAddressTakenFromAMessage(t *testing.T) {
	srv, _, v := visitorChatting(t)
	typeInWidget(v, "My colleague is sam@wrong.example, ask him")
	v.waitFor("the widget saying where answers go", inWidget(`$$('email-saved').some((n) => n.textContent.includes('sam@wrong.example'))`), 10*time.Second)
	eval[bool](v, inWidget(`($('email-change').click(), true)`))
	v.waitFor("the field with the address, focused", inWidget(`!$('collector').hidden && $('collector-email').value === 'sam@wrong.example' && sr.activeElement === $('collector-email')`), 5*time.Second)
	submit := inWidget(`(() => { const el = $('collector-email'); el.value = 'kim@right.example';
		el.dispatchEvent(new Event('input', { bubbles: true })); el.form.requestSubmit(); return true; })()`)
	eval[bool](v, submit)
	v.waitFor("the question first, under the field", inWidget(`!!$('confirm-change') && $('confirm-change').textContent.includes('This replaces sam@wrong.example') && sr.activeElement === $('collector-email') &&
		$('confirm-change').getBoundingClientRect().top >= $('collector-email').getBoundingClientRect().bottom && $('collector-email').getBoundingClientRect().width > 100`), 5*time.Second)
	v.screenshot("laptop-1366x900-widget-address-change-confirm")
	if vis, _ := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`)); vis.Email == nil || *vis.Email != "sam@wrong.example" {
		t.Fatalf("visitor email %v before the change was confirmed", vis.Email)
	}
	eval[bool](v, submit)
	v.waitFor("the new address said", inWidget(`$('collector').hidden && $$('email-saved').some((n) => n.textContent.includes('kim@right.example'))`), 10*time.Second)
	v.waitFor("the focus back in the message box", inWidget(`sr.activeElement === $('input')`), 5*time.Second)
	if vis, _ := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`)); vis.Email == nil || *vis.Email != "kim@right.example" {
		t.Errorf("visitor email %v, want kim@right.example", vis.Email)
	}
	v.screenshot("laptop-1366x900-widget-address-changed")
}

// The pages Parley serves around its own widget refuse none of what the
// widget does under their Content-Security-Policy: on the demo page its
// script, API, WebSocket, an upload and the picture it shows; on an
// expired chat link's page the button that starts a new chat.
func TestWidgetPagesPolicyRefusesNothing(t *testing.T) {
	srv, _ := startWithAgentOnline(t)
	// watched is a new tab that records what the policy of its pages refuses.
	watched := func(name string) *tab {
		tb := newTab(t, name)
		tb.setViewport(desktop)
		const watch = `(() => { window.__refused = [];
			document.addEventListener('securitypolicyviolation', (e) => window.__refused.push(e.effectiveDirective + ' ' + e.blockedURI)); })()`
		if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watch}); err != nil {
			t.Fatalf("watch the page: %v", err)
		}
		return tb
	}
	refused := func(tb *tab, where string) {
		t.Helper()
		if r := eval[[]string](tb, `window.__refused`); len(r) > 0 {
			t.Errorf("%s: the page's policy refused %q", where, r)
		}
	}
	v := watched("visitor")
	visitorWrites(v, srv.URL+"/demo", "Do you ship to Norway?")
	pastePicture(v, 120, 80)
	v.waitFor("the picture shown", inWidget(`$$('image').some((i) => i.closest('[data-id]') && i.complete && i.naturalWidth > 0)`), 15*time.Second)
	refused(v, "demo")

	visitor, convID := conversationOf(t, srv, eval[string](v, `window.Parley.visitorToken()`))
	expired := srv.App.Chat.Signer().SignContinue(token.ContinueLink{WorkspaceID: srv.Workspace.ID, VisitorID: visitor.ID,
		ConversationID: convID, Expires: time.Now().Add(-time.Hour)})
	other := watched("another browser")
	other.navigate(srv.URL + "/chat/" + expired)
	other.waitFor("the widget's launcher", inWidget(`$('launcher')`), 10*time.Second)
	if eval[bool](other, inWidget(`!$('window').hidden`)) {
		t.Fatal("the expired page opened the chat by itself")
	}
	eval[bool](other, `(document.querySelector('[data-parley-start]').click(), true)`)
	other.waitFor("the chat opened by the page's button", inWidget(`!$('window').hidden`), 10*time.Second)
	refused(other, "expired chat link")
}
