package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestBacklog(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, new("vera@example.com"))
		var convs []model.Conversation
		for range 4 {
			convs = append(convs, newConversation(t, db, v, model.ChannelWebsite, base))
		}
		// Three emails queued, one of them then sent.
		for i := range 3 {
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: convs[0].ID, VisitorID: v.ID,
				MessageID: fmt.Sprintf("<%d@example.test>", i), From: "parley@example.test", To: "vera@example.com",
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := db.SetEmailStatus(ctx, e.ID, model.DeliverySent, base, "", base); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Forwarding: one conversation overdue, one due exactly now, one
		// later, one not scheduled.
		now := at(time.Hour)
		for i, due := range []*time.Time{new(at(time.Minute)), new(now), new(at(2 * time.Hour))} {
			if err := db.SetForwardState(ctx, convs[i].ID, model.Forwarding{DueAt: due, Code: "waiting"}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Backlog(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "backlog", got, store.Backlog{OutboxPending: 2, ForwardDue: 2, ForwardScheduled: 3})
	})
}
