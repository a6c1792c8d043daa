package store_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// A conversation's later event waits behind its earlier one, and so does
// the deliverer: the next due time is the earlier event's retry, not the
// later event's queueing (which made the deliverer claim nothing in a
// loop until the retry).
func TestNextWebhookDueSkipsEventsWaitingBehindOthers(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		w := newWorkspace(t, db, "W", base)
		if err := db.CreateWebhook(ctx, store.Webhook{ID: model.NewID(), WorkspaceID: w.ID, URL: "https://hooks.example.com/",
			Events: []string{"message.created"}, Secret: "s", CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
		conv := model.NewID()
		for i := range 2 {
			if _, err := db.QueueWebhookEvent(ctx, w.ID, conv, model.NewID(), "message.created", []byte(`{}`), at(time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		claimed, err := db.ClaimWebhookDeliveries(ctx, "", at(2*time.Second), time.Minute, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(claimed) != 1 {
			t.Fatalf("claimed %d deliveries of one conversation, want its first", len(claimed))
		}
		retry := at(time.Hour)
		if _, err := db.RecordWebhookAttempt(ctx, claimed[0], store.WebhookOutcome{
			Attempt: store.WebhookAttempt{EventID: claimed[0].EventID, At: at(2 * time.Second), Error: "connection refused"},
			Next:    retry, DisableAfter: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		next, err := db.NextWebhookDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if next == nil || !next.Equal(stored(retry)) {
			t.Errorf("next due %v, want the first event's retry at %v", next, stored(retry))
		}
	})
}
