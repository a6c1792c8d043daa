package store

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/internal/model"
)

// SetAssignee assigns a conversation to an agent, or to nobody when agentID
// is nil. The caller checks that the agent belongs to the workspace.
func (s *Store) SetAssignee(ctx context.Context, workspaceID, conversationID string, agentID *string) error {
	res, err := s.exec(ctx, `UPDATE conversations SET assignee_id = ? WHERE id = ? AND workspace_id = ?`,
		agentID, conversationID, workspaceID)
	if err != nil {
		return fmt.Errorf("assign conversation %s: %w", conversationID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("assign conversation %s: %w", conversationID, ErrNotFound)
	}
	return nil
}

// ClaimConversation assigns an unassigned conversation to agentID; it
// reports whether it did (false: someone has it already).
func (s *Store) ClaimConversation(ctx context.Context, workspaceID, conversationID, agentID string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE conversations SET assignee_id = ? WHERE id = ? AND workspace_id = ? AND assignee_id IS NULL`,
		agentID, conversationID, workspaceID)
	if err != nil {
		return false, fmt.Errorf("claim conversation %s: %w", conversationID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// UnassignAgent gives every conversation assigned to an agent back to
// nobody (when the agent is removed) and returns their ids.
func (s *Store) UnassignAgent(ctx context.Context, workspaceID, agentID string) ([]string, error) {
	ids, err := s.ids(ctx, `UPDATE conversations SET assignee_id = NULL WHERE workspace_id = ? AND assignee_id = ? RETURNING id`,
		workspaceID, agentID)
	if err != nil {
		return nil, fmt.Errorf("unassign conversations of agent %s: %w", agentID, err)
	}
	return ids, nil
}

// AssignableAgents lists the agents of a workspace a conversation can be
// given to, by name.
func (s *Store) AssignableAgents(ctx context.Context, workspaceID string) ([]model.AssignableAgent, error) {
	rows, err := s.query(ctx, `SELECT id, name, status FROM agents WHERE workspace_id = ? ORDER BY name, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list agents of workspace %s: %w", workspaceID, err)
	}
	defer rows.Close()
	var out []model.AssignableAgent
	for rows.Next() {
		var a model.AssignableAgent
		if err := rows.Scan(&a.ID, &a.Name, &a.Status); err != nil {
			return nil, fmt.Errorf("list agents of workspace %s: %w", workspaceID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
