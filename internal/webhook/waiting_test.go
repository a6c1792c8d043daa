package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/store/storetest"
	"github.com/parleychat/parley/internal/webhook"
)

type listed struct {
	Webhooks []struct {
		ID         string     `json:"id"`
		DisabledAt *time.Time `json:"disabled_at"`
		Pending    int        `json:"pending"`
	} `json:"webhooks"`
}

// TestEventsWaitForADisabledWebhook: a webhook disabled after a day of
// failures still gets the events raised meanwhile (a visitor's message,
// an agent's reply), counted as pending, and enabling it sends them, after
// the one that waited from before, in order.
func TestEventsWaitForADisabledWebhook(t *testing.T) {
	for name, dbURL := range databases(t) {
		t.Run(name, func(t *testing.T) {
			rcv := newFlaky(t, 0, 1<<30)
			s, a, wh := startHooked(t, dbURL(t), rcv, "message.created")
			get := func() (disabled bool, pending int) {
				var l listed
				s.Do("GET", "/api/v1/webhooks", a.Token, nil, http.StatusOK, &l)
				if len(l.Webhooks) != 1 {
					t.Fatalf("listed %+v", l)
				}
				return l.Webhooks[0].DisabledAt != nil, l.Webhooks[0].Pending
			}

			v := newVisitor(t, s)
			m := say(t, s, v, "before")
			apptest.Eventually(t, 10*time.Second, "the first event refused", func() bool { return len(rcv.all()) > 0 })
			// A day of failures, as the next try sees it: once the refusal
			// is recorded (the call is seen before its record).
			apptest.Eventually(t, 10*time.Second, "the refusal recorded, a day earlier", func() bool {
				res, err := s.App.DB.SQL.Exec(`UPDATE webhooks SET failing_since = failing_since - 90000000000 WHERE failing_since IS NOT NULL`)
				if err != nil {
					t.Fatal(err)
				}
				n, err := res.RowsAffected()
				return err == nil && n == 1
			})
			apptest.Eventually(t, 20*time.Second, "the webhook disabled", func() bool { d, _ := get(); return d })

			say(t, s, v, "while disabled")
			s.Do("POST", "/api/v1/conversations/"+m.ConversationID+"/messages", a.Token, map[string]string{"body": "agent, while disabled"}, http.StatusCreated, nil)
			if _, pending := get(); pending != 3 {
				t.Errorf("pending while disabled: %d, want 3", pending)
			}
			tries := len(rcv.all())
			time.Sleep(200 * time.Millisecond)
			if len(rcv.all()) != tries {
				t.Errorf("a disabled webhook was called")
			}

			rcv.mu.Lock()
			rcv.fail = 0
			rcv.mu.Unlock()
			s.Do("POST", "/api/v1/webhooks/"+wh.Webhook.ID+"/enable", a.Token, nil, http.StatusNoContent, nil)
			apptest.Eventually(t, 10*time.Second, "what waited delivered", func() bool { return len(rcv.delivered()) == 3 })
			got := deliveredBodies(t, rcv, wh.Secret)
			if want := []string{"before", "while disabled", "agent, while disabled"}; !slices.Equal(got, want) {
				t.Errorf("delivered %q, want %q", got, want)
			}
			apptest.Eventually(t, 5*time.Second, "nothing pending", func() bool { d, n := get(); return !d && n == 0 })
		})
	}
}

// TestEnablingSendsWhatWaited: a webhook disabled for days, enabled again
// with a receiver whose first answer is still a failure, retries rather
// than gives up what waited (even past the 72 hours after which a failing
// event is given up), and sends the events of the last seven days only.
func TestEnablingSendsWhatWaited(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name        string
		enableAfter time.Duration
		// want: the bodies delivered, by conversation, in order.
		want map[string][]string
	}{
		{"after two days", 2 * day, map[string][]string{"c1": {"c1-before", "c1-while"}, "c2": {"c2-before"}}},
		{"after four days", 4 * day, map[string][]string{"c1": {"c1-before", "c1-while"}, "c2": {"c2-before"}}},
		{"after seven days and two hours", 7*day + 2*time.Hour, map[string][]string{"c1": {"c1-while"}}},
	}
	for name, dbURL := range databases(t) {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				ctx := t.Context()
				db := storetest.Open(t, dbURL(t))
				start := time.Now().UTC().Truncate(time.Microsecond)
				clk := &clock{now: start}
				ws := model.Workspace{ID: model.NewID(), Name: "W", SiteKey: model.NewID(), TimeZone: "UTC", Settings: model.DefaultSettings(), CreatedAt: clk.Now()}
				if err := db.CreateWorkspace(ctx, ws); err != nil {
					t.Fatal(err)
				}
				rcv := newFlaky(t, 0, 1<<30)
				wh := store.Webhook{ID: model.NewID(), WorkspaceID: ws.ID, URL: rcv.srv.URL, Events: []string{"message.created"}, Secret: "s", CreatedAt: clk.Now()}
				if err := db.CreateWebhook(ctx, wh); err != nil {
					t.Fatal(err)
				}
				queue := func(conv, body string) {
					t.Helper()
					id := model.NewID()
					b, _ := json.Marshal(map[string]any{"id": id, "type": "message.created",
						"data": map[string]string{"conversation_id": conv, "body": body}})
					if _, err := db.QueueWebhookEvent(ctx, ws.ID, conv, id, "message.created", b, clk.Now()); err != nil {
						t.Fatal(err)
					}
				}
				queue("c1", "c1-before")
				queue("c2", "c2-before")
				d := webhook.New(db, webhook.Options{AllowPrivate: true, RetryBase: time.Minute, DisableAfter: time.Hour, Now: clk.Now})
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { d.Run(runCtx); close(done) }()
				t.Cleanup(func() { cancel(); <-done })
				// Both refused, and recorded before the clock jumps (a call
				// in flight across the jump would outlive its lease).
				apptest.Eventually(t, 5*time.Second, "both refused and recorded", func() bool {
					log, err := db.WebhookAttempts(ctx, wh.ID)
					return err == nil && len(rcv.all()) == 2 && len(log) == 2
				})
				disabled := func() bool {
					w, err := db.Webhook(ctx, ws.ID, wh.ID)
					return err == nil && w.DisabledAt != nil
				}
				clk.Add(2 * time.Hour)
				d.Kick()
				apptest.Eventually(t, 5*time.Second, "disabled", disabled)
				apptest.Eventually(t, 5*time.Second, "both tries recorded", func() bool {
					log, err := db.WebhookAttempts(ctx, wh.ID)
					return err == nil && len(log) == 4
				})

				clk.Add(time.Hour)
				queue("c1", "c1-while")

				// Enabled again, the receiver refusing its first call still.
				clk.Add(tt.enableAfter - 3*time.Hour)
				rcv.mu.Lock()
				rcv.hits, rcv.fail = nil, 1
				rcv.mu.Unlock()
				if err := db.EnableWebhook(ctx, ws.ID, wh.ID, clk.Now()); err != nil {
					t.Fatal(err)
				}
				d.Kick()
				apptest.Eventually(t, 5*time.Second, "the first call after enabling refused", func() bool {
					return slices.ContainsFunc(rcv.all(), func(h hit) bool { return h.Status == 500 })
				})
				total := 0
				for _, bodies := range tt.want {
					total += len(bodies)
				}
				// The calls of the other conversation delivered and every
				// call recorded before the clock jumps: a call in flight
				// across the jump would outlive its lease and go twice.
				var refused string
				for _, h := range rcv.all() {
					if h.Status == 500 {
						refused = h.ConversationID
					}
				}
				apptest.Eventually(t, 5*time.Second, "the other conversation's events delivered and every call recorded", func() bool {
					log, err := db.WebhookAttempts(ctx, wh.ID)
					return err == nil && len(rcv.delivered()) == total-len(tt.want[refused]) && len(log) == 4+len(rcv.all())
				})
				// Its retry is due within an hour (its delays start again at
				// enabling).
				clk.Add(time.Hour)
				d.Kick()
				apptest.Eventually(t, 5*time.Second, "what waited delivered", func() bool { return len(rcv.delivered()) == total })
				time.Sleep(100 * time.Millisecond)
				got := map[string][]string{}
				for _, h := range rcv.delivered() {
					var ev struct {
						Data struct {
							Body string `json:"body"`
						} `json:"data"`
					}
					if err := json.Unmarshal(h.Body, &ev); err != nil {
						t.Fatal(err)
					}
					got[h.ConversationID] = append(got[h.ConversationID], ev.Data.Body)
				}
				for _, conv := range []string{"c1", "c2"} {
					if strings.Join(got[conv], " ") != strings.Join(tt.want[conv], " ") {
						t.Errorf("%s: delivered %v, want %v", conv, got[conv], tt.want[conv])
					}
				}
				if n, err := db.PendingWebhookDeliveries(ctx, wh.ID, clk.Now()); err != nil || n != 0 {
					t.Errorf("%d pending after delivering (%v)", n, err)
				}
			})
		}
	}
}
