package webhook_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/store/storetest"
	"github.com/parleychat/parley/internal/webhook"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestFailingWebhookDisabled: a receiver that never answers 2xx keeps its
// deliveries pending and retried; after a day of failures the webhook is
// disabled (with its reason) and nothing more is tried until it is
// enabled again, when what waited goes out.
func TestFailingWebhookDisabled(t *testing.T) {
	for name, dbURL := range databases(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db := storetest.Open(t, dbURL(t))
			clk := &clock{now: time.Now().UTC().Truncate(time.Microsecond)}
			ws := model.Workspace{ID: model.NewID(), Name: "W", SiteKey: model.NewID(), TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: clk.Now()}
			if err := db.CreateWorkspace(ctx, ws); err != nil {
				t.Fatal(err)
			}
			rcv := newFlaky(t, 0, 1<<30)
			wh := store.Webhook{ID: model.NewID(), WorkspaceID: ws.ID, URL: rcv.srv.URL, Events: []string{"message.created"}, Secret: "s", CreatedAt: clk.Now()}
			if err := db.CreateWebhook(ctx, wh); err != nil {
				t.Fatal(err)
			}
			for i, conv := range []string{"c1", "c2"} {
				id := model.NewID()
				if _, err := db.QueueWebhookEvent(ctx, ws.ID, conv, id, "message.created", []byte(`{"id":"`+id+`"}`), clk.Now()); err != nil {
					t.Fatalf("queue %d: %v", i, err)
				}
			}
			// Never due by itself again: the clock is moved by the test.
			d := webhook.New(db, webhook.Options{AllowPrivate: true, RetryBase: time.Minute, Now: clk.Now})
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { d.Run(runCtx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			logged := func(n int) func() bool {
				return func() bool {
					log, err := db.WebhookAttempts(ctx, wh.ID)
					return err == nil && len(log) == n
				}
			}
			apptest.Eventually(t, 5*time.Second, "both deliveries tried and logged", logged(2))
			get := func() store.Webhook {
				w, err := db.Webhook(ctx, ws.ID, wh.ID)
				if err != nil {
					t.Fatal(err)
				}
				return w
			}
			if w := get(); w.FailingSince == nil || w.DisabledAt != nil {
				t.Fatalf("after the first failures: %+v", w)
			}
			// Twelve hours of failures: still enabled, still retried.
			clk.Add(12 * time.Hour)
			d.Kick()
			apptest.Eventually(t, 5*time.Second, "retried and logged", logged(4))
			if w := get(); w.DisabledAt != nil {
				t.Fatalf("disabled after 12 h: %+v", w)
			}
			// A day and a bit: the next failure disables it.
			clk.Add(13 * time.Hour)
			d.Kick()
			apptest.Eventually(t, 5*time.Second, "disabled", func() bool { return get().DisabledAt != nil })
			if w := get(); w.DisabledReason == "" {
				t.Errorf("no reason: %+v", w)
			}
			tries := len(rcv.all())
			if next, err := db.NextWebhookDue(ctx); err != nil || next != nil {
				t.Errorf("a disabled webhook is still scheduled at %v (%v)", next, err)
			}
			if n, _ := db.PendingWebhookDeliveries(ctx, wh.ID, clk.Now()); n != 2 {
				t.Errorf("%d deliveries kept, want 2", n)
			}
			clk.Add(time.Hour)
			d.Kick()
			if len(rcv.all()) != tries {
				t.Errorf("a disabled webhook was called")
			}

			// Enabled again with the receiver fixed: what waited goes out.
			rcv.mu.Lock()
			rcv.fail = 0
			rcv.mu.Unlock()
			if err := db.EnableWebhook(ctx, ws.ID, wh.ID, clk.Now()); err != nil {
				t.Fatal(err)
			}
			d.Kick()
			apptest.Eventually(t, 5*time.Second, "delivered after enabling", func() bool { return len(rcv.delivered()) == 2 })
			apptest.Eventually(t, 5*time.Second, "nothing pending", func() bool {
				n, _ := db.PendingWebhookDeliveries(ctx, wh.ID, clk.Now())
				return n == 0
			})
			if w := get(); w.FailingSince != nil || w.DisabledAt != nil {
				t.Errorf("after delivering: %+v", w)
			}
		})
	}
}
