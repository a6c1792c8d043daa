package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestMessagePageWindows checks each kind of window against the whole
// history: bounds kept or left out, the oldest or newest of a range, and
// whether messages are left beyond it.
func TestMessagePageWindows(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ws := newWorkspace(t, db, "Acme", base)
		c := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		other := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		var ids []string
		for i := range 10 {
			kind, author := model.KindReply, model.AuthorVisitor
			if i%3 == 1 {
				kind, author = model.KindComment, model.AuthorAgent
			}
			ids = append(ids, newMessage(t, db, c, author, kind, "message").ID)
			newMessage(t, db, other, model.AuthorVisitor, model.KindReply, "elsewhere")
		}
		tests := []struct {
			name         string
			w            store.MessageWindow
			want         []string
			older, newer bool
		}{
			{"newest page", store.MessageWindow{Limit: 4, Newest: true}, ids[6:], true, false},
			{"before", store.MessageWindow{Before: ids[6], Limit: 4, Newest: true}, ids[2:6], true, true},
			{"before, reaching the start", store.MessageWindow{Before: ids[3], Limit: 4, Newest: true}, ids[:3], false, true},
			{"after", store.MessageWindow{After: ids[2], Limit: 4}, ids[3:7], true, true},
			{"after, reaching the end", store.MessageWindow{After: ids[6], Limit: 4}, ids[7:], true, false},
			{"from", store.MessageWindow{From: ids[2], Limit: 3}, ids[2:5], true, true},
			{"from, until", store.MessageWindow{From: ids[4], Until: ids[8]}, ids[4:9], true, true},
			{"from the first, no limit", store.MessageWindow{From: ids[0]}, ids, false, false},
			{"all", store.MessageWindow{}, ids, false, false},
			{"whole history in one page", store.MessageWindow{Limit: 10, Newest: true}, ids, false, false},
			{"before the first", store.MessageWindow{Before: ids[0], Limit: 4, Newest: true}, nil, false, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				page, err := db.MessagePage(t.Context(), ws.ID, c.ID, tt.w)
				if err != nil {
					t.Fatal(err)
				}
				check(t, "messages", idsOf(page.Messages), tt.want)
				check(t, "older", page.Older, tt.older)
				check(t, "newer", page.Newer, tt.newer)
			})
		}
		// Another workspace sees nothing of it: no page, nothing before or
		// after a bound, no newest message.
		otherWS := newWorkspace(t, db, "Other", base).ID
		page, err := db.MessagePage(t.Context(), otherWS, c.ID, store.MessageWindow{Limit: 4, Newest: true})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "other workspace", len(page.Messages), 0)
		page, err = db.MessagePage(t.Context(), otherWS, c.ID, store.MessageWindow{From: ids[4], Until: ids[8]})
		if err != nil {
			t.Fatal(err)
		}
		check(t, "other workspace, bounded", fmt.Sprint(len(page.Messages), page.Older, page.Newer), "0 false false")
		for _, tc := range []struct{ workspace, want string }{{ws.ID, ids[len(ids)-1]}, {otherWS, ""}} {
			newest, err := db.NewestMessageID(t.Context(), tc.workspace, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			check(t, "newest message", newest, tc.want)
		}
	})
}

// TestMessagePageWhileWriting pages back from the newest messages, as a
// dashboard scrolling up does, while new messages arrive between pages:
// every message stored before the first page is listed exactly once, in
// order, and the new ones appear only after the first page's newest.
func TestMessagePageWhileWriting(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ws := newWorkspace(t, db, "Acme", base)
		c := newConversation(t, db, newVisitor(t, db, ws.ID, nil), model.ChannelWebsite, base)
		var before []string
		for range 95 {
			before = append(before, newMessage(t, db, c, model.AuthorVisitor, model.KindReply, "early").ID)
		}
		first, err := db.MessagePage(t.Context(), ws.ID, c.ID, store.MessageWindow{Limit: 10, Newest: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := idsOf(first.Messages)
		var arrived []string
		page := first
		for page.Older {
			arrived = append(arrived, newMessage(t, db, c, model.AuthorAgent, model.KindReply, "meanwhile").ID)
			page, err = db.MessagePage(t.Context(), ws.ID, c.ID, store.MessageWindow{Before: page.Messages[0].ID, Limit: 10, Newest: true})
			if err != nil {
				t.Fatal(err)
			}
			if !page.Newer {
				t.Fatal("a page before the first says nothing is newer")
			}
			seen = append(idsOf(page.Messages), seen...)
		}
		check(t, "every message once, in order", seen, before)
		// Forwards from the first page's newest: exactly the new ones.
		var after []string
		page = first
		for {
			page, err = db.MessagePage(t.Context(), ws.ID, c.ID, store.MessageWindow{After: seen[len(seen)-1], Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Messages) == 0 {
				break
			}
			ids := idsOf(page.Messages)
			after = append(after, ids...)
			seen = append(seen, ids...)
			if !page.Newer {
				break
			}
		}
		check(t, "the messages that arrived", after, arrived)
		if !slices.IsSorted(seen) {
			t.Error("pages are not in order")
		}
	})
}

func idsOf(ms []model.Message) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	return ids
}
