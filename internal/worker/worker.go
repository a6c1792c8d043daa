// Package worker runs Parley's durable background work: forwarding
// evaluations, the outbox, Messenger and Instagram sends and webhook
// events. The work itself is kept in the database (a due time per row);
// a Worker only decides when to look at it again.
//
// Every kind of work uses the same loop: do what is due, then sleep until
// the next due time, a Kick, or an upper bound (other nodes may have added
// work), whichever comes first. A round that fails is retried after a wait
// that grows with each failure in a row (Backoff), so an outage neither
// spins nor is forgotten. A new kind of background work supplies its own
// Work and NextDue, never a new loop.
package worker

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff is an exponential delay with jitter: Base after the first
// failure, doubling with each further one up to Max, plus up to a tenth
// more at random so that the retries of a burst spread out.
type Backoff struct {
	Base, Max time.Duration
}

// Delay is the wait after n failures in a row (n < 1 counts as 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 0 {
		return 0
	}
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// Defaults of Config.
const (
	DefaultMaxIdle = 30 * time.Second
)

// DefaultErrorBackoff is the wait after failed rounds: a second, growing to
// half a minute while the failures go on.
var DefaultErrorBackoff = Backoff{Base: time.Second, Max: 30 * time.Second}

// Config describes one kind of background work.
type Config struct {
	// Name says which work it is in logs ("outbox", "forwarding").
	Name string
	// Work does everything due now. An error (the database is unreachable,
	// some items were kept for another try) makes the next round wait
	// ErrorBackoff instead of the next due time.
	Work func(ctx context.Context) error
	// NextDue returns when work is next due, nil when nothing is scheduled.
	// A nil NextDue means only kicks and MaxIdle wake the worker.
	NextDue func(ctx context.Context) (*time.Time, error)
	// MaxIdle bounds how long the worker sleeps without looking at the
	// schedule (DefaultMaxIdle when zero).
	MaxIdle time.Duration
	// ErrorBackoff is the wait after failed rounds (DefaultErrorBackoff
	// when zero); it starts again from Base after a round that worked.
	ErrorBackoff Backoff
	// Now is the clock NextDue's times are read against (time.Now when nil).
	Now func() time.Time
	// Logger (slog.Default when nil) receives failed rounds.
	Logger *slog.Logger
}

// Worker runs one kind of background work (see the package doc).
type Worker struct {
	cfg  Config
	kick chan struct{} // one pending wake at most: kicks coalesce
}

// New returns a Worker; Run starts it.
func New(cfg Config) *Worker {
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = DefaultMaxIdle
	}
	if cfg.ErrorBackoff.Base <= 0 {
		cfg.ErrorBackoff = DefaultErrorBackoff
	}
	if cfg.ErrorBackoff.Max < cfg.ErrorBackoff.Base {
		cfg.ErrorBackoff.Max = cfg.ErrorBackoff.Base
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Worker{cfg: cfg, kick: make(chan struct{}, 1)}
}

// Kick wakes the worker for another round (new work was queued). It never
// blocks; kicks that arrive during a round make one more round together.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run does rounds of work until ctx ends. The first round starts at once.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	failures := 0
	for {
		wait, err := w.round(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			wait = w.cfg.ErrorBackoff.Delay(failures)
			w.cfg.Logger.Error("background work failed; will retry", "worker", w.cfg.Name,
				"failures", failures, "retry_in", wait, "err", err)
		} else {
			failures = 0
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			timer.Stop() // Go 1.23 timers: no stale value survives Stop
		case <-timer.C:
		}
	}
}

// round does the due work and returns how long to sleep after it.
func (w *Worker) round(ctx context.Context) (time.Duration, error) {
	if err := w.cfg.Work(ctx); err != nil {
		return 0, err
	}
	wait := w.cfg.MaxIdle
	if w.cfg.NextDue == nil {
		return wait, nil
	}
	next, err := w.cfg.NextDue(ctx)
	if err != nil {
		return 0, err
	}
	if next != nil {
		wait = min(wait, max(next.Sub(w.cfg.Now()), 0))
	}
	return wait, nil
}

// Batches claims due items limit at a time and hands each batch to
// handle, until a batch comes back short (nothing more is due), handle
// reports that a full batch made no progress (its items are still due:
// going on would spin), or ctx ends. A failed claim ends the round with
// its error.
func Batches[T any](ctx context.Context, limit int, claim func(ctx context.Context, limit int) ([]T, error), handle func(ctx context.Context, batch []T) (progressed bool)) error {
	for ctx.Err() == nil {
		batch, err := claim(ctx, limit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if !handle(ctx, batch) || len(batch) < limit {
			return nil
		}
	}
	return nil
}

// Each is a handle for Batches that passes the items one by one to fn and
// always reports progress (fn moves each item on or leaves it leased).
func Each[T any](fn func(ctx context.Context, item T)) func(context.Context, []T) bool {
	return func(ctx context.Context, batch []T) bool {
		for _, it := range batch {
			if ctx.Err() != nil {
				return false
			}
			fn(ctx, it)
		}
		return true
	}
}

// EachParallel is Each with up to n items handled at once (n < 2: one by
// one); it returns once all the batch's items were handled.
func EachParallel[T any](n int, fn func(ctx context.Context, item T)) func(context.Context, []T) bool {
	if n < 2 {
		return Each(fn)
	}
	return func(ctx context.Context, batch []T) bool {
		items := make(chan T)
		var wg sync.WaitGroup
		for range min(n, len(batch)) {
			wg.Go(func() {
				for it := range items {
					fn(ctx, it)
				}
			})
		}
		progressed := true
		for _, it := range batch {
			if ctx.Err() != nil {
				progressed = false
				break
			}
			items <- it
		}
		close(items)
		wg.Wait()
		return progressed
	}
}
