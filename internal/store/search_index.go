package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Messages are indexed for search after their transaction, in batches
// (migration 00100, SQLite only; PostgreSQL writes each message's search
// vector with it): the insert trigger leaves the id in search_pending, and
// the indexer moves what is pending into search_docs and messages_fts.
// It runs shortly after writes (indexLoop) and before every search, so a
// search finds every message committed before it started.

// indexBatch bounds the messages one indexing transaction takes: each
// holds the writer, and replies queued behind it wait (100 short messages
// take about a millisecond); a backlog goes in several.
const indexBatch = 100

// indexDelay is how long the indexer lets writes gather after one.
var indexDelay = 250 * time.Millisecond

// IndexPendingMessages indexes the messages waiting in search_pending. It
// does nothing on PostgreSQL.
func (s *Store) IndexPendingMessages(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	for {
		var pending bool
		if err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM search_pending)`).Scan(&pending); err != nil {
			return fmt.Errorf("index messages for search: %w", err)
		}
		if !pending {
			return nil
		}
		var n int64
		index := func(tx *Store) error {
			var last int64
			if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM search_docs`).Scan(&last); err != nil {
				return err
			}
			res, err := tx.exec(ctx, `INSERT INTO search_docs (workspace_id, message_id)
				SELECT m.workspace_id, m.id FROM messages m
				WHERE m.id IN (SELECT message_id FROM search_pending ORDER BY message_id LIMIT ?)
				ORDER BY m.id`, indexBatch)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
			if _, err := tx.exec(ctx, `INSERT INTO messages_fts (rowid, ws, body)
				SELECT d.id, d.workspace_id, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id
				WHERE d.id > ? AND d.message_id IS NOT NULL ORDER BY d.id`, last); err != nil {
				return err
			}
			_, err = tx.exec(ctx, `DELETE FROM search_pending WHERE message_id IN
				(SELECT message_id FROM search_pending ORDER BY message_id LIMIT ?)`, indexBatch)
			return err
		}
		var err error
		switch {
		case s.tx != nil:
			err = index(s)
		case s.commits != nil:
			err = s.commits.run(ctx, index, nil)
		default:
			err = errClosed
		}
		if err != nil {
			return fmt.Errorf("index messages for search: %w", err)
		}
		if n < indexBatch {
			return nil
		}
	}
}

// indexLoop indexes pending messages a moment after writes, until the
// committer stops: kicked after each commit, it waits indexDelay for more
// to gather, then indexes them in one transaction.
func (c *committer) indexLoop() {
	defer c.wg.Done()
	ctx := context.Background()
	st := &c.db.Store
	for {
		select {
		case <-c.indexes:
		case <-c.quit:
			return
		}
		select {
		case <-time.After(indexDelay):
		case <-c.quit:
			return
		}
		// A database not migrated yet (a command run before "parley
		// migrate") has no queue: nothing to index.
		if err := st.IndexPendingMessages(ctx); err != nil && !errors.Is(err, errClosed) &&
			!strings.Contains(err.Error(), "no such table: search_pending") {
			slog.Warn("index new messages for search; will retry", "err", err)
		}
	}
}
