// Package outbox delivers the emails the forwarding engine queued: it
// claims due rows, hands them to the relay, and reports each outcome to the
// chat service, which records it on the email and on the replies it
// carries and tells the agents' dashboards. Temporary failures are retried
// with backoff for at least a day; permanent ones fail the email. (A bounce
// comes back later as mail, through the inbound side.)
package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/worker"
)

// Sender hands one message to a relay.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// Reporter records how delivery attempts went. The chat service
// implements it: it writes the emails' status and their replies' status
// and publishes the events of the replies and conversations that changed.
// The outcomes of a call are recorded together or, on error, none of them;
// ds is the caller's to reuse once the call returned.
type Reporter interface {
	EmailDeliveries(ctx context.Context, ds []Delivery) error
}

// Delivery is the outcome of one attempt at an email.
type Delivery struct {
	EmailID        string
	WorkspaceID    string
	ConversationID string
	To             string // the recipient
	// Status is model.DeliverySent, model.DeliveryFailed, or
	// model.DeliveryQueued when the email is to be tried again at Next.
	Status string
	Next   time.Time
	// Error is why the attempt failed (empty when sent).
	Error string
	At    time.Time
	// QueuedAt is when the email entered the outbox.
	QueuedAt time.Time
}

// Options configure a Worker.
type Options struct {
	// IsPermanent tells a permanent failure (SMTP 5xx) from a temporary one.
	IsPermanent func(error) bool
	// RetryBase is the first retry delay; it doubles up to RetryMax.
	RetryBase, RetryMax time.Duration
	// GiveUpAfter: a temporary failure this long after queueing fails the
	// email.
	GiveUpAfter time.Duration
	// Lease: how long a claimed email is hidden from other workers.
	Lease time.Duration
	// NodeID names this node on the emails it claims, so that they are
	// released when it dies.
	NodeID string
	// Parallel is how many emails are handed to the sender at once (its
	// connections to the relay); 1 if zero.
	Parallel int
	Now      func() time.Time
	Logger   *slog.Logger
}

// Worker delivers the outbox.
type Worker struct {
	db     *store.DB
	sender Sender // nil: no relay configured
	report Reporter
	opts   Options
	log    *slog.Logger
	loop   *worker.Worker
}

// New returns a Worker that reports outcomes to report. With a nil sender,
// emails are logged and stay queued in the outbox until a relay is
// configured.
func New(db *store.DB, sender Sender, report Reporter, opts Options) *Worker {
	if opts.RetryBase <= 0 {
		opts.RetryBase = 10 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 30 * time.Minute
	}
	if opts.GiveUpAfter <= 0 {
		opts.GiveUpAfter = 25 * time.Hour
	}
	if opts.Lease <= 0 {
		opts.Lease = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.IsPermanent == nil {
		opts.IsPermanent = func(error) bool { return false }
	}
	w := &Worker{db: db, sender: sender, report: report, opts: opts, log: opts.Logger}
	w.loop = worker.New(worker.Config{Name: "outbox", Work: w.deliverDue, NextDue: w.nextDue,
		Now: opts.Now, Logger: opts.Logger})
	return w
}

// Kick wakes the worker (an email was queued).
func (w *Worker) Kick() { w.loop.Kick() }

// Backoff is the delay before attempt n+1 after n failed attempts.
func (w *Worker) Backoff(n int) time.Duration {
	return worker.Backoff{Base: w.opts.RetryBase, Max: w.opts.RetryMax}.Delay(n)
}

// noRelay is the last error of an email kept while no relay was
// configured. It is stored, and Run finds such emails by it: a new wording
// must keep finding the emails kept by an older version.
const noRelay = "no relay configured (PARLEY_SMTP_URL is empty)"

// Run delivers until ctx ends. With a relay, the emails kept while there
// was none are due at once.
func (w *Worker) Run(ctx context.Context) {
	if w.sender == nil {
		w.log.Warn("no relay configured (PARLEY_SMTP_URL is empty): forwarded emails are logged and kept in the outbox")
	} else if n, err := w.db.WakeEmails(ctx, noRelay, w.opts.Now()); err != nil {
		w.log.Error("make the emails kept without a relay due", "err", err)
	} else if n > 0 {
		w.log.Info("emails kept while no relay was configured are sent now", "emails", n)
	}
	w.loop.Run(ctx)
}

func (w *Worker) nextDue(ctx context.Context) (*time.Time, error) {
	next, err := w.db.NextEmailDue(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the outbox schedule: %w", err)
	}
	return next, nil
}

// claim leases up to limit due emails for lease.
func (w *Worker) claim(lease time.Duration) func(context.Context, int) ([]store.Email, error) {
	return func(ctx context.Context, limit int) ([]store.Email, error) {
		batch, err := w.db.ClaimEmails(ctx, w.opts.NodeID, w.opts.Now(), lease, limit)
		if err != nil {
			return nil, fmt.Errorf("claim emails: %w", err)
		}
		return batch, nil
	}
}

// maxRecorded bounds the outcomes recorded in one transaction.
const maxRecorded = 64

// deliverDue hands the due emails to the relay, a batch of claims at a
// time, while one recorder writes the relay's answers: what came while it
// wrote the last ones is written together, in one transaction, so that a
// burst does not pay a commit per email and the relay's connections do
// not wait for the database between emails. An email whose answer is not
// yet written stays leased.
func (w *Worker) deliverDue(ctx context.Context) error {
	outcomes := make(chan Delivery, maxRecorded)
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		w.recordAll(ctx, outcomes)
	}()
	defer func() {
		close(outcomes)
		<-recorded
	}()
	if w.sender == nil {
		return worker.Batches(ctx, 50, w.claim(24*time.Hour), worker.Each(func(ctx context.Context, e store.Email) {
			outcomes <- w.undeliverable(e)
		}))
	}
	return worker.Batches(ctx, 50, w.claim(w.opts.Lease), worker.EachParallel(w.opts.Parallel, func(ctx context.Context, e store.Email) {
		if d, ok := w.deliver(ctx, e); ok {
			outcomes <- d
		}
	}))
}

// recordAll records the outcomes until the channel closes, each time all
// that are waiting (up to maxRecorded) at once.
func (w *Worker) recordAll(ctx context.Context, outcomes <-chan Delivery) {
	batch := make([]Delivery, 0, maxRecorded)
	for d := range outcomes {
		batch = append(batch[:0], d)
	more:
		for len(batch) < maxRecorded {
			select {
			case d, ok := <-outcomes:
				if !ok {
					break more
				}
				batch = append(batch, d)
			default:
				break more
			}
		}
		w.record(ctx, batch)
	}
}

// undeliverable logs a queued email once and returns its outcome, which
// pushes its next look far out; it is sent when Parley restarts with a
// relay (see Run).
func (w *Worker) undeliverable(e store.Email) Delivery {
	// With no relay, the contract has the email written to the log;
	// its whole text (the visitor's address, the signed reply address)
	// only at debug level.
	w.log.Warn("email not sent: no relay configured (PARLEY_SMTP_URL); kept in the outbox, undeliverable until one is (PARLEY_LOG_LEVEL=debug logs its text)",
		"email", e.ID, "conversation", e.ConversationID, "to", logging.MaskEmail(e.To), "message_id", e.MessageID)
	w.log.Debug("undeliverable email", "email", e.ID, "to", e.To, "raw", string(e.Raw))
	now := w.opts.Now()
	return Delivery{EmailID: e.ID, WorkspaceID: e.WorkspaceID, ConversationID: e.ConversationID, To: e.To,
		Status: model.DeliveryQueued, Next: now.Add(24 * time.Hour), Error: noRelay, At: now, QueuedAt: e.CreatedAt}
}

// deliver hands e to the relay and returns the outcome to record; ok is
// false when shutdown interrupted the attempt (the lease runs out and the
// email is tried again).
func (w *Worker) deliver(ctx context.Context, e store.Email) (d Delivery, ok bool) {
	sendCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := w.sender.Send(sendCtx, e.From, []string{e.To}, e.Raw)
	cancel()
	if err != nil && ctx.Err() != nil {
		return Delivery{}, false
	}
	now := w.opts.Now()
	d = Delivery{EmailID: e.ID, WorkspaceID: e.WorkspaceID, ConversationID: e.ConversationID, To: e.To,
		Status: model.DeliverySent, Next: now, At: now, QueuedAt: e.CreatedAt}
	// One line per delivery attempt, keyed by the outbox id; the relay's
	// answer may quote the visitor's address, masked like "to".
	logged := []any{"email", e.ID, "conversation", e.ConversationID, "to", logging.MaskEmail(e.To), "attempt", e.Attempts}
	if err != nil {
		logged = append(logged, "err", logging.MaskEmails(err.Error()))
	}
	switch {
	case err == nil:
		w.log.Info("email sent", logged...)
	case w.opts.IsPermanent(err):
		d.Status, d.Error = model.DeliveryFailed, err.Error()
		w.log.Warn("email refused by the relay", logged...)
	case now.Sub(e.CreatedAt) >= w.opts.GiveUpAfter:
		d.Status, d.Error = model.DeliveryFailed, "gave up after "+now.Sub(e.CreatedAt).Round(time.Minute).String()+": "+err.Error()
		w.log.Warn("email given up", logged...)
	default:
		d.Status, d.Error = model.DeliveryQueued, err.Error()
		d.Next = now.Add(w.Backoff(e.Attempts))
		w.log.Warn("email delivery failed; will retry", append(logged, "retry_at", d.Next)...)
	}
	// The relay has answered: it is recorded even if we are shutting down.
	return d, true
}

// record records a batch of outcomes, even once ctx (the worker's) is
// done: the relay has answered. When that fails, it records each alone, so
// that one that cannot be recorded does not hold back the others (its
// email stays leased and is tried again); not when shutting down, where
// the database's failure is likely the shutdown's.
func (w *Worker) record(ctx context.Context, ds []Delivery) {
	err := w.report.EmailDeliveries(context.WithoutCancel(ctx), ds)
	if err == nil {
		return
	}
	if len(ds) > 1 && ctx.Err() == nil {
		w.log.Warn("record email outcomes together; recording each alone", "emails", len(ds), "err", err)
		for i := range ds {
			w.record(ctx, ds[i:i+1])
		}
		return
	}
	w.log.Error("record email status", "email", ds[0].EmailID, "status", ds[0].Status, "err", err)
}
