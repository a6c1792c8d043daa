package store

import (
	"context"
	"fmt"
	"time"
)

// MigrateUpTo applies the migrations up to and including version, for
// tests of a migration on data written by the versions before it.
func (db *DB) MigrateUpTo(ctx context.Context, version int64) error {
	p, err := db.migrator(ctx, true)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// MigrateDownTo undoes the migrations after version, for tests of what a
// migration does to rows stored before it.
func (db *DB) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := db.migrator(ctx, true)
	if err != nil {
		return err
	}
	if _, err := p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return nil
}

// Rebind writes a statement's placeholders for the database.
func (s *Store) Rebind(q string) string { return s.rebind(q) }

// QueryRow runs a read-only query, for tests that look at rows no method
// returns (such as the pages pruned beyond what VisitorPages lists).
func (db *DB) QueryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
	return db.queryRow(ctx, q, args...)
}

// SetCheckpointing sets the least time between two checkpoints of a
// SQLite database and the write-ahead log's size, in pages, past which its
// writer starts the log over.
func (db *DB) SetCheckpointing(every time.Duration, restartPages int) {
	db.commits.every.Store(int64(every))
	db.commits.restartPages.Store(int64(restartPages))
}

// File is the SQLite database's file.
func (db *DB) File() string { return db.path }

// SetRareTag sets how many conversations a tag may have for its list to
// start from them, and returns the setting to put back.
func SetRareTag(n int) (restore func()) {
	old := rareTag.Swap(int64(n))
	return func() { rareTag.Store(old) }
}
