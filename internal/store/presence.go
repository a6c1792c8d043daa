package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Presence kinds.
const (
	PresenceVisitor = "visitor"
	PresenceAgent   = "agent"
)

// Node is a running Parley process sharing the database.
type Node struct {
	ID          string
	HeartbeatAt time.Time
}

// Heartbeat records that a node is alive.
func (s *Store) Heartbeat(ctx context.Context, nodeID string, now time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO nodes (id, heartbeat_at, started_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`, nodeID, micros(now), micros(now)); err != nil {
		return fmt.Errorf("heartbeat of node %s: %w", nodeID, err)
	}
	return nil
}

// StaleNodes lists other nodes whose heartbeat is older than cutoff.
func (s *Store) StaleNodes(ctx context.Context, self string, cutoff time.Time) ([]Node, error) {
	rows, err := s.query(ctx, `SELECT id, heartbeat_at FROM nodes WHERE id <> ? AND heartbeat_at < ?`, self, micros(cutoff))
	if err != nil {
		return nil, fmt.Errorf("list stale nodes: %w", err)
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		var (
			n  Node
			hb int64
		)
		if err := rows.Scan(&n.ID, &hb); err != nil {
			return nil, fmt.Errorf("list stale nodes: %w", err)
		}
		n.HeartbeatAt = fromMicros(hb)
		out = append(out, n)
	}
	return out, rows.Err()
}

// RemoveNode forgets this node's connections and the node itself (a clean
// stop), returning the visitors and agents it had connections for.
func (s *Store) RemoveNode(ctx context.Context, nodeID string) (visitors, agents []string, err error) {
	visitors, agents, err = s.removePresence(ctx, nodeID)
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.exec(ctx, `DELETE FROM nodes WHERE id = ?`, nodeID); err != nil {
		return nil, nil, fmt.Errorf("remove node %s: %w", nodeID, err)
	}
	return visitors, agents, nil
}

// RemoveDeadNode forgets another node whose heartbeat is still older than
// cutoff, with its connections, and makes the emails it had claimed due
// now, in one transaction. removed is false when the node heartbeated
// since it was found stale: then nothing changes.
func (db *DB) RemoveDeadNode(ctx context.Context, nodeID string, cutoff, now time.Time) (removed bool, visitors, agents []string, err error) {
	err = db.InTx(ctx, func(tx *Store) error {
		res, err := tx.exec(ctx, `DELETE FROM nodes WHERE id = ? AND heartbeat_at < ?`, nodeID, micros(cutoff))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		removed = true
		if visitors, agents, err = tx.removePresence(ctx, nodeID); err != nil {
			return err
		}
		// One email the node had handed to the relay without recording
		// the answer is sent twice: an SMTP relay gives no way to ask
		// whether it took a message.
		return tx.ReleaseEmailClaims(ctx, nodeID, now)
	})
	if err != nil {
		return false, nil, nil, fmt.Errorf("remove dead node %s: %w", nodeID, err)
	}
	return removed, visitors, agents, nil
}

// ReleaseEmailClaims makes the queued emails a node had claimed due at now,
// for any node to send (the node died, or it stopped with its outbox).
func (s *Store) ReleaseEmailClaims(ctx context.Context, nodeID string, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE emails SET next_attempt_at = ?, claimed_by = NULL
		WHERE status = 'queued' AND claimed_by = ?`, micros(now), nodeID); err != nil {
		return fmt.Errorf("release the emails of node %s: %w", nodeID, err)
	}
	return nil
}

func (s *Store) removePresence(ctx context.Context, nodeID string) (visitors, agents []string, err error) {
	rows, err := s.query(ctx, `DELETE FROM presence WHERE node_id = ? RETURNING kind, subject_id`, nodeID)
	if err != nil {
		return nil, nil, fmt.Errorf("remove connections of node %s: %w", nodeID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, id string
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, nil, fmt.Errorf("remove connections of node %s: %w", nodeID, err)
		}
		if kind == PresenceVisitor {
			visitors = append(visitors, id)
		} else {
			agents = append(agents, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("remove connections of node %s: %w", nodeID, err)
	}
	return visitors, agents, nil
}

// AddPresence records that a node holds a connection of a visitor or agent.
func (s *Store) AddPresence(ctx context.Context, nodeID, kind, subjectID string, now time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO presence (node_id, kind, subject_id, since) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		nodeID, kind, subjectID, micros(now)); err != nil {
		return fmt.Errorf("add presence of %s %s: %w", kind, subjectID, err)
	}
	return nil
}

// RemovePresence records that a node holds no connection of a subject.
func (s *Store) RemovePresence(ctx context.Context, nodeID, kind, subjectID string) error {
	if _, err := s.exec(ctx, `DELETE FROM presence WHERE node_id = ? AND kind = ? AND subject_id = ?`, nodeID, kind, subjectID); err != nil {
		return fmt.Errorf("remove presence of %s %s: %w", kind, subjectID, err)
	}
	return nil
}

// Present reports whether any node holds a connection of the subject.
func (s *Store) Present(ctx context.Context, kind, subjectID string) (bool, error) {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM presence WHERE kind = ? AND subject_id = ? LIMIT 1`, kind, subjectID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("presence of %s %s: %w", kind, subjectID, err)
	}
	return true, nil
}

// AbsentOnlineVisitors lists visitors marked online that no node holds a
// connection for.
func (s *Store) AbsentOnlineVisitors(ctx context.Context) ([]string, error) {
	return s.ids(ctx, `SELECT v.id FROM visitors v WHERE v.online = 1
		AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.kind = 'visitor' AND p.subject_id = v.id)`)
}

// MarkAbsentAgentsDisconnected sets disconnected_at for available agents
// that no node holds a dashboard connection for and that have none.
func (s *Store) MarkAbsentAgentsDisconnected(ctx context.Context, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE agents SET disconnected_at = ? WHERE status IN ('online', 'invisible') AND disconnected_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.kind = 'agent' AND p.subject_id = agents.id)`, micros(at)); err != nil {
		return fmt.Errorf("mark absent agents disconnected: %w", err)
	}
	return nil
}

// PutBusEvent stores an event too large for a notification.
func (s *Store) PutBusEvent(ctx context.Context, id, payload string, now time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO bus_events (id, payload, created_at) VALUES (?, ?, ?)`, id, payload, micros(now)); err != nil {
		return fmt.Errorf("store bus event: %w", err)
	}
	return nil
}

// BusEvent returns a stored event.
func (s *Store) BusEvent(ctx context.Context, id string) (string, error) {
	var p string
	if err := s.queryRow(ctx, `SELECT payload FROM bus_events WHERE id = ?`, id).Scan(&p); err != nil {
		return "", fmt.Errorf("get bus event %s: %w", id, err)
	}
	return p, nil
}

// PruneBusEvents deletes stored events older than cutoff.
func (s *Store) PruneBusEvents(ctx context.Context, cutoff time.Time) error {
	if _, err := s.exec(ctx, `DELETE FROM bus_events WHERE created_at < ?`, micros(cutoff)); err != nil {
		return fmt.Errorf("prune bus events: %w", err)
	}
	return nil
}

// NotifyAll sends PostgreSQL notifications on a channel, in order, in one
// statement (one round trip, one commit).
func (s *Store) NotifyAll(ctx context.Context, channel string, payloads []string) error {
	if s.dialect != Postgres || len(payloads) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString("SELECT ")
	args := make([]any, 0, len(payloads)+1)
	args = append(args, channel)
	for i, p := range payloads {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("pg_notify($1, $" + strconv.Itoa(i+2) + ")")
		args = append(args, p)
	}
	if _, err := s.q.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}
