package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

var emailLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/(chat|unsubscribe)/[a-z2-7]+`)

// emailLinks returns the conversation and unsubscribe links of a mail.
func emailLinks(t *testing.T, m apptest.Mail) (chat, unsubscribe string) {
	t.Helper()
	text, err := m.Text()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range emailLinkRE.FindAllStringSubmatch(text, -1) {
		if l[1] == "chat" {
			chat = l[0]
		} else {
			unsubscribe = l[0]
		}
	}
	if chat == "" || unsubscribe == "" {
		t.Fatalf("the email lacks its links:\n%s", text)
	}
	return chat, unsubscribe
}

// The link of a forwarded email (real SMTP on loopback) opens the
// conversation in a browser that never saw the visitor, without the
// visitor's token in the email, the address bar or the page; after the
// agent resets the visitor's links, the same link says it expired and
// offers a new chat. An address change asked from the widget is confirmed
// first, and the former address is told.
func TestEmailLinkOpensConversation(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := startParley(t, "PARLEY_SMTP_URL", relay.URL, "PARLEY_MAIL_FROM", "chat@shop.example.com",
		"PARLEY_FORWARD_LEFT_AFTER", "1s", "PARLEY_FORWARD_QUIET", "1s")
	ann := srv.AddAgent("ann@example.com", "Ann")
	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	tok := sess.VisitorToken
	srv.Do("PATCH", "/api/v1/visitors/"+sess.Visitor.ID, ann.Token, map[string]string{"email": "vera@example.org"}, http.StatusOK, nil)
	var m model.Message
	srv.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": tok, "body": "Where is my parcel?"}, http.StatusCreated, &m)
	srv.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/messages", ann.Token, map[string]string{"body": "It left this morning.", "kind": "reply"}, http.StatusCreated, nil)
	mail := relay.Wait(t, 1, 60*time.Second)[0]
	if text, _ := mail.Text(); strings.Contains(text, tok) {
		t.Fatalf("the email carries the visitor token")
	}
	link, unsubscribe := emailLinks(t, mail)

	// Another device: a fresh browser profile opens the link.
	phone := newTab(t, "phone")
	phone.navigate(link)
	phone.waitFor("the conversation in the widget", inWidget(`$$('message').length === 2 && !$('window').hidden`), 20*time.Second)
	msgs := widgetMessages(phone)
	if !strings.Contains(msgs[0].Body, "Where is my parcel?") || !strings.Contains(msgs[1].Body, "It left this morning.") {
		t.Fatalf("the widget shows %+v", msgs)
	}
	if got := eval[string](phone, `window.Parley.visitorToken()`); got != tok {
		t.Fatalf("the widget holds another visitor's token")
	}
	if eval[bool](phone, `location.href.includes(`+js(tok)+`) || document.documentElement.outerHTML.includes(`+js(tok)+`)`) {
		t.Fatal("the visitor token is in the address bar or the page")
	}

	// The visitor unsubscribes, then opts in again with another address:
	// the widget asks before replacing the address. The unsubscribed
	// address is not told (it receives no more emails); the new one is
	// the visitor's.
	res, err := http.Post(unsubscribe, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	phone.navigate(link)
	phone.waitFor("the opt-in form", inWidget(`!$('contact-form').hidden && !$('contact-optin-row').hidden`), 20*time.Second)
	submit := inWidget(`(() => { const e = $('contact-email'); e.value = 'new.vera@example.net';
		e.dispatchEvent(new Event('input', { bubbles: true })); $('contact-optin').checked = true; $('contact-submit').click(); return true; })()`)
	eval[bool](phone, submit)
	phone.waitFor("the confirmation", inWidget(`$('confirm-change') && $('confirm-change').textContent.includes('vera@example.org')`), 10*time.Second)
	if n := len(relay.Mails()); n != 1 {
		t.Fatalf("%d emails before the change was confirmed", n)
	}
	eval[bool](phone, inWidget(`($('contact-submit').click(), true)`))
	apptest.Eventually(t, 10*time.Second, "the new address saved", func() bool {
		v, err := srv.App.Chat.VisitorByToken(t.Context(), tok)
		return err == nil && v.Email != nil && *v.Email == "new.vera@example.net"
	})
	if n := len(relay.Mails()); n != 1 {
		t.Errorf("%d emails: the unsubscribed address was told of the change", n)
	}

	// The agent resets the visitor's links: the phone's widget is signed
	// out, and the emailed link no longer opens anything.
	srv.Do("POST", "/api/v1/visitors/"+sess.Visitor.ID+"/reset-links", ann.Token, nil, http.StatusNoContent, nil)
	srv.Do("GET", "/api/widget/v1/messages?visitor_token="+tok, "", nil, http.StatusUnauthorized, nil)
	laptop := newTab(t, "laptop")
	laptop.navigate(link)
	laptop.waitFor("the expired page", `document.querySelector('h1') && document.querySelector('h1').textContent.includes('expired')`, 10*time.Second)
	laptop.waitFor("the widget's launcher", inWidget(`$('launcher')`), 10*time.Second)
	eval[bool](laptop, `(document.querySelector('[data-parley-start]').click(), true)`)
	laptop.waitFor("a new chat", inWidget(`!$('window').hidden`)+` && window.Parley.visitorToken()`, 10*time.Second)
	if got := eval[string](laptop, `window.Parley.visitorToken()`); got == tok {
		t.Fatal("the expired link's page resumed the visitor")
	}
	if n := eval[int](laptop, inWidget(`$$('message').length`)); n != 0 {
		t.Fatalf("a new chat after the reset shows %d messages", n)
	}
}
