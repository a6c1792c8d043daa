package forward_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/apptest"
	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/mail/relay"
	"github.com/parleychat/parley/internal/store"
)

// Two nodes, each evaluating with several workers, share one PostgreSQL:
// every due conversation is emailed exactly once.
func TestConcurrentEnginesEmailOnce(t *testing.T) {
	db, err := store.Open(t.Context(), apptest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	const n = 300
	seed(t, db, n, true)
	srv := apptest.StartRelay(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 2 { // two nodes
		r, err := relay.New(relay.Config{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		w := outbox.New(db, r, reporter(db), outbox.Options{IsPermanent: relay.IsPermanent, Logger: quietLog})
		e := newEngineWith(db, func(o *forward.EngineOptions) { o.Queued, o.Workers = w.Kick, 4 })
		go e.Run(ctx)
		go w.Run(ctx)
	}
	srv.Wait(t, n, time.Minute)
	srv.EachConversationOnce(t, n, 500*time.Millisecond)
}
