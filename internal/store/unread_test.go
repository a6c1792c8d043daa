package store_test

import (
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestCountUnreadConversations: an open conversation counts while a
// visitor message is newer than the agents' read cursor, whatever came
// after it.
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

		if err := db.SetConversationStatus(ctx, ws.ID, b.ID, "closed", base); err != nil {
			t.Fatal(err)
		}
		count(1) // closed: no longer counted, though unread
	})
}

// TestCountWaiting: an open conversation waits while no agent replied
// after the visitor's newest message; reading it or writing a note is no
// answer, and a closed conversation waits for nothing.
func TestCountWaiting(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		ws := newWorkspace(t, db, "Acme", base)
		a := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		b := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		other := newWorkspace(t, db, "Other", base)
		elsewhere := newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base)
		newMessage(t, db, elsewhere, model.AuthorVisitor, model.KindReply, "x")
		steps := []struct {
			name string
			do   func() error
			want int
		}{
			{"nobody wrote", func() error { return nil }, 0},
			{"an agent wrote first", func() error { newMessage(t, db, a, model.AuthorAgent, model.KindReply, "hello"); return nil }, 0},
			{"both visitors wrote", func() error {
				newMessage(t, db, a, model.AuthorVisitor, model.KindReply, "hi")
				newMessage(t, db, b, model.AuthorVisitor, model.KindReply, "hi")
				return nil
			}, 2},
			{"an agent read a", func() error {
				got, err := db.Conversation(ctx, ws.ID, a.ID)
				if err != nil {
					return err
				}
				return db.SetAgentRead(ctx, ws.ID, a.ID, got.ActivityID)
			}, 2},
			{"a note in a", func() error { newMessage(t, db, a, model.AuthorAgent, model.KindComment, "note"); return nil }, 2},
			{"a reply in a", func() error { newMessage(t, db, a, model.AuthorAgent, model.KindReply, "answer"); return nil }, 1},
			{"the visitor of a wrote again", func() error { newMessage(t, db, a, model.AuthorVisitor, model.KindReply, "thanks, and…"); return nil }, 2},
			{"b closed", func() error { return db.SetConversationStatus(ctx, ws.ID, b.ID, "closed", base) }, 1},
		}
		for _, st := range steps {
			if err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			n, err := db.CountWaiting(ctx, ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, st.name+": waiting", n, st.want)
			// The list's marker agrees, conversation by conversation, and
			// another workspace's conversation (waiting) is not this
			// workspace's to mark.
			w, err := db.Waiting(ctx, ws.ID, []string{a.ID, b.ID, elsewhere.ID})
			if err != nil {
				t.Fatal(err)
			}
			check(t, st.name+": waiting of the list", len(w), st.want)
			if w, err = db.Waiting(ctx, other.ID, []string{a.ID, b.ID}); err != nil || len(w) != 0 {
				t.Errorf("%s: another workspace's list marks %v (%v), want none", st.name, w, err)
			}
		}
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
		state := func(step, wantActivity string, wantUnread int) {
			t.Helper()
			got, err := db.Conversation(ctx, ws.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step+": activity", got.ActivityID, wantActivity)
			n, err := db.CountUnreadConversations(ctx, ws.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step+": unread", n, wantUnread)
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
