package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleychat/parley/internal/model"
)

const messageColumns = `id, workspace_id, conversation_id, author_kind, author_id, author_name, kind, channel, body, client_id,
	created_at, read_by_visitor_at, forwarded_to, forwarded_at, forwarded_status, forward_off, asks_email`

func scanMessage(row interface{ Scan(...any) error }) (model.Message, error) {
	var (
		m                    model.Message
		authorID, authorName sql.NullString
		clientID             sql.NullString
		created              int64
		read, fwdAt          sql.NullInt64
		fwdTo, fwdStatus     sql.NullString
		fwdOff, asksEmail    int
	)
	err := row.Scan(&m.ID, &m.WorkspaceID, &m.ConversationID, &m.Author.Kind, &authorID, &authorName, &m.Kind, &m.Channel,
		&m.Body, &clientID, &created, &read, &fwdTo, &fwdAt, &fwdStatus, &fwdOff, &asksEmail)
	if errors.Is(err, sql.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil {
		return m, err
	}
	m.Author.ID = nullString(authorID)
	m.Author.Name = nullString(authorName)
	m.ClientID = nullString(clientID)
	m.CreatedAt = fromMicros(created)
	m.ForwardOff = fwdOff != 0
	m.AsksEmail = asksEmail != 0
	m.ReadByVisitorAt = fromNullMicros(read)
	if fwdTo.Valid {
		m.Forwarded = &model.Forwarded{To: fwdTo.String, Status: fwdStatus.String}
		if fwdAt.Valid {
			m.Forwarded.At = fromMicros(fwdAt.Int64)
		}
	}
	return m, nil
}

// CreateMessage inserts a message. A message whose client_id was already
// stored in the conversation is not inserted again: ErrDuplicate. The
// message records whether the workspace's email forwarding is off as it is
// written (Message.ForwardOff).
func (s *Store) CreateMessage(ctx context.Context, m model.Message) error {
	_, err := s.exec(ctx, `INSERT INTO messages (`+messageColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		(SELECT CASE WHEN email_forwarding = 'off' THEN 1 ELSE 0 END FROM workspaces WHERE id = ?), ?)`,
		m.ID, m.WorkspaceID, m.ConversationID, m.Author.Kind, m.Author.ID, m.Author.Name, m.Kind, m.Channel, m.Body, m.ClientID,
		micros(m.CreatedAt), nullMicros(m.ReadByVisitorAt), nil, nil, nil, m.WorkspaceID, boolInt(m.AsksEmail))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create message: %w", ErrDuplicate)
		}
		return fmt.Errorf("create message: %w", err)
	}
	return s.bumpActivity(ctx, m.ConversationID, m.ID)
}

// Message returns one message of a workspace.
func (s *Store) Message(ctx context.Context, workspaceID, id string) (model.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return m, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// MessageByClientID returns the message a client id already made.
func (s *Store) MessageByClientID(ctx context.Context, conversationID, clientID string) (model.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND client_id = ?`, conversationID, clientID))
	if err != nil {
		return m, fmt.Errorf("get message by client id: %w", err)
	}
	return m, nil
}

// Messages lists a conversation's messages oldest first; publicOnly leaves
// out comments and events.
func (s *Store) Messages(ctx context.Context, workspaceID, conversationID string, publicOnly bool) ([]model.Message, error) {
	// The channel side (Meta's delivery) comes in the same row.
	q := `SELECT ` + messageColumns + `, ` + channelMessageColumns + ` FROM messages WHERE conversation_id = ? AND workspace_id = ?`
	if publicOnly {
		q += ` AND kind = 'reply'`
	}
	q += ` ORDER BY id`
	rows, err := s.query(ctx, q, conversationID, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	defer rows.Close()
	out := []model.Message{}
	for rows.Next() {
		m, err := scanChannelMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	rows.Close()
	if err := s.attachmentsOf(ctx, conversationID, out); err != nil {
		return nil, err
	}
	return out, nil
}
