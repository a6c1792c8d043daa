package forward

import (
	"context"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/store"
)

// MigratedDB is migratedDB for the tests outside the package.
var MigratedDB = migratedDB

// MigratedDBAt is migratedDBAt for the tests outside the package.
var MigratedDBAt = migratedDBAt

// DrainChanges runs the evaluations of the changes told so far, as one
// round of the loop does before it looks at the schedule.
func (e *Engine) DrainChanges(ctx context.Context) error {
	_, err := e.drainChanges(ctx)
	return err
}

// Round is one round of the loop: the changes told so far, then the due
// conversations; NextDue is what the loop then sleeps until.
func (e *Engine) Round(ctx context.Context) error { return e.work(ctx) }

// NextDue is the loop's next wake-up at the schedule's earliest due time.
func (e *Engine) NextDue(ctx context.Context) (*time.Time, error) { return e.nextDue(ctx) }

// DraftAndQueue stores a conversation due now (an identified visitor who
// left an hour ago, one unread reply), drafts its email as a round of the
// schedule does, evaluates it, and tells whether there was a draft and how
// many emails were queued.
func DraftAndQueue(t *testing.T, db *store.DB) (drafted bool, queued int) {
	t.Helper()
	f := newDraftFixture(t, db)
	e := newDraftEngine(db)
	dr := e.draft(t.Context(), f.conv.ID, newWorkspaceCache())
	if _, err := e.evaluate(t.Context(), f.conv.ID, newWorkspaceCache(), dr); err != nil {
		t.Fatal(err)
	}
	return dr != nil, len(queuedEmails(t, db, f.conv.ID))
}
