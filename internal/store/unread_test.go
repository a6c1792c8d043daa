package store_test

import (
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestCountUnreadConversations: a conversation counts while a visitor
// message is newer than the agents' read cursor, whatever came after it;
// it is waiting while it is also open.
func TestCountUnreadConversations(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ws := newWorkspace(t, db, "Acme", base)
		count := func(want int) {
			t.Helper()
			n, err := db.CountUnreadConversations(ctx, ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "unread conversations", n, want)
		}
		a := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		b := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		count(0)
		newMessage(t, db, a, model.AuthorAgent, model.KindReply, "hello")
		count(0) // an agent's message is nobody's unread
		va := newMessage(t, db, a, model.AuthorVisitor, model.KindReply, "hi")
		newMessage(t, db, b, model.AuthorVisitor, model.KindReply, "hi")
		count(2)
		last := newMessage(t, db, a, model.AuthorAgent, model.KindComment, "note")
		if err := db.SetAgentRead(ctx, ws.ID, a.ID, va.ID); err != nil {
			t.Fatal(err)
		}
		count(1)
		newMessage(t, db, a, model.AuthorVisitor, model.KindReply, "still there?")
		count(2)
		if err := db.SetAgentRead(ctx, ws.ID, a.ID, last.ID); err != nil {
			t.Fatal(err)
		}
		count(2) // read up to a message older than the visitor's newest
		// Another workspace's conversations are not counted.
		other := newWorkspace(t, db, "Other", base)
		newMessage(t, db, newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base), model.AuthorVisitor, model.KindReply, "x")
		count(2)

		// Waiting: the unread ones that are open.
		waiting := func(want int) {
			t.Helper()
			n, err := db.CountWaiting(ctx, ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "waiting conversations", n, want)
		}
		waiting(2)
		if err := db.SetConversationStatus(ctx, ws.ID, b.ID, "closed", base); err != nil {
			t.Fatal(err)
		}
		waiting(1)
		count(2)
	})
}

// A message stored after a newer one (an older id arriving late) moves
// neither the conversation's activity nor its newest visitor message
// backwards; a visitor's newer message moves both.
func TestActivityNeverMovesBack(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ws := newWorkspace(t, db, "Acme", base)
		c := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		older, newer := model.NewID(), model.NewID()
		write := func(id, author string) {
			t.Helper()
			m := model.Message{ID: id, WorkspaceID: ws.ID, ConversationID: c.ID, Author: model.Author{Kind: author},
				Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: "x", CreatedAt: base}
			if author == model.AuthorAgent {
				m.Author.ID, m.Author.Name, m.Channel = new(model.NewID()), new("Ann"), model.MsgChannelDashboard
			}
			if err := db.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		state := func(step, wantActivity string, wantWaiting int) {
			t.Helper()
			got, err := db.Conversation(ctx, ws.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step+": activity", got.ActivityID, wantActivity)
			n, err := db.CountWaiting(ctx, ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step+": waiting", n, wantWaiting)
		}
		write(newer, model.AuthorVisitor)
		state("the newer visitor message", newer, 1)
		if err := db.SetAgentRead(ctx, ws.ID, c.ID, newer); err != nil {
			t.Fatal(err)
		}
		state("read", newer, 0)
		write(older, model.AuthorVisitor) // late: neither cursor moves back
		state("an older visitor message late", newer, 0)
		newest := model.NewID()
		write(newest, model.AuthorVisitor)
		state("a newer visitor message", newest, 1)
		reply := model.NewID()
		write(reply, model.AuthorAgent)
		state("an agent's reply", reply, 1)
	})
}
