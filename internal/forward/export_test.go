package forward

import "context"

// MigratedDB is migratedDB for the tests outside the package.
var MigratedDB = migratedDB

// MigratedDBAt is migratedDBAt for the tests outside the package.
var MigratedDBAt = migratedDBAt

// DrainChanges runs the evaluations of the changes told so far, as one
// round of the loop does before it looks at the schedule.
func (e *Engine) DrainChanges(ctx context.Context) error { return e.drainChanges(ctx) }
