package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleychat/parley/internal/model"
)

const cannedColumns = `id, workspace_id, shortcut, body, created_by, created_at, updated_at`

func scanCanned(row interface{ Scan(...any) error }) (model.CannedReply, error) {
	var (
		c                model.CannedReply
		by               sql.NullString
		created, updated int64
	)
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.Shortcut, &c.Body, &by, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	c.CreatedBy = nullString(by)
	c.CreatedAt = fromMicros(created)
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}

// CreateCanned inserts a canned reply; ErrDuplicate when the workspace has
// the shortcut already.
func (s *Store) CreateCanned(ctx context.Context, c model.CannedReply) error {
	_, err := s.exec(ctx, `INSERT INTO canned_replies (`+cannedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.WorkspaceID, c.Shortcut, c.Body, c.CreatedBy, micros(c.CreatedAt), micros(c.UpdatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create canned reply /%s: %w", c.Shortcut, ErrDuplicate)
		}
		return fmt.Errorf("create canned reply /%s: %w", c.Shortcut, err)
	}
	return nil
}

// UpdateCanned stores a canned reply's shortcut and body; ErrDuplicate when
// another one of the workspace has the shortcut.
func (s *Store) UpdateCanned(ctx context.Context, c model.CannedReply) error {
	res, err := s.exec(ctx, `UPDATE canned_replies SET shortcut = ?, body = ?, updated_at = ? WHERE id = ? AND workspace_id = ?`,
		c.Shortcut, c.Body, micros(c.UpdatedAt), c.ID, c.WorkspaceID)
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("update canned reply %s: %w", c.ID, ErrDuplicate)
		}
		return fmt.Errorf("update canned reply %s: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update canned reply %s: %w", c.ID, ErrNotFound)
	}
	return nil
}

// DeleteCanned deletes a canned reply of a workspace.
func (s *Store) DeleteCanned(ctx context.Context, workspaceID, id string) error {
	res, err := s.exec(ctx, `DELETE FROM canned_replies WHERE id = ? AND workspace_id = ?`, id, workspaceID)
	if err != nil {
		return fmt.Errorf("delete canned reply %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("delete canned reply %s: %w", id, ErrNotFound)
	}
	return nil
}

// Canned returns a canned reply of a workspace.
func (s *Store) Canned(ctx context.Context, workspaceID, id string) (model.CannedReply, error) {
	c, err := scanCanned(s.queryRow(ctx, `SELECT `+cannedColumns+` FROM canned_replies WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return c, fmt.Errorf("get canned reply %s: %w", id, err)
	}
	return c, nil
}

// CannedReplies lists a workspace's canned replies by shortcut.
func (s *Store) CannedReplies(ctx context.Context, workspaceID string) ([]model.CannedReply, error) {
	rows, err := s.query(ctx, `SELECT `+cannedColumns+` FROM canned_replies WHERE workspace_id = ? ORDER BY shortcut`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list canned replies: %w", err)
	}
	defer rows.Close()
	out := []model.CannedReply{}
	for rows.Next() {
		c, err := scanCanned(rows)
		if err != nil {
			return nil, fmt.Errorf("list canned replies: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
