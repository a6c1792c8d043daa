package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// A disabled webhook's events wait for it: the events raised while it is
// disabled are queued too, none is claimed until it is enabled again, and
// enabling sends those of the last WebhookKeptWhileDisabled in order,
// their time before being given up starting then. Older ones are dropped,
// on enabling or by the retention's sweep, and the pending count leaves
// them out as soon as they are too old.
func TestDisabledWebhookKeepsItsEvents(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	// Events: 0 queued before the webhook was disabled (at base), 1 and 2
	// raised while it was (at 2 h and 3 days), all of one conversation.
	times := []time.Duration{0, 2 * time.Hour, 3 * day}
	tests := []struct {
		name string
		// sweep: the retention's sweep runs at sweepAt (before enabling).
		sweep   bool
		sweepAt time.Duration
		enable  time.Duration
		// wantPending before enabling; want: the events then sent, in order.
		wantPending int
		wantSwept   int
		want        []int
	}{
		{name: "enabled after four days", enable: 4 * day, wantPending: 3, want: []int{0, 1, 2}},
		{name: "enabled past seven days", enable: 7*day + time.Hour, wantPending: 2, want: []int{1, 2}},
		{name: "enabled past seven days of all", enable: 11 * day, wantPending: 0, want: nil},
		{name: "swept, then enabled", sweep: true, sweepAt: 7*day + 3*time.Hour, wantSwept: 2,
			enable: 9 * day, wantPending: 1, want: []int{2}},
		{name: "swept with nothing old", sweep: true, sweepAt: 6 * day, wantSwept: 0,
			enable: 6 * day, wantPending: 3, want: []int{0, 1, 2}},
	}
	forEachDB(t, func(t *testing.T, db *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := t.Context()
				w := newWorkspace(t, db, "W", base)
				hook := store.Webhook{ID: model.NewID(), WorkspaceID: w.ID, URL: "https://hooks.example.com/",
					Events: []string{"message.created"}, Secret: "s", CreatedAt: base}
				if err := db.CreateWebhook(ctx, hook); err != nil {
					t.Fatal(err)
				}
				conv := model.NewID()
				ids := make([]string, len(times))
				queue := func(i int) {
					t.Helper()
					ids[i] = model.NewID()
					ok, err := db.QueueWebhookEvent(ctx, w.ID, conv, ids[i], "message.created", []byte(`{}`), at(times[i]))
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						t.Errorf("event %d: no webhook took it", i)
					}
				}
				queue(0)
				// Its first try fails and disables the webhook.
				claimed, err := db.ClaimWebhookDeliveries(ctx, "", at(time.Second), time.Minute, 10, nil)
				if err != nil || len(claimed) != 1 {
					t.Fatalf("claimed %d (%v), want the first event", len(claimed), err)
				}
				disabled, err := db.RecordWebhookAttempt(ctx, claimed[0], store.WebhookOutcome{
					Attempt: store.WebhookAttempt{EventID: ids[0], At: at(time.Second), Error: "connection refused"},
					Next:    at(time.Minute)})
				if err != nil || !disabled {
					t.Fatalf("disabled = %v (%v)", disabled, err)
				}
				subs, err := db.WebhookSubscriptions(ctx, w.ID)
				if err != nil || len(subs) != 1 {
					t.Errorf("subscriptions of a workspace with a disabled webhook: %q (%v)", subs, err)
				}
				queue(1)
				queue(2)
				if c, err := db.ClaimWebhookDeliveries(ctx, "", at(8*day), time.Minute, 10, nil); err != nil || len(c) != 0 {
					t.Fatalf("claimed %d deliveries of a disabled webhook (%v)", len(c), err)
				}
				if next, err := db.NextWebhookDue(ctx); err != nil || next != nil {
					t.Fatalf("a disabled webhook is due at %v (%v)", next, err)
				}
				if tt.sweep {
					n, err := db.DropExpiredWebhookDeliveries(ctx, at(tt.sweepAt))
					if err != nil {
						t.Fatal(err)
					}
					if n != tt.wantSwept {
						t.Errorf("swept %d deliveries, want %d", n, tt.wantSwept)
					}
				}
				now := at(tt.enable)
				if n, err := db.PendingWebhookDeliveries(ctx, hook.ID, now); err != nil || n != tt.wantPending {
					t.Errorf("pending before enabling: %d (%v), want %d", n, err, tt.wantPending)
				}
				if err := db.EnableWebhook(ctx, w.ID, hook.ID, now); err != nil {
					t.Fatal(err)
				}
				var sent []int
				for range len(times) + 1 {
					c, err := db.ClaimWebhookDeliveries(ctx, "", now, time.Minute, 10, nil)
					if err != nil {
						t.Fatal(err)
					}
					if len(c) == 0 {
						break
					}
					if len(c) != 1 {
						t.Fatalf("claimed %d deliveries of one conversation at once", len(c))
					}
					if c[0].Attempts != 1 {
						t.Errorf("event %s: try %d after enabling, want 1 (the retries' delays start again)", c[0].EventID, c[0].Attempts)
					}
					if !c[0].CreatedAt.Equal(stored(now)) {
						t.Errorf("event %s: tried since %v, want since it was enabled, %v", c[0].EventID, c[0].CreatedAt, stored(now))
					}
					sent = append(sent, slices.Index(ids, c[0].EventID))
					if _, err := db.RecordWebhookAttempt(ctx, c[0], store.WebhookOutcome{Delivered: true,
						Attempt: store.WebhookAttempt{EventID: c[0].EventID, At: now, OK: true}}); err != nil {
						t.Fatal(err)
					}
				}
				if !slices.Equal(sent, tt.want) {
					t.Errorf("sent events %v, want %v", sent, tt.want)
				}
				var events int
				if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM webhook_events WHERE workspace_id = ?`, w.ID).Scan(&events); err != nil {
					t.Fatal(err)
				}
				if events != 0 {
					t.Errorf("%d events left with nothing to deliver", events)
				}
			})
		}
	})
}
