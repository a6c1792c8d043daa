package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// ErrDuplicate is returned when a unique value (an agent's email) is taken.
var ErrDuplicate = errors.New("already exists")

const agentColumns = `id, workspace_id, email, name, password_hash, status, disconnected_at, created_at`

func scanAgent(row interface{ Scan(...any) error }) (model.Agent, error) {
	var (
		a            model.Agent
		disconnected sql.NullInt64
		created      int64
	)
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Email, &a.Name, &a.PasswordHash, &a.Status, &disconnected, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.DisconnectedAt = fromNullMicros(disconnected)
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// CreateAgent inserts an agent; ErrDuplicate when the email is taken.
func (s *Store) CreateAgent(ctx context.Context, a model.Agent) error {
	_, err := s.exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.WorkspaceID, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.Status, nullMicros(a.DisconnectedAt), micros(a.CreatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create agent %s: %w", a.Email, ErrDuplicate)
		}
		return fmt.Errorf("create agent %s: %w", a.Email, err)
	}
	return nil
}

func isUniqueViolation(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint") || strings.Contains(msg, "23505")
}

// Agent returns an agent by id.
func (s *Store) Agent(ctx context.Context, id string) (model.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE id = ?`, id))
	if err != nil {
		return a, fmt.Errorf("get agent %s: %w", id, err)
	}
	return a, nil
}

// AgentByEmail returns an agent by login email (case-insensitive).
func (s *Store) AgentByEmail(ctx context.Context, email string) (model.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE email = ?`, strings.ToLower(email)))
	if err != nil {
		return a, fmt.Errorf("get agent by email: %w", err)
	}
	return a, nil
}

// CountAgents counts all agents of every workspace.
func (s *Store) CountAgents(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM agents`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count agents: %w", err)
	}
	return n, nil
}

// AgentsAvailable reports whether any agent of the workspace is online or
// invisible.
func (s *Store) AgentsAvailable(ctx context.Context, workspaceID string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM agents WHERE workspace_id = ? AND status IN ('online', 'invisible')`, workspaceID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("agents available in %s: %w", workspaceID, err)
	}
	return n > 0, nil
}

// SetAgentStatus stores an agent's status.
func (s *Store) SetAgentStatus(ctx context.Context, id, status string) error {
	if _, err := s.exec(ctx, `UPDATE agents SET status = ? WHERE id = ?`, status, id); err != nil {
		return fmt.Errorf("set status of agent %s: %w", id, err)
	}
	return nil
}

// SetAgentDisconnectedAt records when the agent's last dashboard connection
// closed (nil while one is open).
func (s *Store) SetAgentDisconnectedAt(ctx context.Context, id string, at *time.Time) error {
	if _, err := s.exec(ctx, `UPDATE agents SET disconnected_at = ? WHERE id = ?`, nullMicros(at), id); err != nil {
		return fmt.Errorf("set disconnected_at of agent %s: %w", id, err)
	}
	return nil
}

// AgentsAwaySince lists available agents whose last connection closed at or
// before the cutoff.
func (s *Store) AgentsAwaySince(ctx context.Context, cutoff time.Time) ([]model.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentColumns+` FROM agents WHERE status IN ('online', 'invisible') AND disconnected_at IS NOT NULL AND disconnected_at <= ?`, micros(cutoff))
	if err != nil {
		return nil, fmt.Errorf("list away agents: %w", err)
	}
	defer rows.Close()
	var out []model.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list away agents: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkAgentsDisconnected sets disconnected_at for available agents that
// have none (used at start-up: no connection survives a restart).
func (s *Store) MarkAgentsDisconnected(ctx context.Context, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE agents SET disconnected_at = ? WHERE status IN ('online', 'invisible') AND disconnected_at IS NULL`, micros(at)); err != nil {
		return fmt.Errorf("mark agents disconnected: %w", err)
	}
	return nil
}

// CreateToken stores the hash of an agent's bearer token.
func (s *Store) CreateToken(ctx context.Context, hash, agentID string, created, expires time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO agent_tokens (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hash, agentID, micros(created), micros(expires)); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

// AgentByToken returns the agent owning an unexpired token hash.
func (s *Store) AgentByToken(ctx context.Context, hash string, now time.Time) (model.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT a.id, a.workspace_id, a.email, a.name, a.password_hash, a.status, a.disconnected_at, a.created_at
		FROM agent_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ? AND t.expires_at > ?`, hash, micros(now)))
	if err != nil {
		return a, fmt.Errorf("get agent by token: %w", err)
	}
	return a, nil
}

// DeleteToken removes a token (logout).
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	if _, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE token_hash = ?`, hash); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}
