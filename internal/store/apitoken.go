package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// API tokens are rows of agent_tokens with an id and a name (a login's
// token has neither).

// CreateAPIToken stores the hash of an agent's new API token.
func (s *Store) CreateAPIToken(ctx context.Context, hash string, t model.APIToken, agentID string) error {
	if _, err := s.exec(ctx, `INSERT INTO agent_tokens (token_hash, agent_id, created_at, expires_at, id, name) VALUES (?, ?, ?, ?, ?, ?)`,
		hash, agentID, micros(t.CreatedAt), micros(apiTokenExpiry(t.ExpiresAt)), t.ID, t.Name); err != nil {
		return fmt.Errorf("create API token: %w", err)
	}
	return nil
}

// neverExpires is the stored expiry of a token without one: the last
// second of year 9999.
var neverExpires = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

func apiTokenExpiry(t *time.Time) time.Time {
	if t == nil {
		return neverExpires
	}
	return *t
}

// APITokens lists an agent's API tokens, expired ones too, newest first.
func (s *Store) APITokens(ctx context.Context, agentID string) ([]model.APIToken, error) {
	byAgent, err := s.apiTokens(ctx, `t.agent_id = ?`, agentID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens of agent %s: %w", agentID, err)
	}
	if byAgent[agentID] == nil {
		return []model.APIToken{}, nil
	}
	return byAgent[agentID], nil
}

// WorkspaceAPITokens lists the API tokens of every agent of a workspace,
// by agent id, each agent's newest first.
func (s *Store) WorkspaceAPITokens(ctx context.Context, workspaceID string) (map[string][]model.APIToken, error) {
	byAgent, err := s.apiTokens(ctx, `t.agent_id IN (SELECT a.id FROM agents a WHERE a.workspace_id = ?)`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens of workspace %s: %w", workspaceID, err)
	}
	return byAgent, nil
}

// apiTokens lists the API tokens that where (on agent_tokens t) selects,
// by agent id, newest first.
func (s *Store) apiTokens(ctx context.Context, where string, arg any) (map[string][]model.APIToken, error) {
	rows, err := s.query(ctx, `SELECT t.agent_id, t.id, t.name, t.created_at, t.expires_at, t.last_used_at FROM agent_tokens t
		WHERE `+where+` AND t.id IS NOT NULL ORDER BY t.created_at DESC, t.id DESC`, arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]model.APIToken{}
	for rows.Next() {
		var (
			agentID          string
			t                model.APIToken
			created, expires int64
			used             sql.NullInt64
		)
		if err := rows.Scan(&agentID, &t.ID, &t.Name, &created, &expires, &used); err != nil {
			return nil, err
		}
		t.CreatedAt, t.LastUsedAt = fromMicros(created), fromNullMicros(used)
		if e := fromMicros(expires); e.Before(neverExpires) {
			t.ExpiresAt = &e
		}
		out[agentID] = append(out[agentID], t)
	}
	return out, rows.Err()
}

// LockAgent holds an agent's row until the transaction ends, on
// PostgreSQL (SQLite's one writer holds everything).
func (s *Store) LockAgent(ctx context.Context, id string) error {
	if s.dialect != Postgres {
		return nil
	}
	var got string
	err := s.queryRow(ctx, `SELECT id FROM agents WHERE id = ? FOR UPDATE`, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("lock agent %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock agent %s: %w", id, err)
	}
	return nil
}

// CountAPITokens counts an agent's API tokens.
func (s *Store) CountAPITokens(ctx context.Context, agentID string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM agent_tokens WHERE agent_id = ? AND id IS NOT NULL`, agentID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count API tokens of agent %s: %w", agentID, err)
	}
	return n, nil
}

// DeleteAPIToken removes an agent's API token by its id and returns its
// hash; ErrNotFound when the agent has no such token.
func (s *Store) DeleteAPIToken(ctx context.Context, agentID, id string) (string, error) {
	var hash string
	err := s.queryRow(ctx, `SELECT token_hash FROM agent_tokens WHERE id = ? AND agent_id = ?`, id, agentID).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("revoke API token %s: %w", id, err)
	}
	if _, err := s.exec(ctx, `DELETE FROM agent_tokens WHERE token_hash = ?`, hash); err != nil {
		return "", fmt.Errorf("revoke API token %s: %w", id, err)
	}
	return hash, nil
}

// TouchAPIToken records that an API token was used at now, when its
// record is older than a minute (a login's token is left alone).
func (s *Store) TouchAPIToken(ctx context.Context, hash string, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE agent_tokens SET last_used_at = ? WHERE token_hash = ? AND id IS NOT NULL
		AND (last_used_at IS NULL OR last_used_at < ?)`, micros(now), hash, micros(now.Add(-time.Minute))); err != nil {
		return fmt.Errorf("record the use of an API token: %w", err)
	}
	return nil
}
