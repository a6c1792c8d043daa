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
