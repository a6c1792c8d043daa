package web_test

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/token"
)

var undoLinkRE = regexp.MustCompile(`https?://[^\s"<>]+(/email-change/undo/[a-z2-7]+)`)

// A contact frame that replaces a visitor's address by another tells the
// former address by email (over a real SMTP relay), with the new one masked
// and a signed link that puts it back and signs the changer out. The same
// address again, in another case, sends nothing.
func TestAddressChangeToldToFormerAddress(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL, "PARLEY_MAIL_FROM": "chat@shop.example.com"})
	ann := srv.AddAgent("ann@example.com", "Ann")
	srv.Do("PUT", "/api/v1/settings", ann.Token, map[string]string{"workspace_name": "Acme Shop"}, http.StatusOK, nil)
	var sess struct {
		VisitorToken string `json:"visitor_token"`
	}
	srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
	ws := srv.DialWidget(sess.VisitorToken)
	contact := func(email string) {
		t.Helper()
		ws.Send(map[string]string{"type": "contact", "email": email})
		ws.WaitFor("contact", 10*time.Second)
	}
	contact("vera@example.org")      // the first address: nobody to tell
	contact("VERA@example.org")      // the same address: nothing to tell
	contact("mallory@attacker.test") // another one: Vera is told
	mails := relay.Wait(t, 1, 30*time.Second)
	m := mails[0]
	if len(m.To) != 1 || m.To[0] != "VERA@example.org" {
		t.Fatalf("the notice went to %v", m.To)
	}
	body := decodedParts(t, m)
	for _, want := range []string{"Acme Shop", "m***@a***.test"} {
		if !strings.Contains(body, want) {
			t.Errorf("the notice lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "mallory") || strings.Contains(body, "attacker") || strings.Contains(body, sess.VisitorToken) {
		t.Errorf("the notice shows the new address or the visitor token:\n%s", body)
	}
	found := undoLinkRE.FindStringSubmatch(body)
	if found == nil {
		t.Fatalf("the notice has no undo link:\n%s", body)
	}
	undo := found[1]

	// Opening the link changes nothing (mail scanners open links).
	res, page := get(t, srv.URL+undo, nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "Put my address back") {
		t.Fatalf("undo page: %d\n%s", res.StatusCode, page)
	}
	notFramed(t, "the undo page", res.Header)
	v, err := srv.App.Chat.VisitorByToken(t.Context(), sess.VisitorToken)
	if err != nil || *v.Email != "mallory@attacker.test" {
		t.Fatalf("after opening the undo page: %v, %v", v.Email, err)
	}
	// Confirming puts the address back and ends the changer's token.
	res, err = http.PostForm(srv.URL+undo, url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("undo: %d", res.StatusCode)
	}
	if code := ws.CloseStatus(10 * time.Second); code != 1008 {
		t.Errorf("the changer's widget closed with %d, want 1008", code)
	}
	srv.Do("GET", "/api/widget/v1/messages?visitor_token="+sess.VisitorToken, "", nil, http.StatusUnauthorized, nil)
	var c struct {
		Visitor struct {
			Email string `json:"email"`
		} `json:"visitor"`
	}
	srv.Do("GET", "/api/v1/visitors/"+v.ID, ann.Token, nil, http.StatusOK, &c.Visitor)
	if c.Visitor.Email != "vera@example.org" {
		t.Errorf("after the undo the visitor's email is %q", c.Visitor.Email)
	}
	if n := len(relay.Mails()); n != 1 {
		t.Errorf("%d emails, want only the notice", n)
	}

	// Tampered or foreign links change nothing and say so.
	for _, bad := range []string{undo[:len(undo)-3], "/email-change/undo/" + srv.App.Chat.Signer().SignLink("continue", time.Now().Add(time.Hour), "a", "b", "c")} {
		res, page := get(t, srv.URL+bad, nil)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(string(page), "This link does not work") {
			t.Errorf("%s: %d\n%s", bad, res.StatusCode, page)
		}
	}
}

// Replacing an address again and again, from one visitor or from new ones,
// tells it once: the notices cannot be used to send mail to a stranger.
// An unsubscribed address is not told at all.
func TestAddressChangeNoticesAreCapped(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL})
	visitor := func() func(email string) {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
		ws := srv.DialWidget(sess.VisitorToken)
		return func(email string) {
			t.Helper()
			ws.Send(map[string]string{"type": "contact", "email": email})
			ws.WaitFor("contact", 10*time.Second)
		}
	}
	// The notice is sent before the contact frame is answered.
	contact := visitor()
	for i := range 2 {
		contact("victim@example.org")
		contact("other" + string(rune('a'+i)) + "@attacker.test")
	}
	for i := range 3 {
		contact := visitor()
		contact("victim@example.org")
		contact("next" + string(rune('a'+i)) + "@attacker.test")
	}
	visitor()("victim@example.org")
	again := visitor()
	again("victim@example.org")
	again("another@attacker.test")
	to := func(addr string) (n int) {
		for _, m := range relay.Mails() {
			if len(m.To) == 1 && m.To[0] == addr {
				n++
			}
		}
		return n
	}
	if got := to("victim@example.org"); got != 1 {
		t.Fatalf("%d notices to the replaced address, want 1", got)
	}
	before := len(relay.Mails())

	if _, err := srv.App.DB.StopEmailAddress(t.Context(), srv.Workspace.ID, "gone@example.org",
		"unsubscribed", "unsubscribe", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	third := visitor()
	third("gone@example.org")
	third("new@example.org")
	if got := to("gone@example.org"); got != 0 || len(relay.Mails()) != before {
		t.Errorf("an unsubscribed address was told: %d emails", got)
	}
}

var optInLinkRE = regexp.MustCompile(`https?://[^\s"<>]+(/email-opt-in/[a-z2-7]+)`)

// Ticking the opt-in box for an unsubscribed address asks its owner: an
// email with a link, once a day; the address receives emails again only
// once the link is confirmed (opening it changes nothing).
func TestOptInConfirmedByEmail(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL})
	ann := srv.AddAgent("ann@example.com", "Ann")
	srv.Do("PUT", "/api/v1/settings", ann.Token, map[string]string{"workspace_name": "Acme Shop"}, http.StatusOK, nil)
	if _, err := srv.App.DB.StopEmailAddress(t.Context(), srv.Workspace.ID, "vera@example.org",
		"unsubscribed", "unsubscribe", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	status := func() string {
		t.Helper()
		a, err := srv.App.DB.EmailAddress(t.Context(), srv.Workspace.ID, "vera@example.org")
		if err != nil {
			t.Fatal(err)
		}
		return a.Status
	}
	optIn := func() map[string]any {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
		ws := srv.DialWidget(sess.VisitorToken)
		ws.Send(map[string]any{"type": "contact", "email": "Vera@Example.org", "email_opt_in": true})
		return ws.WaitFor("contact", 10*time.Second)
	}
	f := optIn()
	if st := f["visitor"].(map[string]any)["email_status"]; st != "unsubscribed" {
		t.Errorf("the contact frame's status after the tick: %v", st)
	}
	if st := status(); st != "unsubscribed" {
		t.Fatalf("a tick in a chat restarted the emails: %q", st)
	}
	mails := relay.Wait(t, 1, 30*time.Second)
	if len(mails[0].To) != 1 || !strings.EqualFold(mails[0].To[0], "vera@example.org") {
		t.Fatalf("the confirmation went to %v", mails[0].To)
	}
	body := decodedParts(t, mails[0])
	found := optInLinkRE.FindStringSubmatch(body)
	if found == nil || !strings.Contains(body, "Acme Shop") {
		t.Fatalf("the confirmation:\n%s", body)
	}
	optIn() // again the same day: no second email
	if n := len(relay.Mails()); n != 1 {
		t.Errorf("%d emails after a second tick the same day", n)
	}

	res, page := get(t, srv.URL+found[1], nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "Receive the replies again") || status() != "unsubscribed" {
		t.Fatalf("opening the link: %d, status %q\n%s", res.StatusCode, status(), page)
	}
	res, err := http.PostForm(srv.URL+found[1], url.Values{})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || status() != "ok" {
		t.Fatalf("confirming: %d, status %q", res.StatusCode, status())
	}
	for _, bad := range []string{found[1][:len(found[1])-3], "/email-opt-in/" + srv.App.Chat.Signer().SignLink("undo-email", time.Now().Add(time.Hour), srv.Workspace.ID, "x")} {
		if res, page := get(t, srv.URL+bad, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d\n%s", bad, res.StatusCode, page)
		}
	}
}

// The notice to a former address speaks the visitor's language: the one
// the widget asked for, else the browser's, else the workspace's default.
func TestAddressChangeNoticeInVisitorsLanguage(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL})
	ann := srv.AddAgent("ann@example.com", "Ann")
	srv.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"workspace_name": "Acme Shop", "default_locale": "de"}, http.StatusOK, nil)
	cases := []struct {
		name, locale, accept, former, lang, subject string
	}{
		{"the widget's locale", "fr-FR", "de", "lea@example.org", "fr", "L'adresse e-mail de votre conversation avec Acme Shop a été modifiée"},
		{"the browser's language", "", "pt-BR,pt;q=0.9", "joao@example.org", "pt", "O endereço de e-mail da sua conversa com Acme Shop foi alterado"},
		{"the workspace's default", "", "", "jonas@example.org", "de", "Die E-Mail-Adresse Ihrer Unterhaltung mit Acme Shop wurde geändert"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sess := sessionIn(t, srv, c.locale, "", c.accept)
			ws := srv.DialWidget(sess.VisitorToken)
			for _, email := range []string{c.former, "someone.else@example.net"} {
				ws.Send(map[string]string{"type": "contact", "email": email})
				ws.WaitFor("contact", 10*time.Second)
			}
			m := relay.Wait(t, i+1, 30*time.Second)[i]
			if len(m.To) != 1 || m.To[0] != c.former {
				t.Fatalf("the notice went to %v", m.To)
			}
			var dec mime.WordDecoder
			if s, err := dec.DecodeHeader(m.Msg.Header.Get("Subject")); err != nil || s != c.subject {
				t.Errorf("Subject = %q (%v), want %q", s, err, c.subject)
			}
			if got := m.Msg.Header.Get("Content-Language"); got != c.lang {
				t.Errorf("Content-Language = %q, want %q", got, c.lang)
			}
			parts, err := m.Parts()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(parts["text/html"], `<html lang="`+c.lang+`">`) || !strings.Contains(parts["text/plain"], "s***@e***.net") {
				t.Errorf("the notice's parts:\n%s\n%s", parts["text/plain"], parts["text/html"])
			}
		})
	}
}

// The pages of the links emailed to an address speak its visitor's
// language whatever the browser says; a link that names no visitor, or
// does not work, follows the browser, else the workspace's default.
func TestAddressLinkPagesLanguage(t *testing.T) {
	srv := apptest.Start(t, nil)
	ann := srv.AddAgent("ann@example.com", "Ann")
	srv.Do("PUT", "/api/v1/settings", ann.Token, map[string]any{"workspace_name": "Acme Shop", "default_locale": "it"}, http.StatusOK, nil)
	fr := sessionIn(t, srv, "fr-FR", "Europe/Paris", "")
	srv.Do("PATCH", "/api/v1/visitors/"+fr.Visitor.ID, ann.Token, map[string]string{"email": "lea@example.org"}, http.StatusOK, nil)
	signer := srv.App.Chat.Signer()
	address := func(email string) string {
		t.Helper()
		a, err := srv.App.DB.EnsureEmailAddress(t.Context(), srv.Workspace.ID, email, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return a.ID
	}
	lea, nobody := address("lea@example.org"), address("nobody@example.org")
	week := time.Now().Add(7 * 24 * time.Hour)
	undo := "/email-change/undo/" + signer.SignLink(token.UndoEmail, week, srv.Workspace.ID, fr.Visitor.ID, lea)
	expiredUndo := "/email-change/undo/" + signer.SignLink(token.UndoEmail, time.Now().Add(-time.Hour), srv.Workspace.ID, fr.Visitor.ID, lea)
	optIn := "/email-opt-in/" + signer.SignLink(token.OptIn, week, srv.Workspace.ID, lea)
	cases := []struct {
		name, link, accept string
		status             int
		lang, words        string
	}{
		{"undo: the visitor's", undo, "en-US,en;q=0.9", http.StatusOK, "fr", "Rétablir mon adresse"},
		{"undo: the visitor's, no browser language", undo, "", http.StatusOK, "fr", "a été modifiée. Rétablir lea@example.org"},
		{"opt-in: the address's visitor's", optIn, "en-US", http.StatusOK, "fr", "Recevoir à nouveau les réponses"},
		{"opt-in without a visitor: the browser's", "/email-opt-in/" + signer.SignLink(token.OptIn, week, srv.Workspace.ID, nobody),
			"es", http.StatusOK, "es", "Volver a recibir las respuestas"},
		{"opt-in without a visitor: the workspace's", "/email-opt-in/" + signer.SignLink(token.OptIn, week, srv.Workspace.ID, nobody),
			"", http.StatusOK, "it", "Ricevi di nuovo le risposte"},
		{"expired: the browser's", expiredUndo, "de-AT", http.StatusGone, "de", "Der Link zum Wiederherstellen Ihrer Adresse gilt 7 Tage"},
		{"invalid: the browser's", undo[:len(undo)-3], "nl", http.StatusNotFound, "nl", "Deze link werkt niet"},
		{"invalid, no browser language: English", optIn[:len(optIn)-3], "", http.StatusNotFound, "en", "This link does not work"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := getIn(t, srv.URL+c.link, c.accept)
			if code != c.status || !strings.Contains(body, `<html lang="`+c.lang+`">`) || !strings.Contains(body, c.words) {
				t.Errorf("%d, want %d in %s with %q:\n%s", code, c.status, c.lang, c.words, body)
			}
		})
	}
	code, body := requestIn(t, "POST", srv.URL+undo, []byte{}, "en-US")
	if code != http.StatusOK || !strings.Contains(string(body), `<html lang="fr">`) || !strings.Contains(string(body), "Votre adresse est rétablie") {
		t.Errorf("undone: %d\n%s", code, body)
	}
}

// A stranger cannot make Parley mail addresses they type without end: a
// visitor's contact forms are limited (5, then one a minute), and a
// workspace sends at most 50 notices, then 50 an hour, whoever asks.
func TestContactFormsAndNoticesLimited(t *testing.T) {
	relay := apptest.StartRelay(t)
	srv := apptest.Start(t, map[string]string{"PARLEY_SMTP_URL": relay.URL, "PARLEY_RATE_LIMITS": "off"})
	open := func() *apptest.WS {
		var sess struct {
			VisitorToken string `json:"visitor_token"`
		}
		srv.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": srv.Workspace.SiteKey}, http.StatusOK, &sess)
		return srv.DialWidget(sess.VisitorToken)
	}
	send := func(ws *apptest.WS, email string) map[string]any {
		t.Helper()
		ws.Send(map[string]string{"type": "contact", "email": email, "client_id": email})
		for {
			f := ws.Next(10 * time.Second)
			if f["type"] == "contact" || f["type"] == "error" {
				return f
			}
		}
	}
	one := open()
	for i := range 5 {
		if f := send(one, fmt.Sprintf("me%d@example.org", i)); f["type"] != "contact" {
			t.Fatalf("contact form %d: %v", i+1, f)
		}
	}
	if f := send(one, "me5@example.org"); f["type"] != "error" || f["code"] != "rate_limited" {
		t.Fatalf("the sixth contact form at once: %v, want a rate_limited error", f)
	}
	if n := len(relay.Mails()); n != 4 {
		t.Fatalf("%d notices after five addresses, want 4", n)
	}

	// Replacing the same two addresses again and again tells each once
	// a day; the skipped notices do not count against the workspace's.
	for range 10 {
		ws := open()
		for i := range 5 {
			send(ws, fmt.Sprintf("x%d@attacker.test", i%2+1))
		}
	}
	if n := len(relay.Mails()); n != 6 {
		t.Fatalf("%d notices after the same two addresses again and again, want 6", n)
	}

	// New visitors, each replacing a new address: 50 notices in all.
	for i := range 50 {
		ws := open()
		send(ws, fmt.Sprintf("victim%d@example.org", i))
		if f := send(ws, "mallory@attacker.test"); f["type"] != "contact" {
			t.Fatalf("visitor %d: %v", i, f)
		}
	}
	if n := len(relay.Mails()); n != 50 {
		t.Errorf("%d notices, want 50 (6, then 44 until the workspace's limit)", n)
	}
}

// notFramed checks that a page whose button acts cannot be framed by
// another site to steer the click.
func notFramed(t *testing.T, what string, h http.Header) {
	t.Helper()
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s may be framed: Content-Security-Policy %q, X-Frame-Options %q", what, h.Get("Content-Security-Policy"), h.Get("X-Frame-Options"))
	}
}
