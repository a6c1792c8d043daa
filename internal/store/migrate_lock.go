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
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open migration lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			l.f = f
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return fmt.Errorf("take migration lock %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return fmt.Errorf("wait for migration lock %s (another process is migrating): %w", l.path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
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
