package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Avatar is an agent's picture: its bytes and the type sniffed from them.
type Avatar struct {
	ID          string
	WorkspaceID string
	AgentID     string
	ContentType string
	Data        []byte
	CreatedAt   time.Time
}

// SetAgentAvatar makes av the picture of its agent, replacing (and
// deleting) the one they had.
func (db *DB) SetAgentAvatar(ctx context.Context, av Avatar) error {
	return db.InTx(ctx, func(tx *Store) error {
		if err := tx.deleteAvatars(ctx, av.AgentID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO agent_avatars (id, workspace_id, agent_id, content_type, data, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			av.ID, av.WorkspaceID, av.AgentID, av.ContentType, av.Data, micros(av.CreatedAt)); err != nil {
			return fmt.Errorf("store picture of agent %s: %w", av.AgentID, err)
		}
		res, err := tx.exec(ctx, `UPDATE agents SET avatar_id = ? WHERE id = ? AND workspace_id = ?`, av.ID, av.AgentID, av.WorkspaceID)
		if err != nil {
			return fmt.Errorf("set picture of agent %s: %w", av.AgentID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// RemoveAgentAvatar deletes an agent's picture; they have none afterwards.
func (db *DB) RemoveAgentAvatar(ctx context.Context, agentID string) error {
	return db.InTx(ctx, func(tx *Store) error {
		if err := tx.deleteAvatars(ctx, agentID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE agents SET avatar_id = NULL WHERE id = ?`, agentID); err != nil {
			return fmt.Errorf("clear picture of agent %s: %w", agentID, err)
		}
		return nil
	})
}

func (s *Store) deleteAvatars(ctx context.Context, agentID string) error {
	if _, err := s.exec(ctx, `DELETE FROM agent_avatars WHERE agent_id = ?`, agentID); err != nil {
		return fmt.Errorf("delete pictures of agent %s: %w", agentID, err)
	}
	return nil
}

// Avatar returns a stored picture by its id (any workspace: pictures are
// public, their ids unguessable).
func (s *Store) Avatar(ctx context.Context, id string) (Avatar, error) {
	var (
		av      Avatar
		created int64
	)
	err := s.queryRow(ctx, `SELECT id, workspace_id, agent_id, content_type, data, created_at FROM agent_avatars WHERE id = ?`, id).
		Scan(&av.ID, &av.WorkspaceID, &av.AgentID, &av.ContentType, &av.Data, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return av, ErrNotFound
	}
	if err != nil {
		return av, fmt.Errorf("load picture %s: %w", id, err)
	}
	av.CreatedAt = fromMicros(created)
	return av, nil
}

// AvatarIDs maps the agents of a workspace who have a picture to its id.
func (s *Store) AvatarIDs(ctx context.Context, workspaceID string) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT id, avatar_id FROM agents WHERE workspace_id = ? AND avatar_id IS NOT NULL`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list pictures of %s: %w", workspaceID, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var agent, avatar string
		if err := rows.Scan(&agent, &avatar); err != nil {
			return nil, fmt.Errorf("list pictures of %s: %w", workspaceID, err)
		}
		out[agent] = avatar
	}
	return out, rows.Err()
}
