package forward

import (
	"context"
	"time"
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
