package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// Erased is what an erasure removed: the conversations, and the attachment
// ids (their bytes in the database go in the same transaction; a copy an
// older version kept on disk is removed by the caller once it committed).
type Erased struct {
	Conversations []string
	Attachments   []string
	Messages      int
	Emails        int
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// DeleteConversations removes conversations of a workspace with everything
// that hangs on them: messages, attachment rows, emails (queued or sent:
// they hold the visitor's address and text), webhook events not yet
// delivered, their tags and mentions. It runs in the caller's transaction.
func (s *Store) DeleteConversations(ctx context.Context, workspaceID string, ids []string) (Erased, error) {
	var out Erased
	if len(ids) == 0 {
		return out, nil
	}
	in := placeholders(len(ids))
	args := append([]any{workspaceID}, anys(ids)...)
	attachments, err := s.ids(ctx, `SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id
		WHERE m.workspace_id = ? AND m.conversation_id IN (`+in+`) ORDER BY a.id`, args...)
	if err != nil {
		return out, fmt.Errorf("erase conversations: %w", err)
	}
	out.Attachments = attachments
	steps := []struct {
		what, q string
		count   *int
	}{
		{"attachment files", `DELETE FROM attachment_files WHERE workspace_id = ? AND id IN (SELECT a.id FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.conversation_id IN (` + in + `))`, nil},
		{"attachments", `DELETE FROM attachments WHERE workspace_id = ? AND message_id IN (SELECT id FROM messages WHERE conversation_id IN (` + in + `))`, nil},
		{"agents' uploads", `DELETE FROM attachment_files WHERE workspace_id = ? AND id IN (SELECT id FROM uploads WHERE conversation_id IN (` + in + `))`, nil},
		{"agents' upload rows", `DELETE FROM uploads WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, nil},
		{"email originals", `DELETE FROM email_originals WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, nil},
		{"emails", `DELETE FROM emails WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, &out.Emails},
		{"messages", `DELETE FROM messages WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, &out.Messages},
		{"webhook deliveries", `DELETE FROM webhook_deliveries WHERE event_id IN (SELECT id FROM webhook_events WHERE workspace_id = ? AND conversation_id IN (` + in + `))`, nil},
		{"webhook events", `DELETE FROM webhook_events WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, nil},
		{"tags", `DELETE FROM conversation_tags WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, nil},
		{"mentions", `DELETE FROM mentions WHERE workspace_id = ? AND conversation_id IN (` + in + `)`, nil},
		{"conversations", `DELETE FROM conversations WHERE workspace_id = ? AND id IN (` + in + `)`, nil},
	}
	for _, st := range steps {
		res, err := s.exec(ctx, st.q, args...)
		if err != nil {
			return out, fmt.Errorf("erase conversations: delete %s: %w", st.what, err)
		}
		if st.count != nil {
			n, _ := res.RowsAffected()
			*st.count = int(n)
		}
	}
	out.Conversations = ids
	return out, nil
}

// DeleteVisitor removes a visitor of a workspace, their conversations (see
// DeleteConversations) and their presence rows, in the caller's
// transaction. ErrNotFound when the visitor is not the workspace's.
func (s *Store) DeleteVisitor(ctx context.Context, workspaceID, visitorID string) (Erased, error) {
	if _, err := s.Visitor(ctx, workspaceID, visitorID); err != nil {
		return Erased{}, err
	}
	convs, err := s.ids(ctx, `SELECT id FROM conversations WHERE visitor_id = ? AND workspace_id = ? ORDER BY id`, visitorID, workspaceID)
	if err != nil {
		return Erased{}, fmt.Errorf("erase visitor %s: %w", visitorID, err)
	}
	out, err := s.DeleteConversations(ctx, workspaceID, convs)
	if err != nil {
		return out, fmt.Errorf("erase visitor %s: %w", visitorID, err)
	}
	// Emails of no remaining conversation still name the visitor.
	if _, err := s.exec(ctx, `DELETE FROM emails WHERE workspace_id = ? AND visitor_id = ?`, workspaceID, visitorID); err != nil {
		return out, fmt.Errorf("erase visitor %s: delete emails: %w", visitorID, err)
	}
	// Files the visitor uploaded and did not send yet.
	if _, err := s.exec(ctx, `DELETE FROM attachment_files WHERE workspace_id = ? AND id IN (SELECT id FROM uploads WHERE visitor_id = ?)`, workspaceID, visitorID); err != nil {
		return out, fmt.Errorf("erase visitor %s: delete uploads: %w", visitorID, err)
	}
	if _, err := s.exec(ctx, `DELETE FROM uploads WHERE workspace_id = ? AND visitor_id = ?`, workspaceID, visitorID); err != nil {
		return out, fmt.Errorf("erase visitor %s: delete uploads: %w", visitorID, err)
	}
	if _, err := s.exec(ctx, `DELETE FROM presence WHERE kind = 'visitor' AND subject_id = ?`, visitorID); err != nil {
		return out, fmt.Errorf("erase visitor %s: delete presence: %w", visitorID, err)
	}
	if _, err := s.exec(ctx, `DELETE FROM visitors WHERE id = ? AND workspace_id = ?`, visitorID, workspaceID); err != nil {
		return out, fmt.Errorf("erase visitor %s: %w", visitorID, err)
	}
	return out, nil
}

// ExpiredConversations returns up to limit conversations of workspaces
// with a retention period that were closed longer ago than it, as of now,
// each with its workspace.
func (s *Store) ExpiredConversations(ctx context.Context, now time.Time, limit int) ([]ExpiredConversation, error) {
	// retention_days * 86400e6 microseconds, compared in SQL so one
	// statement serves every workspace.
	rows, err := s.query(ctx, `SELECT c.id, c.workspace_id, c.visitor_id FROM conversations c JOIN workspaces w ON w.id = c.workspace_id
		WHERE w.retention_days > 0 AND c.status = 'closed' AND c.closed_at IS NOT NULL
		AND c.closed_at < ? - w.retention_days * 86400000000
		ORDER BY c.closed_at LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list expired conversations: %w", err)
	}
	defer rows.Close()
	var out []ExpiredConversation
	for rows.Next() {
		var e ExpiredConversation
		if err := rows.Scan(&e.ID, &e.WorkspaceID, &e.VisitorID); err != nil {
			return nil, fmt.Errorf("list expired conversations: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ExpiredConversation is a conversation past its workspace's retention.
type ExpiredConversation struct {
	ID, WorkspaceID, VisitorID string
}

// DeleteVisitorIfEmpty removes a visitor left with no conversation whose
// last activity is older than before (retention took their last
// conversation). It reports whether the visitor was removed.
func (s *Store) DeleteVisitorIfEmpty(ctx context.Context, workspaceID, visitorID string, before time.Time) (bool, error) {
	res, err := s.exec(ctx, `DELETE FROM visitors WHERE id = ? AND workspace_id = ? AND online = 0
		AND COALESCE(last_active_at, created_at) < ?
		AND NOT EXISTS (SELECT 1 FROM conversations WHERE visitor_id = visitors.id)
		AND NOT EXISTS (SELECT 1 FROM emails WHERE visitor_id = visitors.id)`, visitorID, workspaceID, micros(before))
	if err != nil {
		return false, fmt.Errorf("delete visitor %s without conversations: %w", visitorID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// Export is everything Parley keeps about one visitor.
type Export struct {
	Visitor       model.Visitor
	Conversations []model.Conversation
	Messages      []model.Message
	Pages         []model.Page
}

// ExportVisitor reads a visitor of a workspace with their conversations,
// messages (attachments included as metadata) and pages.
func (s *Store) ExportVisitor(ctx context.Context, workspaceID, visitorID string) (Export, error) {
	var ex Export
	v, err := s.Visitor(ctx, workspaceID, visitorID)
	if err != nil {
		return ex, err
	}
	ex.Visitor = v
	ids, err := s.ids(ctx, `SELECT id FROM conversations WHERE visitor_id = ? AND workspace_id = ? ORDER BY id`, visitorID, workspaceID)
	if err != nil {
		return ex, fmt.Errorf("export visitor %s: %w", visitorID, err)
	}
	ex.Conversations = []model.Conversation{}
	ex.Messages = []model.Message{}
	for _, id := range ids {
		c, err := s.Conversation(ctx, workspaceID, id)
		if err != nil {
			return ex, fmt.Errorf("export visitor %s: %w", visitorID, err)
		}
		ex.Conversations = append(ex.Conversations, c)
		msgs, err := s.Messages(ctx, workspaceID, id, false)
		if err != nil {
			return ex, fmt.Errorf("export visitor %s: %w", visitorID, err)
		}
		ex.Messages = append(ex.Messages, msgs...)
	}
	if ex.Pages, err = s.VisitorPages(ctx, workspaceID, visitorID); err != nil {
		return ex, fmt.Errorf("export visitor %s: %w", visitorID, err)
	}
	return ex, nil
}
