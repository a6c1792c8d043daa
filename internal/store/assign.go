package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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

// LockConversation makes a transaction that reads a conversation and then
// changes it wait for any other doing the same, so that what it read is
// still so when it writes: on PostgreSQL the row is locked until the
// transaction ends, and the next statement sees what the one before
// committed; SQLite's single writer runs transactions one at a time and
// needs no lock. ErrNotFound when the workspace has no such conversation.
func (s *Store) LockConversation(ctx context.Context, workspaceID, id string) error {
	if s.dialect != Postgres {
		return nil
	}
	var got string
	err := s.queryRow(ctx, `SELECT id FROM conversations WHERE id = ? AND workspace_id = ? FOR UPDATE`, id, workspaceID).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock conversation %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock conversation %s: %w", id, err)
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

// AssignLeastBusy gives conversation conversationID, when nobody has it,
// to the workspace's online agent (not invisible, not one whose invitation
// is pending) with the fewest open conversations, fewer than limit unless
// limit is 0; on a tie, to the one given a conversation this way the
// longest ago (or never), then the first by name. It returns the agent,
// or ErrNotFound when nobody online has room or the conversation has an
// assignee already.
//
// Called in the transaction of the message that asks for it. On
// PostgreSQL the workspace's assignments wait for each other until each
// commits, so two conversations started at once do not both go to the
// same agent for want of seeing the other, and the chosen agent's row is
// held, so that a removal of that agent waits rather than breaking the
// write (SQLite's one writer runs all of it in turn anyway).
func (s *Store) AssignLeastBusy(ctx context.Context, workspaceID, conversationID string, limit int, at time.Time) (model.AssignableAgent, error) {
	var a model.AssignableAgent
	lock := ""
	if s.dialect == Postgres {
		// Nobody online (the common case at night): no need to wait for
		// the workspace's other assignments to learn it.
		var online bool
		if err := s.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE workspace_id = ? AND status = 'online' AND password_hash <> '')`,
			workspaceID).Scan(&online); err != nil {
			return a, fmt.Errorf("assign conversation %s: %w", conversationID, err)
		}
		if !online {
			return a, ErrNotFound
		}
		if _, err := s.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('parley.auto_assign:' || ?::text, 0))`, workspaceID); err != nil {
			return a, fmt.Errorf("assign conversation %s: wait for other assignments: %w", conversationID, err)
		}
		lock = ` FOR KEY SHARE OF a`
	}
	const open = `(SELECT COUNT(*) FROM conversations c WHERE c.workspace_id = a.workspace_id AND c.status = 'open' AND c.assignee_id = a.id)`
	room, args := "", []any{workspaceID}
	if limit > 0 {
		room, args = ` AND `+open+` < ?`, append(args, limit)
	}
	err := s.queryRow(ctx, `SELECT a.id, a.name, a.status FROM agents a
		WHERE a.workspace_id = ? AND a.status = 'online' AND a.password_hash <> ''`+room+`
		ORDER BY `+open+`, COALESCE(a.last_auto_assigned_at, 0), a.name, a.id LIMIT 1`+lock, args...).Scan(&a.ID, &a.Name, &a.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("assign conversation %s: choose an agent: %w", conversationID, err)
	}
	ok, err := s.ClaimConversation(ctx, workspaceID, conversationID, a.ID)
	if err != nil {
		return a, err
	}
	if !ok {
		return a, ErrNotFound
	}
	if _, err := s.exec(ctx, `UPDATE agents SET last_auto_assigned_at = ? WHERE id = ?`, micros(at), a.ID); err != nil {
		return a, fmt.Errorf("assign conversation %s: %w", conversationID, err)
	}
	return a, nil
}

// WaitingUnassigned lists up to limit conversations of a workspace that
// nobody has and whose visitor waits for an answer (waitingAnswer), but
// those an agent let go (LetGo) since the visitor last wrote: those
// automatic assignment hands out, the visitor who has waited longest
// first.
func (s *Store) WaitingUnassigned(ctx context.Context, workspaceID string, limit int) ([]string, error) {
	ids, err := s.ids(ctx, waitingUnassignedQuery, workspaceID, limit)
	if err != nil {
		return nil, fmt.Errorf("list waiting conversations of workspace %s: %w", workspaceID, err)
	}
	return ids, nil
}

// waitingUnassignedQuery lists a workspace's waiting conversations nobody
// has, from the index conversations_waiting (its condition is in the
// statement word for word, as SQLite needs to use it).
const waitingUnassignedQuery = `SELECT c.id FROM conversations c WHERE c.workspace_id = ? AND c.status = 'open' AND c.assignee_id IS NULL AND ` + notLetGo + ` AND ` + waitingAnswer + `
	ORDER BY c.visitor_message_id, c.id LIMIT ?`

// notLetGo holds for a conversation c no agent let go since its visitor
// last wrote.
const notLetGo = `(c.let_go_id IS NULL OR c.let_go_id < c.visitor_message_id)`

// LetGo records that an agent left conversation id to nobody, at a new id:
// automatic assignment does not hand it out until its visitor writes
// again.
func (s *Store) LetGo(ctx context.Context, workspaceID, id string) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET let_go_id = ? WHERE id = ? AND workspace_id = ?`, model.NewID(), id, workspaceID); err != nil {
		return fmt.Errorf("record conversation %s let go: %w", id, err)
	}
	return nil
}

// IsWaitingUnassigned reports whether a conversation is one
// WaitingUnassigned lists; in a transaction that holds it
// (LockConversation), it stays so until the transaction ends.
func (s *Store) IsWaitingUnassigned(ctx context.Context, workspaceID, conversationID string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM conversations c WHERE c.id = ? AND c.workspace_id = ? AND c.assignee_id IS NULL AND `+notLetGo+` AND `+waitingAnswer,
		conversationID, workspaceID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("conversation %s waiting: %w", conversationID, err)
	}
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
// given to, by name: not those whose invitation is pending (no password
// yet).
func (s *Store) AssignableAgents(ctx context.Context, workspaceID string) ([]model.AssignableAgent, error) {
	rows, err := s.query(ctx, `SELECT id, name, status FROM agents WHERE workspace_id = ? AND password_hash <> '' ORDER BY name, id`, workspaceID)
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
