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

const agentColumns = `id, workspace_id, email, name, password_hash, status, disconnected_at, created_at, role, chosen_status, status_source, avatar_id`

// agentColumnsOf is agentColumns prefixed with a table alias.
func agentColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(agentColumns, ", ", ", "+alias+".")
}

func scanAgent(row interface{ Scan(...any) error }) (model.Agent, error) {
	var (
		a            model.Agent
		disconnected sql.NullInt64
		created      int64
		avatar       sql.NullString
	)
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Email, &a.Name, &a.PasswordHash, &a.Status, &disconnected, &created,
		&a.Role, &a.ChosenStatus, &a.StatusSource, &avatar)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.DisconnectedAt = fromNullMicros(disconnected)
	a.CreatedAt = fromMicros(created)
	a.AvatarID = avatar.String
	return a, nil
}

// CreateAgent inserts an agent; ErrDuplicate when the email is taken.
func (s *Store) CreateAgent(ctx context.Context, a model.Agent) error {
	if a.Role == "" {
		a.Role = model.RoleAgent
	}
	if a.StatusSource == "" {
		a.StatusSource = model.StatusSourceAgent
	}
	if a.ChosenStatus == "" {
		a.ChosenStatus = a.Status
	}
	_, err := s.exec(ctx, `INSERT INTO agents (`+agentColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.WorkspaceID, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.Status, nullMicros(a.DisconnectedAt), micros(a.CreatedAt),
		a.Role, a.ChosenStatus, a.StatusSource, sql.NullString{String: a.AvatarID, Valid: a.AvatarID != ""})
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

// SetAgentStatus stores the status an agent chose.
func (s *Store) SetAgentStatus(ctx context.Context, id, status string) error {
	if _, err := s.exec(ctx, `UPDATE agents SET status = ?, chosen_status = ?, status_source = 'agent' WHERE id = ?`, status, status, id); err != nil {
		return fmt.Errorf("set status of agent %s: %w", id, err)
	}
	return nil
}

// SetAgentAway sets an agent offline by the away timer, keeping the status
// they had chosen to give it back later. It changes nothing when the agent
// changed their status since the timer looked (expect is what it saw).
func (s *Store) SetAgentAway(ctx context.Context, id, expect string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE agents SET status = 'offline', status_source = 'away_timer' WHERE id = ? AND status = ? AND status_source = 'agent'`, id, expect)
	if err != nil {
		return false, fmt.Errorf("set agent %s away: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// RestoreAgentStatus gives an agent the away timer had set offline back the
// status they had chosen; it reports whether there was anything to give back.
func (s *Store) RestoreAgentStatus(ctx context.Context, id string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE agents SET status = chosen_status, status_source = 'agent' WHERE id = ? AND status_source = 'away_timer'`, id)
	if err != nil {
		return false, fmt.Errorf("restore status of agent %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
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
	a, _, err := s.TokenAgent(ctx, hash, now)
	return a, err
}

// TokenUse is what TokenAgent tells of a token besides its agent.
type TokenUse struct {
	Expires time.Time
	// API: an API token (not a login's), last used at LastUsed (zero:
	// never).
	API      bool
	LastUsed time.Time
}

// TokenAgent returns the agent owning an unexpired token hash, and when
// the token expires.
func (s *Store) TokenAgent(ctx context.Context, hash string, now time.Time) (model.Agent, TokenUse, error) {
	var (
		expires int64
		id      sql.NullString
		used    sql.NullInt64
	)
	a, err := scanAgent(withExtra{s.queryRow(ctx, `SELECT `+agentColumnsOf("a")+`, t.expires_at, t.id, t.last_used_at
		FROM agent_tokens t JOIN agents a ON a.id = t.agent_id WHERE t.token_hash = ? AND t.expires_at > ?`, hash, micros(now)), []any{&expires, &id, &used}})
	if err != nil {
		return a, TokenUse{}, fmt.Errorf("get agent by token: %w", err)
	}
	u := TokenUse{Expires: fromMicros(expires), API: id.Valid}
	if used.Valid {
		u.LastUsed = fromMicros(used.Int64)
	}
	return a, u, nil
}

// DeleteToken removes a token (logout).
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	if _, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE token_hash = ?`, hash); err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	return nil
}

// AgentsOf lists a workspace's agents, by name.
func (s *Store) AgentsOf(ctx context.Context, workspaceID string) ([]model.Agent, error) {
	rows, err := s.query(ctx, `SELECT `+agentColumns+` FROM agents WHERE workspace_id = ? ORDER BY name, email`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list agents of %s: %w", workspaceID, err)
	}
	defer rows.Close()
	var out []model.Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			return nil, fmt.Errorf("list agents of %s: %w", workspaceID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CountAdmins counts the admins of a workspace who can log in (an invited
// admin who never set a password does not count).
func (s *Store) CountAdmins(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM agents WHERE workspace_id = ? AND role = 'admin' AND password_hash <> ''`, workspaceID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count admins of %s: %w", workspaceID, err)
	}
	return n, nil
}

// CountWorkspaceAgents counts the agents of one workspace.
func (s *Store) CountWorkspaceAgents(ctx context.Context, workspaceID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM agents WHERE workspace_id = ?`, workspaceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count agents of %s: %w", workspaceID, err)
	}
	return n, nil
}

// UpdateAgentProfile stores an agent's name and role.
func (s *Store) UpdateAgentProfile(ctx context.Context, id, name, role string) error {
	if _, err := s.exec(ctx, `UPDATE agents SET name = ?, role = ? WHERE id = ?`, name, role, id); err != nil {
		return fmt.Errorf("update agent %s: %w", id, err)
	}
	return nil
}

// SetAgentPassword stores a new password hash.
func (s *Store) SetAgentPassword(ctx context.Context, id, hash string) error {
	if _, err := s.exec(ctx, `UPDATE agents SET password_hash = ? WHERE id = ?`, hash, id); err != nil {
		return fmt.Errorf("set password of agent %s: %w", id, err)
	}
	return nil
}

// DeleteAgentTokens removes every login's token of an agent but keep (a
// token hash; empty keeps none). API tokens stay.
func (s *Store) DeleteAgentTokens(ctx context.Context, agentID, keep string) error {
	if _, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE agent_id = ? AND token_hash <> ? AND id IS NULL`, agentID, keep); err != nil {
		return fmt.Errorf("delete tokens of agent %s: %w", agentID, err)
	}
	return nil
}

// DeleteAgent removes an agent with their tokens, invitations and presence
// records; their conversations become unassigned and their canned replies
// stay, made by nobody. Their messages keep the name they were written under.
func (s *Store) DeleteAgent(ctx context.Context, id string) error {
	for _, q := range []string{
		`DELETE FROM agent_tokens WHERE agent_id = ?`,
		`DELETE FROM agent_invites WHERE agent_id = ?`,
		`DELETE FROM presence WHERE kind = 'agent' AND subject_id = ?`,
		`UPDATE conversations SET assignee_id = NULL WHERE assignee_id = ?`,
		`UPDATE canned_replies SET created_by = NULL WHERE created_by = ?`,
		`DELETE FROM agent_avatars WHERE agent_id = ?`,
		`DELETE FROM mentions WHERE agent_id = ?`,
		`DELETE FROM agents WHERE id = ?`,
	} {
		if _, err := s.exec(ctx, q, id); err != nil {
			return fmt.Errorf("delete agent %s: %w", id, err)
		}
	}
	return nil
}

// CreateInvite stores the hash of an invitation link's token, replacing any
// earlier invitation of the agent.
func (s *Store) CreateInvite(ctx context.Context, hash, agentID string, created, expires time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM agent_invites WHERE agent_id = ?`, agentID); err != nil {
		return fmt.Errorf("replace invitation of agent %s: %w", agentID, err)
	}
	if _, err := s.exec(ctx, `INSERT INTO agent_invites (token_hash, agent_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hash, agentID, micros(created), micros(expires)); err != nil {
		return fmt.Errorf("create invitation of agent %s: %w", agentID, err)
	}
	return nil
}

// InviteExpiries returns when the pending invitations of a workspace's
// agents end (by agent id).
func (s *Store) InviteExpiries(ctx context.Context, workspaceID string) (map[string]time.Time, error) {
	rows, err := s.query(ctx, `SELECT i.agent_id, i.expires_at FROM agent_invites i JOIN agents a ON a.id = i.agent_id WHERE a.workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list invitations of workspace %s: %w", workspaceID, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("list invitations of workspace %s: %w", workspaceID, err)
		}
		out[id] = fromMicros(at)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list invitations of workspace %s: %w", workspaceID, err)
	}
	return out, nil
}

// AgentByInvite returns the agent an unexpired invitation is for.
func (s *Store) AgentByInvite(ctx context.Context, hash string, now time.Time) (model.Agent, error) {
	a, err := scanAgent(s.queryRow(ctx, `SELECT `+agentColumnsOf("a")+`
		FROM agent_invites i JOIN agents a ON a.id = i.agent_id WHERE i.token_hash = ? AND i.expires_at > ?`, hash, micros(now)))
	if err != nil {
		return a, fmt.Errorf("get agent by invitation: %w", err)
	}
	return a, nil
}

// UseInvite deletes an invitation; false when it was already used (another
// request took it first).
func (s *Store) UseInvite(ctx context.Context, hash string) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM agent_invites WHERE token_hash = ?`, hash)
	if err != nil {
		return false, fmt.Errorf("use invitation: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
