//go:build unix

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// fileLocker keeps two processes from migrating one SQLite file at once
// (a server starting while a command runs): each takes an exclusive lock
// on a file beside the database first. Not the database file itself:
// closing any descriptor of it would drop SQLite's own locks in this
// process.
type fileLocker struct {
	path string
	f    *os.File
}

// Lock waits for the lock until ctx ends.
func (l *fileLocker) Lock(ctx context.Context, _ *sql.DB) error {
	f, err := lockFile(ctx, l.path, true)
	if err != nil {
		return fmt.Errorf("migration lock (another process is migrating): %w", err)
	}
	l.f = f
	return nil
}

// Unlock releases the lock.
func (l *fileLocker) Unlock(context.Context, *sql.DB) error {
	if l.f == nil {
		return nil
	}
	defer func() { l.f = nil }()
	// Closing the descriptor releases its lock.
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("release migration lock: %w", err)
	}
	return nil
}

// errHeld is a lock another process holds.
var errHeld = errors.New("held by another process")

// lockFile takes an exclusive lock on the file at path, created if need
// be: at once (errHeld when another process holds it), or when wait
// until ctx ends. The lock lasts until the file returned is closed, or the
// process ends.
func lockFile(ctx context.Context, path string, wait bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err // the path is in it
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		case !wait:
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, errHeld)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// HoldServer takes a SQLite database for this process's server, for as
// long as it runs: a file is served by one process at a time (its events
// and its forwarding pass through that process's memory; several nodes
// need PostgreSQL). ErrServed when another process serves it. PostgreSQL's
// nodes share their database: there is nothing to hold.
func HoldServer(url string) (release func(), err error) {
	path, ok := SQLiteFile(url)
	if !ok {
		return func() {}, nil
	}
	if err := makeDir(path); err != nil {
		return nil, fmt.Errorf("hold the database for this server: %w", err)
	}
	f, err := lockFile(context.Background(), path+"-serve.lock", false)
	if errors.Is(err, errHeld) {
		return nil, fmt.Errorf("%w: %s", ErrServed, path)
	}
	if err != nil {
		return nil, fmt.Errorf("hold the database for this server: %w", err)
	}
	return func() { f.Close() }, nil
}
