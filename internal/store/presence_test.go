package store_test

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// A node that dies holding claimed emails does not delay them until the
// lease runs out: removing it makes them due at once, and only them. A node
// that heartbeated since it was found stale keeps them.
func TestRemoveDeadNodeReleasesItsEmails(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "Acme", base)
		v := newVisitor(t, db, w.ID, new("vera@example.com"))
		c := newConversation(t, db, v, model.ChannelWebsite, base)
		for i := range 4 {
			e := store.Email{ID: model.NewID(), WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: v.ID,
				MessageID: fmt.Sprintf("<%d@example.test>", i), From: "parley@example.test", To: "vera@example.com",
				Raw: []byte("Subject: x\r\n\r\nx\r\n"), NextAttemptAt: base, CreatedAt: base}
			if err := db.CreateEmail(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		now := at(time.Minute)
		if err := db.Heartbeat(ctx, "node-a", at(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		claim := func(node string, limit int) []string {
			t.Helper()
			got, err := db.ClaimEmails(ctx, node, now, 2*time.Minute, limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			sort.Strings(ids)
			return ids
		}
		onA := claim("node-a", 3)
		if len(onA) != 3 {
			t.Fatalf("node A claimed %d, want 3", len(onA))
		}
		// A delivers one before it dies.
		if _, err := db.SetEmailStatus(ctx, onA[0], "sent", now, "", now); err != nil {
			t.Fatal(err)
		}
		if got := claim("node-b", 10); len(got) != 1 {
			t.Fatalf("node B claimed %d while A holds its emails, want the 1 left", len(got))
		}
		// Found stale with a cutoff of 40 s, but it heartbeated at 50 s.
		if err := db.Heartbeat(ctx, "node-a", at(50*time.Second)); err != nil {
			t.Fatal(err)
		}
		if removed, _, _, err := db.RemoveDeadNode(ctx, "node-a", at(40*time.Second), now); err != nil || removed {
			t.Fatalf("a node that came back was removed (%v, %v)", removed, err)
		}
		if got := claim("node-b", 10); len(got) != 0 {
			t.Fatalf("node B took %d emails of a live node", len(got))
		}
		if removed, _, _, err := db.RemoveDeadNode(ctx, "node-a", at(55*time.Second), now); err != nil || !removed {
			t.Fatalf("a dead node was not removed (%v, %v)", removed, err)
		}
		check(t, "claimed by B once A is removed", claim("node-b", 10), onA[1:])
		if got := claim("node-b", 10); len(got) != 0 {
			t.Fatalf("claimed again: %v", got)
		}
	})
}
