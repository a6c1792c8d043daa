package store

import (
	"context"
	"fmt"
)

// Warnings tells what in the database server's configuration works against
// Parley, one sentence each for the operator; nothing on SQLite.
func (db *DB) Warnings(ctx context.Context) ([]string, error) {
	if db.dialect != Postgres {
		return nil, nil
	}
	var autovacuum, trackCounts string
	err := db.SQL.QueryRowContext(ctx, `SELECT current_setting('autovacuum'), current_setting('track_counts')`).Scan(&autovacuum, &trackCounts)
	if err != nil {
		return nil, fmt.Errorf("read PostgreSQL settings: %w", err)
	}
	return postgresWarnings(autovacuum, trackCounts), nil
}

// postgresWarnings judges PostgreSQL's settings as SHOW gives them.
//
// Without autovacuum nothing gathers the planner's statistics: on tables
// that grew since their last ANALYZE (every table of a new installation)
// PostgreSQL guesses, and its guesses turn a conversation's messages, an
// index lookup of a fraction of a millisecond, into a scan of the
// workspace's (milliseconds, growing with the workspace).
func postgresWarnings(autovacuum, trackCounts string) []string {
	switch {
	case autovacuum == "off":
		return []string{"PostgreSQL's autovacuum is off: nothing keeps the planner's statistics current, and queries on Parley's growing tables go slow (a conversation's messages are read by scanning its workspace's); turn it on (autovacuum = on) or run ANALYZE regularly"}
	case trackCounts == "off":
		return []string{"PostgreSQL's track_counts is off, which stops autovacuum: nothing keeps the planner's statistics current, and queries on Parley's growing tables go slow; turn it on (track_counts = on) or run ANALYZE regularly"}
	}
	return nil
}
