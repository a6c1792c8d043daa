package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parleychat/parley/internal/model"
)

// SaveEmailOriginal keeps the whole text of an email answer beside its
// message (in the message's transaction).
func (s *Store) SaveEmailOriginal(ctx context.Context, o model.EmailOriginal) error {
	quote := 0
	if o.MayHoldQuote {
		quote = 1
	}
	if _, err := s.exec(ctx, `INSERT INTO email_originals (message_id, workspace_id, conversation_id, may_hold_quote, subject, text)
		VALUES (?, ?, ?, ?, ?, ?)`, o.MessageID, o.WorkspaceID, o.ConversationID, quote, o.Subject, o.Text); err != nil {
		return fmt.Errorf("save original of email message %s: %w", o.MessageID, err)
	}
	return nil
}

// EmailOriginal returns the original of an email answer of a workspace.
func (s *Store) EmailOriginal(ctx context.Context, workspaceID, messageID string) (model.EmailOriginal, error) {
	o := model.EmailOriginal{MessageID: messageID, WorkspaceID: workspaceID}
	var quote int
	err := s.queryRow(ctx, `SELECT conversation_id, may_hold_quote, subject, text FROM email_originals
		WHERE message_id = ? AND workspace_id = ?`, messageID, workspaceID).Scan(&o.ConversationID, &quote, &o.Subject, &o.Text)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("original of email message %s: %w", messageID, ErrNotFound)
	}
	if err != nil {
		return o, fmt.Errorf("original of email message %s: %w", messageID, err)
	}
	o.MayHoldQuote = quote != 0
	return o, nil
}

// MayHoldQuote lists the email answers of a conversation whose new text
// may still hold a quote.
func (s *Store) MayHoldQuote(ctx context.Context, conversationID string) ([]string, error) {
	ids, err := s.ids(ctx, `SELECT message_id FROM email_originals WHERE conversation_id = ? AND may_hold_quote = 1`, conversationID)
	if err != nil {
		return nil, fmt.Errorf("email answers that may hold a quote in conversation %s: %w", conversationID, err)
	}
	return ids, nil
}
