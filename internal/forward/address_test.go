package forward_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

// An unsubscribe belongs to the address: two visitor records of one person
// (another browser, an older conversation) with the address in different
// letter cases both stop getting emails after one unsubscribe, a third
// record typing it later is covered too, and only an explicit opt-in from
// the contact form restores it. Forged links and a second use change
// nothing.
func TestUnsubscribeCoversTheAddress(t *testing.T) {
	w := newWorld(t, nil)
	ctx := t.Context()
	first := w.visitorChats("Vera@Example.NET")
	second := w.visitorChats("vera@example.net")
	bob := w.visitorChats("bob@example.net")

	first.leave()
	w.reply(first.conv, "first reply")
	m := w.relay.Wait(t, 1, 10*time.Second)[0]
	if got := m.To[0]; got != "Vera@example.net" { // the domain is lower-cased, the local part kept
		t.Fatalf("email to %q", got)
	}
	link := strings.Trim(m.Msg.Header.Get("List-Unsubscribe"), "<>")

	visitorStatus := func(id string) model.Visitor {
		t.Helper()
		var v model.Visitor
		w.s.Do("GET", "/api/v1/visitors/"+id, w.agent.Token, nil, 200, &v)
		return v
	}
	post := func(url string) int {
		t.Helper()
		resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// Forged tokens: appended, altered, or another purpose's token (the
	// visitor token of the chat link) are refused and change nothing.
	i := strings.LastIndexByte(link, '/')
	tok := link[i+1:]
	altered := tok[:len(tok)-1] + "a"
	if strings.HasSuffix(tok, "a") {
		altered = tok[:len(tok)-1] + "b"
	}
	for _, forged := range []string{link + "x", link[:i+1] + altered, link[:i+1] + first.token, link[:i+1]} {
		if code := post(forged); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
			t.Errorf("forged unsubscribe %q: %d, want 404", forged, code)
		}
	}
	for _, v := range []*visitor{first, second, bob} {
		if st := visitorStatus(v.id).EmailStatus; st != model.EmailOK {
			t.Fatalf("after forged links, visitor %s is %q", v.id, st)
		}
	}

	// The real link, used twice.
	for range 2 {
		if code := post(link); code != http.StatusOK {
			t.Fatalf("one-click POST: %d", code)
		}
	}
	one := visitorStatus(first.id)
	for _, v := range []*visitor{first, second} {
		got := visitorStatus(v.id)
		if got.EmailStatus != model.EmailUnsubscribed || got.EmailStatusSource != model.EmailStatusByUnsubscribe {
			t.Fatalf("visitor %s: status %q from %q, want unsubscribed by the link", v.id, got.EmailStatus, got.EmailStatusSource)
		}
		if got.EmailStatusChangedAt == nil || !got.EmailStatusChangedAt.Equal(*one.EmailStatusChangedAt) {
			t.Errorf("visitor %s: changed at %v, want the first use's %v", v.id, got.EmailStatusChangedAt, one.EmailStatusChangedAt)
		}
	}
	if st := visitorStatus(bob.id).EmailStatus; st != model.EmailOK {
		t.Fatalf("another address became %q", st)
	}

	// No email from either conversation: the engine decides so, and says why.
	second.leave()
	w.reply(first.conv, "second reply")
	w.reply(second.conv, "reply in the other conversation")
	for _, conv := range []string{first.conv, second.conv} {
		apptest.Eventually(t, 10*time.Second, "decision unsubscribed", func() bool {
			code, reason := w.state(conv)
			return code == "unsubscribed" && strings.Contains(reason, "unsubscribe link") && strings.Contains(reason, "opt in")
		})
		es, err := w.s.App.DB.Emails(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if conv == second.conv && len(es) != 0 {
			t.Fatalf("%d emails queued in the other conversation", len(es))
		}
	}
	if n := len(w.relay.Mails()); n != 1 {
		t.Fatalf("relay has %d mails, want 1", n)
	}

	// A new visitor record typing the address in capitals is covered, and
	// the contact form without the opt-in box changes nothing.
	third := w.visitorChats("VERA@EXAMPLE.NET")
	if st := visitorStatus(third.id).EmailStatus; st != model.EmailUnsubscribed {
		t.Fatalf("a new visitor with the address is %q", st)
	}

	// The explicit opt-in, confirmed from the email it sends to the
	// address, restores the address for every record.
	second.come()
	second.ws.Send(map[string]any{"type": "contact", "email": "vera@example.net", "email_opt_in": true})
	second.ws.WaitFor("contact", wait)
	confirmation := w.relay.Wait(t, 2, 15*time.Second)[1]
	confirmText, _ := parts(t, confirmation)
	confirmLink := optInLink.FindString(confirmText)
	if confirmLink == "" {
		t.Fatalf("no link in the opt-in confirmation:\n%s", confirmText)
	}
	res, err := http.PostForm(confirmLink, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("confirming the opt-in: %d", res.StatusCode)
	}
	for _, v := range []*visitor{first, second, third} {
		if st := visitorStatus(v.id).EmailStatus; st != model.EmailOK {
			t.Fatalf("after opt-in, visitor %s is %q", v.id, st)
		}
	}
	a, err := w.s.App.DB.EmailAddress(ctx, w.s.Workspace.ID, "VERA@example.net")
	if err != nil {
		t.Fatal(err)
	}
	if a.OptInAt == nil || a.Source != model.EmailStatusByOptIn {
		t.Fatalf("opt-in not recorded: %+v", a)
	}
	second.leave()
	mails := w.relay.Wait(t, 4, 15*time.Second)
	var bodies []string
	for _, m := range mails[2:] {
		if !strings.EqualFold(m.To[0], "vera@example.net") {
			t.Errorf("email to %q", m.To[0])
		}
		text, _ := parts(t, m)
		bodies = append(bodies, text)
	}
	all := strings.Join(bodies, "\n")
	for _, want := range []string{"second reply", "reply in the other conversation"} {
		if !strings.Contains(all, want) {
			t.Errorf("emails after the opt-in lack %q", want)
		}
	}
}

var optInLink = regexp.MustCompile(`https?://\S+/email-opt-in/[a-z2-7]+`)
