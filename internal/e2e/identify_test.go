package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// An address typed in the widget identifies the visitor: once they have
// left, the agent's unread reply is emailed to it.
func TestAddressTypedInWidgetGetsTheReply(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := startParley(t, "PARLEY_SMTP_URL", relay.URL, "PARLEY_FORWARD_LEFT_AFTER", "2s", "PARLEY_FORWARD_QUIET", "1s")
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.DialAgent(a.Token) // a dashboard open keeps the agent present

	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Hi! It's jo.doe@visitor.test, in case I leave.")
	tok := eval[string](visitor, `window.Parley.visitorToken()`)
	waitConversation(t, srv, tok)
	apptest.Eventually(t, 10*time.Second, "the visitor identified", func() bool {
		v, _ := conversationOf(t, srv, tok)
		return v.Email != nil && *v.Email == "jo.doe@visitor.test" && v.EmailSource != nil && *v.EmailSource == "conversation"
	})
	_, convID := conversationOf(t, srv, tok)
	// The widget says where the answer goes.
	visitor.waitFor("the widget saying where answers go", inWidget(`$$('email-saved').some((n) => n.firstChild.textContent === 'If you leave, our answer goes to jo.doe@visitor.test.' && !!n.querySelector('[data-parley="email-change"]'))`), 10*time.Second)

	if err := chromedp.Cancel(visitor.ctx); err != nil { // the visitor closes the tab
		t.Fatal(err)
	}
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Thanks Jo, here is the quote.", "kind": "reply"}, http.StatusCreated, nil)
	apptest.Eventually(t, 30*time.Second, "the email", func() bool {
		if len(relay.Mails()) > 0 {
			return true
		}
		var c struct {
			Forwarding any `json:"forwarding"`
		}
		srv.Do("GET", "/api/v1/conversations/"+convID, a.Token, nil, http.StatusOK, &c)
		v, _ := conversationOf(t, srv, tok)
		t.Logf("forwarding: %v; online %v left %v", c.Forwarding, v.Online, v.LeftAt)
		return false
	})
	mails := relay.Mails()
	if len(mails[0].To) != 1 || mails[0].To[0] != "jo.doe@visitor.test" {
		t.Fatalf("the reply went to %v", mails[0].To)
	}
}

// The email collector: offered once an agent reply is shown, saves the
// address as the contact form does, and is gone for good once dismissed.
func TestEmailCollector(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.DialAgent(a.Token) // a dashboard open keeps the agent present
	shown := inWidget(`!$('collector').hidden`)

	start := func(tb *tab) string {
		t.Helper()
		openWidget(tb, srv.URL+"/demo")
		skipOptionalForm(tb)
		typeInWidget(tb, "Do you ship to Norway?")
		tok := eval[string](tb, `window.Parley.visitorToken()`)
		waitConversation(t, srv, tok)
		if eval[bool](tb, shown) {
			t.Error("collector shown before any agent reply")
		}
		_, convID := conversationOf(t, srv, tok)
		srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "We do.", "kind": "reply"}, http.StatusCreated, nil)
		tb.waitFor("the agent reply", inWidget(`$$('message').some((m) => m.getAttribute('data-author-kind') === 'agent')`), 10*time.Second)
		return tok
	}

	// Filled in.
	visitor := newTab(t, "visitor")
	visitor.do("phone viewport", chromedp.EmulateViewport(390, 844))
	tok := start(visitor)
	visitor.waitFor("the collector", shown, 10*time.Second)
	visitor.screenshot("widget email collector 390x844")
	eval[bool](visitor, inWidget(`(() => { const el = $('collector-email'); el.value = 'not an address';
		el.dispatchEvent(new Event('input', { bubbles: true })); $('collector-submit').click(); return true; })()`))
	visitor.waitFor("the collector's error", inWidget(`$('collector-email').getAttribute('aria-invalid') === 'true'`), 5*time.Second)
	// An address the widget lets through and the server refuses: said
	// under the field it was typed in, not under the hidden contact form's.
	eval[bool](visitor, inWidget(`(() => { const el = $('collector-email'); el.value = 'foo@bar';
		el.dispatchEvent(new Event('input', { bubbles: true })); $('collector-submit').click(); return true; })()`))
	visitor.waitFor("the server's refusal under the collector", inWidget(`(() => { const el = $('collector-email'), err = sr.getElementById(el.getAttribute('aria-describedby'));
		return el.getAttribute('aria-invalid') === 'true' && !!err && err.getAttribute('data-parley') === 'error' && err.getClientRects().length > 0 &&
			err.getBoundingClientRect().top >= el.getBoundingClientRect().bottom && el.getBoundingClientRect().width > 100; })()`), 10*time.Second)
	// Typed and sent with Enter: the focus was in the field, which goes.
	eval[bool](visitor, inWidget(`(() => { const el = $('collector-email'); el.focus(); el.value = 'kim@visitor.test';
		el.dispatchEvent(new Event('input', { bubbles: true })); el.form.requestSubmit(); return true; })()`))
	visitor.waitFor("the collector gone once saved", inWidget(`$('collector').hidden`), 10*time.Second)
	visitor.waitFor("the focus in the message box, not lost with the field", inWidget(`sr.activeElement === $('input')`), 5*time.Second)
	if v, _ := conversationOf(t, srv, tok); v.Email == nil || *v.Email != "kim@visitor.test" {
		t.Fatalf("visitor email %v", v.Email)
	}

	// Dismissed: not offered again, even after a reload and another reply.
	other := newTab(t, "other")
	tok = start(other)
	other.waitFor("the collector", shown, 10*time.Second)
	eval[bool](other, inWidget(`($('collector-dismiss').click(), true)`))
	other.waitFor("the collector dismissed", inWidget(`$('collector').hidden`), 5*time.Second)
	other.do("reload", chromedp.Reload())
	openWidget(other, srv.URL+"/demo")
	_, convID := conversationOf(t, srv, tok)
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Anything else?", "kind": "reply"}, http.StatusCreated, nil)
	other.waitFor("the second reply", inWidget(`$$('message').filter((m) => m.getAttribute('data-author-kind') === 'agent').length === 2`), 10*time.Second)
	if eval[bool](other, shown) {
		t.Error("the collector came back after it was dismissed")
	}
}

// With forwarding off the collector is never offered.
func TestEmailCollectorForwardingOff(t *testing.T) {
	srv := startParley(t)
	a := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.DialAgent(a.Token) // a dashboard open keeps the agent present
	var st map[string]any
	srv.Do("GET", "/api/v1/settings", a.Token, nil, http.StatusOK, &st)
	st["email_forwarding"] = "off"
	srv.Do("PUT", "/api/v1/settings", a.Token, st, http.StatusOK, nil)

	visitor := newTab(t, "visitor")
	openWidget(visitor, srv.URL+"/demo")
	skipOptionalForm(visitor)
	typeInWidget(visitor, "Hello")
	tok := eval[string](visitor, `window.Parley.visitorToken()`)
	waitConversation(t, srv, tok)
	_, convID := conversationOf(t, srv, tok)
	srv.Do("POST", "/api/v1/conversations/"+convID+"/messages", a.Token, map[string]string{"body": "Hi!", "kind": "reply"}, http.StatusCreated, nil)
	visitor.waitFor("the agent reply", inWidget(`$$('message').some((m) => m.getAttribute('data-author-kind') === 'agent')`), 10*time.Second)
	if eval[bool](visitor, inWidget(`!$('collector').hidden`)) {
		t.Error("collector shown with forwarding off")
	}

	// The agent may still ask for the address, without promising that
	// replies follow by email; nor does the widget, once it has it, nor
	// its away note.
	var asked model.Message
	srv.Do("POST", "/api/v1/conversations/"+convID+"/ask-email", a.Token, map[string]string{}, http.StatusCreated, &asked)
	if asked.Body != "Could you leave your email address?" {
		t.Errorf("the request with forwarding off: %q", asked.Body)
	}
	visitor.waitFor("the email field under the request", inWidget(`!!$('ask-email-input')`), 10*time.Second)
	eval[bool](visitor, inWidget(`(() => { const i = $('ask-email-input'); i.value = 'jo@visitor.test';
		i.dispatchEvent(new Event('input', { bubbles: true })); i.form.requestSubmit(); return true; })()`))
	visitor.waitFor("the address acknowledged", inWidget(`!!$('email-saved') && $('email-saved').textContent.includes('jo@visitor.test')`), 10*time.Second)
	if said := eval[string](visitor, inWidget(`$('email-saved').textContent`)); strings.Contains(said, "answer goes to") {
		t.Errorf("the widget promises emails with forwarding off: %q", said)
	}
	srv.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "offline"}, http.StatusOK, nil)
	visitor.waitFor("the away note", inWidget(`!$('note').hidden`), 10*time.Second)
	if note := eval[string](visitor, inWidget(`$('note').textContent`)); strings.Contains(note, "answer goes to") || strings.HasSuffix(note, "Change") {
		t.Errorf("the away note promises emails with forwarding off: %q", note)
	}
}

// waitConversation waits until the visitor's first message made their
// conversation.
func waitConversation(t *testing.T, srv *apptest.Server, tok string) {
	t.Helper()
	v, err := srv.App.Chat.VisitorByToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "the conversation", func() bool {
		return count(t, srv, `SELECT COUNT(*) FROM conversations WHERE visitor_id = ?`, v.ID) > 0
	})
}
