package store_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func newChannelAccount(workspaceID, pageID, igID string) store.ChannelAccount {
	return store.ChannelAccount{WorkspaceID: workspaceID, PageID: pageID, PageName: "Shop", InstagramID: igID,
		PageTokenEnc: "v1:token-" + pageID, PageTokenLast4: "k3n5", AppSecretEnc: "v1:secret-" + pageID, AppSecretLast4: "5ecr",
		VerifyTokenHash: "hash-" + pageID, VerifyTokenLast4: "vt01", CreatedAt: base, UpdatedAt: base}
}

func TestChannelAccounts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)

		if _, err := db.ChannelAccount(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("account before connecting: err = %v, want ErrNotFound", err)
		}
		a := newChannelAccount(w.ID, "1001", "17841400000000001")
		if err := db.SaveChannelAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		want := a
		want.CreatedAt, want.UpdatedAt = stored(base), stored(base)
		for name, get := range map[string]func() (store.ChannelAccount, error){
			"by workspace": func() (store.ChannelAccount, error) { return db.ChannelAccount(ctx, w.ID) },
			"by page":      func() (store.ChannelAccount, error) { return db.ChannelAccountByPage(ctx, "1001") },
			"by instagram": func() (store.ChannelAccount, error) { return db.ChannelAccountByInstagram(ctx, "17841400000000001") },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			check(t, name, got, want)
		}
		if ok, err := db.ChannelVerifyTokenExists(ctx, "hash-1001"); err != nil || !ok {
			t.Errorf("verify token exists = %v, %v; want true", ok, err)
		}
		if ok, err := db.ChannelVerifyTokenExists(ctx, "hash-nope"); err != nil || ok {
			t.Errorf("unknown verify token exists = %v, %v; want false", ok, err)
		}

		// Saving again replaces the connection (created_at stays).
		a.PageID, a.InstagramID, a.TokenError, a.UpdatedAt = "1002", "", "token expired", at(time.Hour)
		a.CreatedAt = at(time.Hour)
		if err := db.SaveChannelAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		got, err := db.ChannelAccount(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.PageID != "1002" || got.InstagramID != "" || got.TokenError != "token expired" || !got.CreatedAt.Equal(stored(base)) || !got.UpdatedAt.Equal(stored(at(time.Hour))) {
			t.Errorf("after update: %+v", got)
		}
		if _, err := db.ChannelAccountByPage(ctx, "1001"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("old page id still found: %v", err)
		}
		if err := db.SetChannelTokenError(ctx, w.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.ChannelAccount(ctx, w.ID); got.TokenError != "" {
			t.Errorf("token error after clearing: %q", got.TokenError)
		}

		// A Page belongs to one workspace.
		if err := db.SaveChannelAccount(ctx, newChannelAccount(other.ID, "1002", "")); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("same page in another workspace: err = %v, want ErrDuplicate", err)
		}
		if err := db.DeleteChannelAccount(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ChannelAccount(ctx, w.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after delete: err = %v", err)
		}
		if err := db.SaveChannelAccount(ctx, newChannelAccount(other.ID, "1002", "")); err != nil {
			t.Errorf("page free again after disconnecting: %v", err)
		}
	})
}

func TestChannelPeopleAndConversations(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		person := func(ws string) model.Visitor {
			return model.Visitor{ID: model.NewID(), WorkspaceID: ws, EmailStatus: model.EmailOK, CreatedAt: base}
		}

		p, created, err := db.EnsureChannelVisitor(ctx, person(w.ID), model.ChannelMessenger, "psid-1")
		if err != nil || !created {
			t.Fatalf("first ensure: created %v, err %v", created, err)
		}
		if p.Channel != model.ChannelMessenger || p.ExternalID != "psid-1" || p.ProfileCheckedAt != nil {
			t.Errorf("person: %+v", p)
		}
		again, created, err := db.EnsureChannelVisitor(ctx, person(w.ID), model.ChannelMessenger, "psid-1")
		if err != nil || created || again.Visitor.ID != p.Visitor.ID {
			t.Fatalf("second ensure: created %v, id %s (want %s), err %v", created, again.Visitor.ID, p.Visitor.ID, err)
		}
		// The same id on another channel or in another workspace is
		// another person.
		ig, created, err := db.EnsureChannelVisitor(ctx, person(w.ID), model.ChannelInstagram, "psid-1")
		if err != nil || !created || ig.Visitor.ID == p.Visitor.ID {
			t.Errorf("same id on instagram: created %v, err %v", created, err)
		}
		o, created, err := db.EnsureChannelVisitor(ctx, person(other.ID), model.ChannelMessenger, "psid-1")
		if err != nil || !created || o.Visitor.ID == p.Visitor.ID {
			t.Errorf("same id in another workspace: created %v, err %v", created, err)
		}

		if err := db.SetChannelProfile(ctx, p.Visitor.ID, new("Peter Parker"), at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetChannelProfile(ctx, p.Visitor.ID, nil, at(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := db.ChannelPerson(ctx, w.ID, p.Visitor.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "profile name kept by a lookup that found none", got.Visitor.Name, new("Peter Parker"))
		check(t, "profile checked at", got.ProfileCheckedAt, new(stored(at(2*time.Minute))))
		if _, err := db.ChannelPerson(ctx, other.ID, p.Visitor.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("person seen from another workspace: %v", err)
		}
		web := newVisitor(t, db, w.ID, nil)
		if _, err := db.ChannelPerson(ctx, w.ID, web.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("website visitor as a channel person: %v", err)
		}

		conv := model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Visitor: p.Visitor, Status: "open",
			Channel: model.ChannelMessenger, CreatedAt: base, LastMessageAt: base}
		c1, created, err := db.EnsureChannelConversation(ctx, conv)
		if err != nil || !created || c1.ID != conv.ID || c1.Channel != model.ChannelMessenger {
			t.Fatalf("first conversation: %+v created %v err %v", c1, created, err)
		}
		conv.ID = model.NewID()
		c2, created, err := db.EnsureChannelConversation(ctx, conv)
		if err != nil || created || c2.ID != c1.ID {
			t.Errorf("second conversation of the same person: id %s (want %s) created %v err %v", c2.ID, c1.ID, created, err)
		}
	})
}

// channelConversation makes a Messenger person and conversation.
func channelConversation(t *testing.T, db *store.DB, workspaceID, psid string) model.Conversation {
	t.Helper()
	p, _, err := db.EnsureChannelVisitor(t.Context(), model.Visitor{ID: model.NewID(), WorkspaceID: workspaceID,
		EmailStatus: model.EmailOK, CreatedAt: base}, model.ChannelMessenger, psid)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := db.EnsureChannelConversation(t.Context(), model.Conversation{ID: model.NewID(), WorkspaceID: workspaceID,
		Visitor: p.Visitor, Status: "open", Channel: model.ChannelMessenger, CreatedAt: base, LastMessageAt: base})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func channelMessage(c model.Conversation, author string, created time.Time, d *model.ChannelDelivery) model.Message {
	m := model.Message{ID: model.NewID(), WorkspaceID: c.WorkspaceID, ConversationID: c.ID,
		Author: model.Author{Kind: author}, Kind: model.KindReply, Channel: model.ChannelMessenger, Body: "hi", CreatedAt: created, Delivery: d}
	if author == model.AuthorAgent {
		m.Author.ID, m.Author.Name, m.Channel = new("agent-1"), new("Ann"), model.MsgChannelDashboard
	}
	return m
}

func TestChannelMessages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		c := channelConversation(t, db, w.ID, "psid-1")

		in := channelMessage(c, model.AuthorVisitor, at(time.Minute), &model.ChannelDelivery{MessageID: "m_in1", Payload: "SIZE_M"})
		if err := db.CreateChannelMessage(ctx, in); err != nil {
			t.Fatal(err)
		}
		dup := channelMessage(c, model.AuthorVisitor, at(time.Minute), &model.ChannelDelivery{MessageID: "m_in1"})
		if err := db.CreateChannelMessage(ctx, dup); !errors.Is(err, store.ErrDuplicate) {
			t.Fatalf("same mid twice: err = %v, want ErrDuplicate", err)
		}
		got, err := db.MessageByChannelID(ctx, w.ID, "m_in1")
		if err != nil {
			t.Fatal(err)
		}
		check(t, "inbound delivery", got.Delivery, &model.ChannelDelivery{MessageID: "m_in1", Payload: "SIZE_M"})
		if last, err := db.LastInboundAt(ctx, c.ID); err != nil || last == nil || !last.Equal(stored(at(time.Minute))) {
			t.Errorf("last inbound = %v, %v", last, err)
		}

		// An agent reply goes queued → (claimed) → sent, and never back.
		reply := channelMessage(c, model.AuthorAgent, at(2*time.Minute), nil)
		if err := db.CreateMessage(ctx, reply); err != nil {
			t.Fatal(err)
		}
		unsent, err := db.UnsentChannelReplies(ctx, base)
		if err != nil || len(unsent) != 1 || unsent[0].ID != reply.ID {
			t.Fatalf("unsent replies = %v, %v; want the reply", unsent, err)
		}
		next := at(2 * time.Minute)
		if ok, err := db.SetChannelDelivery(ctx, w.ID, reply.ID, model.ChannelReplyUpdate{Status: model.DeliveryQueued, NextTry: &next}); err != nil || !ok {
			t.Fatalf("queue: %v %v", ok, err)
		}
		if unsent, _ := db.UnsentChannelReplies(ctx, base); len(unsent) != 0 {
			t.Errorf("queued reply still listed as unsent")
		}
		if due, err := db.NextChannelReplyDue(ctx); err != nil || due == nil || !due.Equal(stored(next)) {
			t.Errorf("next due = %v, %v", due, err)
		}
		if claimed, err := db.ClaimChannelReplies(ctx, at(time.Minute), time.Minute, 10); err != nil || len(claimed) != 0 {
			t.Errorf("claimed before its time: %v %v", claimed, err)
		}
		claimed, err := db.ClaimChannelReplies(ctx, at(3*time.Minute), time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if d := claimed[0].Delivery; d == nil || d.Status != model.DeliveryQueued || d.Attempts != 1 {
			t.Errorf("claimed delivery: %+v", d)
		}
		if again, _ := db.ClaimChannelReplies(ctx, at(3*time.Minute), time.Minute, 10); len(again) != 0 {
			t.Errorf("claimed twice within the lease")
		}
		sentAt := at(3 * time.Minute)
		if ok, err := db.SetChannelDelivery(ctx, w.ID, reply.ID, model.ChannelReplyUpdate{Status: model.DeliverySent, MessageID: "m_out1", SentAt: &sentAt}); err != nil || !ok {
			t.Fatalf("sent: %v %v", ok, err)
		}
		if ok, err := db.SetChannelDelivery(ctx, w.ID, reply.ID, model.ChannelReplyUpdate{Status: model.DeliveryFailed, Error: "late"}); err != nil || ok {
			t.Errorf("a sent reply moved to failed: %v %v", ok, err)
		}
		got, err = db.ChannelMessage(ctx, w.ID, reply.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "sent delivery", got.Delivery, &model.ChannelDelivery{Status: model.DeliverySent, Attempts: 1, SentAt: new(stored(sentAt)), MessageID: "m_out1"})

		// The Messages list gets the channel side.
		msgs, err := db.Messages(ctx, w.ID, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[0].Delivery == nil || msgs[0].Delivery.Payload != "SIZE_M" || msgs[1].Delivery == nil || msgs[1].Delivery.Status != model.DeliverySent {
			t.Errorf("deliveries of the list: %s", dump(reflect.ValueOf(msgs)))
		}

		// A failed reply keeps its error.
		failed := channelMessage(c, model.AuthorAgent, at(4*time.Minute), &model.ChannelDelivery{Status: model.DeliveryFailed, Error: "window closed"})
		if err := db.CreateChannelMessage(ctx, failed); err != nil {
			t.Fatal(err)
		}
		got, _ = db.ChannelMessage(ctx, w.ID, failed.ID)
		check(t, "failed delivery", got.Delivery, &model.ChannelDelivery{Status: model.DeliveryFailed, Error: "window closed"})
	})
}

func TestChannelReceipts(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		c := channelConversation(t, db, w.ID, "psid-1")
		send := func(mid string, sent time.Time) model.Message {
			m := channelMessage(c, model.AuthorAgent, sent, &model.ChannelDelivery{Status: model.DeliverySent, MessageID: mid, SentAt: &sent})
			if err := db.CreateChannelMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		r1 := send("m_1", at(time.Minute))
		r2 := send("m_2", at(2*time.Minute))
		r3 := send("m_3", at(3*time.Minute))
		failed := channelMessage(c, model.AuthorAgent, at(90*time.Second), &model.ChannelDelivery{Status: model.DeliveryFailed, Error: "no"})
		if err := db.CreateChannelMessage(ctx, failed); err != nil {
			t.Fatal(err)
		}

		ids, err := db.MarkChannelDelivered(ctx, c.ID, []string{"m_2"}, new(at(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		check(t, "delivered", ids, []string{r1.ID, r2.ID})

		ids, err = db.MarkChannelRead(ctx, c.ID, at(2*time.Minute), at(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		check(t, "read up to the watermark (a failed reply is never read)", ids, []string{r1.ID, r2.ID})
		again, err := db.MarkChannelRead(ctx, c.ID, at(2*time.Minute), at(6*time.Minute))
		if err != nil || len(again) != 0 {
			t.Errorf("second read receipt stamped %v, %v", again, err)
		}
		got, _ := db.ChannelMessage(ctx, w.ID, r2.ID)
		check(t, "read_by_visitor_at", got.ReadByVisitorAt, new(stored(at(5*time.Minute))))
		if got, _ := db.ChannelMessage(ctx, w.ID, r3.ID); got.ReadByVisitorAt != nil {
			t.Errorf("reply after the watermark marked read")
		}
		if got, _ := db.ChannelMessage(ctx, w.ID, failed.ID); got.ReadByVisitorAt != nil {
			t.Errorf("failed reply marked read")
		}
		cv, err := db.Conversation(ctx, w.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "read cursor", cv.VisitorReadID, new(r2.ID))
	})
}

func TestChannelEvents(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		var evs []store.ChannelEvent
		for i := range 3 {
			evs = append(evs, store.ChannelEvent{ID: model.NewID(), WorkspaceID: w.ID, Object: "page",
				Payload: []byte(`{"n":` + string(rune('0'+i)) + `}`), NextAttemptAt: base, ReceivedAt: base})
		}
		if err := db.InTx(ctx, func(tx *store.Store) error { return tx.CreateChannelEvents(ctx, evs) }); err != nil {
			t.Fatal(err)
		}
		if due, err := db.NextChannelEventDue(ctx); err != nil || due == nil || !due.Equal(stored(base)) {
			t.Errorf("next due = %v, %v", due, err)
		}
		claimed, err := db.ClaimChannelEvents(ctx, at(time.Second), time.Minute, 2)
		if err != nil || len(claimed) != 2 {
			t.Fatalf("claim: %d, %v", len(claimed), err)
		}
		if claimed[0].ID != evs[0].ID || claimed[1].ID != evs[1].ID || string(claimed[0].Payload) != `{"n":0}` || claimed[0].Attempts != 1 {
			t.Errorf("claimed out of order or altered: %+v", claimed)
		}
		if err := db.FinishChannelEvent(ctx, evs[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := db.RetryChannelEvent(ctx, evs[1].ID, at(time.Hour), "db busy", false); err != nil {
			t.Fatal(err)
		}
		rest, err := db.ClaimChannelEvents(ctx, at(time.Second), time.Minute, 10)
		if err != nil || len(rest) != 1 || rest[0].ID != evs[2].ID {
			t.Fatalf("claim the rest: %+v, %v", rest, err)
		}
		if err := db.RetryChannelEvent(ctx, evs[2].ID, at(time.Second), "malformed", true); err != nil {
			t.Fatal(err)
		}
		left, err := db.ChannelEvents(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) != 2 || left[0].Status != "pending" || left[0].LastError != "db busy" || left[1].Status != "failed" {
			t.Errorf("events left: %+v", left)
		}
		if got, _ := db.ClaimChannelEvents(ctx, at(2*time.Hour), time.Minute, 10); len(got) != 1 || got[0].ID != evs[1].ID {
			t.Errorf("a failed event was claimed again, or the retried one was not: %+v", got)
		}
		// Start-up of a single node makes in-flight events due again.
		if err := db.ReleaseChannelLeases(ctx, at(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
	})
}
