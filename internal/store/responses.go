package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ResponseRow is what the response-times report reads of a conversation:
// when it started, was first answered (and by whom) and was closed.
type ResponseRow struct {
	CreatedAt    time.Time
	FirstReplyAt *time.Time
	FirstReplyBy string
	ClosedAt     *time.Time // nil while open
}

// ResponseRows calls fn for each conversation of the workspace started in
// [from, to), oldest first, through the index on (workspace_id,
// created_at).
func (s *Store) ResponseRows(ctx context.Context, workspaceID string, from, to time.Time, fn func(ResponseRow)) error {
	rows, err := s.query(ctx, `SELECT created_at, first_reply_at, first_reply_by, closed_at FROM conversations
		WHERE workspace_id = ? AND created_at >= ? AND created_at < ? ORDER BY created_at`, workspaceID, micros(from), micros(to))
	if err != nil {
		return fmt.Errorf("read response times: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			created       int64
			replied, done sql.NullInt64
			by            sql.NullString
		)
		if err := rows.Scan(&created, &replied, &by, &done); err != nil {
			return err
		}
		fn(ResponseRow{CreatedAt: fromMicros(created), FirstReplyAt: fromNullMicros(replied), FirstReplyBy: by.String,
			ClosedAt: fromNullMicros(done)})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read response times: %w", err)
	}
	return nil
}
