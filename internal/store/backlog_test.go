package store_test

import (
	"fmt"
	"slices"
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

// ForwardSchedule lists what is due, earliest first, and the next due time
// after now when its read reaches it.
func TestForwardSchedule(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		now := at(time.Hour)
		read := func(step string, limit int, wantDue []string, wantNext *time.Time) {
			t.Helper()
			due, next, err := db.ForwardSchedule(ctx, now, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(due) == 0 {
				due = nil
			}
			check(t, step+": due", due, wantDue)
			check(t, step+": next", next, storedPtr(wantNext))
		}
		schedule := func(due time.Time) string { return scheduled(t, db, w.ID, due) }
		read("nothing scheduled", 10, nil, nil)
		later := at(2 * time.Hour)
		schedule(later)
		read("only later", 10, nil, &later)
		second := schedule(at(30 * time.Minute))
		first := schedule(at(10 * time.Minute))
		atNow := schedule(now) // due at now is due
		read("due and later", 10, []string{first, second, atNow}, &later)
		read("more due than the limit", 2, []string{first, second}, nil)
		read("exactly the limit due", 3, []string{first, second, atNow}, &later)
	})
}

// ClaimForwardDue takes what is due, earliest first, hides it from other
// nodes for the lease, skips what another transaction holds, and gives
// the schedule's earliest due time as it found it. SQLite (one node)
// lists instead: there the claim is refused.
func TestClaimForwardDue(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		now := at(time.Hour)
		const lease = 15 * time.Second
		if db.Dialect() != store.Postgres {
			if _, _, err := db.ClaimForwardDue(ctx, now, lease, 10); err == nil {
				t.Error("SQLite: claim accepted; want an error")
			}
			return
		}
		w := newWorkspace(t, db, "W", base)
		schedule := func(due time.Time) string { return scheduled(t, db, w.ID, due) }
		claim := func(step string, now time.Time, limit int, wantDue []string, wantNext *time.Time) {
			t.Helper()
			due, next, err := db.ClaimForwardDue(ctx, now, lease, limit)
			if err != nil {
				t.Fatal(err)
			}
			// The earliest ones, in no particular order.
			slices.Sort(due)
			wantDue = slices.Sorted(slices.Values(wantDue))
			check(t, step+": claimed", due, wantDue)
			check(t, step+": next", next, storedPtr(wantNext))
		}
		dueAt := func(id string) *time.Time {
			t.Helper()
			c, err := db.ConversationForForwarding(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Forwarding == nil {
				return nil
			}
			return c.Forwarding.DueAt
		}

		claim("nothing scheduled", now, 10, nil, nil)
		later := at(2 * time.Hour)
		schedule(later)
		claim("only later", now, 10, nil, &later)

		second := schedule(at(30 * time.Minute))
		first := schedule(at(10 * time.Minute))
		third := schedule(now) // due at now is due
		claim("the limit", now, 2, []string{first, second}, new(at(10*time.Minute)))
		// A claim leaves the due time as it was: the API shows it, and the
		// backlog counts the claimed conversations as due.
		check(t, "claimed, due as before", dueAt(first), storedPtr(new(at(10*time.Minute))))
		check(t, "claimed, due as before", dueAt(second), storedPtr(new(at(30*time.Minute))))
		check(t, "not claimed", dueAt(third), storedPtr(&now))
		b, err := db.Backlog(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "due in the backlog", b.ForwardDue, int64(3))
		// Claimed ones are passed over by the next claim, also at the limit.
		claim("claimed already", now, 2, []string{third}, new(at(10*time.Minute)))
		claim("all claimed", now, 10, nil, new(at(10*time.Minute)))
		// The decision on third ends its claim: due again (a retry), it
		// is claimable at once.
		if err := db.SetForwardState(ctx, third, model.Forwarding{DueAt: &now, Code: "error"}); err != nil {
			t.Fatal(err)
		}
		claim("decided, due again", now, 10, []string{third}, new(at(10*time.Minute)))
		if err := db.SetForwardState(ctx, third, model.Forwarding{DueAt: &now, Code: "error"}); err != nil {
			t.Fatal(err)
		}

		// Held by another transaction (a decision on another node):
		// skipped, and left as it was.
		err = db.InTx(ctx, func(tx *store.Store) error {
			if _, ok, err := tx.LockedConversation(ctx, third); err != nil || !ok {
				t.Fatalf("lock: ok %v, err %v", ok, err)
			}
			claim("held elsewhere", now, 10, nil, new(at(10*time.Minute)))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		claim("released", now, 10, []string{third}, new(at(10*time.Minute)))

		// Once the lease ends, what no decision moved is claimable again.
		claim("before the lease ends", now.Add(lease-time.Microsecond), 10, nil, new(at(10*time.Minute)))
		claim("after the lease", now.Add(lease), 10, []string{first, second, third}, new(at(10*time.Minute)))
	})
}

// scheduled makes a conversation of an anonymous visitor in workspace
// workspaceID whose forwarding decision is due at due.
func scheduled(t *testing.T, db *store.DB, workspaceID string, due time.Time) string {
	t.Helper()
	c := newConversation(t, db, newVisitor(t, db, workspaceID, nil), model.ChannelWebsite, base)
	if err := db.SetForwardState(t.Context(), c.ID, model.Forwarding{DueAt: &due, Code: "wait"}); err != nil {
		t.Fatal(err)
	}
	return c.ID
}
