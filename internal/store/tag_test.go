package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// setTags sets a conversation's tags in a transaction that holds it, as
// the domain does.
func setTags(t *testing.T, db *store.DB, c model.Conversation, names ...string) model.Tags {
	t.Helper()
	var got model.Tags
	err := db.InTx(t.Context(), func(tx *store.Store) error {
		if err := tx.LockConversation(t.Context(), c.WorkspaceID, c.ID); err != nil {
			return err
		}
		var err error
		got, err = tx.SetConversationTags(t.Context(), c.WorkspaceID, c.ID, names)
		return err
	})
	if err != nil {
		t.Fatalf("set tags %q: %v", names, err)
	}
	return got
}

func tagsOf(t *testing.T, db *store.DB, c model.Conversation) model.Tags {
	t.Helper()
	got, err := db.Conversation(t.Context(), c.WorkspaceID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Tags
}

func TestConversationTags(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, other, c1 := conversationBesideOther(t, db)
		c2 := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(time.Minute))
		o1 := newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base)

		// None: an empty array in JSON, never null.
		if raw, err := json.Marshal(tagsOf(t, db, c1)); err != nil || string(raw) != "[]" {
			t.Fatalf("tags of a new conversation: %s (%v), want []", raw, err)
		}

		steps := []struct {
			name string
			conv model.Conversation
			set  []string
			want model.Tags // as answered, and as read back
		}{
			{"first use spells the tag", c1, []string{"VIP", "Billing", "refund"}, model.Tags{"Billing", "refund", "VIP"}},
			{"another case is the workspace's spelling", c2, []string{"billing", "Shipping"}, model.Tags{"Billing", "Shipping"}},
			{"another workspace spells its own", o1, []string{"BILLING"}, model.Tags{"BILLING"}},
			{"replaced: one removed, one added", c1, []string{"Billing", "refund", "Urgent"}, model.Tags{"Billing", "refund", "Urgent"}},
			{"replaced by none", c2, nil, model.Tags{}},
			{"spelling kept once unused", c2, []string{"shipping"}, model.Tags{"Shipping"}},
		}
		for _, s := range steps {
			if got := setTags(t, db, s.conv, s.set...); fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("%s: answered %q, want %q", s.name, got, s.want)
			}
			if got := tagsOf(t, db, s.conv); fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("%s: read back %#v, want %q", s.name, got, s.want)
			}
		}

		// The list reads them with the conversations, in one query a page.
		page, err := db.ConversationPage(ctx, w.ID, store.ConversationFilter{Status: "all"}, model.NewID(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			if want := tagsOf(t, db, c.Conversation); fmt.Sprint(c.Tags) != fmt.Sprint(want) {
				t.Errorf("listed %s with tags %q, want %q", c.ID, c.Tags, want)
			}
		}

		// Another workspace's conversation cannot be tagged from this one.
		err = db.InTx(ctx, func(tx *store.Store) error {
			_, err := tx.SetConversationTags(ctx, w.ID, o1.ID, []string{"Billing"})
			return err
		})
		if err == nil {
			t.Fatal("tagged another workspace's conversation")
		}
		check(t, "other workspace's tags untouched", fmt.Sprint(tagsOf(t, db, o1)), "[BILLING]")
	})
}

func TestConversationTagFilterAndCounts(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, other, open1 := conversationBesideOther(t, db)
		ann := newAgent(t, db, w.ID, model.StatusOnline, nil)
		open2 := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(time.Minute))
		closed := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(2*time.Minute))
		untagged := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(3*time.Minute))
		elsewhere := newConversation(t, db, newVisitor(t, db, other.ID, nil), model.ChannelWebsite, base)
		// Activity orders the list: newest message first.
		for _, c := range []model.Conversation{open1, open2, closed, untagged} {
			newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "hello")
		}
		setTags(t, db, open1, "Billing", "VIP")
		setTags(t, db, open2, "billing")
		setTags(t, db, closed, "Billing")
		setTags(t, db, elsewhere, "Billing")
		if err := db.SetConversationStatus(ctx, w.ID, closed.ID, "closed", at(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAssignee(ctx, w.ID, open2.ID, &ann.ID); err != nil {
			t.Fatal(err)
		}

		key := model.TagKey("Billing")
		lists := []struct {
			name string
			f    store.ConversationFilter
			want []string
		}{
			{"open, any tag", store.ConversationFilter{Status: "open"}, []string{untagged.ID, open2.ID, open1.ID}},
			{"open Billing", store.ConversationFilter{Status: "open", Tag: key}, []string{open2.ID, open1.ID}},
			{"all Billing", store.ConversationFilter{Status: "all", Tag: key}, []string{closed.ID, open2.ID, open1.ID}},
			{"closed Billing", store.ConversationFilter{Status: "closed", Tag: key}, []string{closed.ID}},
			{"mine, Billing", store.ConversationFilter{Status: "all", Assignee: ann.ID, Tag: key}, []string{open2.ID}},
			{"unassigned, Billing", store.ConversationFilter{Status: "open", Assignee: "none", Tag: key}, []string{open1.ID}},
			{"VIP", store.ConversationFilter{Status: "all", Tag: model.TagKey("vip")}, []string{open1.ID}},
			{"a tag nobody has", store.ConversationFilter{Status: "all", Tag: "nothing"}, []string{}},
		}
		// Read both ways SQLite can: from the index of activity (a tag
		// many conversations have) and from the tag's conversations (a
		// rare one), a page at a time too.
		for _, rare := range []int{-1, 5000} {
			restore := store.SetRareTag(rare)
			for _, l := range lists {
				for _, size := range []int{50, 1} {
					snapshot := model.NewID()
					got, after := []string{}, ""
					for range 5 {
						page, err := db.ConversationPage(ctx, w.ID, l.f, snapshot, after, size)
						if err != nil {
							t.Fatal(err)
						}
						for _, c := range page {
							got = append(got, c.ID)
							after = c.Key
						}
						if len(page) < size {
							break
						}
					}
					if fmt.Sprint(got) != fmt.Sprint(l.want) {
						t.Errorf("%s (rare below %d, pages of %d): listed %v, want %v", l.name, rare, size, got, l.want)
					}
				}
			}
			restore()
		}

		counts, err := db.CountConversations(ctx, w.ID, store.ConversationFilter{Status: "open", Tag: key}, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "counts of open Billing", counts, store.ConversationCounts{Mine: 1, Unassigned: 1, All: 2})
		counts, err = db.CountConversations(ctx, w.ID, store.ConversationFilter{Status: "open"}, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "counts of open, any tag", counts, store.ConversationCounts{Mine: 1, Unassigned: 2, All: 3})

		inUse, err := db.TagsInUse(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "tags in use", inUse, []model.WorkspaceTag{
			{Name: "Billing", OpenConversations: 2, Conversations: 3},
			{Name: "VIP", OpenConversations: 1, Conversations: 1},
		})
		names, err := db.TagNamesInUse(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "names of the tags in use", fmt.Sprint(names), "[Billing VIP]")
		// One no conversation has any more is not listed.
		setTags(t, db, open1, "Billing")
		inUse, err = db.TagsInUse(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "tags in use once VIP is gone", inUse, []model.WorkspaceTag{{Name: "Billing", OpenConversations: 2, Conversations: 3}})
		if names, err = db.TagNamesInUse(ctx, w.ID); err != nil {
			t.Fatal(err)
		}
		check(t, "names of the tags in use", fmt.Sprint(names), "[Billing]")
	})
}

// Erasing a visitor (and retention, which deletes conversations the same
// way) takes their conversations' tags with them, and only theirs.
func TestConversationTagsErased(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w, _, gone := conversationBesideOther(t, db)
		kept := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, base)
		setTags(t, db, gone, "Billing", "Secret project")
		setTags(t, db, kept, "Billing")
		if err := db.InTx(ctx, func(tx *store.Store) error { _, err := tx.DeleteVisitor(ctx, w.ID, gone.Visitor.ID); return err }); err != nil {
			t.Fatal(err)
		}
		check(t, "tag rows of the erased conversation", tagRows(t, db, gone.ID), 0)
		check(t, "tag rows of the other", tagRows(t, db, kept.ID), 1)
		inUse, err := db.TagsInUse(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "tags in use after erasure", inUse, []model.WorkspaceTag{{Name: "Billing", OpenConversations: 1, Conversations: 1}})
		page, err := db.ConversationPage(ctx, w.ID, store.ConversationFilter{Status: "all", Tag: model.TagKey("Secret project")}, model.NewID(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "conversations of the erased tag", len(page), 0)
	})
}

func tagRows(t *testing.T, db *store.DB, conversationID string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM conversation_tags WHERE conversation_id = ?`, conversationID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConversationTagsAtOnce: two conversations tagged at the same moment
// with the same new tags, given in opposite orders, both take them (on
// PostgreSQL a new tag's key is held until the commit: taken in the order
// given, each transaction would wait for the other's).
func TestConversationTagsAtOnce(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		w, _, c1 := conversationBesideOther(t, db)
		c2 := newConversation(t, db, newVisitor(t, db, w.ID, nil), model.ChannelWebsite, at(time.Minute))
		for round := range 40 {
			a, b := fmt.Sprintf("alpha %d", round), fmt.Sprintf("beta %d", round)
			errs := make(chan error, 2)
			for _, job := range []struct {
				c     model.Conversation
				names []string
			}{{c1, []string{a, b}}, {c2, []string{b, a}}} {
				go func() {
					errs <- db.InTx(t.Context(), func(tx *store.Store) error {
						if err := tx.LockConversation(t.Context(), job.c.WorkspaceID, job.c.ID); err != nil {
							return err
						}
						_, err := tx.SetConversationTags(t.Context(), job.c.WorkspaceID, job.c.ID, job.names)
						return err
					})
				}()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
	})
}
