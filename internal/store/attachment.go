package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleychat/parley/internal/model"
)

// CreateAttachment records an attachment of a message with its bytes; call
// it in the transaction that stores the message.
func (s *Store) CreateAttachment(ctx context.Context, a model.Attachment, data []byte) error {
	if err := s.putFile(ctx, a.WorkspaceID, a.ID, data); err != nil {
		return fmt.Errorf("create attachment: %w", err)
	}
	return s.createAttachmentRow(ctx, a)
}

// createAttachmentRow records an attachment whose bytes are stored already.
func (s *Store) createAttachmentRow(ctx context.Context, a model.Attachment) error {
	if _, err := s.exec(ctx, `INSERT INTO attachments (id, workspace_id, message_id, filename, content_type, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.WorkspaceID, a.MessageID, a.Filename, a.ContentType, a.Size, micros(a.CreatedAt)); err != nil {
		return fmt.Errorf("create attachment: %w", err)
	}
	return nil
}

// Attachment returns an attachment of a workspace.
func (s *Store) Attachment(ctx context.Context, workspaceID, id string) (model.Attachment, error) {
	var (
		a       model.Attachment
		created int64
	)
	err := s.queryRow(ctx, `SELECT id, workspace_id, message_id, filename, content_type, size, created_at FROM attachments WHERE id = ? AND workspace_id = ?`, id, workspaceID).
		Scan(&a.ID, &a.WorkspaceID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("get attachment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("get attachment %s: %w", id, err)
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// attachmentsOf loads the attachments of a conversation's messages into
// them.
func (s *Store) attachmentsOf(ctx context.Context, conversationID string, msgs []model.Message) error {
	return s.attachmentsQuery(ctx, conversationID, msgs, `SELECT a.id, a.workspace_id, a.message_id, a.filename, a.content_type, a.size, a.created_at
		FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? ORDER BY a.id`, conversationID)
}

// attachmentsIn is attachmentsOf for a window of the conversation (msgs in
// order of id): only the attachments of its range are read.
func (s *Store) attachmentsIn(ctx context.Context, conversationID string, msgs []model.Message) error {
	return s.attachmentsQuery(ctx, conversationID, msgs, `SELECT a.id, a.workspace_id, a.message_id, a.filename, a.content_type, a.size, a.created_at
		FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id = ? AND m.id >= ? AND m.id <= ? ORDER BY a.id`,
		conversationID, msgs[0].ID, msgs[len(msgs)-1].ID)
}

// MessagesWithFiles returns messages of a workspace by id, in order of
// id, with their attachments, in two statements however many: for
// messages sent again whole, whose copies replace what screens show.
func (s *Store) MessagesWithFiles(ctx context.Context, workspaceID string, ids []string) ([]model.Message, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	of := "workspace " + workspaceID
	msgs, err := s.scanMessages(ctx, of, `SELECT `+messageColumns+`, `+channelMessageColumns+` FROM messages WHERE workspace_id = ? AND id IN (`+placeholders(len(ids))+`) ORDER BY id`,
		append([]any{workspaceID}, anys(ids)...)...)
	if err != nil {
		return nil, err
	}
	if err := s.filesOf(ctx, of, msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}

// filesPerStatement bounds the message ids filesOf names in one statement,
// well under either database's limit on a statement's parameters.
const filesPerStatement = 500

// filesOf loads the attachments of msgs, of any conversations, into them:
// one statement for up to filesPerStatement messages. of names them in
// errors.
func (s *Store) filesOf(ctx context.Context, of string, msgs []model.Message) error {
	for len(msgs) > 0 {
		part := msgs[:min(len(msgs), filesPerStatement)]
		msgs = msgs[len(part):]
		ids := make([]any, len(part))
		for i, m := range part {
			ids[i] = m.ID
		}
		if err := s.attachmentsQuery(ctx, of, part, `SELECT a.id, a.workspace_id, a.message_id, a.filename, a.content_type, a.size, a.created_at
		FROM attachments a WHERE a.message_id IN (`+placeholders(len(part))+`) ORDER BY a.id`, ids...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) attachmentsQuery(ctx context.Context, conversationID string, msgs []model.Message, q string, args ...any) error {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("list attachments of %s: %w", conversationID, err)
	}
	defer rows.Close()
	index := make(map[string]int, len(msgs))
	for i, m := range msgs {
		index[m.ID] = i
	}
	for rows.Next() {
		var (
			a       model.Attachment
			created int64
		)
		if err := rows.Scan(&a.ID, &a.WorkspaceID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &created); err != nil {
			return fmt.Errorf("list attachments of %s: %w", conversationID, err)
		}
		a.CreatedAt = fromMicros(created)
		if i, ok := index[a.MessageID]; ok {
			msgs[i].Attachments = append(msgs[i].Attachments, a)
		}
	}
	return rows.Err()
}

// EmailByMessageID finds an outbox email by its Message-ID (with or
// without angle brackets).
func (s *Store) EmailByMessageID(ctx context.Context, messageID string) (Email, error) {
	id := messageID
	if len(id) > 0 && id[0] != '<' {
		id = "<" + id + ">"
	}
	e, err := scanEmail(s.queryRow(ctx, `SELECT `+emailColumns+` FROM emails WHERE message_id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("get email by Message-ID: %w", ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("get email by Message-ID: %w", err)
	}
	return e, nil
}

// LatestEmailTo returns the newest email of a conversation sent to addr.
func (s *Store) LatestEmailTo(ctx context.Context, conversationID, addr string) (Email, error) {
	e, err := scanEmail(s.queryRow(ctx, `SELECT `+emailColumns+` FROM emails WHERE conversation_id = ? AND LOWER(rcpt_to) = LOWER(?) ORDER BY created_at DESC LIMIT 1`, conversationID, addr))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("get latest email: %w", ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("get latest email: %w", err)
	}
	return e, nil
}
