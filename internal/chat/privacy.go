package chat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// MaxRetentionDays bounds retention_days (100 years).
const MaxRetentionDays = 36500

// VisitorExport is everything Parley keeps about one visitor, as one
// document (GET /api/v1/visitors/{id}/export).
type VisitorExport struct {
	ExportedAt    time.Time            `json:"exported_at"`
	Visitor       ExportedVisitor      `json:"visitor"`
	Conversations []model.Conversation `json:"conversations"`
	Messages      []model.Message      `json:"messages"`
	Pages         []ExportedPage       `json:"pages"`
	Attachments   []ExportedAttachment `json:"attachments"`
}

// ExportedVisitor is the visitor with the times the API leaves out.
type ExportedVisitor struct {
	model.Visitor
	CreatedAt time.Time `json:"created_at"`
}

// ExportedPage is a page the visitor was seen on.
type ExportedPage struct {
	URL   string    `json:"url"`
	Title string    `json:"title"`
	At    time.Time `json:"at"`
}

// ExportedAttachment is the metadata of a file of the visitor's
// conversations (the bytes are downloaded through the attachments API).
type ExportedAttachment struct {
	ID          string    `json:"id"`
	MessageID   string    `json:"message_id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	CreatedAt   time.Time `json:"created_at"`
}

// ExportVisitor returns everything kept about a visitor of the agent's
// workspace (admins).
func (s *Service) ExportVisitor(ctx context.Context, a model.Agent, visitorID string) (VisitorExport, error) {
	if err := RequireAdmin(a); err != nil {
		return VisitorExport{}, err
	}
	ex, err := s.db.ExportVisitor(ctx, a.WorkspaceID, visitorID)
	if err != nil {
		return VisitorExport{}, notFound(err, "visitor")
	}
	out := VisitorExport{ExportedAt: s.now(), Visitor: ExportedVisitor{Visitor: ex.Visitor, CreatedAt: ex.Visitor.CreatedAt},
		Conversations: ex.Conversations, Messages: ex.Messages, Pages: []ExportedPage{}, Attachments: []ExportedAttachment{}}
	for _, p := range ex.Pages {
		out.Pages = append(out.Pages, ExportedPage(p))
	}
	for _, m := range ex.Messages {
		for _, f := range m.Attachments {
			out.Attachments = append(out.Attachments, ExportedAttachment{ID: f.ID, MessageID: m.ID, Filename: f.Filename,
				ContentType: f.ContentType, Size: f.Size, CreatedAt: f.CreatedAt})
		}
	}
	return out, nil
}

// EraseVisitor deletes a visitor of the agent's workspace (admins) with
// their conversations, messages, attachments (rows and files), emails
// queued or sent, and undelivered webhook events; the reply addresses of
// their emails name conversations that no longer exist, so inbound mail to
// them is refused for good. Agents' dashboards get visitor.deleted.
func (s *Service) EraseVisitor(ctx context.Context, a model.Agent, visitorID string) error {
	if err := RequireAdmin(a); err != nil {
		return err
	}
	var erased store.Erased
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		var err error
		erased, err = tx.DeleteVisitor(ctx, a.WorkspaceID, visitorID)
		return err
	})
	if err != nil {
		return notFound(err, "visitor")
	}
	// Their open widgets close (on every node): a widget comes back as a
	// new visitor, with nothing of the erased conversations on screen.
	if n := s.pub.Revoke(realtime.Revocation{VisitorID: visitorID}); n > 0 {
		s.log.Info("closed widgets of an erased visitor", "visitor", visitorID, "connections", n)
	}
	s.cancelLeave(visitorID)
	s.sessionKeys.forget(visitorID)
	s.removeFiles(erased.Attachments)
	s.log.Info("visitor erased", "visitor", visitorID, "workspace", a.WorkspaceID, "agent", a.ID,
		"conversations", len(erased.Conversations), "messages", erased.Messages, "emails", erased.Emails, "attachments", len(erased.Attachments))
	s.toAgents(a.WorkspaceID, realtime.VisitorDeleted, visitorDeleted{ID: visitorID, ConversationIDs: orEmpty(erased.Conversations)})
	if len(erased.Conversations) > 0 {
		s.requestHandOut(ctx, a.WorkspaceID) // their agents may have room again
	}
	return nil
}

// visitorDeleted is the data of visitor.deleted.
type visitorDeleted struct {
	ID              string   `json:"id"`
	ConversationIDs []string `json:"conversation_ids"`
}

func orEmpty(ids []string) []string {
	if ids == nil {
		return []string{}
	}
	return ids
}

// cancelLeave forgets a pending leave of an erased visitor.
func (s *Service) cancelLeave(visitorID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.leaveTimers[visitorID]; ok {
		t.Stop()
		delete(s.leaveTimers, visitorID)
	}
}

// removeFiles deletes the copies older versions kept on disk of erased
// attachments (their bytes in the database went with their rows). A file
// that cannot be removed is logged: nothing serves it any more.
func (s *Service) removeFiles(ids []string) {
	for _, id := range ids {
		if err := os.Remove(s.attachmentPath(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Error("remove an erased attachment's file", "attachment", id, "err", err)
		}
	}
}

// retentionMetaKey records when retention last ran to its end.
const retentionMetaKey = "retention_last_run"

// RetentionEvery is how often retention runs.
const RetentionEvery = 24 * time.Hour

// NextRetention is when retention is next due: a day after it last ran,
// at once when it never did (worker.Config.NextDue).
func (s *Service) NextRetention(ctx context.Context) (*time.Time, error) {
	last, err := s.lastRetention(ctx)
	if err != nil {
		return nil, err
	}
	next := last.Add(RetentionEvery)
	return &next, nil
}

func (s *Service) lastRetention(ctx context.Context) (time.Time, error) {
	v, err := s.db.GetMeta(ctx, retentionMetaKey)
	if err != nil {
		return time.Time{}, fmt.Errorf("read when retention last ran: %w", err)
	}
	if v == "" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, nil // unreadable: run now, then it is written again
	}
	return time.UnixMicro(n).UTC(), nil
}

// ApplyRetention deletes, when a day has passed since it last did, the
// conversations closed longer ago than their workspace's retention_days
// (as erasure does: messages, attachments, emails, webhook events), the
// visitors left with nothing, the pages visited longer ago than
// retention_days, and the deliveries that disabled webhooks kept longer
// than store.WebhookKeptWhileDisabled (worker.Config.Work).
func (s *Service) ApplyRetention(ctx context.Context) error {
	last, err := s.lastRetention(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	if now.Sub(last) < RetentionEvery {
		return nil
	}
	n, err := s.RetainNow(ctx, now)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("retention: old closed conversations deleted", "conversations", n)
	}
	pages, err := s.db.DeleteExpiredPages(ctx, now)
	if err != nil {
		return err
	}
	if pages > 0 {
		s.log.Info("retention: old visited pages deleted", "pages", pages)
	}
	dropped, err := s.db.DropExpiredWebhookDeliveries(ctx, now)
	if err != nil {
		return err
	}
	if dropped > 0 {
		s.log.Info("retention: deliveries of disabled webhooks dropped", "deliveries", dropped, "older_than", store.WebhookKeptWhileDisabled)
	}
	if err := s.db.SetMeta(ctx, retentionMetaKey, strconv.FormatInt(now.UnixMicro(), 10)); err != nil {
		return fmt.Errorf("record the retention run: %w", err)
	}
	return nil
}

// RetainNow deletes what retention says is due as of now, whenever it last
// ran, and returns how many conversations went.
func (s *Service) RetainNow(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for ctx.Err() == nil {
		batch, err := s.db.ExpiredConversations(ctx, now, 100)
		if err != nil {
			return total, err
		}
		if len(batch) == 0 {
			break
		}
		byWS := map[string][]store.ExpiredConversation{}
		for _, c := range batch {
			byWS[c.WorkspaceID] = append(byWS[c.WorkspaceID], c)
		}
		for ws, convs := range byWS {
			ids := make([]string, len(convs))
			for i, c := range convs {
				ids[i] = c.ID
			}
			var (
				erased store.Erased
				gone   []string
			)
			err := s.db.InTx(ctx, func(tx *store.Store) error {
				var err error
				if erased, err = tx.DeleteConversations(ctx, ws, ids); err != nil {
					return err
				}
				w, err := tx.Workspace(ctx, ws)
				if err != nil {
					return err
				}
				cutoff := now.Add(-time.Duration(w.Settings.RetentionDays) * 24 * time.Hour)
				for _, c := range convs {
					ok, err := tx.DeleteVisitorIfEmpty(ctx, ws, c.VisitorID, cutoff)
					if err != nil {
						return err
					}
					if ok {
						gone = append(gone, c.VisitorID)
					}
				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("retention in workspace %s: %w", ws, err)
			}
			s.removeFiles(erased.Attachments)
			total += len(ids)
			for _, v := range gone {
				s.cancelLeave(v)
				s.toAgents(ws, realtime.VisitorDeleted, visitorDeleted{ID: v, ConversationIDs: []string{}})
			}
			for _, id := range ids {
				s.toAgents(ws, realtime.ConversationDeleted, map[string]string{"id": id})
			}
		}
	}
	return total, ctx.Err()
}
