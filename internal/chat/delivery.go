package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

var _ outbox.Reporter = (*Service)(nil)

// zones returns the time zone of a workspace, read once for all the calls
// of the function it returns (UTC when it cannot be read): the times a
// conversation's forwarding state writes are its workspace's, as the
// forwarding engine's are.
func (s *Service) zones(ctx context.Context) func(workspaceID string) *time.Location {
	read := map[string]*time.Location{}
	return func(id string) *time.Location {
		if l, ok := read[id]; ok {
			return l
		}
		l := time.UTC
		if w, err := s.db.Workspace(ctx, id); err == nil {
			l = w.Location()
		} else {
			s.log.Error("read a workspace's time zone", "workspace", id, "err", err)
		}
		read[id] = l
		return l
	}
}

// EmailDeliveries implements outbox.Reporter: it records how attempts at
// forwarded emails went, on the emails and on the replies they carry, in
// one transaction, and pushes the replies whose status changed, and the
// conversations whose forwarding state moved on, to the agents'
// dashboards. A bounce recorded first stays: a later outcome does not undo
// it. A final outcome is queued for webhooks (email.sent, or email.bounced
// when the relay refused the email) in the same transaction, once; should
// that fail, the outcomes are recorded all the same (an email is not sent
// again for a webhook) and the failure is logged.
func (s *Service) EmailDeliveries(ctx context.Context, ds []outbox.Delivery) error {
	attempts := make([]store.EmailAttempt, len(ds))
	zone := s.zones(ctx)
	for i, d := range ds {
		a := store.EmailAttempt{EmailID: d.EmailID, Status: d.Status, Next: d.Next, Error: d.Error, At: d.At}
		switch d.Status {
		case model.DeliverySent:
			a.Note = "; the relay accepted it at " + d.At.In(zone(d.WorkspaceID)).Format("15:04:05")
		case model.DeliveryFailed:
			a.Note = "; delivery failed at " + d.At.In(zone(d.WorkspaceID)).Format("15:04:05")
		}
		attempts[i] = a
	}
	h := s.hooks()
	outs, err := s.db.RecordEmailOutcomes(ctx, attempts, func(tx *store.Store, outs []store.Outcome) error {
		for i, d := range ds {
			if !outs[i].Recorded {
				continue // a bounce was recorded first: its event went out then
			}
			typ := realtime.EmailSent
			switch d.Status {
			case model.DeliverySent:
			case model.DeliveryFailed:
				typ = realtime.EmailBounced
			default:
				continue
			}
			ev := emailEvent(d.EmailID, d.ConversationID, d.To, d.Status, d.Error)
			if err := h.emit(ctx, tx, d.WorkspaceID, d.ConversationID, typ, ev); err != nil {
				return fmt.Errorf("queue webhook event %s of email %s: %w", typ, d.EmailID, err)
			}
		}
		return nil
	})
	if outs == nil {
		if len(ds) == 1 {
			return fmt.Errorf("record %s delivery of email %s: %w", ds[0].Status, ds[0].EmailID, err)
		}
		return fmt.Errorf("record the deliveries of %d emails: %w", len(ds), err)
	}
	if err != nil {
		s.log.Error("queue webhook events of email outcomes", "emails", len(ds), "err", err)
	} else {
		h.done()
	}
	var workspaces []string        // in the order of the outcomes
	moved := map[string][]string{} // conversations by workspace
	for i, d := range ds {
		for _, m := range outs[i].Replies {
			s.toAgents(d.WorkspaceID, realtime.MessageUpdated, m)
		}
		switch d.Status {
		case model.DeliverySent:
			s.opts.Metrics.EmailOutcome(metrics.EmailSent, d.At.Sub(d.QueuedAt))
		case model.DeliveryFailed:
			s.opts.Metrics.EmailOutcome(metrics.EmailFailed, 0)
		case model.DeliveryQueued:
			s.opts.Metrics.EmailOutcome(metrics.EmailDeferred, 0)
		}
		if c := outs[i].Conversation; c != "" {
			if moved[d.WorkspaceID] == nil {
				workspaces = append(workspaces, d.WorkspaceID)
			}
			moved[d.WorkspaceID] = append(moved[d.WorkspaceID], c)
		}
	}
	for _, ws := range workspaces {
		ids := moved[ws]
		cs, err := s.db.ConversationsByID(ctx, ws, ids)
		if err != nil {
			s.log.Error("read conversations after email outcomes", "workspace", ws, "err", err)
			continue
		}
		for _, id := range ids {
			if c, ok := cs[id]; ok {
				s.toAgents(ws, realtime.ConversationUpdated, c)
			}
		}
	}
	return nil
}
