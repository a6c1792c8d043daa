package forward

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/internal/mail/message"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
	"github.com/parleychat/parley/internal/worker"
)

// EngineOptions configure the scheduler.
type EngineOptions struct {
	Timings       Timings
	PublicURL     string // base of unsubscribe and conversation links
	MailFrom      string // PARLEY_MAIL_FROM
	InboundDomain string // domain of reply addresses
	Now           func() time.Time
	Logger        *slog.Logger
	// Queued is called after an email was committed to the outbox.
	Queued func()
	// Decided is called once for every look at a conversation, with one
	// of the Decision* results.
	Decided func(result string)
	// MaxIdle bounds how long the loop sleeps without looking at the
	// schedule (other nodes may have added due times).
	MaxIdle time.Duration
	// Workers evaluate due conversations concurrently (1 when zero). On
	// PostgreSQL each evaluation mostly waits for round trips and the
	// commit; on SQLite the emails are composed in parallel outside the
	// one writer (drafts), and the writer commits several evaluations at
	// once.
	Workers int
	// MaxPerAddressDaily bounds the emails queued for one address in 24
	// hours (PARLEY_FORWARD_MAX_PER_ADDRESS; 50 when zero), so that
	// Parley cannot be made to send a stranger's text to someone again and
	// again. Beyond it the conversation waits until the oldest of them is
	// a day old.
	MaxPerAddressDaily int
}

// Results of a look at a conversation, for EngineOptions.Decided.
const (
	// DecisionSettled: a change that left the decision as recorded, seen
	// without a transaction.
	DecisionSettled = "settled"
	// DecisionUnchanged: decided in a transaction; the recorded decision
	// stands.
	DecisionUnchanged = "unchanged"
	// DecisionUpdated: a new decision recorded (a wait, its due time, a
	// reason), no email.
	DecisionUpdated = "updated"
	// DecisionQueued: an email queued.
	DecisionQueued = "queued"
	// DecisionSkipped: another transaction (another node) held the
	// conversation.
	DecisionSkipped = "skipped"
	// DecisionFailed: the look failed; it is tried again.
	DecisionFailed = "failed"
)

// DecisionResults lists every result, for metrics that show each from the
// start.
var DecisionResults = []string{DecisionSettled, DecisionUnchanged, DecisionUpdated, DecisionQueued, DecisionSkipped, DecisionFailed}

// Engine is the scheduler: it re-evaluates conversations when their inputs
// change, keeps one durable due time per conversation, and at the due time
// writes the email to the outbox and marks the replies it carries, in one
// transaction.
type Engine struct {
	db     *store.DB
	signer *token.Signer
	notify realtime.Publisher
	opts   EngineOptions
	log    *slog.Logger

	loop *worker.Worker

	// scheduled is what the last look at the schedule found when nothing
	// was due then, so that nothing was evaluated after it: the next due
	// time, which nextDue answers without a read of its own, and which
	// holds until this node evaluates a conversation (and may move its due
	// time), that time comes, or MaxIdle passed since it was read (other
	// nodes' evaluations). Only the loop's goroutine touches it.
	scheduled struct {
		known bool
		next  *time.Time
		at    time.Time // when it was read
	}
	// rescheduled tells the loop that an evaluation outside it (Evaluate)
	// may have moved a due time.
	rescheduled atomic.Bool

	mu sync.Mutex
	// pending are the conversations to re-evaluate, each with what the
	// write that changed it read, or nil when it must be read (see
	// ConversationWritten).
	pending map[string]*written
	visits  map[string]struct{} // visitors whose conversations to re-evaluate
	spaces  map[string]struct{} // workspaces whose conversations to re-evaluate
}

// NewEngine returns an Engine; Run starts it.
func NewEngine(db *store.DB, signer *token.Signer, notify realtime.Publisher, opts EngineOptions) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = 5 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	e := &Engine{db: db, signer: signer, notify: notify, opts: opts, log: opts.Logger,
		pending: map[string]*written{}, visits: map[string]struct{}{}, spaces: map[string]struct{}{}}
	e.loop = worker.New(worker.Config{Name: "forwarding", Work: e.work, NextDue: e.nextDue,
		MaxIdle: opts.MaxIdle, Now: e.now, Logger: opts.Logger})
	return e
}

func (e *Engine) now() time.Time { return e.opts.Now().UTC().Truncate(time.Microsecond) }

// ConversationChanged asks for the conversation to be evaluated again.
func (e *Engine) ConversationChanged(_ context.Context, id string) {
	e.mu.Lock()
	e.pending[id] = nil
	e.mu.Unlock()
	e.loop.Kick()
}

// ConversationWritten is ConversationChanged with the conversation (and
// its workspace, when w is not nil) as read in the transaction that
// changed it, told once that transaction committed and in the order
// transactions committed (from store.DB.InTxThen's after function). On
// SQLite, whose one writer commits in that order, the evaluation then
// starts from them instead of reading them again: a change that cannot
// lead to an email (most replies to anonymous visitors) is settled without
// a read. Only such a change keeps what was told (a conversation with a
// recorded decision whose visitor has no address): the others go through
// the writer anyway, and a burst of them (ten thousand first messages)
// would hold a copy each until evaluated. A conversation some other change
// asked to read is still read. On PostgreSQL, where transactions commit
// side by side, it is ConversationChanged.
func (e *Engine) ConversationWritten(c model.Conversation, w *model.Workspace) {
	keep := KeepsWritten(e.db.Dialect(), c)
	e.mu.Lock()
	if old, asked := e.pending[c.ID]; keep && (!asked || old != nil) {
		e.pending[c.ID] = &written{c: c, w: w}
	} else {
		e.pending[c.ID] = nil
	}
	e.mu.Unlock()
	e.loop.Kick()
}

// KeepsWritten tells whether the engine, on a database of dialect d, keeps
// conversation c as ConversationWritten tells it: on SQLite, when c has a
// recorded decision and its visitor no address, a change that cannot lead
// to an email. A transaction that read the workspace (SettlesWritten) and
// recorded the decision leaves such a conversation.
func KeepsWritten(d store.Dialect, c model.Conversation) bool {
	return SettlesWritten(d, c) && c.Forwarding != nil
}

// SettlesWritten tells whether the transaction of a change to conversation
// c, on a database of dialect d, should read its workspace and record the
// decision the change leaves (Settled) itself: on SQLite, when c's visitor
// has no address. The engine then keeps the conversation as told and
// settles the change without the writer; left to the engine, a reply to a
// conversation with no decision yet (each new conversation's first) took a
// read, a transaction of its own and a read again for the dashboards.
func SettlesWritten(d store.Dialect, c model.Conversation) bool {
	return d == store.SQLite && !c.Visitor.HasEmail()
}

// Settled is the forwarding state conversation c of workspace w is left in
// by a change when c cannot be emailed (no address that works, a channel
// of its own, forwarding off): such a decision needs neither the
// conversation's messages nor the clock. ok is false when c may be
// emailed, and only the engine decides.
func Settled(c model.Conversation, w model.Workspace) (st model.Forwarding, ok bool) {
	if mayEmail(c, w) {
		return st, false
	}
	d := Decide(time.Time{}, snapshotOf(c, w, nil), Mode(w.Settings.EmailForwarding), Timings{})
	if d.Outcome != Nothing {
		return st, false
	}
	return model.Forwarding{Code: string(d.Code), Reason: d.Explain(w.Location())}, true
}

// VisitorChanged asks for the visitor's conversations to be evaluated again.
func (e *Engine) VisitorChanged(_ context.Context, id string) {
	e.mu.Lock()
	e.visits[id] = struct{}{}
	e.mu.Unlock()
	e.loop.Kick()
}

// WorkspaceChanged asks for the workspace's conversations with unread,
// unforwarded replies to be evaluated again.
func (e *Engine) WorkspaceChanged(_ context.Context, id string) {
	e.mu.Lock()
	e.spaces[id] = struct{}{}
	e.mu.Unlock()
	e.loop.Kick()
}

// Run evaluates changed conversations and sends due emails until ctx ends.
func (e *Engine) Run(ctx context.Context) { e.loop.Run(ctx) }

// work is one round of the loop: the changed conversations, then the due
// ones.
func (e *Engine) work(ctx context.Context) error {
	evaluated, drained := e.drainChanges(ctx)
	rescheduled := e.rescheduled.Swap(false) // taken whatever the round does: runDue reads the schedule anyway
	if evaluated || rescheduled || !e.scheduleHolds() {
		// A round whose changes all settled as they were (replies to
		// anonymous visitors) moved no due time: the schedule is not
		// read again for it.
		if err := e.runDue(ctx); err != nil {
			return err
		}
	}
	return drained
}

// scheduleHolds reports whether the schedule as last read still tells
// what is due: nothing in it is due yet, and it was read less than MaxIdle
// ago, the longest the loop sleeps without looking at it.
func (e *Engine) scheduleHolds() bool {
	s, now := e.scheduled, e.now()
	return s.known && now.Sub(s.at) < e.opts.MaxIdle && (s.next == nil || s.next.After(now))
}

func (e *Engine) nextDue(ctx context.Context) (*time.Time, error) {
	if e.scheduled.known {
		return e.scheduled.next, nil
	}
	at := e.now()
	next, err := e.db.NextForwardDue(ctx)
	if err != nil {
		return nil, fmt.Errorf("read forwarding schedule: %w", err)
	}
	e.scheduled.known, e.scheduled.next, e.scheduled.at = true, next, at
	return next, nil
}

// retryLater puts an id back in one of the change sets without waking the
// loop, which comes back to it after a pause; a conversation put back is
// read then (its entry is nil).
func retryLater[V any](e *Engine, set map[string]V, id string) {
	var asRead V
	e.mu.Lock()
	set[id] = asRead
	e.mu.Unlock()
}

// drainChanges evaluates the conversations whose inputs changed; it
// reports whether any was evaluated beyond the look that settles it as it
// was (its due time may have moved), and returns an error when some failed
// and were kept for another try.
func (e *Engine) drainChanges(ctx context.Context) (evaluated bool, err error) {
	e.mu.Lock()
	convs, visits, spaces := e.pending, e.visits, e.spaces
	e.pending, e.visits, e.spaces = map[string]*written{}, map[string]struct{}{}, map[string]struct{}{}
	e.mu.Unlock()
	failed := 0
	if len(visits) > 0 {
		visitors := make([]string, 0, len(visits))
		for id := range visits {
			visitors = append(visitors, id)
		}
		ids, err := e.db.ConversationIDsOfVisitors(ctx, visitors)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("list conversations of visitors; will retry", "visitors", len(visitors), "err", err)
			}
			for _, id := range visitors {
				retryLater(e, e.visits, id)
			}
			failed += len(visitors)
		}
		for _, c := range ids {
			convs[c] = nil
		}
	}
	for id := range spaces {
		ids, err := e.db.ConversationsWithUnforwarded(ctx, id)
		if err != nil {
			e.log.Error("list conversations of workspace; will retry", "workspace", id, "err", err)
			retryLater(e, e.spaces, id)
			failed++
			continue
		}
		for _, c := range ids {
			convs[c] = nil
		}
	}
	ids := make([]string, 0, len(convs))
	for id := range convs {
		ids = append(ids, id)
	}
	var failures atomic.Int64
	var moved atomic.Bool
	ws := newWorkspaceCache()
	e.each(ctx, ids, func(id string) {
		// A change (a reply, a visit) to a conversation that cannot be
		// emailed mostly leaves its decision as it was: settled without
		// the writer. Due conversations (runDue) can be emailed, and go
		// straight to evaluate.
		read, settled, err := e.settledWithout(ctx, id, convs[id], ws)
		switch {
		case err != nil:
			e.decided(DecisionFailed)
		case settled:
			e.decided(DecisionSettled)
		default:
			// Already due (a visitor who left long enough ago): the
			// email is composed outside the writer too.
			var dr *draft
			if read != nil {
				dr = e.draftOf(ctx, read)
			}
			_, err = e.evaluate(ctx, id, ws, dr) // counts its own result
		}
		if !settled || err != nil {
			moved.Store(true)
		}
		if err != nil && ctx.Err() == nil {
			e.log.Error("evaluate forwarding; will retry", "conversation", id, "err", err)
			retryLater(e, e.pending, id) // kept: a database outage loses no change
			failures.Add(1)
		}
	})
	if n := int64(failed) + failures.Load(); n > 0 {
		return true, fmt.Errorf("%d changes kept for another try", n)
	}
	return moved.Load(), nil
}

// each runs fn for every id on up to Workers goroutines, stopping early
// when ctx ends.
func (e *Engine) each(ctx context.Context, ids []string, fn func(id string)) {
	worker.EachParallel(e.opts.Workers, func(_ context.Context, id string) { fn(id) })(ctx, ids)
}

// runDue evaluates the conversations whose due time has come.
func (e *Engine) runDue(ctx context.Context) error {
	e.scheduled.known = false
	first := true
	claims := e.claims()
	list := func(ctx context.Context, limit int) ([]string, error) {
		at := e.now()
		var (
			ids  []string
			next *time.Time
			err  error
		)
		if claims {
			ids, next, err = e.db.ClaimForwardDue(ctx, at, dueLease, limit)
			if next != nil && !next.After(at) && len(ids) == 0 {
				// Due, but held by other nodes' decisions, which move it:
				// looked at again in a second, as a skipped lock is.
				next = new(at.Add(time.Second))
			}
		} else {
			ids, next, err = e.db.ForwardSchedule(ctx, at, limit)
		}
		if err != nil {
			return nil, fmt.Errorf("list due conversations: %w", err)
		}
		if first && len(ids) == 0 {
			e.scheduled.known, e.scheduled.next, e.scheduled.at = true, next, at
		}
		first = false
		return ids, nil
	}
	// On SQLite due conversations are listed, not claimed: a batch whose
	// every evaluation failed is still due, and listing it again would
	// spin; Batches stops after a batch that made no progress. On
	// PostgreSQL they are claimed for dueLease, so that two nodes do not
	// decide the same ones twice.
	return worker.Batches(ctx, e.dueBatch(), list, func(ctx context.Context, ids []string) bool {
		var progressed atomic.Bool
		ws := newWorkspaceCache()
		e.each(ctx, ids, func(id string) {
			if e.runDueOne(ctx, id, ws, e.draft(ctx, id, ws)) {
				progressed.Store(true)
			}
		})
		return progressed.Load()
	})
}

// runDueOne evaluates one due conversation and reports whether it moved on
// (its due time is now in the future or gone).
func (e *Engine) runDueOne(ctx context.Context, id string, ws *workspaceCache, dr *draft) bool {
	due, err := e.evaluate(ctx, id, ws, dr)
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		e.log.Error("forward due conversation", "conversation", id, "err", err)
		// Look again later rather than spinning on the failure.
		retry := e.now().Add(10 * time.Second)
		if err := e.db.SetForwardState(ctx, id, model.Forwarding{DueAt: &retry, Code: "error",
			Reason: "could not queue the email; trying again in 10 seconds"}); err != nil {
			e.log.Error("reschedule conversation", "conversation", id, "err", err)
		}
		return false
	}
	return due == nil || due.After(e.now())
}

// emailState are the forwarding codes that tell of the conversation's
// last email: queued, then the relay's answer.
var emailState = map[string]bool{"queued": true, "sent": true, "failed": true}

// Recorded reports whether st is the forwarding state recorded already
// (old; nil when none).
func Recorded(old *model.Forwarding, st model.Forwarding) bool {
	return old != nil && sameDue(old.DueAt, st.DueAt) && old.Code == st.Code && old.Reason == st.Reason
}

func sameDue(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// Evaluate decides on one conversation now: it records the wait or the
// reason, or queues the email.
func (e *Engine) Evaluate(ctx context.Context, conversationID string) error {
	_, err := e.evaluate(ctx, conversationID, nil, nil)
	e.rescheduled.Store(true) // the loop looks at the schedule again
	e.loop.Kick()
	return err
}

// workspaceCache holds the workspaces a batch of evaluations read, for a
// second at most: a thousand conversations of one workspace falling due
// together read it once, not a thousand times. A settings change within
// that second is seen by the next batch, and re-evaluates the workspace's
// conversations anyway (WorkspaceChanged).
type workspaceCache struct {
	mu sync.Mutex
	m  map[string]cachedWorkspace
}

type cachedWorkspace struct {
	w    model.Workspace
	read time.Time
}

const workspaceCacheFor = time.Second

func newWorkspaceCache() *workspaceCache {
	return &workspaceCache{m: map[string]cachedWorkspace{}}
}

// get returns the workspace, reading it through tx when it is not cached
// (or when c is nil).
func (c *workspaceCache) get(ctx context.Context, tx *store.Store, id string) (model.Workspace, error) {
	if c == nil {
		return tx.Workspace(ctx, id)
	}
	c.mu.Lock()
	hit, ok := c.m[id]
	c.mu.Unlock()
	if ok && time.Since(hit.read) < workspaceCacheFor {
		return hit.w, nil
	}
	read := time.Now()
	w, err := tx.Workspace(ctx, id)
	if err != nil {
		return w, err
	}
	c.mu.Lock()
	c.m[id] = cachedWorkspace{w: w, read: read}
	c.mu.Unlock()
	return w, nil
}

// evaluate is Evaluate, returning the conversation's new due time; ws
// (nil for none) caches workspaces across a batch, and dr (nil for none)
// is an email composed beforehand, taken when nothing changed since.
func (e *Engine) evaluate(ctx context.Context, conversationID string, ws *workspaceCache, dr *draft) (*time.Time, error) {
	var (
		queued   *store.Email
		updated  []model.Message // replies now carried by the email
		wsID     string
		changed  bool
		skipped  bool
		newDue   *time.Time
		decision Decision
	)
	err := e.db.InTx(ctx, func(tx *store.Store) error {
		c, ok, err := tx.LockedConversation(ctx, conversationID)
		if err != nil || !ok {
			later := e.now().Add(time.Second) // another node is on it
			newDue, skipped = &later, err == nil
			return err
		}
		wsID = c.WorkspaceID
		w, err := ws.get(ctx, tx, c.WorkspaceID)
		if err != nil {
			return err
		}
		var msgs []model.Message
		if mayEmail(c, w) {
			// Only a conversation that could be emailed needs its messages:
			// Decide settles the others from the conversation alone.
			if msgs, err = tx.Messages(ctx, c.WorkspaceID, c.ID, false); err != nil {
				return err
			}
		}
		snap := snapshotOf(c, w, msgs)
		now := e.now()
		decision = Decide(now, snap, Mode(w.Settings.EmailForwarding), e.opts.Timings)
		var old model.Forwarding
		if c.Forwarding != nil {
			old = *c.Forwarding
		}
		state := model.Forwarding{Code: string(decision.Code), Reason: decision.Explain(w.Location())}
		if decision.Emailed && emailState[old.Code] {
			// Re-evaluated after its email was queued (the visitor left,
			// say): the email's state ("email to … queued", then the relay's
			// answer) says more than "already emailed", and only a
			// "queued" state moves on to the relay's answer.
			return nil
		}
		switch decision.Outcome {
		case Wait:
			due := decision.Due
			state.DueAt = &due
		case Send:
			if until, over, err := e.addressLimited(ctx, tx, snap.VisitorEmail, now); err != nil {
				return err
			} else if over {
				state.Code, state.DueAt = "address_limit", &until
				state.Reason = fmt.Sprintf("%s received %d emails in the last 24 hours: the next waits until %s",
					snap.VisitorEmail, e.maxPerAddress(), until.In(w.Location()).Format("2006-01-02 15:04"))
				break
			}
			newAddress := model.NewID() // the id of the address's row, if it is new
			if dr != nil {
				newAddress = dr.in.addressID
			}
			in, err := e.emailInputs(ctx, tx, c, w, snap, decision, newAddress, now)
			if err != nil {
				return err
			}
			var email store.Email
			if dr != nil && reflect.DeepEqual(dr.in, in) {
				email = dr.email
			} else if email, err = e.compose(in, now); err != nil {
				return err
			}
			email.NextAttemptAt, email.CreatedAt = now, now
			if err := tx.CreateEmail(ctx, email); err != nil {
				return err
			}
			if err := tx.MarkForwarded(ctx, decision.Pending, email.ID, email.To, now); err != nil {
				return err
			}
			queued = &email
			updated = forwardedReplies(msgs, decision.Pending, email.To, now)
			state.Code = "queued"
			state.Reason = fmt.Sprintf("email to %s queued at %s", email.To, now.In(w.Location()).Format("15:04:05"))
		}
		newDue = state.DueAt
		if Recorded(&old, state) {
			return nil
		}
		changed = true
		return tx.SetForwardState(ctx, c.ID, state)
	})
	switch {
	case err != nil:
		e.decided(DecisionFailed)
	case skipped:
		e.decided(DecisionSkipped)
	case queued != nil:
		e.decided(DecisionQueued)
	case changed:
		e.decided(DecisionUpdated)
	default:
		e.decided(DecisionUnchanged)
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate conversation %s: %w", conversationID, err)
	}
	// The replies' events are built from what the transaction read and
	// wrote (nothing else changes a forwarded reply but the outbox); the
	// conversation is read again, as its visitor may have changed since.
	// They go out before the outbox is woken: its "sent" follows "queued".
	for _, m := range updated {
		e.event(wsID, realtime.MessageUpdated, m)
	}
	if changed && e.notify != nil {
		if c, err := e.db.ConversationByID(ctx, conversationID); err == nil {
			e.event(wsID, realtime.ConversationUpdated, c)
		}
	}
	if queued != nil {
		e.log.Info("email queued", "conversation", conversationID, "email", queued.ID, "replies", len(updated))
		if e.opts.Queued != nil {
			e.opts.Queued()
		}
	}
	return newDue, nil
}

// settledWithout looks at a changed conversation that cannot be emailed
// (no address, a channel of its own, forwarding off) outside any write
// transaction: when the decision is the one recorded already, there is
// nothing to write, and the conversation is settled without taking the
// writer (each agent reply to an anonymous visitor asks for an
// evaluation). The others, and any change, go through evaluate's locked
// transaction; a change committed after this read asks again. What it
// read (nil when nothing) serves a draft.
func (e *Engine) settledWithout(ctx context.Context, conversationID string, wr *written, ws *workspaceCache) (*conversationRead, bool, error) {
	read, err := e.readOutside(ctx, conversationID, wr, ws)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil // evaluate's transaction tells
		}
		return nil, false, fmt.Errorf("evaluate conversation %s: %w", conversationID, err)
	}
	st, ok := Settled(read.c, read.w)
	return read, ok && Recorded(read.c.Forwarding, st), nil
}

// conversationRead is a conversation and its workspace as read outside
// the writer.
type conversationRead struct {
	c model.Conversation
	w model.Workspace
}

// written is what the transaction of a change read (ConversationWritten):
// the conversation as it left it, and its workspace when it read it.
type written struct {
	c model.Conversation
	w *model.Workspace
}

// readOutside reads a conversation as a forwarding decision needs it, and
// its workspace (through ws), outside any transaction; what wr holds (when
// not nil) is not read again.
func (e *Engine) readOutside(ctx context.Context, conversationID string, wr *written, ws *workspaceCache) (*conversationRead, error) {
	var c model.Conversation
	if wr != nil {
		c = wr.c
		if wr.w != nil {
			return &conversationRead{c: c, w: *wr.w}, nil
		}
	} else {
		var err error
		if c, err = e.db.ConversationForForwarding(ctx, conversationID); err != nil {
			return nil, err
		}
	}
	w, err := ws.get(ctx, &e.db.Store, c.WorkspaceID)
	if err != nil {
		return nil, err
	}
	return &conversationRead{c: c, w: w}, nil
}

func (e *Engine) maxPerAddress() int { return cmp.Or(e.opts.MaxPerAddressDaily, 50) }

// addressLimited reports whether addr already received the most emails
// allowed in the 24 hours before now, and until when.
func (e *Engine) addressLimited(ctx context.Context, tx *store.Store, addr string, now time.Time) (time.Time, bool, error) {
	n, oldest, err := tx.EmailsToSince(ctx, addr, now.Add(-24*time.Hour))
	if err != nil || n < e.maxPerAddress() {
		return time.Time{}, false, err
	}
	return oldest.Add(24 * time.Hour), true, nil
}

// forwardedReplies returns the messages of ids as MarkForwarded left them.
func forwardedReplies(msgs []model.Message, ids []string, to string, at time.Time) []model.Message {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []model.Message
	for _, m := range msgs {
		if want[m.ID] {
			m.Forwarded = &model.Forwarded{To: to, At: at, Status: model.DeliveryQueued}
			out = append(out, m)
		}
	}
	return out
}

func (e *Engine) event(workspaceID string, typ realtime.EventType, data any) {
	if e.notify == nil {
		return
	}
	b, err := realtime.EncodeEvent(typ, data)
	if err != nil {
		e.log.Error("encode event", "err", err)
		return
	}
	e.notify.ToAgents(workspaceID, b)
}

// mayEmail reports whether Decide could want the conversation's messages:
// a website conversation of an identified visitor whose address works, in
// a workspace that forwards.
func mayEmail(c model.Conversation, w model.Workspace) bool {
	return c.Channel == model.ChannelWebsite && c.Visitor.HasEmail() &&
		c.Visitor.EmailStatus != model.EmailUnsubscribed && c.Visitor.EmailStatus != model.EmailBouncing &&
		w.Settings.EmailForwarding != model.ForwardOff
}

// snapshotOf builds the input of Decide from stored state.
func snapshotOf(c model.Conversation, w model.Workspace, msgs []model.Message) Snapshot {
	snap := Snapshot{
		ConversationID:  c.ID,
		Channel:         c.Channel,
		EmailStatus:     c.Visitor.EmailStatus,
		EmailSource:     c.Visitor.EmailStatusSource,
		Online:          c.Visitor.Online,
		AgentsAvailable: w.AgentsUnavailableSince == nil,
	}
	if c.Visitor.Email != nil {
		snap.VisitorEmail = *c.Visitor.Email
	}
	if c.Visitor.Name != nil {
		snap.VisitorName = *c.Visitor.Name
	}
	if c.Visitor.EmailStatusChangedAt != nil {
		snap.EmailChangedAt = *c.Visitor.EmailStatusChangedAt
	}
	if c.Visitor.LeftAt != nil {
		snap.LeftAt = *c.Visitor.LeftAt
	}
	if c.Visitor.LastActiveAt != nil {
		snap.LastActiveAt = *c.Visitor.LastActiveAt
	}
	if w.AgentsUnavailableSince != nil {
		snap.AgentsUnavailableSince = *w.AgentsUnavailableSince
	}
	snap.Messages = make([]Message, 0, len(msgs))
	for _, m := range msgs {
		fm := Message{ID: m.ID, AuthorKind: m.Author.Kind, Kind: m.Kind, Body: m.Body, CreatedAt: m.CreatedAt,
			Forwarded: m.Forwarded != nil, WrittenWhileOff: m.ForwardOff}
		for _, a := range m.Attachments {
			fm.Files = append(fm.Files, File{ID: a.ID, Name: a.Filename})
		}
		if m.Author.Name != nil {
			fm.AuthorName = *m.Author.Name
		}
		if c.VisitorReadID != nil && m.ID == *c.VisitorReadID {
			snap.ReadCursor = m.CreatedAt
		}
		snap.Messages = append(snap.Messages, fm)
	}
	return snap
}

// emailInputs is what an email is composed from, beyond its date.
type emailInputs struct {
	c         model.Conversation
	w         model.Workspace
	snap      Snapshot
	d         Decision
	previous  []string // Message-IDs of the conversation's earlier emails
	addressID string   // the recipient's row, named by the unsubscribe link
}

// emailInputs reads through tx what an email needs beyond the snapshot,
// recording its address (as newAddress when it has no row yet): the
// unsubscribe link names the address, so it covers every visitor with it,
// and still works once this visitor is erased.
func (e *Engine) emailInputs(ctx context.Context, tx *store.Store, c model.Conversation, w model.Workspace, snap Snapshot, d Decision, newAddress string, now time.Time) (emailInputs, error) {
	prev, err := tx.EmailMessageIDs(ctx, c.ID, snap.VisitorEmail)
	if err != nil {
		return emailInputs{}, err
	}
	addr, err := tx.EnsureEmailAddressAs(ctx, w.ID, snap.VisitorEmail, newAddress, now)
	if err != nil {
		return emailInputs{}, err
	}
	if addr.Status != model.EmailOK {
		// Stopped after the conversation was read: the next evaluation
		// reads the new status.
		return emailInputs{}, fmt.Errorf("address %s since the conversation was read", addr.Status)
	}
	return emailInputs{c: c, w: w, snap: snap, d: d, previous: prev, addressID: addr.ID}, nil
}

// draft is an email composed before the evaluation's locked transaction,
// from reads outside it. Composing is the costliest part of an evaluation
// and, on SQLite, that transaction holds the one writer: drafts compose in
// parallel while the writer does the writes. The transaction takes a draft
// only when its own reads give the very inputs it was composed from.
// On PostgreSQL transactions run side by side, and composing inside one
// keeps nobody else waiting: there the draft's reads (four round trips,
// read again by the transaction) cost more than they save, and there are
// no drafts.
type draft struct {
	in    emailInputs
	email store.Email
}

// draft composes the email of a due conversation that Decide would send
// now; nil when it would not, or when anything fails (the transaction
// then decides, composes or tells why by itself).
func (e *Engine) draft(ctx context.Context, conversationID string, ws *workspaceCache) *draft {
	if !e.drafts() {
		return nil
	}
	read, err := e.readOutside(ctx, conversationID, nil, ws)
	if err != nil {
		return nil
	}
	return e.draftOf(ctx, read)
}

// draftOf is draft for a conversation and its workspace read already.
func (e *Engine) draftOf(ctx context.Context, read *conversationRead) *draft {
	c, w := read.c, read.w
	if !e.drafts() || !mayEmail(c, w) {
		return nil
	}
	msgs, err := e.db.Messages(ctx, c.WorkspaceID, c.ID, false)
	if err != nil {
		return nil
	}
	snap := snapshotOf(c, w, msgs)
	now := e.now()
	d := Decide(now, snap, Mode(w.Settings.EmailForwarding), e.opts.Timings)
	if d.Outcome != Send {
		return nil
	}
	prev, err := e.db.EmailMessageIDs(ctx, c.ID, snap.VisitorEmail)
	if err != nil {
		return nil
	}
	// An address without a row is ok; the transaction records it with
	// the id the draft's unsubscribe link names.
	addr, err := e.db.EmailAddress(ctx, w.ID, snap.VisitorEmail)
	if errors.Is(err, store.ErrNotFound) {
		addr, err = store.EmailAddress{ID: model.NewID(), Status: model.EmailOK}, nil
	}
	if err != nil || addr.Status != model.EmailOK {
		return nil
	}
	in := emailInputs{c: c, w: w, snap: snap, d: d, previous: prev, addressID: addr.ID}
	email, err := e.compose(in, now)
	if err != nil {
		return nil
	}
	return &draft{in: in, email: email}
}

// drafts tells whether due emails are composed outside their transaction:
// only on SQLite, whose one writer the composing would hold.
func (e *Engine) drafts() bool { return e.db.Dialect() == store.SQLite }

// decided reports a look's result to EngineOptions.Decided.
func (e *Engine) decided(result string) {
	if e.opts.Decided != nil {
		e.opts.Decided(result)
	}
}

// claims reports whether due conversations are claimed rather than
// listed: on PostgreSQL, where several nodes share the schedule.
func (e *Engine) claims() bool { return e.db.Dialect() == store.Postgres }

// dueLease is how long a claimed due conversation stays hidden from the
// other nodes' schedules. A decision takes milliseconds, a batch a few
// seconds in a burst; a node that dies with claims leaves them due again
// this long after it claimed them.
const dueLease = 15 * time.Second

// dueBatch is how many due conversations one batch lists or claims. A
// claim takes four for each worker, so that a burst is shared between the
// nodes batch by batch and a node that dies leaves few behind; listing on
// SQLite takes more at once, as nothing is hidden from anyone.
func (e *Engine) dueBatch() int {
	if e.claims() {
		return 4 * e.opts.Workers
	}
	return 200
}

// compose writes the email of in, dated now.
func (e *Engine) compose(in emailInputs, now time.Time) (store.Email, error) {
	c, w, snap := in.c, in.w, in.snap
	id := model.NewID()
	msg, err := Compose(ComposeInput{
		Decision:       in.d,
		Snapshot:       snap,
		Mode:           Mode(w.Settings.EmailForwarding),
		WorkspaceName:  w.Name,
		MailFrom:       e.opts.MailFrom,
		ReplyTo:        "reply+" + e.signer.SignGen(token.Reply, c.ID, c.Visitor.TokenGeneration) + "@" + e.opts.InboundDomain,
		UnsubscribeURL: e.opts.PublicURL + "/unsubscribe/" + e.signer.Sign(token.UnsubscribeAddress, in.addressID),
		// Never the visitor's credential: a signed link to this
		// conversation that ends after 30 days, or when the visitor's
		// links are reset.
		ConversationURL: e.opts.PublicURL + "/chat/" + e.signer.SignContinue(token.ContinueLink{WorkspaceID: w.ID,
			VisitorID: c.Visitor.ID, ConversationID: c.ID, Generation: c.Visitor.TokenGeneration,
			Expires: now.Add(token.ContinueLinkLifetime)}),
		// Files open without logging in, for as long as the link back to
		// the conversation works.
		FileURL: func(attachmentID string) string {
			return e.opts.PublicURL + "/files/" + e.signer.SignLink(token.File, now.Add(token.ContinueLinkLifetime), w.ID, attachmentID)
		},
		MessageID:  message.NewID("parley."+id, e.opts.MailFrom),
		Previous:   in.previous,
		Location:   visitorLocation(c.Visitor, w),
		Now:        now,
		Lang:       cmp.Or(c.Visitor.Language, w.Settings.DefaultLocale),
		Locale:     visitorLocale(c.Visitor),
		BrandColor: w.Settings.Widget.Color,
	})
	if err != nil {
		return store.Email{}, fmt.Errorf("compose email: %w", err)
	}
	raw, err := msg.Bytes()
	if err != nil {
		return store.Email{}, fmt.Errorf("compose email: %w", err)
	}
	return store.Email{ID: id, WorkspaceID: w.ID, ConversationID: c.ID, VisitorID: c.Visitor.ID,
		MessageID: msg.MessageID, From: e.opts.MailFrom, To: snap.VisitorEmail, Raw: raw,
		NextAttemptAt: now, CreatedAt: now}, nil
}

// visitorLocale is the visitor's locale as the widget told it ("": not
// told), for how an email writes its times.
func visitorLocale(v model.Visitor) string {
	if v.Locale == nil {
		return ""
	}
	return *v.Locale
}

// visitorLocation is the zone an email's times are shown in: the visitor's
// when the widget told it, else the workspace's.
func visitorLocation(v model.Visitor, w model.Workspace) *time.Location {
	if v.TimeZone != nil && *v.TimeZone != "" {
		if l, err := time.LoadLocation(*v.TimeZone); err == nil {
			return l
		}
	}
	return w.Location()
}
