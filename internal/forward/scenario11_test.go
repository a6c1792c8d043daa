package forward_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/mail/inbound"
	"github.com/parleychat/parley/internal/model"
)

// answer is the visitor's answer to a forwarded email, as a mail client
// writes it: new text on top, the old text quoted under an attribution.
func answer(fwd apptest.Mail, messageID, from, extra string) []byte {
	h := fwd.Msg.Header
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: %s
To: %s
Subject: Re: %s
Date: %s
Message-ID: <%s>
In-Reply-To: %s
References: %s
MIME-Version: 1.0
%sContent-Type: text/plain; charset=UTF-8

Thanks, that solves it!

On Wed, 25 Nov 2026 at 21:00, Ann via Default <chat@shop.example> wrote:
> Your order shipped today
> Tracking number: 42
`, from, h.Get("Reply-To"), h.Get("Subject"), time.Now().Format(time.RFC1123Z), messageID, h.Get("Message-ID"), h.Get("Message-ID"), extra), "\n", "\r\n"))
}

// sendSMTP delivers raw to rcpt over plain SMTP, as a sending MTA would.
func sendSMTP(t *testing.T, addr, from, rcpt string, raw []byte) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("mx.example.com"); err != nil {
		return err
	}
	return c.SendMail(from, []string{rcpt}, bytes.NewReader(raw))
}

// Scenario 11: the visitor replies to the email with the old text quoted →
// one visitor message with only the new text; the same email delivered
// twice → still one message; a forged token → refused.
func TestScenario11VisitorRepliesByEmail(t *testing.T) {
	inboundAddr := apptest.FreeAddr(t)
	w := newWorld(t, map[string]string{
		"PARLEY_INBOUND_SMTP_ADDR": inboundAddr,
		"PARLEY_INBOUND_SECRET":    "hook-secret-of-the-tests",
	})
	agentWS := w.s.DialAgent(w.agent.Token)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "Your order shipped today")
	fwd := w.relay.Wait(t, 1, 10*time.Second)[0]
	replyTo, err := mail.ParseAddress(fwd.Msg.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	w.s.Do("POST", "/api/v1/conversations/"+v.conv+"/close", w.agent.Token, nil, 200, nil)

	raw := answer(fwd, "answer-1@example.com", "Vera <vera@example.com>", "")
	if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
		t.Fatalf("inbound SMTP refused the answer: %v", err)
	}
	for {
		ev := agentWS.WaitFor("message.created", 5*time.Second)
		data := ev["data"].(map[string]any)
		if data["channel"] != "email" {
			continue // the chat before the email
		}
		if data["body"] != "Thanks, that solves it!" {
			t.Fatalf("agent event: %v", ev)
		}
		break
	}
	// Delivered again, through SMTP and through the HTTP hook: still one message.
	if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", w.s.URL+"/api/inbound/v1/mime", bytes.NewReader(raw))
	req.Header.Set("X-Parley-Inbound-Secret", "hook-secret-of-the-tests")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("hook: %d", resp.StatusCode)
	}
	var visitorMsgs []model.Message
	for _, m := range w.messages(v.conv) {
		if m.Author.Kind == "visitor" && m.Channel == "email" {
			visitorMsgs = append(visitorMsgs, m)
		}
	}
	if len(visitorMsgs) != 1 || visitorMsgs[0].Body != "Thanks, that solves it!" {
		t.Fatalf("visitor email messages: %+v", visitorMsgs)
	}
	var c model.Conversation
	w.s.Do("GET", "/api/v1/conversations/"+v.conv, w.agent.Token, nil, 200, &c)
	if c.Status != "open" {
		t.Fatalf("the answer did not reopen the conversation: %s", c.Status)
	}
	// The widget shows it when the visitor comes back.
	var widgetMsgs struct {
		Messages []model.Message `json:"messages"`
	}
	w.s.Do("GET", "/api/widget/v1/messages?visitor_token="+v.token, "", nil, 200, &widgetMsgs)
	if last := widgetMsgs.Messages[len(widgetMsgs.Messages)-1]; last.Body != "Thanks, that solves it!" {
		t.Fatalf("widget's last message: %+v", last)
	}

	// A forged or altered token is refused at RCPT.
	local, domain, _ := strings.Cut(replyTo.Address, "@")
	forged := local[:len(local)-3] + "aaa@" + domain
	if err := sendSMTP(t, inboundAddr, "vera@example.com", forged, raw); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("forged token: %v, want 550", err)
	}
	// A wrong hook secret is refused.
	req, _ = http.NewRequest("POST", w.s.URL+"/api/inbound/v1/mime", bytes.NewReader(raw))
	req.Header.Set("X-Parley-Inbound-Secret", "wrong")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("hook with a wrong secret: %d", resp.StatusCode)
	}
}

// emailed starts a world with the inbound SMTP server (and env), where
// Vera chats, leaves, and gets an agent's reply (body) by email: the
// world, Vera, the email and the inbound server's address.
func emailed(t *testing.T, body string, env map[string]string) (*world, *visitor, apptest.Mail, string) {
	t.Helper()
	inboundAddr := apptest.FreeAddr(t)
	all := map[string]string{"PARLEY_INBOUND_SMTP_ADDR": inboundAddr}
	for k, v := range env {
		all[k] = v
	}
	w := newWorld(t, all)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, body)
	return w, v, w.relay.Wait(t, 1, 10*time.Second)[0], inboundAddr
}

func TestEmailReplyFromAnotherAddressAndAttachments(t *testing.T) {
	w, v, fwd, inboundAddr := emailed(t, "Please send the invoice", map[string]string{"PARLEY_ATTACHMENTS_DIR": t.TempDir()})
	replyTo, _ := mail.ParseAddress(fwd.Msg.Header.Get("Reply-To"))
	raw := []byte(strings.ReplaceAll(`From: Bob <bob@work.example>
To: `+replyTo.Address+`
Subject: Re: invoice
Message-ID: <with-files@work.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=UTF-8

Here it is.

--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--b1
Content-Type: application/x-msdownload
Content-Disposition: attachment; filename="setup.exe"
Content-Transfer-Encoding: base64

TVqQAAMAAAAEAAAA
--b1--
`, "\n", "\r\n"))
	if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
		t.Fatal(err)
	}
	var got, note *model.Message
	apptest.Eventually(t, 5*time.Second, "the email message", func() bool {
		for _, m := range w.messages(v.conv) {
			m := m
			if m.Channel == "email" && m.Author.Kind == "visitor" {
				got = &m
			}
			if m.Kind == "event" {
				note = &m
			}
		}
		return got != nil
	})
	if got.Author.Name == nil || *got.Author.Name != "Bob <bob@work.example>" {
		t.Errorf("author of a reply from another address: %v", got.Author.Name)
	}
	if len(got.Attachments) != 1 || got.Attachments[0].Filename != "invoice.pdf" {
		t.Fatalf("attachments: %+v", got.Attachments)
	}
	if note == nil || !strings.Contains(note.Body, "setup.exe") {
		t.Fatalf("no note about the refused executable: %+v", note)
	}
	// Agents download it; another workspace cannot.
	req, _ := http.NewRequest("GET", w.s.URL+"/api/v1/attachments/"+got.Attachments[0].ID, nil)
	req.Header.Set("Authorization", "Bearer "+w.agent.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !strings.Contains(resp.Header.Get("Content-Disposition"), "invoice.pdf") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	other, err := w.s.App.Chat.CreateWorkspace(t.Context(), "Other")
	if err != nil {
		t.Fatal(err)
	}
	b := w.s.AddAgent("bob@example.com", "Bob", other.ID)
	w.s.Do("GET", "/api/v1/attachments/"+got.Attachments[0].ID, b.Token, nil, 404, nil)
}

func TestBounceStopsForwarding(t *testing.T) {
	inboundAddr := apptest.FreeAddr(t)
	w := newWorld(t, map[string]string{"PARLEY_INBOUND_SMTP_ADDR": inboundAddr, "PARLEY_MAIL_FROM": "bounces@reply.localhost"})
	v := w.visitorChats("gone@example.com")
	v.leave()
	r := w.reply(v.conv, "Hello?")
	fwd := w.relay.Wait(t, 1, 10*time.Second)[0]
	dsn := deliveryFailure(fwd.Msg.Header.Get("Message-ID"), v.conv)
	if err := sendSMTP(t, inboundAddr, "", "bounces@reply.localhost", dsn); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, "reply marked bounced", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.ID == r.ID {
				return m.Forwarded != nil && m.Forwarded.Status == "bounced"
			}
		}
		return false
	})
	vis, _ := w.s.App.DB.VisitorByID(t.Context(), v.id)
	if vis.EmailStatus != "bouncing" {
		t.Fatalf("email_status %q", vis.EmailStatus)
	}
	for _, m := range w.messages(v.conv) {
		if m.Author.Kind == "visitor" && m.Channel == "email" {
			t.Fatalf("the bounce became a visitor message: %+v", m)
		}
	}
	w.reply(v.conv, "Still there?")
	w.noMail(1, leftAfter+quiet)
	if code, _ := w.state(v.conv); code != "bouncing" {
		t.Fatalf("decision %q", code)
	}
}

// deliveryFailure is a permanent failure report (5.1.1) for gone@example.com
// naming the returned email by its Message-ID and X-Parley-Conversation.
func deliveryFailure(messageID, conversation string) []byte {
	return []byte(strings.ReplaceAll(`From: MAILER-DAEMON@mx.example.com
To: bounces@reply.localhost
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r1"

--r1
Content-Type: text/plain

This is the mail system. Your message could not be delivered.

--r1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; gone@example.com
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--r1
Content-Type: text/rfc822-headers

Message-ID: `+messageID+`
X-Parley-Conversation: `+conversation+`
To: gone@example.com

--r1--
`, "\n", "\r\n"))
}

// A report naming an email Parley did not send (a relay that rewrote the
// Message-ID, or a forger who knows the conversation, which its visitor
// does) marks the conversation's email bounced and tells the agents, but
// stops no address: the address keeps receiving emails.
func TestBounceNamingOnlyTheConversation(t *testing.T) {
	inboundAddr := apptest.FreeAddr(t)
	w := newWorld(t, map[string]string{"PARLEY_INBOUND_SMTP_ADDR": inboundAddr, "PARLEY_MAIL_FROM": "bounces@reply.localhost"})
	v := w.visitorChats("gone@example.com")
	v.leave()
	r := w.reply(v.conv, "Hello?")
	w.relay.Wait(t, 1, 10*time.Second)
	if err := sendSMTP(t, inboundAddr, "", "bounces@reply.localhost", deliveryFailure("<made-up@mx.example.com>", v.conv)); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, "reply marked bounced", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.ID == r.ID {
				return m.Forwarded != nil && m.Forwarded.Status == "bounced"
			}
		}
		return false
	})
	noted := false
	for _, m := range w.messages(v.conv) {
		noted = noted || strings.Contains(m.Body, "did not name the email Parley sent")
	}
	if !noted {
		t.Error("the agents are not told of the bounce")
	}
	vis, _ := w.s.App.DB.VisitorByID(t.Context(), v.id)
	if vis.EmailStatus != "ok" {
		t.Fatalf("email_status %q after a report naming only the conversation", vis.EmailStatus)
	}
	w.reply(v.conv, "Still there?")
	w.relay.Wait(t, 2, leftAfter+quiet+10*time.Second)
}

func TestAutoReplyMakesNoMessage(t *testing.T) {
	w, v, fwd, inboundAddr := emailed(t, "Hi", nil)
	raw := answer(fwd, "ooo@example.com", "vera@example.com", "Auto-Submitted: auto-replied\r\n")
	replyTo, _ := mail.ParseAddress(fwd.Msg.Header.Get("Reply-To"))
	if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for _, m := range w.messages(v.conv) {
		if m.Channel == "email" && m.Author.Kind == "visitor" {
			t.Fatalf("an auto-reply became a message: %+v", m)
		}
	}
}

// An address sees only its own thread: when the visitor's address changes,
// the emails to the former one are not in the new one's References, where
// their Message-IDs (what a bounce names) would be shown to another person.
func TestReferencesListOnlyTheSameAddress(t *testing.T) {
	w := newWorld(t, nil)
	v := w.visitorChats("vera@example.com")
	v.leave()
	w.reply(v.conv, "First answer")
	first := w.relay.Wait(t, 1, 10*time.Second)[0]
	v.come()
	v.ws.Send(map[string]string{"type": "contact", "email": "mallory@example.net"})
	v.ws.WaitFor("contact", wait)
	v.leave()
	w.reply(v.conv, "Second answer")
	// The former address's notice of the change, and the new address's email.
	var second apptest.Mail
	for _, m := range w.relay.Wait(t, 3, leftAfter+quiet+10*time.Second) {
		if m.To[0] == "mallory@example.net" {
			second = m
		}
	}
	if second.Msg == nil {
		t.Fatalf("no email to the new address among %d", len(w.relay.Mails()))
	}
	id := first.Msg.Header.Get("Message-ID")
	for _, h := range []string{"References", "In-Reply-To"} {
		if got := second.Msg.Header.Get(h); strings.Contains(got, id) {
			t.Errorf("%s of the email to the new address names the former address's email: %s", h, got)
		}
	}
}

// Resetting a visitor's links ends the reply addresses of the emails sent
// so far, as it ends their links: an answer to one is refused for good.
// The next email carries an address of the new generation, which works.
func TestResetLinksEndsReplyAddresses(t *testing.T) {
	w, v, before, inboundAddr := emailed(t, "Your order shipped today", nil)
	old, err := mail.ParseAddress(before.Msg.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	w.s.Do("POST", "/api/v1/visitors/"+v.id+"/reset-links", w.agent.Token, nil, http.StatusNoContent, nil)
	err = sendSMTP(t, inboundAddr, "someone@example.net", old.Address, answer(before, "late@example.net", "someone@example.net", ""))
	if err == nil || !strings.Contains(err.Error(), "55") {
		t.Fatalf("an answer to an address from before the reset: %v", err)
	}

	w.reply(v.conv, "Anything else?")
	after := w.relay.Wait(t, 2, leftAfter+quiet+10*time.Second)[1]
	next, err := mail.ParseAddress(after.Msg.Header.Get("Reply-To"))
	if err != nil {
		t.Fatal(err)
	}
	if next.Address == old.Address || len(strings.SplitN(next.Address, "@", 2)[0]) > 64 {
		t.Fatalf("the address after the reset: %s (before: %s)", next.Address, old.Address)
	}
	if err := sendSMTP(t, inboundAddr, "vera@example.com", next.Address, answer(after, "answer-2@example.com", "Vera <vera@example.com>", "")); err != nil {
		t.Fatalf("an answer to the new address: %v", err)
	}
	apptest.Eventually(t, 5*time.Second, "the answer in the conversation", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.Channel == "email" && m.Author.Kind == "visitor" {
				return true
			}
		}
		return false
	})
}

// A mail client that pastes the email it answers under the answer without
// marking it as a quote (no "> ", no "On … wrote:"): the conversation gets
// the answer alone, not Parley's email again.
func TestEmailReplyWithTheEmailPastedUnmarked(t *testing.T) {
	w, v, fwd, inboundAddr := emailed(t, "Your kettle ships tomorrow.", nil)
	sent, err := inbound.Parse(bytes.NewReader(fwd.Raw))
	if err != nil || !strings.Contains(sent.Text, "Your kettle ships tomorrow.") {
		t.Fatalf("the forwarded email's text: %v %q", err, sent.Text)
	}
	replyTo, _ := mail.ParseAddress(fwd.Msg.Header.Get("Reply-To"))
	raw := []byte(strings.ReplaceAll("From: <vera@example.com>\nTo: "+replyTo.Address+"\nSubject: Re: kettle\nMessage-ID: <pasted@example.com>\nContent-Type: text/plain; charset=UTF-8\n\nGreat, thank you!\n\n"+
		strings.ReplaceAll(sent.Text, "\r\n", "\n")+"\n", "\n", "\r\n"))
	if err := sendSMTP(t, inboundAddr, "vera@example.com", replyTo.Address, raw); err != nil {
		t.Fatal(err)
	}
	var got *model.Message
	apptest.Eventually(t, 5*time.Second, "the email answer", func() bool {
		for _, m := range w.messages(v.conv) {
			if m.Channel == "email" && m.Author.Kind == "visitor" {
				got = &m
			}
		}
		return got != nil
	})
	if got.Body != "Great, thank you!" {
		t.Errorf("stored %q, want the answer alone", got.Body)
	}
}
