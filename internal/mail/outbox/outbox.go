// Package outbox delivers the emails the forwarding engine queued: it
// claims due rows, hands them to the relay, and records the outcome on the
// email and on the replies it carries. Temporary failures are retried with
// backoff for at least a day; permanent ones fail the email.
package outbox

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/parleychat/parley/internal/logging"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Sender hands one message to a relay.
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// Notifier pushes encoded events to agents' dashboards.
type Notifier interface {
	ToAgents(workspaceID string, frame []byte)
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
	Now    func() time.Time
	Logger *slog.Logger
}

// Worker delivers the outbox.
type Worker struct {
	db     *store.DB
	sender Sender // nil: no relay configured
	notify Notifier
	opts   Options
	log    *slog.Logger
	kick   chan struct{}
}

// New returns a Worker. With a nil sender, emails are logged and stay
// queued in the outbox until a relay is configured.
func New(db *store.DB, sender Sender, notify Notifier, opts Options) *Worker {
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
	return &Worker{db: db, sender: sender, notify: notify, opts: opts, log: opts.Logger, kick: make(chan struct{}, 1)}
}

// Kick wakes the worker (an email was queued).
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Backoff is the delay before attempt n+1 after n failed attempts.
func (w *Worker) Backoff(n int) time.Duration {
	d := w.opts.RetryBase
	for i := 1; i < n && d < w.opts.RetryMax; i++ {
		d *= 2
	}
	if d > w.opts.RetryMax {
		d = w.opts.RetryMax
	}
	// Up to 10% jitter so that retries of a burst spread out.
	return d + time.Duration(rand.Int64N(int64(d)/10+1))
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	if w.sender == nil {
		w.log.Warn("no relay configured (PARLEY_SMTP_URL is empty): forwarded emails are logged and kept in the outbox")
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		w.deliverDue(ctx)
		wait := 30 * time.Second
		if next, err := w.db.NextEmailDue(ctx); err == nil && next != nil {
			if d := next.Sub(w.opts.Now()); d < wait {
				wait = d
			}
		}
		if wait < 0 {
			wait = 0
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

func (w *Worker) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		if w.sender == nil {
			w.logUndeliverable(ctx)
			return
		}
		batch, err := w.db.ClaimEmails(ctx, w.opts.NodeID, w.opts.Now(), w.opts.Lease, 50)
		if err != nil {
			if ctx.Err() == nil {
				w.log.Error("claim emails", "err", err)
			}
			return
		}
		for _, e := range batch {
			w.deliver(ctx, e)
		}
		if len(batch) < 50 {
			return
		}
	}
}

// logUndeliverable logs queued emails once, pushing their next look far
// out; they are sent when Parley restarts with a relay.
func (w *Worker) logUndeliverable(ctx context.Context) {
	batch, err := w.db.ClaimEmails(ctx, w.opts.NodeID, w.opts.Now(), 24*time.Hour, 50)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Error("claim emails", "err", err)
		}
		return
	}
	for _, e := range batch {
		// With no relay, the contract has the email written to the log;
		// its whole text (the visitor's address, the signed reply address)
		// only at debug level.
		w.log.Warn("email not sent: no relay configured (PARLEY_SMTP_URL); kept in the outbox, undeliverable until one is (PARLEY_LOG_LEVEL=debug logs its text)",
			"email", e.ID, "conversation", e.ConversationID, "to", logging.MaskEmail(e.To), "message_id", e.MessageID)
		w.log.Debug("undeliverable email", "email", e.ID, "to", e.To, "raw", string(e.Raw))
		if _, err := w.db.SetEmailStatus(ctx, e.ID, "queued", w.opts.Now().Add(24*time.Hour), "no relay configured (PARLEY_SMTP_URL is empty)", w.opts.Now()); err != nil {
			w.log.Error("record undeliverable email", "email", e.ID, "err", err)
		}
	}
}

func (w *Worker) deliver(ctx context.Context, e store.Email) {
	sendCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	err := w.sender.Send(sendCtx, e.From, []string{e.To}, e.Raw)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Interrupted by shutdown: the lease runs out and the email is
		// tried again.
		return
	}
	now := w.opts.Now()
	var (
		status = "sent"
		next   = now
		msg    string
	)
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
		status, msg = "failed", err.Error()
		w.log.Warn("email refused by the relay", logged...)
	case now.Sub(e.CreatedAt) >= w.opts.GiveUpAfter:
		status, msg = "failed", "gave up after "+now.Sub(e.CreatedAt).Round(time.Minute).String()+": "+err.Error()
		w.log.Warn("email given up", logged...)
	default:
		status, msg = "queued", err.Error()
		next = now.Add(w.Backoff(e.Attempts))
		w.log.Warn("email delivery failed; will retry", append(logged, "retry_at", next)...)
	}
	// The relay has answered: record it even if we are shutting down, and
	// the email with its replies at once.
	ctx = context.WithoutCancel(ctx)
	msgs, err := w.db.RecordEmailOutcome(ctx, e, status, next, msg, now)
	if err != nil {
		w.log.Error("record email status", "email", e.ID, "status", status, "err", err)
		if len(msgs) == 0 {
			return
		}
	}
	if w.notify == nil {
		return
	}
	for _, m := range msgs {
		if b, err := realtime.EncodeEvent(realtime.MessageUpdated, m); err == nil {
			w.notify.ToAgents(e.WorkspaceID, b)
		}
	}
}
