package forward_test

// The scenarios of spec/forwarding.md, end to end: a real server, real
// widget WebSocket clients and a real SMTP relay on loopback, with the
// timings shrunk (LEFT_AFTER 2s, IDLE_AFTER 5s, QUIET 1s).

import (
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
)

const (
	leftAfter = 2 * time.Second
	idleAfter = 5 * time.Second
	quiet     = 1 * time.Second
	wait      = 5 * time.Second
)

type world struct {
	t     *testing.T
	s     *apptest.Server
	relay *apptest.Relay
	agent apptest.Agent
	vars  map[string]string // the server's PARLEY_* variables
}

func newWorld(t *testing.T, env map[string]string) *world {
	t.Helper()
	if testing.Short() {
		t.Skip("forwarding scenarios take seconds each")
	}
	t.Parallel()
	relay := apptest.StartRelay(t)
	vars := map[string]string{
		"PARLEY_SMTP_URL":           relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER": leftAfter.String(),
		"PARLEY_FORWARD_IDLE_AFTER": idleAfter.String(),
		"PARLEY_FORWARD_QUIET":      quiet.String(),
		"PARLEY_VISITOR_GRACE":      "300ms",
		"PARLEY_MAIL_RETRY_BASE":    "200ms",
		"PARLEY_MAIL_FROM":          "chat@shop.example",
	}
	for k, v := range env {
		vars[k] = v
	}
	s := apptest.Start(t, vars)
	a := s.AddAgent("ann@example.com", "Ann")
	s.Do("PUT", "/api/v1/me/status", a.Token, map[string]string{"status": "online"}, http.StatusOK, nil)
	return &world{t: t, s: s, relay: relay, agent: a, vars: vars}
}

type visitor struct {
	w     *world
	token string
	id    string
	conv  string
	ws    *apptest.WS
}

// visitorChats opens a widget, identifies the visitor (when email is not
// empty) and writes a first message.
func (w *world) visitorChats(email string) *visitor {
	w.t.Helper()
	var sess struct {
		VisitorToken string        `json:"visitor_token"`
		Visitor      model.Visitor `json:"visitor"`
	}
	w.s.Do("POST", "/api/widget/v1/session", "", map[string]string{"site_key": w.s.Workspace.SiteKey}, 200, &sess)
	v := &visitor{w: w, token: sess.VisitorToken, id: sess.Visitor.ID}
	v.ws = w.s.DialWidget(v.token)
	if email != "" {
		v.ws.Send(map[string]string{"type": "contact", "email": email, "name": "Vera <Visitor>"})
		v.ws.WaitFor("contact", wait)
	}
	v.say("Hello, I have a question about my order")
	return v
}

func (v *visitor) say(body string) model.Message {
	v.w.t.Helper()
	var m model.Message
	v.w.s.Do("POST", "/api/widget/v1/messages", "", map[string]string{"visitor_token": v.token, "body": body, "client_id": model.NewID()}, 201, &m)
	v.conv = m.ConversationID
	return m
}

func (v *visitor) leave() time.Time {
	v.ws.Close()
	return time.Now()
}

func (v *visitor) come() {
	v.ws = v.w.s.DialWidget(v.token)
}

func (w *world) reply(conv, body string) model.Message {
	w.t.Helper()
	var m model.Message
	w.s.Do("POST", "/api/v1/conversations/"+conv+"/messages", w.agent.Token, map[string]string{"body": body, "kind": "reply"}, 201, &m)
	return m
}

func (w *world) messages(conv string) []model.Message {
	w.t.Helper()
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	w.s.Do("GET", "/api/v1/conversations/"+conv+"/messages", w.agent.Token, nil, 200, &out)
	return out.Messages
}

func (w *world) state(conv string) (code, reason string) {
	w.t.Helper()
	st, err := w.s.App.DB.ForwardState(w.t.Context(), conv)
	if err != nil {
		w.t.Fatal(err)
	}
	return st.Code, st.Reason
}

// noMail asserts the relay gets nothing more than n mails within d.
func (w *world) noMail(n int, d time.Duration) {
	w.t.Helper()
	time.Sleep(d)
	if got := len(w.relay.Mails()); got != n {
		w.t.Fatalf("relay has %d mails, want %d", got, n)
	}
}

func address(t *testing.T, h string) string {
	t.Helper()
	a, err := mail.ParseAddress(h)
	if err != nil {
		t.Fatalf("address %q: %v", h, err)
	}
	return a.Address
}

// parts decodes a forwarded email's text and HTML parts.
func parts(t *testing.T, m apptest.Mail) (text, html string) {
	t.Helper()
	if mt, _, err := mime.ParseMediaType(m.Msg.Header.Get("Content-Type")); err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v)", m.Msg.Header.Get("Content-Type"), err)
	}
	ps, err := m.Parts()
	if err != nil {
		t.Fatal(err)
	}
	text, html = ps["text/plain"], ps["text/html"]
	if text == "" || html == "" {
		t.Fatalf("want both a text and an HTML part")
	}
	return text, html
}

func TestScenario1LeaveThenTwoReplies(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	left := v.leave()
	r1 := w.reply(v.conv, "Your order shipped <today>")
	r2 := w.reply(v.conv, "Tracking number: 42")

	mails := w.relay.Wait(t, 1, 10*time.Second)
	if elapsed := time.Since(left); elapsed < leftAfter-200*time.Millisecond {
		t.Fatalf("email after %v, before LEFT_AFTER", elapsed)
	}
	m := mails[0]
	h := m.Msg.Header
	checks := map[string]string{
		"From":                  `"Ann via Default" <chat@shop.example>`,
		"Auto-Submitted":        "auto-generated",
		"X-Parley-Conversation": v.conv,
		"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
	}
	for k, want := range checks {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if to := address(t, h.Get("To")); to != "vera@example.com" {
		t.Errorf("To %q", to)
	}
	if rt := address(t, h.Get("Reply-To")); !strings.HasPrefix(rt, "reply+") || !strings.HasSuffix(rt, "@reply.localhost") {
		t.Errorf("Reply-To %q", rt)
	}
	if lu := h.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<"+w.s.URL+"/unsubscribe/") {
		t.Errorf("List-Unsubscribe %q", lu)
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@shop.example>") {
		t.Errorf("Message-ID %q", id)
	}
	if m.From != "chat@shop.example" || len(m.To) != 1 || m.To[0] != "vera@example.com" {
		t.Errorf("envelope %s → %v", m.From, m.To)
	}
	text, html := parts(t, m)
	for _, body := range []string{"Your order shipped <today>", "Tracking number: 42", "Hello, I have a question"} {
		if !strings.Contains(text, body) {
			t.Errorf("text part lacks %q:\n%s", body, text)
		}
	}
	if !strings.Contains(html, "Your order shipped &lt;today&gt;") || strings.Contains(html, "<today>") {
		t.Errorf("HTML part does not escape the reply:\n%s", html)
	}
	if strings.Contains(html, "Vera <Visitor>") {
		t.Errorf("HTML part does not escape the visitor's name")
	}

	apptest.Eventually(t, wait, "replies marked sent", func() bool {
		n := 0
		for _, msg := range w.messages(v.conv) {
			if (msg.ID == r1.ID || msg.ID == r2.ID) && msg.Forwarded != nil && msg.Forwarded.To == "vera@example.com" && msg.Forwarded.Status == "sent" {
				n++
			}
		}
		return n == 2
	})
	w.noMail(1, 3*time.Second)
}

func TestScenario2ReadBeforeLeaving(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	w.reply(v.conv, "First answer")
	r2 := w.reply(v.conv, "Second answer")
	v.ws.WaitFor("message", wait)
	v.ws.Send(map[string]string{"type": "read", "message_id": r2.ID})
	apptest.Eventually(t, wait, "read receipt stored", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.ID == r2.ID {
				return m.ReadByVisitorAt != nil
			}
		}
		return false
	})
	v.leave()
	w.noMail(0, leftAfter+quiet+time.Second)
	if code, _ := w.state(v.conv); code != "nothing_pending" {
		t.Fatalf("decision %q, want nothing_pending", code)
	}
}

func TestScenario3IdleVisitor(t *testing.T) {
	w := newWorld(t, nil)
	idle := w.visitorChats("idle@example.com")
	active := w.visitorChats("active@example.com")
	w.reply(idle.conv, "Anything else?")
	w.reply(active.conv, "Anything else?")
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(1100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				active.ws.Send(map[string]string{"type": "activity"})
			}
		}
	}()
	mails := w.relay.Wait(t, 1, idleAfter+wait)
	if got := address(t, mails[0].Msg.Header.Get("To")); got != "idle@example.com" {
		t.Fatalf("mail to %s", got)
	}
	if elapsed := time.Since(start); elapsed < idleAfter-time.Second {
		t.Fatalf("idle email after %v, before IDLE_AFTER", elapsed)
	}
	w.noMail(1, 3*time.Second)
	if code, reason := w.state(active.conv); code != "waiting" || !strings.Contains(reason, "active") {
		t.Logf("active visitor's decision: %s %s", code, reason)
	}
}

func TestScenario4AgentsGoOffline(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	w.reply(v.conv, "Let me check")
	w.noMail(0, 500*time.Millisecond)
	w.s.Do("PUT", "/api/v1/me/status", w.agent.Token, map[string]string{"status": "offline"}, 200, nil)
	start := time.Now()
	w.relay.Wait(t, 1, wait)
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("email %v after every agent went offline", elapsed)
	}
}

func TestScenario5Unidentified(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("")
	w.reply(v.conv, "Hello?")
	v.leave()
	w.noMail(0, leftAfter+quiet+time.Second)
	code, reason := w.state(v.conv)
	if code != "not_identified" || !strings.Contains(reason, "not identified") {
		t.Fatalf("decision %q %q", code, reason)
	}
	var c map[string]any
	w.s.Do("GET", "/api/v1/conversations/"+v.conv, w.agent.Token, nil, 200, &c)
	if f, ok := c["forwarding"].(map[string]any); !ok || f["code"] != "not_identified" {
		t.Fatalf("the API does not show the decision: %v", c["forwarding"])
	}
}

func TestScenario6Modes(t *testing.T) {
	t.Run("off", func(t *testing.T) {
		w := newWorld(t, nil)
		w.s.Do("PUT", "/api/v1/settings", w.agent.Token, map[string]string{"email_forwarding": "off"}, 200, nil)
		v := w.visitorChats("vera@example.com")
		w.reply(v.conv, "Hi")
		v.leave()
		w.noMail(0, leftAfter+quiet+time.Second)
		if code, _ := w.state(v.conv); code != "off" {
			t.Fatalf("decision %q", code)
		}
	})
	t.Run("transcript", func(t *testing.T) {
		w := newWorld(t, nil)
		w.s.Do("PUT", "/api/v1/settings", w.agent.Token, map[string]string{"email_forwarding": "transcript"}, 200, nil)
		v := w.visitorChats("vera@example.com")
		var last model.Message
		for i := 2; i <= 12; i++ { // 12 public messages: more than a short conversation
			if i%2 == 0 {
				last = w.reply(v.conv, fmt.Sprintf("line-%02d", i))
			} else {
				v.say(fmt.Sprintf("line-%02d", i))
			}
		}
		v.ws.Send(map[string]string{"type": "read", "message_id": last.ID})
		time.Sleep(200 * time.Millisecond)
		v.leave()
		w.reply(v.conv, "line-13")
		mails := w.relay.Wait(t, 1, 10*time.Second)
		text, _ := parts(t, mails[0])
		for _, want := range []string{"Hello, I have a question", "line-02", "line-13"} {
			if !strings.Contains(text, want) {
				t.Errorf("transcript lacks %q", want)
			}
		}
	})
}

func TestScenario7ContextOfALongConversation(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com") // message 1
	var last model.Message
	for i := 2; i <= 13; i++ {
		if i%2 == 0 {
			last = w.reply(v.conv, fmt.Sprintf("msg-%02d", i))
		} else {
			v.say(fmt.Sprintf("msg-%02d", i))
			time.Sleep(100 * time.Millisecond) // stay under the visitor's message rate
		}
	}
	v.ws.Send(map[string]string{"type": "read", "message_id": last.ID})
	time.Sleep(200 * time.Millisecond)
	v.leave()
	w.reply(v.conv, "msg-14")
	w.reply(v.conv, "msg-15")
	mails := w.relay.Wait(t, 1, 10*time.Second)
	text, _ := parts(t, mails[0])
	for i := 1; i <= 15; i++ {
		body := fmt.Sprintf("msg-%02d", i)
		if i == 1 {
			body = "Hello, I have a question"
		}
		in := strings.Contains(text, body)
		if want := i >= 11; in != want {
			t.Errorf("message %d in email: %v, want %v", i, in, want)
		}
	}
}

func TestScenario8ComeBackBeforeLeftAfter(t *testing.T) {
	w := newWorld(t, map[string]string{"PARLEY_FORWARD_IDLE_AFTER": "30s"})
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "Are you still there?")
	time.Sleep(leftAfter / 2)
	v.come()
	w.noMail(0, leftAfter+quiet) // the first due time has passed: no email
	left := v.leave()
	w.relay.Wait(t, 1, 10*time.Second)
	if elapsed := time.Since(left); elapsed < leftAfter-200*time.Millisecond {
		t.Fatalf("email %v after the second leave: the clock did not start anew", elapsed)
	}
}

func TestScenario9RelayRefusesForAWhile(t *testing.T) {
	w := newWorld(t, nil)
	w.relay.RefuseNext(3)
	v := w.visitorChats("vera@example.com")
	v.leave()
	r := w.reply(v.conv, "Here is your answer")
	mails := w.relay.Wait(t, 1, 20*time.Second)
	ids := w.relay.AttemptIDs()
	if len(ids) != 4 {
		t.Fatalf("%d attempts, want 3 refused and 1 accepted", len(ids))
	}
	for _, id := range ids {
		if id != mails[0].Msg.Header.Get("Message-ID") {
			t.Fatalf("Message-ID changed between retries: %q", ids)
		}
	}
	apptest.Eventually(t, wait, "reply marked sent", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.ID == r.ID {
				return m.Forwarded != nil && m.Forwarded.Status == "sent"
			}
		}
		return false
	})
	w.noMail(1, time.Second)
}

func TestThreadingAcrossEmails(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "first")
	first := w.relay.Wait(t, 1, 10*time.Second)[0]
	w.reply(v.conv, "second")
	second := w.relay.Wait(t, 2, 10*time.Second)[1]
	id1 := first.Msg.Header.Get("Message-ID")
	if got := second.Msg.Header.Get("In-Reply-To"); got != id1 {
		t.Errorf("In-Reply-To %q, want %q", got, id1)
	}
	if got := second.Msg.Header.Get("References"); !strings.Contains(got, id1) {
		t.Errorf("References %q lacks %q", got, id1)
	}
	if first.Msg.Header.Get("Subject") != second.Msg.Header.Get("Subject") {
		t.Errorf("subjects differ: %q / %q", first.Msg.Header.Get("Subject"), second.Msg.Header.Get("Subject"))
	}
	text, _ := parts(t, second)
	if !strings.Contains(text, "second") {
		t.Errorf("second email lacks the new reply")
	}
}

func TestUnsubscribeOneClick(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "first")
	m := w.relay.Wait(t, 1, 10*time.Second)[0]
	link := strings.Trim(m.Msg.Header.Get("List-Unsubscribe"), "<>")
	// Opening the link changes nothing (mail scanners fetch links).
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	vis, _ := w.s.App.DB.VisitorByID(t.Context(), v.id)
	if vis.EmailStatus != "ok" {
		t.Fatalf("GET unsubscribed the visitor")
	}
	resp, err = http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click POST: %d", resp.StatusCode)
	}
	vis, _ = w.s.App.DB.VisitorByID(t.Context(), v.id)
	if vis.EmailStatus != "unsubscribed" {
		t.Fatalf("email_status %q", vis.EmailStatus)
	}
	w.reply(v.conv, "second")
	w.noMail(1, leftAfter+quiet)
	if code, _ := w.state(v.conv); code != "unsubscribed" {
		t.Fatalf("decision %q", code)
	}
	resp, err = http.Post(link+"x", "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("forged unsubscribe token: %d", resp.StatusCode)
	}
}

func TestNoRelayKeepsEmailInOutbox(t *testing.T) {
	w := newWorld(t, map[string]string{"PARLEY_SMTP_URL": ""})
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "kept")
	apptest.Eventually(t, 10*time.Second, "email in the outbox", func() bool {
		es, err := w.s.App.DB.Emails(t.Context(), v.conv)
		return err == nil && len(es) == 1 && es[0].Status == "queued" && es[0].LastError != ""
	})
}
