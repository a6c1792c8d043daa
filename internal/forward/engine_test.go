package forward_test

import (
	"context"
	"slices"
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
	db := forward.MigratedDBAt(t, apptest.Postgres(t))
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

// On PostgreSQL a node claims the due conversations it decides on: while
// another node's claim lasts, this node leaves them alone; once it ends
// (that node died before deciding), this node decides and queues the
// emails.
func TestDueClaimedByAnotherNode(t *testing.T) {
	db := forward.MigratedDBAt(t, apptest.Postgres(t))
	const n = 5
	seed(t, db, n, true)
	now := time.Now().Add(time.Second) // every seeded one is due
	claimed, _, err := db.ClaimForwardDue(t.Context(), now, 15*time.Second, 100)
	if err != nil || len(claimed) != n {
		t.Fatalf("the other node's claim: %d conversations, %v; want %d", len(claimed), err, n)
	}
	clock := now
	e := newEngineWith(db, func(o *forward.EngineOptions) {
		o.Workers = 4
		o.Now = func() time.Time { return clock }
	})
	queued := func() int {
		t.Helper()
		var c int
		if err := db.SQL.QueryRowContext(t.Context(), `SELECT count(*) FROM emails`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := e.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := queued(); got != 0 {
		t.Fatalf("while claimed elsewhere: %d emails queued, want 0", got)
	}
	clock = now.Add(16 * time.Second)
	if err := e.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := queued(); got != n {
		t.Fatalf("after the claim ended: %d emails queued, want %d", got, n)
	}
}

// Two nodes on PostgreSQL: while one decides on the due conversations it
// claimed, the other's round finds none of them due, so no conversation
// is decided twice (the second decision would find the email queued and
// only cost round trips).
func TestDueBatchClaimedByOneNode(t *testing.T) {
	db := forward.MigratedDBAt(t, apptest.Postgres(t))
	const n = 4 // one batch of the first node (four per worker)
	seed(t, db, n, true)
	now := time.Now().Add(time.Second)
	clock := func() time.Time { return now }
	var queuedBySecond int
	var firstResults, secondResults []string
	second := newEngineWith(db, func(o *forward.EngineOptions) {
		o.Workers, o.Now = 1, clock
		o.Queued = func() { queuedBySecond++ }
		o.Decided = func(r string) { secondResults = append(secondResults, r) }
	})
	var queuedByFirst int
	var secondErr error
	first := newEngineWith(db, func(o *forward.EngineOptions) {
		o.Workers, o.Now = 1, clock
		o.Decided = func(r string) { firstResults = append(firstResults, r) }
		o.Queued = func() {
			queuedByFirst++
			if queuedByFirst == 1 { // the first batch is being decided
				secondErr = second.Round(t.Context())
			}
		}
	})
	if err := first.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if secondErr != nil {
		t.Fatal(secondErr)
	}
	if want := slices.Repeat([]string{forward.DecisionQueued}, n); !slices.Equal(firstResults, want) || len(secondResults) > 0 {
		t.Errorf("looks: %v by the first node, %v by the second; want %v and none", firstResults, secondResults, want)
	}
	if queuedByFirst != n || queuedBySecond != 0 {
		t.Errorf("emails queued: %d by the first node, %d by the second; want %d and 0", queuedByFirst, queuedBySecond, n)
	}
}

// A due conversation that another transaction holds (another node is
// deciding on it) is not claimed, and the loop looks again a second later
// rather than at once, over and over, while it is held.
func TestDueHeldElsewhereLookedAtAgainLater(t *testing.T) {
	db := forward.MigratedDBAt(t, apptest.Postgres(t))
	seed(t, db, 1, true)
	ids, _, err := db.ForwardSchedule(t.Context(), time.Now().Add(time.Second), 10)
	if err != nil || len(ids) != 1 {
		t.Fatalf("seeded schedule: %v, %v", ids, err)
	}
	now := time.Now().Add(time.Second).Truncate(time.Microsecond) // as the engine keeps times
	var results []string
	e := newEngineWith(db, func(o *forward.EngineOptions) {
		o.Now = func() time.Time { return now }
		o.Decided = func(r string) { results = append(results, r) }
	})
	err = db.InTx(t.Context(), func(tx *store.Store) error {
		if _, ok, err := tx.LockedConversation(t.Context(), ids[0]); err != nil || !ok {
			t.Fatalf("hold: ok %v, err %v", ok, err)
		}
		if err := e.Round(t.Context()); err != nil {
			return err
		}
		next, err := e.NextDue(t.Context())
		if err != nil {
			return err
		}
		if want := now.Add(time.Second); next == nil || !next.Equal(want) {
			t.Errorf("next look while held: %v, want %v", next, want)
		}
		// Asked to decide on it now (a change): skipped, counted so.
		if err := e.Evaluate(t.Context(), ids[0]); err != nil {
			return err
		}
		if want := []string{forward.DecisionSkipped}; !slices.Equal(results, want) {
			t.Errorf("looks while held: %v, want %v", results, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
