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

func TestMessageGet(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, other, c := conversationBesideOther(t, db)

		for _, tc := range []struct {
			name string
			m    model.Message
		}{
			{"visitor reply", model.Message{
				Author:    model.Author{Kind: model.AuthorVisitor},
				Kind:      model.KindReply,
				Channel:   model.MsgChannelWidget,
				Body:      "Bonjour, ça marche ?\nLine two.",
				ClientID:  new("client-1"),
				CreatedAt: at(time.Minute),
			}},
			{"agent reply, read", model.Message{
				Author:          model.Author{Kind: model.AuthorAgent, ID: new(model.NewID()), Name: new("Ann")},
				Kind:            model.KindReply,
				Channel:         model.MsgChannelDashboard,
				Body:            "Yes.",
				CreatedAt:       at(2 * time.Minute),
				ReadByVisitorAt: new(at(3 * time.Minute)),
			}},
			{"system event", model.Message{
				Author:    model.Author{Kind: model.AuthorSystem},
				Kind:      model.KindEvent,
				Channel:   model.MsgChannelDashboard,
				Body:      "conversation closed",
				CreatedAt: at(4 * time.Minute),
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := tc.m
				m.ID, m.WorkspaceID, m.ConversationID = model.NewID(), w.ID, c.ID
				if err := db.CreateMessage(ctx, m); err != nil {
					t.Fatalf("CreateMessage: %v", err)
				}
				want := m
				want.CreatedAt = stored(m.CreatedAt)
				want.ReadByVisitorAt = storedPtr(m.ReadByVisitorAt)
				got, err := db.Message(ctx, w.ID, m.ID)
				if err != nil {
					t.Fatalf("Message: %v", err)
				}
				check(t, "message", got, want)

				if _, err := db.Message(ctx, other.ID, m.ID); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Message of another workspace: err = %v, want ErrNotFound", err)
				}
			})
		}

		t.Run("unknown id", func(t *testing.T) {
			if _, err := db.Message(ctx, w.ID, model.NewID()); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		})
	})
}

func TestMessageClientID(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		v := newVisitor(t, db, w.ID, nil)
		c1 := newConversation(t, db, v, model.ChannelWebsite, base)
		c2 := newConversation(t, db, v, model.ChannelWebsite, base)

		first := map[string]string{} // conversation+client id → message id
		// Steps run in order.
		for _, step := range []struct {
			name     string
			conv     model.Conversation
			clientID *string
			wantErr  error
		}{
			{"first use", c1, new("k1"), nil},
			{"again in the conversation", c1, new("k1"), store.ErrDuplicate},
			{"same id in another conversation", c2, new("k1"), nil},
			{"another id", c1, new("k2"), nil},
			{"no client id", c1, nil, nil},
			{"no client id again", c1, nil, nil},
		} {
			m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: step.conv.ID,
				Author: model.Author{Kind: model.AuthorVisitor}, Kind: model.KindReply, Channel: model.MsgChannelWidget,
				Body: step.name, ClientID: step.clientID, CreatedAt: base}
			err := db.CreateMessage(ctx, m)
			if step.wantErr != nil {
				if !errors.Is(err, step.wantErr) {
					t.Fatalf("%s: err = %v, want %v", step.name, err, step.wantErr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			if step.clientID != nil {
				first[step.conv.ID+"/"+*step.clientID] = m.ID
			}
		}

		for _, tc := range []struct {
			name     string
			conv     model.Conversation
			clientID string
			want     string // message id; "" for ErrNotFound
		}{
			{"k1 in c1", c1, "k1", first[c1.ID+"/k1"]},
			{"k1 in c2", c2, "k1", first[c2.ID+"/k1"]},
			{"k2 in c1", c1, "k2", first[c1.ID+"/k2"]},
			{"k2 not in c2", c2, "k2", ""},
			{"unknown", c1, "k9", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.MessageByClientID(ctx, tc.conv.ID, tc.clientID)
				if tc.want == "" {
					if !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("err = %v, want ErrNotFound", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				check(t, "message", got.ID, tc.want)
			})
		}
	})
}

func TestMessageList(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		v := newVisitor(t, db, w.ID, nil)
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		elsewhere := newConversation(t, db, v, model.ChannelWebsite, base)
		newMessage(t, db, elsewhere, model.AuthorVisitor, model.KindReply, "elsewhere")

		// Ids are taken in conversation order but inserted shuffled, so only
		// ORDER BY id gives the expected order.
		kinds := []msg{visitorSays("1"), agentSays("2"), agentNotes("3"), systemEvent("4"), visitorSays("5"), agentSays("6")}
		ids := make([]string, len(kinds))
		for i := range ids {
			ids[i] = model.NewID()
		}
		for _, i := range []int{4, 0, 5, 2, 1, 3} {
			m := model.Message{ID: ids[i], WorkspaceID: w.ID, ConversationID: c.ID, Author: model.Author{Kind: kinds[i].author},
				Kind: kinds[i].kind, Channel: model.MsgChannelWidget, Body: kinds[i].body, CreatedAt: at(time.Duration(i) * time.Second)}
			if err := db.CreateMessage(ctx, m); err != nil {
				t.Fatal(err)
			}
		}

		for _, tc := range []struct {
			name        string
			workspaceID string
			publicOnly  bool
			want        []string // bodies
		}{
			{"all", w.ID, false, []string{"1", "2", "3", "4", "5", "6"}},
			{"public only", w.ID, true, []string{"1", "2", "5", "6"}},
			{"other workspace", other.ID, false, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.Messages(ctx, tc.workspaceID, c.ID, tc.publicOnly)
				if err != nil {
					t.Fatal(err)
				}
				bodies := []string{}
				for _, m := range got {
					bodies = append(bodies, m.Body)
				}
				check(t, "bodies", bodies, tc.want)
				if got == nil {
					t.Error("Messages returned nil, want an empty list")
				}
			})
		}
	})
}

// An agent's reply reopens its conversation, touches it, makes it the
// agent's when it claims it (never taking it from another; without the
// claim the assignee is left as it is), and is its newest activity.
func TestCreateReply(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		annA, bobA := newAgent(t, db, w.ID, "online", nil), newAgent(t, db, w.ID, "online", nil)
		ann, bob := annA.ID, bobA.ID
		names := map[string]string{ann: annA.Name, bob: bobA.Name}
		get := func(c model.Conversation) model.Conversation {
			t.Helper()
			got, err := db.Conversation(ctx, w.ID, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		// reply stores a reply as a transaction does, and checks that the
		// conversation CreateReply derives is the one read after it.
		reply := func(c model.Conversation, agentID string, at time.Time, claim bool, body string) model.Message {
			t.Helper()
			m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
				Author: model.Author{Kind: model.AuthorAgent, ID: &agentID, Name: new(names[agentID])},
				Kind:   model.KindReply, Channel: model.MsgChannelDashboard, Body: body, CreatedAt: at}
			derived := written(t, db, w.ID, c.ID, func(tx *store.Store, target model.Conversation) (model.Conversation, bool, error) {
				return tx.CreateReply(ctx, target, m, claim)
			})
			if db.Dialect() == store.SQLite {
				check(t, "conversation derived by CreateReply", derived, get(c))
			}
			return m
		}

		closed := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		if err := db.SetConversationStatus(ctx, w.ID, closed.ID, "closed", at(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Without the claim, an unassigned conversation stays so.
		newMessage(t, db, closed, model.AuthorVisitor, model.KindReply, "a question") // unread, and stays so
		reply(closed, bob, at(30*time.Minute), false, "an answer")
		if got := get(closed); got.Assignee != nil {
			t.Fatalf("assignee after an unclaiming reply %+v, want none", got.Assignee)
		}
		m := reply(closed, ann, at(time.Hour), true, strings.Repeat("a long answer ", 20))
		got := get(closed)
		check(t, "status", got.Status, "open")
		if got.Assignee == nil || got.Assignee.ID != ann {
			t.Fatalf("assignee %+v, want %s", got.Assignee, ann)
		}
		check(t, "last message at", got.LastMessageAt, stored(at(time.Hour)))
		check(t, "activity", got.ActivityID, m.ID)

		// Bob answers Ann's conversation: it stays hers.
		m2 := reply(closed, bob, at(2*time.Hour), true, "another answer")
		got = get(closed)
		if got.Assignee == nil || got.Assignee.ID != ann {
			t.Fatalf("assignee after another agent's reply %+v, want %s", got.Assignee, ann)
		}
		check(t, "activity after another reply", got.ActivityID, m2.ID)
	})
}

// An agent's note touches its conversation and is its newest activity, but
// not its preview; CreateComment derives the conversation it leaves.
func TestCreateComment(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		ann := newAgent(t, db, w.ID, "online", nil)
		c := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "a question")
		m := model.Message{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID,
			Author: model.Author{Kind: model.AuthorAgent, ID: &ann.ID, Name: &ann.Name},
			Kind:   model.KindComment, Channel: model.MsgChannelDashboard, Body: "a note", CreatedAt: at(time.Hour)}
		derived := written(t, db, w.ID, c.ID, func(tx *store.Store, target model.Conversation) (model.Conversation, bool, error) {
			return tx.CreateComment(ctx, target, m)
		})
		got, err := db.Conversation(ctx, w.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if db.Dialect() == store.SQLite {
			check(t, "conversation derived by CreateComment", derived, got)
		}
		check(t, "activity", got.ActivityID, m.ID)
		check(t, "preview", *got.LastMessage, "a question")
		check(t, "last message at", got.LastMessageAt, stored(at(time.Hour)))
	})
}

// written runs write in one transaction on the conversation as
// MessageTarget reads it, as the chat service does, and returns the
// conversation write derives: derived on SQLite's one writer only.
func written(t *testing.T, db *store.DB, workspaceID, convID string, write func(tx *store.Store, target model.Conversation) (model.Conversation, bool, error)) model.Conversation {
	t.Helper()
	var derived model.Conversation
	err := db.InTx(t.Context(), func(tx *store.Store) error {
		target, err := tx.MessageTarget(t.Context(), workspaceID, convID)
		if err != nil {
			return err
		}
		var ok bool
		derived, ok, err = write(tx, target.Conversation)
		check(t, "derived", ok, db.Dialect() == store.SQLite)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return derived
}

// MessagesWithFiles reads messages by id, in order of id and with their
// files, in two statements however many; ids of another workspace, or of
// no message, are left out.
func TestMessagesWithFiles(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, other, c := conversationBesideOther(t, db)
		elsewhere := newMessage(t, db, newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base), model.AuthorAgent, model.KindReply, "theirs")
		var ids []string
		files := map[string]int{}
		for i := range 50 {
			m := newMessage(t, db, c, model.AuthorAgent, model.KindReply, "reply")
			ids = append(ids, m.ID)
			for j := range i % 3 {
				a := model.Attachment{ID: model.NewID(), WorkspaceID: w.ID, MessageID: m.ID, Filename: "f.pdf", ContentType: "application/pdf", Size: 3, CreatedAt: at(time.Duration(j))}
				if err := db.CreateAttachment(ctx, a, []byte("pdf")); err != nil {
					t.Fatal(err)
				}
				files[m.ID]++
			}
		}
		asked := append([]string{elsewhere.ID, "no-such-message"}, ids...)
		slices.Reverse(asked)
		s0, _ := db.Counts()
		got, err := db.MessagesWithFiles(ctx, w.ID, asked)
		if err != nil {
			t.Fatal(err)
		}
		if s1, _ := db.Counts(); s1-s0 != 2 {
			t.Errorf("%d statements for %d messages, want 2", s1-s0, len(ids))
		}
		if len(got) != len(ids) {
			t.Fatalf("%d messages, want %d", len(got), len(ids))
		}
		for i, m := range got {
			if m.ID != ids[i] {
				t.Fatalf("message %d is %s, want %s (in order of id)", i, m.ID, ids[i])
			}
			if len(m.Attachments) != files[m.ID] {
				t.Errorf("message %d has %d files, want %d", i, len(m.Attachments), files[m.ID])
			}
		}
		if got, err := db.MessagesWithFiles(ctx, w.ID, nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v, %v", got, err)
		}
	})
}
