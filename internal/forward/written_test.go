package forward_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestConversationWritten: a conversation told with the write that
// changed it is not read again on SQLite, whose writer commits in the
// order it tells, nor its workspace when the write told it too; it is read
// when another change asked for a read, and always on PostgreSQL. What the
// evaluation decides does not change: an anonymous visitor's conversation
// stays settled, and one that is due is emailed.
func TestConversationWritten(t *testing.T) {
	for _, dialect := range []struct {
		name string
		d    store.Dialect
	}{{"sqlite", store.SQLite}, {"postgres", store.Postgres}} {
		t.Run(dialect.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDialect(t, dialect.d)
			e := newEngineWith(db, nil)
			anon := anonymousConversation(t, db)
			e.ConversationChanged(ctx, anon.ID)
			if err := e.DrainChanges(ctx); err != nil {
				t.Fatal(err)
			}
			written := func() model.Conversation {
				t.Helper()
				c, err := db.ConversationByID(ctx, anon.ID)
				if err != nil {
					t.Fatal(err)
				}
				if c.Forwarding == nil || c.Forwarding.Code != string(forward.CodeNotIdentified) {
					t.Fatalf("decision %+v, want %s", c.Forwarding, forward.CodeNotIdentified)
				}
				return c
			}
			// cost counts what one round of changes, told of c, reads and
			// writes.
			cost := func(c model.Conversation, tell func(c model.Conversation)) int64 {
				t.Helper()
				before, _ := db.Counts()
				tell(c)
				if err := e.DrainChanges(ctx); err != nil {
					t.Fatal(err)
				}
				after, _ := db.Counts()
				return after - before
			}
			statements := func(tell func(c model.Conversation)) int64 {
				t.Helper()
				n := cost(written(), tell)
				written() // still settled as it was
				return n
			}
			changed := statements(func(model.Conversation) { e.ConversationChanged(ctx, anon.ID) })
			saved := int64(0) // the conversation's read, and the workspace's when it was told
			if dialect.d == store.SQLite {
				saved = 1
			}
			ws, err := db.Workspace(ctx, anon.WorkspaceID)
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name string
				tell func(c model.Conversation)
				want int64
			}{
				{"written", func(c model.Conversation) { e.ConversationWritten(c, nil) }, changed - saved},
				{"written with its workspace", func(c model.Conversation) { e.ConversationWritten(c, &ws) }, changed - 2*saved},
				{"changed, then written: read", func(c model.Conversation) {
					e.ConversationChanged(ctx, c.ID)
					e.ConversationWritten(c, nil)
				}, changed},
				{"written, then changed: read", func(c model.Conversation) {
					e.ConversationWritten(c, nil)
					e.ConversationChanged(ctx, c.ID)
				}, changed},
				{"written, then its visitor changed: read", func(c model.Conversation) {
					e.ConversationWritten(c, nil)
					e.VisitorChanged(ctx, c.Visitor.ID)
				}, changed + 1}, // + listing the visitor's conversations
			}
			for _, tt := range tests {
				if got := statements(tt.tell); got != tt.want {
					t.Errorf("%s: %d statements, want %d (a change alone: %d)", tt.name, got, tt.want, changed)
				}
			}

			// Before its first decision a conversation is read, as after
			// any change: its evaluation takes the writer anyway.
			first := func(tell func(c model.Conversation)) int64 {
				t.Helper()
				return cost(anonymousConversation(t, db), tell)
			}
			if got, want := first(func(c model.Conversation) { e.ConversationWritten(c, &ws) }),
				first(func(c model.Conversation) { e.ConversationChanged(ctx, c.ID) }); got != want {
				t.Errorf("written before its first decision: %d statements, want %d (a change's)", got, want)
			}

			// A conversation that can be emailed, due since its visitor
			// left an hour ago, is evaluated and emailed as after any
			// change.
			due := dueConversation(t, db)
			c, err := db.ConversationByID(ctx, due.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.ConversationWritten(c, nil)
			if err := e.DrainChanges(ctx); err != nil {
				t.Fatal(err)
			}
			queued, err := db.ClaimEmails(ctx, "test", time.Now().Add(time.Hour), time.Minute, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(queued) != 1 || queued[0].ConversationID != due.ID {
				t.Fatalf("%d emails queued after a due conversation was told written, want 1 of it", len(queued))
			}
		})
	}
}

// TestSettledRoundKeepsTheSchedule: a round whose changes all settled as
// they were (replies to an anonymous visitor) moved no due time, and does
// not read the schedule again; the schedule is read once MaxIdle passed
// since the last look (other nodes' changes), and after a round that
// evaluated.
func TestSettledRoundKeepsTheSchedule(t *testing.T) {
	ctx := context.Background()
	db := forward.MigratedDB(t)
	var passed time.Duration
	const maxIdle = 5 * time.Second
	e := newEngineWith(db, func(o *forward.EngineOptions) {
		o.MaxIdle, o.Now = maxIdle, func() time.Time { return time.Now().Add(passed) }
	})
	anon := anonymousConversation(t, db)
	inAnHour := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	other := anonymousConversation(t, db)
	if err := db.SetForwardState(ctx, other.ID, model.Forwarding{DueAt: &inAnHour, Code: "waiting"}); err != nil {
		t.Fatal(err)
	}
	e.ConversationChanged(ctx, anon.ID)
	if err := e.Round(ctx); err != nil { // records anon's decision, reads the schedule
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		tell       func(c model.Conversation)
		wait       time.Duration
		statements int64 // 1: the workspace; 2: and the schedule
	}{
		{"written, settled", func(c model.Conversation) { e.ConversationWritten(c, nil) }, 0, 1},
		{"written, settled, a second later", func(c model.Conversation) { e.ConversationWritten(c, nil) }, time.Second, 1},
		{"written, settled, MaxIdle after the last look", func(c model.Conversation) { e.ConversationWritten(c, nil) }, maxIdle, 2},
		{"written, settled again", func(c model.Conversation) { e.ConversationWritten(c, nil) }, 0, 1},
		{"changed: read, settled", func(c model.Conversation) { e.ConversationChanged(ctx, c.ID) }, 0, 2},
	}
	for _, tt := range tests {
		c, err := db.ConversationByID(ctx, anon.ID)
		if err != nil {
			t.Fatal(err)
		}
		passed += tt.wait
		before, _ := db.Counts()
		tt.tell(c)
		if err := e.Round(ctx); err != nil {
			t.Fatal(err)
		}
		next, err := e.NextDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := db.Counts()
		if got := after - before; got != tt.statements {
			t.Errorf("%s: %d statements, want %d", tt.name, got, tt.statements)
		}
		if next == nil || !next.Equal(inAnHour) {
			t.Errorf("%s: next due %v, want %v", tt.name, next, inAnHour)
		}
	}
}

// anonymousConversation stores a conversation of a visitor without an
// address, online, with an agent's reply.
func anonymousConversation(t *testing.T, db *store.DB) model.Conversation {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return conversationWithReply(t, db, nil, model.Visitor{Online: true, LastActiveAt: &now})
}

// dueConversation stores a conversation whose visitor has an address and
// left an hour ago, and whose agents went away then, with an agent's reply
// of then: its email is due.
func dueConversation(t *testing.T, db *store.DB) model.Conversation {
	left := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	email := "vera@example.com"
	return conversationWithReply(t, db, &left, model.Visitor{Email: &email, LeftAt: &left, LastActiveAt: &left})
}

// conversationWithReply stores a workspace (whose agents are unavailable
// since away, when set), v in it, a conversation of v's and an agent's
// reply in it.
func conversationWithReply(t *testing.T, db *store.DB, away *time.Time, v model.Visitor) model.Conversation {
	t.Helper()
	return conversationWithReplyAs(t, db, away, v, nil)
}

// conversationWithReplyAs is conversationWithReply with the workspace and
// the conversation as adjust leaves them (nil: as they are).
func conversationWithReplyAs(t *testing.T, db *store.DB, away *time.Time, v model.Visitor, adjust func(w *model.Workspace, c *model.Conversation)) model.Conversation {
	t.Helper()
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Microsecond)
	if away != nil {
		at = *away
	}
	w := model.Workspace{ID: model.NewID(), Name: "Shop", SiteKey: model.NewID(), TimeZone: "UTC",
		Settings: model.DefaultSettings(), AgentsUnavailableSince: away, CreatedAt: at}
	v.ID, v.WorkspaceID, v.EmailStatus, v.CreatedAt = model.NewID(), w.ID, model.EmailOK, at
	c := model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Visitor: v, Status: "open",
		Channel: model.ChannelWebsite, CreatedAt: at, LastMessageAt: at}
	if adjust != nil {
		adjust(&w, &c)
	}
	for _, err := range []error{db.CreateWorkspace(ctx, w), db.CreateVisitor(ctx, v), db.CreateConversation(ctx, c)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	name := "Ann"
	m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
		Author: model.Author{Kind: model.AuthorAgent, Name: &name}, Kind: model.KindReply, Channel: "dashboard",
		Body: "Your order shipped today.", CreatedAt: at}
	if err := db.CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSettledIsTheEngines: the forwarding state a change's own
// transaction records for a conversation that cannot be emailed
// (forward.Settled) is the one the engine records for it, and a
// conversation that may be emailed is left to the engine.
func TestSettledIsTheEngines(t *testing.T) {
	ctx := context.Background()
	db := forward.MigratedDB(t)
	e := newEngineWith(db, nil)
	now := time.Now().UTC().Truncate(time.Microsecond)
	email := "vera@example.com"
	anonymous := model.Visitor{Online: true, LastActiveAt: &now}
	identified := model.Visitor{Email: &email, Online: true, LastActiveAt: &now}
	tests := []struct {
		name        string
		v           model.Visitor
		adjust      func(w *model.Workspace, c *model.Conversation)
		unsubscribe bool         // the visitor's address, once stored
		code        forward.Code // "": left to the engine
	}{
		{"an anonymous visitor", anonymous, nil, false, forward.CodeNotIdentified},
		{"forwarding off", anonymous, func(w *model.Workspace, _ *model.Conversation) {
			w.Settings.EmailForwarding = model.ForwardOff
		}, false, forward.CodeOff},
		{"a Messenger conversation", anonymous, func(_ *model.Workspace, c *model.Conversation) {
			c.Channel = model.ChannelMessenger
		}, false, forward.CodeOtherChannel},
		{"an identified visitor", identified, nil, false, ""},
		{"an identified visitor who unsubscribed", identified, nil, true, forward.CodeUnsubscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored := conversationWithReplyAs(t, db, nil, tt.v, tt.adjust)
			if tt.unsubscribe {
				if _, err := db.StopEmailAddress(ctx, stored.WorkspaceID, email, model.EmailUnsubscribed, "link", "", now); err != nil {
					t.Fatal(err)
				}
			}
			before, err := db.ConversationByID(ctx, stored.ID)
			if err != nil {
				t.Fatal(err)
			}
			w, err := db.Workspace(ctx, before.WorkspaceID)
			if err != nil {
				t.Fatal(err)
			}
			settled, ok := forward.Settled(before, w)
			if ok != (tt.code != "") || settled.Code != string(tt.code) {
				t.Fatalf("Settled = %+v, %v; want code %q", settled, ok, tt.code)
			}
			e.ConversationChanged(ctx, stored.ID)
			if err := e.DrainChanges(ctx); err != nil {
				t.Fatal(err)
			}
			after, err := db.ConversationByID(ctx, stored.ID)
			if err != nil {
				t.Fatal(err)
			}
			if after.Forwarding == nil {
				t.Fatal("the engine recorded no decision")
			}
			if ok && (*after.Forwarding != settled) {
				t.Errorf("the engine recorded %+v, Settled says %+v", *after.Forwarding, settled)
			}
		})
	}
}

// A due email is drafted outside its transaction only on SQLite, whose one
// writer composing inside it would hold; on PostgreSQL it is composed in
// the transaction, and queued all the same.
func TestDraftsOnlyOnSQLite(t *testing.T) {
	for _, tt := range []struct {
		name    string
		dialect store.Dialect
		drafted bool
	}{{"sqlite", store.SQLite, true}, {"postgres", store.Postgres, false}} {
		t.Run(tt.name, func(t *testing.T) {
			drafted, queued := forward.DraftAndQueue(t, openDialect(t, tt.dialect))
			if drafted != tt.drafted || queued != 1 {
				t.Errorf("drafted %v, %d emails queued; want drafted %v, one queued", drafted, queued, tt.drafted)
			}
		})
	}
}

// openDialect opens a migrated database of the dialect: a file of the
// test's, or a PostgreSQL database of its own (apptest.Postgres).
func openDialect(t *testing.T, dialect store.Dialect) *store.DB {
	if dialect == store.Postgres {
		return forward.MigratedDBAt(t, apptest.Postgres(t))
	}
	return forward.MigratedDB(t)
}
