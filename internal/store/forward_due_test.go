package store_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// TestForwardVisitorDueBy: a visitor's conversations waiting for a later
// decision are due at the leave; those due sooner, those with no due time
// and other visitors' conversations keep theirs.
func TestForwardVisitorDueBy(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		vera := newVisitor(t, db, w.ID, new("vera@example.com"))
		other := newVisitor(t, db, w.ID, new("otto@example.com"))
		leftAt := at(time.Hour)
		tests := []struct {
			name    string
			visitor model.Visitor
			due     *time.Time
			want    *time.Time
		}{
			{"waiting for inactivity", vera, new(at(90 * time.Minute)), new(stored(leftAt))},
			{"due before the leave", vera, new(at(time.Minute)), new(stored(at(time.Minute)))},
			{"due at the leave", vera, new(leftAt), new(stored(leftAt))},
			{"not scheduled", vera, nil, nil},
			{"another visitor's", other, new(at(90 * time.Minute)), new(stored(at(90 * time.Minute)))},
		}
		ids := make([]string, len(tests))
		for i, tt := range tests {
			ids[i] = newConversation(t, db, tt.visitor, model.ChannelWebsite, base).ID
			if err := db.SetForwardState(ctx, ids[i], model.Forwarding{DueAt: tt.due, Code: "waiting", Reason: tt.name}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.InTx(ctx, func(tx *store.Store) error { return tx.ForwardVisitorDueBy(ctx, vera.ID, leftAt) }); err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			st, err := db.ForwardState(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			// The decision itself is the engine's to make again.
			check(t, tt.name, st, model.Forwarding{DueAt: tt.want, Code: "waiting", Reason: tt.name})
		}
	})
}
