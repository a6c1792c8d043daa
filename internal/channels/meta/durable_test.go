package meta_test

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/channels/meta"
	"github.com/parleychat/parley/internal/channels/meta/metatest"
	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// node is the domain and the channel on one database, without HTTP: a
// stand-in for one Parley process, so that a test can "restart" it.
type node struct {
	db    *store.DB
	chat  *chat.Service
	graph *metatest.Graph
	ws    model.Workspace
	agent model.Agent
}

func newNode(t *testing.T) *node {
	t.Helper()
	ctx := t.Context()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "parley.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := chat.New(db, realtime.NewHub(), token.NewSigner([]byte(metatest.Secret)), chat.Options{})
	ws, err := svc.CreateWorkspace(ctx, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.CreateAgent(ctx, ws.ID, "ann@example.com", "Ann", "correct horse battery", "")
	if err != nil {
		t.Fatal(err)
	}
	g := metatest.StartGraph(t)
	g.AddPage(testPage)
	g.SetProfile(psid, map[string]string{"first_name": "Peter", "last_name": "Chang"})
	return &node{db: db, chat: svc, graph: g, ws: ws, agent: a}
}

// channel builds a channel on the node (not running).
func (n *node) channel() *meta.Service {
	return meta.New(n.db, n.chat, meta.Options{Secret: []byte(metatest.Secret), GraphURL: n.graph.URL, GraphVersion: metatest.Version,
		RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond})
}

func (n *node) conversation(t *testing.T) (model.Conversation, bool) {
	t.Helper()
	list, err := n.chat.ListConversations(t.Context(), n.agent, chat.ListQuery{Status: "all"})
	cs := list.Conversations
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		return model.Conversation{}, false
	}
	return cs[0], true
}

func TestWebhookEventsSurviveARestart(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	ctx := t.Context()
	first := n.channel()
	if _, err := first.Connect(ctx, n.ws.ID, meta.ConnectInput{PageID: testPage.ID, PageToken: testPage.Token, AppSecret: testPage.AppSecret, VerifyToken: verifyToken}); err != nil {
		t.Fatal(err)
	}
	body := metatest.Payload(t, "messenger_text", map[string]string{"PAGE_ID": testPage.ID, "PSID": psid, "MID": "m_durable1",
		"TIME": metatest.Millis(time.Now()), "TEXT": "Anyone there?"})

	// The first process takes the delivery and stops before its worker ran.
	rec, err := first.ReceiveWebhook(ctx, meta.Sign(body, testPage.AppSecret), body)
	if err != nil || rec.Stored != 1 {
		t.Fatalf("receive: %+v, %v", rec, err)
	}
	evs, err := n.db.ChannelEvents(ctx, n.ws.ID)
	if err != nil || len(evs) != 1 || evs[0].Status != "pending" {
		t.Fatalf("stored events %+v, %v", evs, err)
	}
	if _, ok := n.conversation(t); ok {
		t.Fatal("a conversation exists before the worker ran")
	}

	// The next process picks it up.
	second := n.channel()
	n.chat.SetChannelSender(second)
	metatest.RunUntilCleanup(t, second)
	apptest.Eventually(t, wait, "the stored event processed", func() bool {
		c, ok := n.conversation(t)
		return ok && c.LastMessage != nil && *c.LastMessage == "Anyone there?"
	})
	apptest.Eventually(t, wait, "the event deleted once processed", func() bool {
		evs, err := n.db.ChannelEvents(ctx, n.ws.ID)
		return err == nil && len(evs) == 0
	})
}

func TestRepliesSurviveARestart(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	ctx := t.Context()
	ch := n.channel()
	if _, err := ch.Connect(ctx, n.ws.ID, meta.ConnectInput{PageID: testPage.ID, PageToken: testPage.Token, AppSecret: testPage.AppSecret, VerifyToken: verifyToken}); err != nil {
		t.Fatal(err)
	}
	msg, dup, err := n.chat.ReceiveChannelMessage(ctx, chat.ChannelMessage{WorkspaceID: n.ws.ID, Channel: model.ChannelMessenger,
		ExternalID: psid, MessageID: "m_in", Body: "Where is my order?", SentAt: time.Now()})
	if err != nil || dup {
		t.Fatalf("receive: %v dup %v", err, dup)
	}

	// Stored but never queued: the process had no channel, or died
	// between storing the reply and queueing it.
	unqueued, err := n.chat.PostMessage(ctx, n.agent, msg.ConversationID, "Shipped yesterday", model.KindReply)
	if err != nil {
		t.Fatal(err)
	}
	// Queued, but the process died before sending.
	n.chat.SetChannelSender(ch) // never run
	queued, err := n.chat.PostMessage(ctx, n.agent, msg.ConversationID, "Tracking: 1Z999", model.KindReply)
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.db.ChannelMessage(ctx, n.ws.ID, queued.ID)
	if err != nil || got.Delivery == nil || got.Delivery.Status != model.DeliveryQueued {
		t.Fatalf("queued reply: %+v, %v", got.Delivery, err)
	}
	if len(n.graph.Sends()) != 0 {
		t.Fatal("sent without a running worker")
	}

	restarted := n.channel()
	n.chat.SetChannelSender(restarted)
	metatest.RunUntilCleanup(t, restarted)
	sends := n.graph.WaitSends(t, 2, wait)
	if sends[0].Text != "Shipped yesterday" || sends[1].Text != "Tracking: 1Z999" {
		t.Errorf("sent in the wrong order or altered: %+v", sends)
	}
	for _, id := range []string{unqueued.ID, queued.ID} {
		apptest.Eventually(t, wait, "reply "+id+" recorded sent", func() bool {
			m, err := n.db.ChannelMessage(ctx, n.ws.ID, id)
			return err == nil && m.Delivery != nil && m.Delivery.Status == model.DeliverySent
		})
	}
}

func TestReceiveWebhookRefusals(t *testing.T) {
	t.Parallel()
	n := newNode(t)
	ctx := t.Context()
	ch := n.channel()
	if _, err := ch.Connect(ctx, n.ws.ID, meta.ConnectInput{PageID: testPage.ID, PageToken: testPage.Token, AppSecret: testPage.AppSecret, VerifyToken: verifyToken}); err != nil {
		t.Fatal(err)
	}
	// A second workspace with its own Page and app secret.
	other, err := n.chat.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	otherPage := metatest.Page{ID: "2223334445", Name: "Other", Token: "EAAOtherPageToken000000", AppSecret: "ffffeeeeddddccccbbbbaaaa99998888"}
	n.graph.AddPage(otherPage)
	if _, err := ch.Connect(ctx, other.ID, meta.ConnectInput{PageID: otherPage.ID, PageToken: otherPage.Token, AppSecret: otherPage.AppSecret, VerifyToken: "other-verify-token"}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"PAGE_ID": testPage.ID, "PSID": psid, "MID": "m_1", "TIME": metatest.Millis(time.Now()), "TEXT": "hi"}
	body := metatest.Payload(t, "messenger_text", vars)
	// One delivery naming both Pages: each workspace's secret must match.
	both := merge(t, body, metatest.Payload(t, "messenger_text",
		map[string]string{"PAGE_ID": otherPage.ID, "PSID": psid, "MID": "m_2", "TIME": metatest.Millis(time.Now()), "TEXT": "hi"}))
	unknown := metatest.Payload(t, "messenger_text", map[string]string{"PAGE_ID": "999", "PSID": psid, "MID": "m_3", "TIME": "1", "TEXT": "hi"})

	tests := []struct {
		name       string
		sig        string
		body       []byte
		wantErr    error
		wantStored int
	}{
		{"missing signature", "", body, meta.ErrSignature, 0},
		{"wrong secret", meta.Sign(body, "not the app secret"), body, meta.ErrSignature, 0},
		{"signature of another body", meta.Sign([]byte("{}"), testPage.AppSecret), body, meta.ErrSignature, 0},
		{"sha1 signature", "sha1=0123456789abcdef0123456789abcdef01234567", body, meta.ErrSignature, 0},
		{"another workspace's secret", meta.Sign(body, otherPage.AppSecret), body, meta.ErrSignature, 0},
		{"two workspaces, one secret", meta.Sign(both, testPage.AppSecret), both, meta.ErrSignature, 0},
		{"malformed JSON", meta.Sign([]byte("{"), testPage.AppSecret), []byte("{"), meta.ErrMalformed, 0},
		{"unknown page: ignored", meta.Sign(unknown, testPage.AppSecret), unknown, nil, 0},
		{"good", meta.Sign(body, testPage.AppSecret), body, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := ch.ReceiveWebhook(ctx, tc.sig, tc.body)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if rec.Stored != tc.wantStored {
				t.Errorf("stored %d, want %d", rec.Stored, tc.wantStored)
			}
		})
	}
	evs, _ := n.db.ChannelEvents(ctx, n.ws.ID)
	others, _ := n.db.ChannelEvents(ctx, other.ID)
	if len(evs) != 1 || len(others) != 0 {
		t.Errorf("events stored: %d here, %d in the other workspace; want 1 and 0", len(evs), len(others))
	}

	for _, tc := range []struct {
		mode, token string
		want        bool
	}{
		{"subscribe", verifyToken, true},
		{"subscribe", "other-verify-token", true},
		{"subscribe", "guess", false},
		{"subscribe", "", false},
		{"unsubscribe", verifyToken, false},
	} {
		if ok, err := ch.VerifyWebhook(ctx, tc.mode, tc.token); err != nil || ok != tc.want {
			t.Errorf("verify(%q, %q) = %v, %v; want %v", tc.mode, tc.token, ok, err, tc.want)
		}
	}
}

// merge makes one delivery of the entries of several payloads (Meta
// batches events of several Pages of an app).
func merge(t *testing.T, payloads ...[]byte) []byte {
	t.Helper()
	var out struct {
		Object string            `json:"object"`
		Entry  []json.RawMessage `json:"entry"`
	}
	for _, p := range payloads {
		var d struct {
			Object string            `json:"object"`
			Entry  []json.RawMessage `json:"entry"`
		}
		if err := json.Unmarshal(p, &d); err != nil {
			t.Fatal(err)
		}
		out.Object = d.Object
		out.Entry = append(out.Entry, d.Entry...)
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
