package chat

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/metrics"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

var _ outbox.Reporter = (*Service)(nil)

// EmailDelivery implements outbox.Reporter: it records how an attempt at a
// forwarded email went, on the email and on the replies it carries, and
// pushes the replies whose status changed to the agents' dashboards. A
// bounce recorded first stays: a later outcome does not undo it.
//
// A final outcome is queued for webhooks (email.sent, or email.bounced when
// the relay refused the email) before it is recorded: should recording
// fail, the outbox tries again and the event is queued again (at least
// once, never lost).
func (s *Service) EmailDelivery(ctx context.Context, d outbox.Delivery) error {
	switch d.Status {
	case model.DeliverySent, model.DeliveryFailed:
		typ := realtime.EmailSent
		if d.Status == model.DeliveryFailed {
			typ = realtime.EmailBounced
		}
		s.emitEmail(ctx, typ, store.Email{ID: d.EmailID, WorkspaceID: d.WorkspaceID, ConversationID: d.ConversationID, To: d.To},
			d.Status, d.Error)
	}
	var note string
	switch d.Status {
	case model.DeliverySent:
		note = "; the relay accepted it at " + d.At.UTC().Format("15:04:05")
	case model.DeliveryFailed:
		note = "; delivery failed at " + d.At.UTC().Format("15:04:05")
	}
	out, err := s.db.RecordEmailOutcome(ctx, d.EmailID, d.Status, d.Next, d.Error, d.At, note)
	// What was recorded before a failure is shown all the same.
	for _, m := range out.Replies {
		s.toAgents(d.WorkspaceID, realtime.MessageUpdated, m)
	}
	if err != nil {
		return fmt.Errorf("record %s delivery of email %s: %w", d.Status, d.EmailID, err)
	}
	switch d.Status {
	case model.DeliverySent:
		s.opts.Metrics.EmailOutcome(metrics.EmailSent, d.At.Sub(d.QueuedAt))
	case model.DeliveryFailed:
		s.opts.Metrics.EmailOutcome(metrics.EmailFailed, 0)
	case model.DeliveryQueued:
		s.opts.Metrics.EmailOutcome(metrics.EmailDeferred, 0)
	}
	if out.Conversation == "" {
		return nil
	}
	if c, err := s.db.ConversationByID(ctx, out.Conversation); err == nil {
		s.toAgents(d.WorkspaceID, realtime.ConversationUpdated, c)
	}
	return nil
}
