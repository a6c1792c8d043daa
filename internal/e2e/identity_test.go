package e2e

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// A logged-in user of the site opens the chat on a laptop and on a phone
// (two browser contexts, so no storage is shared): Parley.identify makes
// both the same visitor, and the phone continues the laptop's conversation.
// The laptop's page calls Parley.identify before the script loads; the
// phone's page gives the identity as data-* attributes.
func TestIdentifyContinuesOnAnotherBrowser(t *testing.T) {
	srv := startParley(t)
	admin := srv.AddAgent("ada@example.com", "Ada")
	var sec struct {
		Secret string `json:"secret"`
	}
	srv.Do("GET", "/api/v1/settings/identity-secret", admin.Token, nil, http.StatusOK, &sec)
	hash := chat.IdentityHash(sec.Secret, "customer-1001")

	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		src := html.EscapeString(srv.URL + "/widget.js")
		key := html.EscapeString(srv.Workspace.SiteKey)
		switch r.URL.Path {
		case "/laptop":
			fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Your account</h1>
<script>
window.Parley = window.Parley || {q: []};
Parley.identify = (id) => Parley.q.push(['identify', id]);
Parley.identify({user_id: 'customer-1001', email: 'lea@example.com', name: 'Léa', hash: %q});
</script>
<script src="%s" data-site-key="%s" async></script></body></html>`, hash, src, key)
		case "/phone":
			fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Shop</title></head><body><h1>Your account</h1>
<script src="%s" data-site-key="%s" data-user-id="customer-1001" data-user-email="lea@example.com" data-user-name="Léa" data-user-hash="%s" async></script></body></html>`,
				src, key, html.EscapeString(hash))
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()

	laptop := newTab(t, "laptop")
	openWidget(laptop, site.URL+"/laptop")
	laptop.waitFor("the composer (no contact form for an identified user)", inWidget(`!$('input').closest('.composer').hidden`), 10*time.Second)
	typeInWidget(laptop, "Hello from my laptop")
	laptop.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id') && m.textContent.includes('Hello from my laptop'))`), 10*time.Second)
	laptopToken := eval[string](laptop, `window.Parley.visitorToken()`)

	phone := newTab(t, "phone")
	openWidget(phone, site.URL+"/phone")
	phone.waitFor("the laptop's message on the phone", inWidget(`$$('message').some((m) => m.textContent.includes('Hello from my laptop'))`), 10*time.Second)
	typeInWidget(phone, "And now from my phone")
	laptop.waitFor("the phone's message on the laptop", inWidget(`$$('message').some((m) => m.textContent.includes('And now from my phone'))`), 10*time.Second)

	v, convID := conversationOf(t, srv, laptopToken)
	phoneVisitor, phoneConv := conversationOf(t, srv, eval[string](phone, `window.Parley.visitorToken()`))
	if phoneVisitor.ID != v.ID || phoneConv != convID {
		t.Fatalf("phone is visitor %s in %s, laptop %s in %s", phoneVisitor.ID, phoneConv, v.ID, convID)
	}
	if v.UserID == nil || *v.UserID != "customer-1001" || v.Email == nil || *v.Email != "lea@example.com" {
		t.Fatalf("visitor %+v", v)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND author_kind = ?`, convID, model.AuthorVisitor); n != 2 {
		t.Fatalf("%d visitor messages in the conversation, want 2", n)
	}
	if n := count(t, srv, `SELECT COUNT(*) FROM visitors WHERE user_id = ?`, "customer-1001"); n != 1 {
		t.Fatalf("%d visitors for the user, want 1", n)
	}
}

// A site's logout calls Parley.reset: the next person at this browser is a
// new visitor, who sees nothing of the logged-in user's conversation, and
// what they write does not reach it.
func TestResetOnLogout(t *testing.T) {
	srv := startParley(t)
	admin := srv.AddAgent("ada@example.com", "Ada")
	srv.Do("PUT", "/api/v1/me/status", admin.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	srv.Do("PUT", "/api/v1/settings", admin.Token, map[string]any{"identity_verification": true}, http.StatusOK, nil)
	var sec struct {
		Secret string `json:"secret"`
	}
	srv.Do("GET", "/api/v1/settings/identity-secret", admin.Token, nil, http.StatusOK, &sec)
	hash := chat.IdentityHash(sec.Secret, "customer-42")
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>Shop</title></head><body>
<script src="%s" data-site-key="%s" data-user-id="customer-42" data-user-email="lea@example.com" data-user-name="Léa" data-user-hash="%s" async></script></body></html>`,
			html.EscapeString(srv.URL+"/widget.js"), html.EscapeString(srv.Workspace.SiteKey), html.EscapeString(hash))
	}))
	defer site.Close()

	b := newTab(t, "shared computer")
	openWidget(b, site.URL+"/account")
	typeInWidget(b, "My card ends in 4242")
	b.waitFor("the message confirmed", inWidget(`$$('message').some((m) => m.getAttribute('data-id') && m.textContent.includes('4242'))`), 10*time.Second)
	lea := eval[string](b, `window.Parley.visitorToken()`)
	_, leasConv := conversationOf(t, srv, lea)
	eval[bool](b, inWidget(`(() => { const i = $('input'); i.value = 'half a thought'; i.dispatchEvent(new Event('input', { bubbles: true })); return true; })()`))

	// The site logs Léa out.
	eval[bool](b, `(window.Parley.reset(), true)`)
	b.waitFor("nothing of Léa's left", inWidget(`$$('message').length === 0 && $('input').value === ''`), 10*time.Second)
	if tok := eval[string](b, `window.Parley.visitorToken() || ''`); tok == lea {
		t.Fatal("the widget kept Léa's token")
	}
	// The next person writes: a new visitor, a new conversation, offered
	// the contact form as anyone new.
	b.waitFor("the contact form for a new visitor", inWidget(`!$('contact-form').hidden && !$('contact-skip').hidden`), 10*time.Second)
	skipOptionalForm(b)
	typeInWidget(b, "Hello, I am someone else")
	other := ""
	b.waitFor("a new visitor's token", `(() => { const t = window.Parley.visitorToken(); return !!t && t !== `+js(lea)+`; })()`, 10*time.Second)
	other = eval[string](b, `window.Parley.visitorToken()`)
	waitConversation(t, srv, other)
	_, otherConv := conversationOf(t, srv, other)
	if otherConv == leasConv {
		t.Fatal("the next person wrote in Léa's conversation")
	}
	var list struct{ Messages []model.Message }
	srv.Do("GET", "/api/v1/conversations/"+leasConv+"/messages", admin.Token, nil, http.StatusOK, &list)
	for _, m := range list.Messages {
		if m.Body == "Hello, I am someone else" {
			t.Error("Léa's conversation got the next person's message")
		}
	}
	if got := eval[string](b, `localStorage.getItem('parley.visitor_token.`+srv.Workspace.SiteKey+`') || ''`); got == lea {
		t.Error("Léa's token is still stored")
	}
}
