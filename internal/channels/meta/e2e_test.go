package meta_test

// End to end: a real Parley (apptest) on loopback, Meta's documented webhook
// payloads signed with the app secret, and a fake Graph API checking every
// call the channel makes.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/channels/meta/metatest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

const (
	verifyToken = "verify-token-for-tests"
	psid        = "6543210987654321"
	igsid       = "3215549876543210"
	wait        = 5 * time.Second
)

type world struct {
	*metatest.Parley
	t     *testing.T
	agent apptest.Agent
}

func newWorld(t *testing.T, env map[string]string) *world {
	t.Helper()
	t.Parallel()
	p := metatest.Start(t, env)
	w := &world{Parley: p, t: t, agent: p.AddAgent("ann@example.com", "Ann")}
	p.Graph.SetProfile(psid, map[string]string{"first_name": "Peter", "last_name": "Chang", "profile_pic": "https://scontent.example/p.jpg"})
	p.Graph.SetProfile(igsid, map[string]string{"name": "Ines Garcia", "username": "ines.g"})
	acct := p.Connect(t, w.agent.Token, testPage, verifyToken)
	if !acct.Connected || acct.PageName != testPage.Name || acct.Warning != "" {
		t.Fatalf("connect: %+v", acct)
	}
	return w
}

var midSeq atomic.Int64

func newMID() string { return fmt.Sprintf("m_test%d-%d", time.Now().UnixNano(), midSeq.Add(1)) }

// deliver posts one of Meta's payloads, signed, and expects 200.
func (w *world) deliver(name string, vars map[string]string) {
	w.t.Helper()
	all := map[string]string{"PAGE_ID": testPage.ID, "IG_ID": testPage.InstagramID, "PSID": psid, "IGSID": igsid,
		"TIME": metatest.Millis(time.Now()), "TEXT": "hello, world!", "PAYLOAD": "DEVELOPER_DEFINED_PAYLOAD"}
	if _, ok := vars["MID"]; !ok {
		all["MID"] = newMID()
	}
	for k, v := range vars {
		all[k] = v
	}
	body := metatest.Payload(w.t, name, all)
	if status, answer := w.PostWebhook(w.t, body, testPage.AppSecret); status != http.StatusOK {
		w.t.Fatalf("webhook %s: status %d: %s", name, status, answer)
	}
}

func (w *world) conversations() []model.Conversation {
	w.t.Helper()
	var out struct {
		Conversations []model.Conversation `json:"conversations"`
	}
	w.Do("GET", "/api/v1/conversations?status=all", w.agent.Token, nil, http.StatusOK, &out)
	return out.Conversations
}

// waitConversation waits for the conversation of a channel to hold n
// messages.
func (w *world) waitConversation(channel string, n int) (model.Conversation, []model.Message) {
	w.t.Helper()
	var (
		conv model.Conversation
		msgs []model.Message
	)
	apptest.Eventually(w.t, wait, fmt.Sprintf("a %s conversation with %d messages", channel, n), func() bool {
		for _, c := range w.conversations() {
			if c.Channel == channel {
				conv = c
				msgs = w.messages(c.ID)
				return len(msgs) >= n
			}
		}
		return false
	})
	return conv, msgs
}

func (w *world) messages(convID string) []model.Message {
	w.t.Helper()
	var out struct {
		Messages []model.Message `json:"messages"`
	}
	w.Do("GET", "/api/v1/conversations/"+convID+"/messages", w.agent.Token, nil, http.StatusOK, &out)
	return out.Messages
}

// delivery reads a message's channel side from the store (the agent API's
// message list shows it once store.Messages includes it).
func (w *world) delivery(m model.Message) *model.ChannelDelivery {
	w.t.Helper()
	got, err := w.App.DB.ChannelMessage(w.t.Context(), w.Workspace.ID, m.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return got.Delivery
}

func (w *world) reply(convID, body string) model.Message {
	w.t.Helper()
	var m model.Message
	w.Do("POST", "/api/v1/conversations/"+convID+"/messages", w.agent.Token, map[string]string{"body": body, "kind": "reply"}, http.StatusCreated, &m)
	return m
}

// waitUpdate waits for the message.updated event of message id whose
// delivery has the given status.
func waitUpdate(t *testing.T, ws *apptest.WS, id, status string) model.Message {
	t.Helper()
	return waitUpdateWhere(t, ws, "delivery "+status, func(m model.Message) bool {
		return m.ID == id && m.Delivery != nil && m.Delivery.Status == status
	})
}

// waitUpdateWhere waits for a message.updated event whose message matches.
func waitUpdateWhere(t *testing.T, ws *apptest.WS, what string, match func(model.Message) bool) model.Message {
	t.Helper()
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		f := ws.WaitFor("message.updated", time.Until(deadline))
		raw, _ := json.Marshal(f["data"])
		var m model.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if match(m) {
			return m
		}
	}
	t.Fatalf("no message.updated with %s", what)
	return model.Message{}
}

func TestMessengerEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)

	w.deliver("messenger_text", map[string]string{"TEXT": "Do you ship to Lyon?"})
	conv, msgs := w.waitConversation(model.ChannelMessenger, 1)
	if conv.Status != "open" || conv.Visitor.Name == nil || *conv.Visitor.Name != "Peter Chang" || conv.Visitor.Email != nil {
		t.Errorf("conversation %+v (visitor %+v)", conv, conv.Visitor)
	}
	in := msgs[0]
	if in.Author.Kind != model.AuthorVisitor || in.Channel != model.ChannelMessenger || in.Body != "Do you ship to Lyon?" || in.Kind != model.KindReply {
		t.Errorf("person's message %+v", in)
	}
	created := ws.WaitFor("message.created", wait)
	if data, _ := json.Marshal(created["data"]); !strings.Contains(string(data), "Do you ship to Lyon?") {
		t.Errorf("message.created pushed %s", data)
	}

	var win chat.Window
	w.Do("GET", "/api/v1/conversations/"+conv.ID+"/channel", w.agent.Token, nil, http.StatusOK, &win)
	if !win.Open || win.ClosesAt == nil || !win.HumanAgentAllowed || win.Channel != model.ChannelMessenger {
		t.Errorf("window %+v", win)
	}

	r := w.reply(conv.ID, "Yes, in two days.")
	sends := w.Graph.WaitSends(t, 1, wait)
	if s := sends[0]; s.PageID != testPage.ID || s.Recipient != psid || s.Text != "Yes, in two days." || s.MessagingType != "RESPONSE" || s.Tag != "" {
		t.Errorf("send %+v", s)
	}
	sent := waitUpdate(t, ws, r.ID, model.DeliverySent)
	if sent.Delivery.MessageID != sends[0].MessageID || sent.Delivery.SentAt == nil || sent.Delivery.Error != "" {
		t.Errorf("sent delivery %+v", sent.Delivery)
	}
	// Meta's echo of our own reply makes no message.
	w.deliver("messenger_echo", map[string]string{"MID": sends[0].MessageID, "TEXT": "Yes, in two days."})
	// Delivery receipt.
	w.deliver("messenger_delivery", map[string]string{"MID": sends[0].MessageID, "WATERMARK": metatest.Millis(time.Now())})
	waitUpdate(t, ws, r.ID, model.DeliveryDelivered)
	if msgs := w.messages(conv.ID); len(msgs) != 2 {
		t.Errorf("%d messages after the echo, want 2", len(msgs))
	}
	if n := w.Graph.Calls("GET profile"); n != 1 {
		t.Errorf("%d profile lookups, want 1 (cached)", n)
	}
	// A second message of the same person: same conversation, no new lookup.
	w.deliver("messenger_text", map[string]string{"TEXT": "Great, thanks"})
	w.waitConversation(model.ChannelMessenger, 3)
	if n := len(w.conversations()); n != 1 {
		t.Errorf("%d conversations, want 1", n)
	}
	if n := w.Graph.Calls("GET profile"); n != 1 {
		t.Errorf("%d profile lookups after the second message, want 1", n)
	}
}

func TestMessengerPayloads(t *testing.T) {
	w := newWorld(t, nil)
	w.deliver("messenger_quick_reply", map[string]string{"TEXT": "Red", "PAYLOAD": "COLOR_RED"})
	w.deliver("messenger_attachment", nil)
	w.deliver("messenger_postback", map[string]string{"TEXT": "Talk to a human", "PAYLOAD": "HUMAN"})
	_, msgs := w.waitConversation(model.ChannelMessenger, 3)
	if msgs[0].Body != "Red" || w.delivery(msgs[0]).Payload != "COLOR_RED" {
		t.Errorf("quick reply %q payload %+v", msgs[0].Body, w.delivery(msgs[0]))
	}
	wantAtt := "[Image] https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg?_nc_cat=1&oh=abc\n[File] https://cdn.fbsbx.com/v/t59.2708-21/invoice.pdf?_nc_cat=2"
	if msgs[1].Body != wantAtt {
		t.Errorf("attachment body %q, want %q", msgs[1].Body, wantAtt)
	}
	if msgs[2].Body != "Talk to a human" || w.delivery(msgs[2]).Payload != "HUMAN" {
		t.Errorf("postback %q %+v", msgs[2].Body, w.delivery(msgs[2]))
	}
}

func TestDuplicateMidMakesOneMessage(t *testing.T) {
	w := newWorld(t, nil)
	mid := newMID()
	for range 3 {
		w.deliver("messenger_text", map[string]string{"MID": mid, "TEXT": "only once"})
	}
	w.deliver("messenger_text", map[string]string{"TEXT": "after"})
	_, msgs := w.waitConversation(model.ChannelMessenger, 2)
	apptest.Eventually(t, wait, "every event processed", func() bool {
		evs, err := w.App.DB.ChannelEvents(t.Context(), w.Workspace.ID)
		return err == nil && len(evs) == 0
	})
	msgs = w.messages(msgs[0].ConversationID)
	if len(msgs) != 2 || msgs[0].Body != "only once" || msgs[1].Body != "after" {
		t.Errorf("messages %+v", msgs)
	}
}

func TestReadWatermarkMarksRepliesRead(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)
	w.deliver("messenger_text", nil)
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	r1 := w.reply(conv.ID, "first")
	r2 := w.reply(conv.ID, "second")
	w.Graph.WaitSends(t, 2, wait)
	waitUpdate(t, ws, r2.ID, model.DeliverySent)
	// Meta's watermark is in milliseconds: r2 went out earlier within
	// the same millisecond or before it, r3 goes out in a later one.
	watermark := time.Now()
	time.Sleep(2 * time.Millisecond)
	r3 := w.reply(conv.ID, "third, after the watermark")
	w.Graph.WaitSends(t, 3, wait)

	w.deliver("messenger_read", map[string]string{"WATERMARK": metatest.Millis(watermark)})
	apptest.Eventually(t, wait, "replies up to the watermark read", func() bool {
		read := map[string]bool{}
		for _, m := range w.messages(conv.ID) {
			read[m.ID] = m.ReadByVisitorAt != nil
		}
		return read[r1.ID] && read[r2.ID]
	})
	for _, m := range w.messages(conv.ID) {
		if m.ID == r3.ID && m.ReadByVisitorAt != nil {
			t.Errorf("the reply sent after the watermark is marked read")
		}
	}
	// Agents saw it live.
	waitUpdateWhere(t, ws, "the first reply read", func(m model.Message) bool { return m.ID == r1.ID && m.ReadByVisitorAt != nil })
}

func TestExpiredTokenFailsTheReply(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)
	w.deliver("messenger_text", nil)
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	w.Graph.ExpireToken(testPage.ID, true)

	r := w.reply(conv.ID, "Are you there?")
	failed := waitUpdate(t, ws, r.ID, model.DeliveryFailed)
	if !strings.Contains(failed.Delivery.Error, "expired") || !strings.Contains(failed.Delivery.Error, "190") {
		t.Errorf("error shown to agents: %q", failed.Delivery.Error)
	}
	if n := w.Graph.Calls("POST messages"); n != 1 {
		t.Errorf("%d send attempts, want 1 (an expired token is not retried)", n)
	}
	var acct meta.Account
	w.Do("GET", "/api/v1/channels/meta", w.agent.Token, nil, http.StatusOK, &acct)
	if !strings.Contains(acct.TokenError, "expired") {
		t.Errorf("settings token error %q", acct.TokenError)
	}
	// A new token clears it.
	fresh := testPage
	fresh.Token = "EAAFreshPageToken9876543210"
	w.Connect(t, w.agent.Token, fresh, "")
	var after meta.Account
	w.Do("GET", "/api/v1/channels/meta", w.agent.Token, nil, http.StatusOK, &after)
	if after.TokenError != "" || after.PageTokenLast4 != "3210" {
		t.Errorf("after reconnecting: %+v", after)
	}
}

func TestRateLimitIsRetriedThenSent(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)
	w.deliver("messenger_text", nil)
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	w.Graph.FailSends(2, http.StatusBadRequest, metatest.RateLimited, nil)

	r := w.reply(conv.ID, "Sorry for the wait")
	retrying := waitUpdateWhere(t, ws, "a retry", func(m model.Message) bool {
		return m.ID == r.ID && m.Delivery != nil && m.Delivery.Status == model.DeliveryQueued && m.Delivery.Error != ""
	})
	if !strings.Contains(retrying.Delivery.Error, "rate limit") || !strings.Contains(retrying.Delivery.Error, "retrying") {
		t.Errorf("error while retrying: %q", retrying.Delivery.Error)
	}
	sends := w.Graph.WaitSends(t, 1, 20*time.Second)
	sent := waitUpdate(t, ws, r.ID, model.DeliverySent)
	if sent.Delivery.Attempts != 3 || sent.Delivery.Error != "" || sent.Delivery.MessageID != sends[0].MessageID {
		t.Errorf("delivery after retries %+v", sent.Delivery)
	}
	if n := w.Graph.Calls("POST messages"); n != 3 {
		t.Errorf("%d send attempts, want 3", n)
	}
	if len(w.Graph.Sends()) != 1 {
		t.Errorf("sent %d times", len(w.Graph.Sends()))
	}
}

func TestMessagingWindow(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)
	w.deliver("messenger_text", map[string]string{"TIME": metatest.Millis(time.Now().Add(-30 * time.Hour))})
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)

	var win chat.Window
	w.Do("GET", "/api/v1/conversations/"+conv.ID+"/channel", w.agent.Token, nil, http.StatusOK, &win)
	if win.Open || !win.HumanAgentAllowed || win.HumanAgentAllowedUntil == nil || time.Until(*win.HumanAgentAllowedUntil) < 5*24*time.Hour {
		t.Errorf("window 30 hours after the last message: %+v", win)
	}

	// A plain reply is stored, refused before Meta is called, and the
	// reason shown.
	r := w.reply(conv.ID, "Hello again")
	failed := waitUpdate(t, ws, r.ID, model.DeliveryFailed)
	if !strings.Contains(failed.Delivery.Error, "24 hours") || !strings.Contains(failed.Delivery.Error, "HUMAN_AGENT") {
		t.Errorf("reason %q", failed.Delivery.Error)
	}
	if n := w.Graph.Calls("POST messages"); n != 0 {
		t.Errorf("Meta was called %d times for a reply outside the window", n)
	}
	// The channel API refuses it outright without the tag...
	before := len(w.messages(conv.ID))
	raw := w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": "Hello?"}, http.StatusConflict, nil)
	if apptest.ErrorCode(raw) != chat.CodeWindowClosed {
		t.Errorf("answer %s", raw)
	}
	if len(w.messages(conv.ID)) != before {
		t.Error("a refused reply was stored")
	}
	// ...and sends it tagged HUMAN_AGENT.
	var m model.Message
	w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": "Following up on your order", "tag": "HUMAN_AGENT"}, http.StatusCreated, &m)
	if m.Delivery == nil || m.Delivery.Status != model.DeliveryQueued || m.Delivery.Tag != model.TagHumanAgent {
		t.Errorf("tagged reply %+v", m.Delivery)
	}
	sends := w.Graph.WaitSends(t, 1, wait)
	if s := sends[0]; s.MessagingType != "MESSAGE_TAG" || s.Tag != "HUMAN_AGENT" || s.Text != "Following up on your order" {
		t.Errorf("tagged send %+v", s)
	}
	waitUpdate(t, ws, m.ID, model.DeliverySent)

	// Bad input to the channel API.
	raw = w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": "x", "tag": "ACCOUNT_UPDATE"}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != chat.CodeBadRequest {
		t.Errorf("unknown tag: %s", raw)
	}
	raw = w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": strings.Repeat("a", 2001)}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != chat.CodeMessageTooLong {
		t.Errorf("too long for Messenger: %s", raw)
	}
}

func TestHumanAgentWindowEndsAfterSevenDays(t *testing.T) {
	w := newWorld(t, nil)
	w.deliver("messenger_text", map[string]string{"TIME": metatest.Millis(time.Now().Add(-8 * 24 * time.Hour))})
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	raw := w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": "Hello?", "tag": "HUMAN_AGENT"}, http.StatusConflict, nil)
	if apptest.ErrorCode(raw) != chat.CodeWindowClosed || !strings.Contains(string(raw), "7 days") {
		t.Errorf("answer %s", raw)
	}
}

func TestInstagramEndToEnd(t *testing.T) {
	w := newWorld(t, nil)
	ws := w.DialAgent(w.agent.Token)
	w.deliver("instagram_message", map[string]string{"TEXT": "Is the blue one in stock?"})
	conv, msgs := w.waitConversation(model.ChannelInstagram, 1)
	if conv.Visitor.Name == nil || *conv.Visitor.Name != "Ines Garcia" || msgs[0].Channel != model.ChannelInstagram || msgs[0].Body != "Is the blue one in stock?" {
		t.Errorf("instagram conversation %+v, message %+v", conv, msgs[0])
	}
	r := w.reply(conv.ID, "It is!")
	sends := w.Graph.WaitSends(t, 1, wait)
	// Instagram messaging through the Page: POST /{page-id}/messages to the IGSID.
	if s := sends[0]; s.PageID != testPage.ID || s.Recipient != igsid || s.MessagingType != "RESPONSE" {
		t.Errorf("instagram send %+v", s)
	}
	waitUpdate(t, ws, r.ID, model.DeliverySent)
	w.deliver("instagram_echo", map[string]string{"MID": sends[0].MessageID, "TEXT": "It is!"})
	w.deliver("instagram_seen", map[string]string{"MID": sends[0].MessageID})
	apptest.Eventually(t, wait, "the reply marked read", func() bool {
		for _, m := range w.messages(conv.ID) {
			if m.ID == r.ID {
				return m.ReadByVisitorAt != nil
			}
		}
		return false
	})
	if n := len(w.messages(conv.ID)); n != 2 {
		t.Errorf("%d messages, want 2 (the echo makes none)", n)
	}
	// Instagram takes at most 1,000 bytes.
	raw := w.Do("POST", "/api/v1/conversations/"+conv.ID+"/channel-messages", w.agent.Token, map[string]string{"body": strings.Repeat("é", 600)}, http.StatusBadRequest, nil)
	if apptest.ErrorCode(raw) != chat.CodeMessageTooLong {
		t.Errorf("too long for Instagram: %s", raw)
	}
}

func TestClosedConversationReopens(t *testing.T) {
	w := newWorld(t, nil)
	w.deliver("messenger_text", nil)
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	w.Do("POST", "/api/v1/conversations/"+conv.ID+"/close", w.agent.Token, nil, http.StatusOK, nil)
	w.deliver("messenger_text", map[string]string{"TEXT": "One more thing"})
	apptest.Eventually(t, wait, "the conversation reopened", func() bool {
		var c model.Conversation
		w.Do("GET", "/api/v1/conversations/"+conv.ID, w.agent.Token, nil, http.StatusOK, &c)
		return c.Status == "open" && c.LastMessage != nil && *c.LastMessage == "One more thing"
	})
}

// Messenger conversations are never emailed, even with an identified
// person and an unread reply: the forwarding engine refuses the channel.
func TestChannelConversationsAreNeverEmailed(t *testing.T) {
	relay := apptest.StartRelay(t)
	w := newWorld(t, map[string]string{
		"PARLEY_SMTP_URL":           relay.URL,
		"PARLEY_FORWARD_LEFT_AFTER": "1s",
		"PARLEY_FORWARD_IDLE_AFTER": "1s",
		"PARLEY_FORWARD_QUIET":      "1s",
		"PARLEY_VISITOR_GRACE":      "100ms",
	})
	w.deliver("messenger_text", nil)
	conv, _ := w.waitConversation(model.ChannelMessenger, 1)
	w.Do("PATCH", "/api/v1/visitors/"+conv.Visitor.ID, w.agent.Token, map[string]string{"email": "peter@example.com"}, http.StatusOK, nil)
	w.reply(conv.ID, "Here is the tracking number")
	w.Graph.WaitSends(t, 1, wait)

	apptest.Eventually(t, wait, "the forwarding decision", func() bool {
		var c model.Conversation
		w.Do("GET", "/api/v1/conversations/"+conv.ID, w.agent.Token, nil, http.StatusOK, &c)
		return c.Forwarding != nil && c.Forwarding.Code == "other_channel"
	})
	// Past every forwarding delay: still nothing.
	time.Sleep(3 * time.Second)
	if mails := relay.Mails(); len(mails) != 0 {
		t.Fatalf("%d emails sent for a Messenger conversation", len(mails))
	}
	for _, m := range w.messages(conv.ID) {
		if m.Forwarded != nil {
			t.Errorf("message %s marked forwarded: %+v", m.ID, m.Forwarded)
		}
	}
}

func TestWebhookIgnoresWhatIsNotAMessage(t *testing.T) {
	w := newWorld(t, nil)
	// Echo of a message written in Meta's own inbox, and receipts of a
	// person who never wrote.
	w.deliver("messenger_echo", nil)
	w.deliver("messenger_delivery", map[string]string{"PSID": "111", "WATERMARK": metatest.Millis(time.Now())})
	w.deliver("messenger_read", map[string]string{"PSID": "111", "WATERMARK": metatest.Millis(time.Now())})
	apptest.Eventually(t, wait, "every event processed", func() bool {
		evs, err := w.App.DB.ChannelEvents(t.Context(), w.Workspace.ID)
		return err == nil && len(evs) == 0
	})
	if cs := w.conversations(); len(cs) != 0 {
		t.Errorf("%d conversations made of echoes and receipts", len(cs))
	}
}
