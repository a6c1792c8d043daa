//go:build !unix

package store

import (
	"context"
	"database/sql"
)

// fileLocker does nothing where flock is missing: two processes starting
// at once on one SQLite file may then see one of them fail its migration
// (run it again).
type fileLocker struct{ path string }

func (*fileLocker) Lock(context.Context, *sql.DB) error   { return nil }
func (*fileLocker) Unlock(context.Context, *sql.DB) error { return nil }

// HoldServer holds nothing where flock is missing: a second server on one
// SQLite file is not refused.
func HoldServer(string) (release func(), err error) { return func() {}, nil }
