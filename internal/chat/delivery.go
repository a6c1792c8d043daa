package chat

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/internal/mail/outbox"
	"github.com/parleychat/parley/internal/realtime"
)

var _ outbox.Reporter = (*Service)(nil)

// EmailDelivery implements outbox.Reporter: it records how an attempt at a
// forwarded email went, on the email and on the replies it carries, and
// pushes the replies whose status changed to the agents' dashboards. A
// bounce recorded first stays: a later outcome does not undo it.
func (s *Service) EmailDelivery(ctx context.Context, d outbox.Delivery) error {
	msgs, err := s.db.RecordEmailOutcome(ctx, d.WorkspaceID, d.EmailID, d.Status, d.Next, d.Error, d.At)
	// What was recorded before a failure is shown all the same.
	for _, m := range msgs {
		s.toAgents(d.WorkspaceID, realtime.MessageUpdated, m)
	}
	if err != nil {
		return fmt.Errorf("record %s delivery of email %s: %w", d.Status, d.EmailID, err)
	}
	return nil
}
