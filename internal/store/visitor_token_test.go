package store_test

import (
	"errors"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

func TestVisitorTokenGeneration(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		other := newWorkspace(t, db, "Other", base)
		v := newVisitor(t, db, w.ID, nil)
		if got, err := db.VisitorByID(ctx, v.ID); err != nil || got.TokenGeneration != 0 {
			t.Fatalf("a new visitor: generation %d, %v; want 0", got.TokenGeneration, err)
		}
		for want := 1; want <= 2; want++ {
			gen, err := db.NextVisitorTokenGeneration(ctx, w.ID, v.ID)
			if err != nil || gen != want {
				t.Fatalf("reset %d: %d, %v", want, gen, err)
			}
		}
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		got, err := db.Conversation(ctx, w.ID, c.ID)
		if err != nil || got.Visitor.TokenGeneration != 2 {
			t.Fatalf("the conversation's visitor: generation %d, %v; want 2", got.Visitor.TokenGeneration, err)
		}
		// Another workspace cannot reset it, nor can an unknown visitor be.
		if _, err := db.NextVisitorTokenGeneration(ctx, other.ID, v.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reset from another workspace: %v, want ErrNotFound", err)
		}
		if _, err := db.NextVisitorTokenGeneration(ctx, w.ID, model.NewID()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reset of an unknown visitor: %v, want ErrNotFound", err)
		}
		if got, _ := db.VisitorByID(ctx, v.ID); got.TokenGeneration != 2 {
			t.Errorf("generation %d after refused resets, want 2", got.TokenGeneration)
		}
	})
}
