package store_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestConversationGet(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, Name: new("Ann"), Email: new("ann@example.com"),
			EmailStatus: model.EmailOK, Online: true, LastActiveAt: new(at(time.Minute)), CreatedAt: at(0)}
		if err := db.CreateVisitor(ctx, v); err != nil {
			t.Fatal(err)
		}
		c := model.Conversation{
			ID:            model.NewID(),
			WorkspaceID:   w.ID,
			Status:        "open",
			Channel:       model.ChannelWebsite,
			Visitor:       v,
			CreatedAt:     at(time.Minute),
			LastMessageAt: at(2 * time.Minute),
		}
		if err := db.CreateConversation(ctx, c); err != nil {
			t.Fatalf("CreateConversation: %v", err)
		}
		want := c
		want.ActivityID = c.ID // no message yet: its own id
		want.CreatedAt = stored(c.CreatedAt)
		want.LastMessageAt = stored(c.LastMessageAt)
		want.Visitor.CreatedAt = stored(v.CreatedAt)
		want.Visitor.LastActiveAt = storedPtr(v.LastActiveAt)

		for _, tc := range []struct {
			name                string
			workspaceID, convID string
			wantErr             error
		}{
			{"own workspace", w.ID, c.ID, nil},
			{"other workspace", other.ID, c.ID, store.ErrNotFound},
			{"unknown id", w.ID, model.NewID(), store.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.Conversation(ctx, tc.workspaceID, tc.convID)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				check(t, "conversation", got, want)
			})
		}
	})
}

func TestConversationList(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, at(time.Hour)) // never listed

		empty, err := db.Conversations(ctx, w.ID, "all", 50)
		if err != nil {
			t.Fatal(err)
		}
		if empty == nil || len(empty) != 0 {
			t.Fatalf("Conversations of an empty workspace = %#v, want an empty, non-nil list", empty)
		}

		v := newVisitor(t, db, w.ID, nil)
		conv := func(status string) model.Conversation {
			t.Helper()
			c := newConversation(t, db, v, model.ChannelWebsite, at(0))
			if status != "open" {
				if err := db.SetConversationStatus(ctx, w.ID, c.ID, status, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			return c
		}
		// Created in this order; the newest message decides the listing.
		var (
			openOld     = conv("open")
			closedNew   = conv("closed")
			openNewest  = conv("open")
			closedOld   = conv("closed")
			openTieLow  = conv("open")
			openTieHigh = conv("open")
			untouched   = conv("open") // no message: listed by its creation
		)
		for _, c := range []model.Conversation{openOld, closedOld, openTieLow, openTieHigh, closedNew, openNewest} {
			newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "hello")
		}
		for _, tc := range []struct {
			status string
			limit  int
			want   []model.Conversation
		}{
			{"all", 50, []model.Conversation{openNewest, closedNew, openTieHigh, openTieLow, closedOld, openOld, untouched}},
			{"open", 50, []model.Conversation{openNewest, openTieHigh, openTieLow, openOld, untouched}},
			{"closed", 50, []model.Conversation{closedNew, closedOld}},
			{"all", 3, []model.Conversation{openNewest, closedNew, openTieHigh}},
			{"open", 1, []model.Conversation{openNewest}},
		} {
			t.Run(tc.status, func(t *testing.T) {
				got, err := db.Conversations(ctx, w.ID, tc.status, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "listed ids", conversationIDs(got), conversationIDs(tc.want))
			})
		}

		t.Run("ids", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				list func() ([]string, error)
				want []model.Conversation
			}{
				{"open ids", func() ([]string, error) { return db.OpenConversationIDs(ctx, w.ID) },
					[]model.Conversation{openOld, openNewest, openTieLow, openTieHigh, untouched}},
				{"open ids of another workspace", func() ([]string, error) { return db.OpenConversationIDs(ctx, newWorkspace(t, db, "Empty", base).ID) }, nil},
				{"ids of the visitor", func() ([]string, error) { return db.ConversationIDsOfVisitors(ctx, []string{v.ID}) },
					[]model.Conversation{openOld, closedNew, openNewest, closedOld, openTieLow, openTieHigh, untouched}},
				{"ids of a visitor without conversations", func() ([]string, error) {
					return db.ConversationIDsOfVisitors(ctx, []string{newVisitor(t, db, w.ID, nil).ID})
				}, nil},
				{"ids of no visitor", func() ([]string, error) { return db.ConversationIDsOfVisitors(ctx, nil) }, nil},
				{"ids of the visitor among others without conversations", func() ([]string, error) {
					return db.ConversationIDsOfVisitors(ctx, []string{newVisitor(t, db, w.ID, nil).ID, v.ID, model.NewID()})
				}, []model.Conversation{openOld, closedNew, openNewest, closedOld, openTieLow, openTieHigh, untouched}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					got, err := tc.list()
					if err != nil {
						t.Fatal(err)
					}
					slices.Sort(got)
					want := conversationIDs(tc.want)
					slices.Sort(want)
					if len(got) == 0 && len(want) == 0 {
						return
					}
					check(t, "ids", got, want)
				})
			}
		})
	})
}

// conversationIDs returns the ids of conversations, in order.
func conversationIDs(cs []model.Conversation) []string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

// MessageTarget reads the conversation and its workspace as Conversation
// and Workspace do, and whether its own workspace has a webhook.
func TestMessageTarget(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, other, c := conversationBesideOther(t, db)
		hook := func(ws model.Workspace) {
			t.Helper()
			if err := db.CreateWebhook(ctx, store.Webhook{ID: model.NewID(), WorkspaceID: ws.ID, URL: "https://hooks.example.com/",
				Events: []string{"message.created"}, Secret: "s", CreatedAt: base}); err != nil {
				t.Fatal(err)
			}
		}
		read := func(step string, wantAssigned, wantHooks bool) {
			t.Helper()
			target, err := db.MessageTarget(ctx, w.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			full, err := db.Conversation(ctx, w.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			ws, err := db.Workspace(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step+": conversation", target.Conversation, full)
			check(t, step+": workspace", target.Workspace, ws)
			check(t, step+": assigned", target.Conversation.Assignee != nil, wantAssigned)
			check(t, step+": webhooks", target.Webhooks, wantHooks)
		}
		read("no webhook", false, false)
		hook(other)
		read("a webhook of another workspace", false, false)
		hook(w)
		read("a webhook of its workspace", false, true)
		ann := newAgent(t, db, w.ID, "online", nil).ID
		if err := db.SetAssignee(ctx, w.ID, c.ID, &ann); err != nil {
			t.Fatal(err)
		}
		read("assigned", true, true)
		if _, err := db.MessageTarget(ctx, other.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read from another workspace: err = %v, want ErrNotFound", err)
		}
	})
}

// The conversations of more visitors than one query takes are all listed.
func TestConversationIDsOfManyVisitors(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		var visitors, want []string
		for i := range 70 {
			v := newVisitor(t, db, w.ID, nil)
			visitors = append(visitors, v.ID)
			if i%10 != 0 { // some have none
				want = append(want, newConversation(t, db, v, model.ChannelWebsite, at(time.Duration(i)*time.Minute)).ID)
			}
		}
		got, err := db.ConversationIDsOfVisitors(ctx, visitors)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		check(t, "ids", got, want)
	})
}

func TestConversationStatus(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)

		t.Run("SetConversationStatus", func(t *testing.T) {
			for _, tc := range []struct {
				name        string
				workspaceID string
				unknown     bool
				status      string
				wantErr     error
				wantStatus  string
			}{
				{"close", w.ID, false, "closed", nil, "closed"},
				{"open an open one", w.ID, false, "open", nil, "open"},
				{"other workspace", other.ID, false, "closed", store.ErrNotFound, "open"},
				{"unknown conversation", w.ID, true, "closed", store.ErrNotFound, "open"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
					id := c.ID
					if tc.unknown {
						id = model.NewID()
					}
					err := db.SetConversationStatus(ctx, tc.workspaceID, id, tc.status, time.Now())
					if tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					got, err := db.Conversation(ctx, w.ID, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					check(t, "status", got.Status, tc.wantStatus)
				})
			}
		})

		t.Run("TouchConversation", func(t *testing.T) {
			for _, tc := range []struct {
				name       string
				status     string
				reopen     bool
				wantStatus string
			}{
				{"open stays open", "open", false, "open"},
				{"closed stays closed", "closed", false, "closed"},
				{"closed reopens", "closed", true, "open"},
				{"open with reopen", "open", true, "open"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
					if err := db.SetConversationStatus(ctx, w.ID, c.ID, tc.status, time.Now()); err != nil {
						t.Fatal(err)
					}
					if err := db.TouchConversation(ctx, c.ID, at(time.Hour), tc.reopen); err != nil {
						t.Fatalf("TouchConversation: %v", err)
					}
					got, err := db.Conversation(ctx, w.ID, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					check(t, "status", got.Status, tc.wantStatus)
					check(t, "last_message_at", got.LastMessageAt, stored(at(time.Hour)))
				})
			}
		})
	})
}

// A visitor's message reopens and touches its conversation and moves its
// activity and unread cursors, in the statement that records its
// activity; neither cursor moves backwards.
func TestCreateVisitorMessage(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, status := range []string{"open", "closed"} {
			t.Run(status, func(t *testing.T) {
				w := newWorkspace(t, db, "W", base)
				older, between := model.NewID(), model.NewID() // ids from before the message below
				v := newVisitor(t, db, w.ID, nil)
				c := newConversation(t, db, v, model.ChannelWebsite, base)
				if err := db.SetConversationStatus(ctx, w.ID, c.ID, status, base); err != nil {
					t.Fatal(err)
				}
				send := func(id string, at time.Time) model.Message {
					t.Helper()
					m := model.Message{ID: id, WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: model.AuthorVisitor, ID: &v.ID},
						Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: "Is it in stock?", CreatedAt: at}
					before, err := db.Conversation(ctx, w.ID, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					after, ok, err := db.CreateVisitorMessage(ctx, before, m)
					if err != nil {
						t.Fatal(err)
					}
					got, err := db.Conversation(ctx, w.ID, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					// The derived conversation is the stored one, unless a
					// newer message made it unsure.
					if want := m.ID > before.ActivityID && db.Dialect() == store.SQLite; ok != want {
						t.Errorf("derived ok %v, want %v", ok, want)
					}
					if ok {
						check(t, "conversation derived by CreateVisitorMessage", after, got)
					}
					return m
				}
				expect := func(step string, last time.Time, activity string, unread int) {
					t.Helper()
					got, err := db.Conversation(ctx, w.ID, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					check(t, step+": status", got.Status, "open")
					check(t, step+": last_message_at", got.LastMessageAt, stored(last))
					check(t, step+": activity", got.ActivityID, activity)
					n, err := db.CountUnreadConversations(ctx, w.ID)
					if err != nil {
						t.Fatal(err)
					}
					check(t, step+": unread conversations", n, unread)
				}
				m := send(model.NewID(), at(time.Hour))
				expect("a message", at(time.Hour), m.ID, 1)
				read := func(id string) {
					t.Helper()
					if err := db.SetAgentRead(ctx, w.ID, c.ID, id); err != nil {
						t.Fatal(err)
					}
				}
				read(between) // an agent read up to before it
				send(older, at(2*time.Hour))
				expect("an older id", at(2*time.Hour), m.ID, 1)
				read(m.ID)
				expect("read by an agent", at(2*time.Hour), m.ID, 0)
			})
		}
	})
}

func TestLatestConversationOfVisitor(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		newConversation(t, db, v, model.ChannelWebsite, at(time.Minute))
		newest := newConversation(t, db, v, model.ChannelWebsite, at(time.Hour))
		newConversation(t, db, v, model.ChannelWebsite, at(30*time.Minute)) // inserted last, not the newest
		email := newConversation(t, db, v, model.ChannelEmail, at(2*time.Hour))
		// Someone else's newer conversation never counts.
		newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(3*time.Hour))

		for _, tc := range []struct {
			name      string
			visitorID string
			channel   string
			want      string // conversation id; "" for ErrNotFound
		}{
			{"website", v.ID, model.ChannelWebsite, newest.ID},
			{"email", v.ID, model.ChannelEmail, email.ID},
			{"no conversation on the channel", v.ID, model.ChannelMessenger, ""},
			{"unknown visitor", model.NewID(), model.ChannelWebsite, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.LatestConversationOfVisitor(ctx, tc.visitorID, tc.channel)
				id, idErr := db.LatestConversationIDOfVisitor(ctx, tc.visitorID, tc.channel)
				// The same read with the whole visitor: its conversation
				// is "" when none, the visitor ErrNotFound when unknown.
				withV, withID, withErr := db.VisitorWithLatestConversation(ctx, tc.visitorID, tc.channel)
				if tc.visitorID == v.ID {
					if withErr != nil {
						t.Fatal(withErr)
					}
					check(t, "visitor read with its conversation", withV.ID, v.ID)
					check(t, "conversation read with the visitor", withID, tc.want)
				} else if !errors.Is(withErr, store.ErrNotFound) {
					t.Fatalf("unknown visitor read with its conversation: err = %v, want ErrNotFound", withErr)
				}
				if tc.want == "" {
					if !errors.Is(err, store.ErrNotFound) || !errors.Is(idErr, store.ErrNotFound) {
						t.Fatalf("err = %v and %v, want ErrNotFound", err, idErr)
					}
					return
				}
				if err != nil || idErr != nil {
					t.Fatal(err, idErr)
				}
				check(t, "conversation", got.ID, tc.want)
				check(t, "conversation id alone", id, tc.want)
				check(t, "visitor", got.Visitor.ID, tc.visitorID)
			})
		}
	})
}

// msg describes a message to store: who wrote it, of what kind.
type msg struct {
	author, kind, body string
}

var (
	visitorSays = func(body string) msg { return msg{model.AuthorVisitor, model.KindReply, body} }
	agentSays   = func(body string) msg { return msg{model.AuthorAgent, model.KindReply, body} }
	agentNotes  = func(body string) msg { return msg{model.AuthorAgent, model.KindComment, body} }
	systemEvent = func(body string) msg { return msg{model.AuthorSystem, model.KindEvent, body} }
)

func TestConversationUnread(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		for _, tc := range []struct {
			name     string
			messages []msg
			readUpTo int // index of the message SetAgentRead is given; -1 for none
			want     int
		}{
			{"no messages", nil, -1, 0},
			{"visitor messages, none read", []msg{visitorSays("a"), visitorSays("b")}, -1, 2},
			{"only visitor messages count", []msg{visitorSays("a"), agentSays("b"), agentNotes("c"), systemEvent("d")}, -1, 1},
			{"read up to the first", []msg{visitorSays("a"), visitorSays("b"), agentSays("c")}, 0, 1},
			{"read up to the newest", []msg{visitorSays("a"), agentSays("b"), visitorSays("c")}, 2, 0},
			{"read up to an agent reply", []msg{visitorSays("a"), agentSays("b"), visitorSays("c")}, 1, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
				var stored []model.Message
				for _, m := range tc.messages {
					stored = append(stored, newMessage(t, db, c, m.author, m.kind, m.body))
				}
				var wantCursor *string
				if tc.readUpTo >= 0 {
					wantCursor = &stored[tc.readUpTo].ID
					if err := db.SetAgentRead(ctx, w.ID, c.ID, *wantCursor); err != nil {
						t.Fatalf("SetAgentRead: %v", err)
					}
				}
				got, err := db.Conversation(ctx, w.ID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "unread", got.Unread, tc.want)
				check(t, "agent read cursor", got.AgentReadID, wantCursor)
			})
		}

		t.Run("cursor", func(t *testing.T) {
			other := newWorkspace(t, db, "Other", base)
			c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
			m1 := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "1")
			m2 := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "2")
			m3 := newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "3")
			// Steps run in order on the same conversation.
			for _, step := range []struct {
				name        string
				workspaceID string
				readID      string
				wantCursor  string
				wantUnread  int
			}{
				{"reads to the second", w.ID, m2.ID, m2.ID, 1},
				{"never moves backwards", w.ID, m1.ID, m2.ID, 1},
				{"other workspace cannot move it", other.ID, m3.ID, m2.ID, 1},
				{"reads all", w.ID, m3.ID, m3.ID, 0},
			} {
				if err := db.SetAgentRead(ctx, step.workspaceID, c.ID, step.readID); err != nil {
					t.Fatalf("%s: SetAgentRead: %v", step.name, err)
				}
				got, err := db.Conversation(ctx, w.ID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, step.name+": cursor", got.AgentReadID, &step.wantCursor)
				check(t, step.name+": unread", got.Unread, step.wantUnread)
			}
		})
	})
}

func TestConversationPreview(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		for _, tc := range []struct {
			name     string
			messages []msg
			want     *string
		}{
			{"no messages", nil, nil},
			{"only internal", []msg{agentNotes("note"), systemEvent("closed")}, nil},
			{"newest reply, comments and events after it ignored",
				[]msg{visitorSays("hello"), agentSays("answer"), agentNotes("internal"), systemEvent("closed")}, new("answer")},
			{"visitor reply", []msg{agentSays("answer"), visitorSays("thanks")}, new("thanks")},
			{"140 runes kept whole", []msg{agentSays(strings.Repeat("é", 140))}, new(strings.Repeat("é", 140))},
			{"141 runes cut at 140", []msg{agentSays(strings.Repeat("é", 141))}, new(strings.Repeat("é", 140) + "…")},
			{"emoji cut on rune boundaries", []msg{visitorSays(strings.Repeat("👋", 200))}, new(strings.Repeat("👋", 140) + "…")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
				for _, m := range tc.messages {
					newMessage(t, db, c, m.author, m.kind, m.body)
				}
				got, err := db.Conversation(ctx, w.ID, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "Conversation preview", got.LastMessage, tc.want)
				list, err := db.Conversations(ctx, w.ID, "all", 100)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(list, func(l model.Conversation) bool { return l.ID == c.ID })
				if i < 0 {
					t.Fatalf("conversation %s not listed", c.ID)
				}
				check(t, "Conversations preview", list[i].LastMessage, tc.want)
			})
		}
	})
}

func TestMarkReadByVisitor(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		var (
			v1 = newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "hi")
			a1 = newMessage(t, db, c, model.AuthorAgent, model.KindReply, "hello")
			c1 = newMessage(t, db, c, model.AuthorAgent, model.KindComment, "note")
			e1 = newMessage(t, db, c, model.AuthorSystem, model.KindEvent, "assigned")
			a2 = newMessage(t, db, c, model.AuthorAgent, model.KindReply, "how can I help?")
			v2 = newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "thanks")
			a3 = newMessage(t, db, c, model.AuthorAgent, model.KindReply, "bye")
		)
		// A reply in another conversation of the visitor is never stamped.
		otherConv := newConversation(t, db, v, model.ChannelWebsite, base)
		elsewhere := newMessage(t, db, otherConv, model.AuthorAgent, model.KindReply, "elsewhere")

		readAt := map[string]*time.Time{} // expected read_by_visitor_at
		for _, step := range []struct {
			name        string
			upTo        model.Message
			at          time.Time
			wantStamped []model.Message
			wantCursor  model.Message
		}{
			{"up to the second reply", a2, at(time.Minute), []model.Message{a1, a2}, a2},
			{"backwards", a1, at(2 * time.Minute), nil, a2},
			{"same cursor again", a2, at(3 * time.Minute), nil, a2},
			{"up to the newest", a3, at(4 * time.Minute), []model.Message{a3}, a3},
		} {
			stamped, err := db.MarkReadByVisitor(ctx, c.ID, step.upTo.ID, step.at)
			if err != nil {
				t.Fatalf("%s: MarkReadByVisitor: %v", step.name, err)
			}
			slices.Sort(stamped)
			want := messageIDs(step.wantStamped)
			if len(stamped) != 0 || len(want) != 0 {
				check(t, step.name+": stamped", stamped, want)
			}
			for _, m := range step.wantStamped {
				readAt[m.ID] = new(stored(step.at))
			}
			got, err := db.Conversation(ctx, w.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, step.name+": visitor read cursor", got.VisitorReadID, &step.wantCursor.ID)
		}

		for _, m := range []model.Message{v1, a1, c1, e1, a2, v2, a3, elsewhere} {
			got, err := db.Message(ctx, w.ID, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "read_by_visitor_at of "+m.Author.Kind+" "+m.Kind+" "+m.Body, got.ReadByVisitorAt, readAt[m.ID])
		}
	})
}

// messageIDs returns the sorted ids of messages.
func messageIDs(ms []model.Message) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestLockedConversation(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, new("v@example.com"))
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "hello")

		err := db.InTx(ctx, func(tx *store.Store) error {
			// A forwarding read: without the unread count and the preview,
			// which walk the messages.
			got, ok, err := tx.LockedConversation(ctx, c.ID)
			if err != nil || !ok || got.ID != c.ID || got.Visitor.ID != v.ID || got.Unread != 0 || got.LastMessage != nil {
				t.Errorf("locked read: ok %v, err %v, %+v", ok, err, got)
			}
			if db.Dialect() != store.Postgres {
				return nil
			}
			// Another transaction (another node) skips it while it is held.
			return db.InTx(ctx, func(other *store.Store) error {
				_, ok, err := other.LockedConversation(ctx, c.ID)
				if err != nil || ok {
					t.Errorf("while held elsewhere: ok %v, err %v; want skipped", ok, err)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		// Released with the transaction.
		_ = db.InTx(ctx, func(tx *store.Store) error {
			if _, ok, err := tx.LockedConversation(ctx, c.ID); err != nil || !ok {
				t.Errorf("after the holder committed: ok %v, err %v", ok, err)
			}
			return nil
		})
		// A conversation that does not exist: an error on SQLite, skipped
		// (nothing to decide) on PostgreSQL.
		_ = db.InTx(ctx, func(tx *store.Store) error {
			_, ok, err := tx.LockedConversation(ctx, "nope")
			if ok || (err == nil) != (db.Dialect() == store.Postgres) {
				t.Errorf("missing conversation: ok %v, err %v", ok, err)
			}
			return nil
		})
	})
}

// TestConversationForForwarding: the forwarding read is the whole
// conversation but its unread count and preview (the replacements in its
// query must have found their text: a change to the conversation query
// fails here, not in production).
func TestConversationForForwarding(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w := newWorkspace(t, db, "A", base)
		c := newConversation(t, db, newVisitor(t, db, w.ID, new("ann@example.com")), model.ChannelWebsite, base)
		newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "hello")
		newMessage(t, db, c, model.AuthorAgent, model.KindReply, "hi")
		whole, err := db.ConversationByID(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if whole.Unread == 0 || whole.LastMessage == nil {
			t.Fatalf("fixture: unread %d, preview %v", whole.Unread, whole.LastMessage)
		}
		light, err := db.ConversationForForwarding(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		whole.Unread, whole.LastMessage = 0, nil
		check(t, "conversation", light, whole)
	})
}

// ConversationsByID returns the workspace's conversations among the ids,
// and none of another workspace's or of an unknown id.
func TestConversationsByID(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w, other := newWorkspace(t, db, "W", base), newWorkspace(t, db, "O", base)
		var ids []string
		for range 3 {
			ids = append(ids, newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base).ID)
		}
		theirs := newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base).ID
		got, err := db.ConversationsByID(t.Context(), w.ID, append([]string{theirs, "unknown"}, ids...))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Errorf("got %d conversations, want %d", len(got), len(ids))
		}
		for _, id := range ids {
			if c, ok := got[id]; !ok || c.ID != id || c.WorkspaceID != w.ID {
				t.Errorf("conversation %s: %+v, %v", id, c, ok)
			}
		}
		if _, ok := got[theirs]; ok {
			t.Error("another workspace's conversation returned")
		}
	})
}

// A visitor's message sent again (the same client id, after a reconnect)
// is not stored twice and leaves the conversation as the first left it;
// the transaction goes on (on PostgreSQL a failed insert would abort it).
func TestVisitorMessageResend(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		clientID := "c1"
		send := func(tx *store.Store, at time.Time) (model.Message, error) {
			m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: model.AuthorVisitor, ID: &v.ID},
				Kind: model.KindReply, Channel: model.MsgChannelWidget, Body: "Is it in stock?", ClientID: &clientID, CreatedAt: at}
			before, err := tx.Conversation(ctx, w.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = tx.CreateVisitorMessage(ctx, before, m)
			return m, err
		}
		first, err := send(&db.Store, at(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		err = db.InTx(ctx, func(tx *store.Store) error {
			if _, err := send(tx, at(2*time.Hour)); !errors.Is(err, store.ErrDuplicate) {
				t.Errorf("resend: %v, want ErrDuplicate", err)
			}
			stored, err := tx.MessageByClientID(ctx, c.ID, clientID)
			if err != nil {
				return err
			}
			check(t, "the message the client id names", stored.ID, first.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("the transaction after the resend: %v", err)
		}
		got, err := db.Conversation(ctx, w.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "last_message_at", got.LastMessageAt, stored(at(time.Hour)))
		check(t, "activity", got.ActivityID, first.ID)
		ms, err := db.Messages(ctx, w.ID, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "messages stored", len(ms), 1)
	})
}
