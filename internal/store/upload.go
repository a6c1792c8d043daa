package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// Upload is a file uploaded from the widget or the reply box, not yet sent
// with a message. Exactly one of VisitorID and ConversationID is set.
type Upload struct {
	model.Attachment
	VisitorID      string // uploaded by this visitor
	ConversationID string // uploaded by an agent into this conversation
	AgentID        string
}

// putFile stores the bytes of an attachment or upload.
func (s *Store) putFile(ctx context.Context, workspaceID, id string, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	if _, err := s.exec(ctx, `INSERT INTO attachment_files (id, workspace_id, data) VALUES (?, ?, ?)`, id, workspaceID, data); err != nil {
		return fmt.Errorf("store file %s: %w", id, err)
	}
	return nil
}

// HasFile reports whether the bytes of an attachment are in the database.
func (s *Store) HasFile(ctx context.Context, id string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM attachment_files WHERE id = ?`, id).Scan(&n); err != nil {
		return false, fmt.Errorf("look up file %s: %w", id, err)
	}
	return n > 0, nil
}

// ImportFile stores the bytes of an existing attachment (one kept on disk
// by an older version); it does nothing when they are stored already.
func (db *DB) ImportFile(ctx context.Context, workspaceID, id string, data []byte) error {
	return db.InTx(ctx, func(tx *Store) error {
		ok, err := tx.HasFile(ctx, id)
		if err != nil || ok {
			return err
		}
		return tx.putFile(ctx, workspaceID, id, data)
	})
}

// AttachmentsWithoutFile lists the attachments whose bytes are not in the
// database (kept on disk by older versions).
func (s *Store) AttachmentsWithoutFile(ctx context.Context) ([]model.Attachment, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.workspace_id FROM attachments a
		WHERE NOT EXISTS (SELECT 1 FROM attachment_files f WHERE f.id = a.id) ORDER BY a.id`)
	if err != nil {
		return nil, fmt.Errorf("list attachments without file: %w", err)
	}
	defer rows.Close()
	var out []model.Attachment
	for rows.Next() {
		var a model.Attachment
		if err := rows.Scan(&a.ID, &a.WorkspaceID); err != nil {
			return nil, fmt.Errorf("list attachments without file: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// File returns the bytes of an attachment or upload of a workspace.
func (s *Store) File(ctx context.Context, workspaceID, id string) (io.ReadSeeker, error) {
	var data []byte
	err := s.queryRow(ctx, `SELECT data FROM attachment_files WHERE id = ? AND workspace_id = ?`, id, workspaceID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get file %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get file %s: %w", id, err)
	}
	return bytes.NewReader(data), nil
}

// CreateUpload stores an upload and its bytes.
func (db *DB) CreateUpload(ctx context.Context, u Upload, data []byte) error {
	return db.InTx(ctx, func(tx *Store) error {
		if err := tx.putFile(ctx, u.WorkspaceID, u.ID, data); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO uploads (id, workspace_id, visitor_id, conversation_id, agent_id, filename, content_type, size, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, u.ID, u.WorkspaceID, orNull(u.VisitorID), orNull(u.ConversationID), orNull(u.AgentID),
			u.Filename, u.ContentType, u.Size, micros(u.CreatedAt)); err != nil {
			return fmt.Errorf("create upload: %w", err)
		}
		return nil
	})
}

func orNull(v string) any {
	if v == "" {
		return nil
	}
	return v
}

const uploadColumns = `id, workspace_id, COALESCE(visitor_id, ''), COALESCE(conversation_id, ''), COALESCE(agent_id, ''), filename, content_type, size, created_at`

// Upload returns an unsent upload of a workspace.
func (s *Store) Upload(ctx context.Context, workspaceID, id string) (Upload, error) {
	var (
		u       Upload
		created int64
	)
	err := s.queryRow(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = ? AND workspace_id = ?`, id, workspaceID).
		Scan(&u.ID, &u.WorkspaceID, &u.VisitorID, &u.ConversationID, &u.AgentID, &u.Filename, &u.ContentType, &u.Size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("get upload %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get upload %s: %w", id, err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// AttachUpload makes an upload an attachment of msg; call it in the
// transaction that stores the message. The upload must not have been
// sent already.
func (s *Store) AttachUpload(ctx context.Context, u Upload, msg model.Message) (model.Attachment, error) {
	res, err := s.exec(ctx, `DELETE FROM uploads WHERE id = ?`, u.ID)
	if err != nil {
		return model.Attachment{}, fmt.Errorf("attach upload %s: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return model.Attachment{}, fmt.Errorf("attach upload %s: %w", u.ID, ErrNotFound)
	}
	a := u.Attachment
	a.MessageID = msg.ID
	return a, s.createAttachmentRow(ctx, a)
}

// AttachmentBytes is the size of every file a workspace keeps, sent or not.
func (s *Store) AttachmentBytes(ctx context.Context, workspaceID string) (int64, error) {
	var a, u int64
	if err := s.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM attachments WHERE workspace_id = ?`, workspaceID).Scan(&a); err != nil {
		return 0, fmt.Errorf("sum attachment sizes: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM uploads WHERE workspace_id = ?`, workspaceID).Scan(&u); err != nil {
		return 0, fmt.Errorf("sum upload sizes: %w", err)
	}
	return a + u, nil
}

// UnsentVisitorBytes returns the bytes of the files visitors of a workspace
// attached and have not sent yet, all of them and the given visitor's.
func (s *Store) UnsentVisitorBytes(ctx context.Context, workspaceID, visitorID string) (all, visitor int64, err error) {
	err = s.queryRow(ctx, `SELECT COALESCE(SUM(size), 0), COALESCE(SUM(CASE WHEN visitor_id = ? THEN size ELSE 0 END), 0)
		FROM uploads WHERE workspace_id = ? AND visitor_id IS NOT NULL`, visitorID, workspaceID).Scan(&all, &visitor)
	if err != nil {
		return 0, 0, fmt.Errorf("sum unsent visitor uploads: %w", err)
	}
	return all, visitor, nil
}

// VisitorFileBytes is the size of the files visitors of a workspace sent
// (from the widget, or attached to their emails) and of those they
// attached and have not sent yet.
func (s *Store) VisitorFileBytes(ctx context.Context, workspaceID string) (int64, error) {
	var sent, unsent int64
	if err := s.queryRow(ctx, `SELECT COALESCE(SUM(a.size), 0) FROM attachments a JOIN messages m ON m.id = a.message_id
		WHERE a.workspace_id = ? AND m.author_kind = ? AND m.channel IN (?, ?)`,
		workspaceID, model.AuthorVisitor, model.MsgChannelWidget, model.MsgChannelEmail).Scan(&sent); err != nil {
		return 0, fmt.Errorf("sum visitors' files: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM uploads WHERE workspace_id = ? AND visitor_id IS NOT NULL`, workspaceID).Scan(&unsent); err != nil {
		return 0, fmt.Errorf("sum unsent visitor uploads: %w", err)
	}
	return sent + unsent, nil
}

// DropOldestVisitorUploads deletes the oldest files visitors of a workspace
// attached and have not sent, with their bytes, until at least free bytes
// are gone or none is left. It returns how many it deleted.
func (db *DB) DropOldestVisitorUploads(ctx context.Context, workspaceID string, free int64) (int, error) {
	var ids []any
	rows, err := db.query(ctx, `SELECT id, size FROM uploads WHERE workspace_id = ? AND visitor_id IS NOT NULL
		ORDER BY created_at, id LIMIT 1000`, workspaceID)
	if err != nil {
		return 0, fmt.Errorf("list unsent visitor uploads: %w", err)
	}
	for rows.Next() && free > 0 {
		var (
			id   string
			size int64
		)
		if err := rows.Scan(&id, &size); err != nil {
			rows.Close()
			return 0, fmt.Errorf("list unsent visitor uploads: %w", err)
		}
		ids = append(ids, id)
		free -= size
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("list unsent visitor uploads: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// One sent meanwhile is no longer an upload: it stays.
	n, err := db.deleteUploads(ctx, "id IN ("+placeholders(len(ids))+")", ids...)
	if err != nil {
		return 0, fmt.Errorf("drop unsent visitor uploads: %w", err)
	}
	return int(n), nil
}

// deleteUploads deletes, in one transaction, the unsent uploads the where
// clause picks and their bytes, and returns how many.
func (db *DB) deleteUploads(ctx context.Context, where string, args ...any) (int64, error) {
	var n int64
	err := db.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `DELETE FROM attachment_files WHERE id IN (SELECT id FROM uploads WHERE `+where+`)`, args...); err != nil {
			return err
		}
		res, err := tx.exec(ctx, `DELETE FROM uploads WHERE `+where, args...)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// DeleteUploadsBefore deletes the uploads never sent that were made before
// t, with their bytes, and returns how many.
func (db *DB) DeleteUploadsBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := db.deleteUploads(ctx, "created_at < ?", micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete old uploads: %w", err)
	}
	return n, nil
}

// VisitorAttachment returns an attachment a visitor may download: a file
// of a public message of one of their conversations, or an upload of
// theirs not sent yet.
func (s *Store) VisitorAttachment(ctx context.Context, visitorID, id string) (model.Attachment, error) {
	var (
		a       model.Attachment
		created int64
	)
	err := s.queryRow(ctx, `SELECT a.id, a.workspace_id, a.message_id, a.filename, a.content_type, a.size, a.created_at
		FROM attachments a JOIN messages m ON m.id = a.message_id JOIN conversations c ON c.id = m.conversation_id
		WHERE a.id = ? AND c.visitor_id = ? AND m.kind = ?`, id, visitorID, model.KindReply).
		Scan(&a.ID, &a.WorkspaceID, &a.MessageID, &a.Filename, &a.ContentType, &a.Size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		u, uerr := s.visitorUpload(ctx, visitorID, id)
		if uerr != nil {
			return a, uerr
		}
		return u.Attachment, nil
	}
	if err != nil {
		return a, fmt.Errorf("get attachment %s: %w", id, err)
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

func (s *Store) visitorUpload(ctx context.Context, visitorID, id string) (Upload, error) {
	var (
		u       Upload
		created int64
	)
	err := s.queryRow(ctx, `SELECT `+uploadColumns+` FROM uploads WHERE id = ? AND visitor_id = ?`, id, visitorID).
		Scan(&u.ID, &u.WorkspaceID, &u.VisitorID, &u.ConversationID, &u.AgentID, &u.Filename, &u.ContentType, &u.Size, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("get attachment %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("get attachment %s: %w", id, err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}
