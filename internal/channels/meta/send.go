package meta

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/worker"
)

// SendReply implements chat.ChannelSender: it queues an agent reply of a
// Messenger or Instagram conversation for the Send API and wakes the
// sender, which sends it at once. A reply Meta would refuse (the messaging
// window closed, too long) fails here, with the reason agents see, without
// calling Meta.
func (s *Service) SendReply(ctx context.Context, conv model.Conversation, msg model.Message) {
	// The agent's request may end now; the queueing must not.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if msg.Delivery != nil && msg.Delivery.Status == model.DeliveryQueued {
		s.sends.Kick() // already queued with its tag (chat.PostChannelReply)
		return
	}
	tag := ""
	if msg.Delivery != nil {
		tag = msg.Delivery.Tag
	}
	if err := s.chat.CheckChannelReply(ctx, conv, msg.Body, tag); err != nil {
		s.fail(ctx, conv.WorkspaceID, msg.ID, reason(err))
		return
	}
	now := s.now()
	if err := s.chat.SetChannelDelivery(ctx, conv.WorkspaceID, msg.ID, model.ChannelReplyUpdate{Status: model.DeliveryQueued, NextTry: &now}); err != nil {
		// Not lost: the start-up sweep queues replies left without a status.
		s.log.Error("queue channel reply", "workspace", conv.WorkspaceID, "conversation", conv.ID, "message", msg.ID, "err", err)
		return
	}
	s.sends.Kick()
}

// reason is the text agents read for a refused reply.
func reason(err error) string {
	var e *chat.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func (s *Service) fail(ctx context.Context, workspaceID, messageID, why string) {
	if err := s.chat.SetChannelDelivery(ctx, workspaceID, messageID, model.ChannelReplyUpdate{Status: model.DeliveryFailed, Error: why}); err != nil {
		s.log.Error("record failed channel reply", "workspace", workspaceID, "message", messageID, "err", err)
		return
	}
	s.log.Warn("channel reply not sent", "workspace", workspaceID, "message", messageID, "reason", why)
}

// requeueUnsent queues the replies of the last week that never got a
// delivery status (the process stopped between storing and queueing them).
func (s *Service) requeueUnsent(ctx context.Context) {
	ms, err := s.db.UnsentChannelReplies(ctx, s.now().Add(-chat.HumanAgentWindow))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("list unsent channel replies", "err", err)
		}
		return
	}
	for _, m := range ms {
		conv, err := s.db.ConversationByID(ctx, m.ConversationID)
		if err != nil {
			s.log.Error("requeue channel reply", "message", m.ID, "err", err)
			continue
		}
		s.log.Info("queueing a channel reply left unsent", "conversation", conv.ID, "message", m.ID)
		s.SendReply(ctx, conv, m)
	}
}

// sendDue sends the queued replies whose time has come.
func (s *Service) sendDue(ctx context.Context) error {
	claim := func(ctx context.Context, limit int) ([]model.Message, error) {
		batch, err := s.db.ClaimChannelReplies(ctx, s.now(), s.opts.Lease, limit)
		if err != nil {
			return nil, fmt.Errorf("claim channel replies: %w", err)
		}
		return batch, nil
	}
	return worker.Batches(ctx, 20, claim, worker.Each(s.sendOne))
}

// sendOne makes one attempt at a claimed reply and records the outcome:
// sent (with Meta's message id), queued again after a backoff (rate limit,
// temporary failure, Meta unreachable), or failed with the reason.
func (s *Service) sendOne(ctx context.Context, m model.Message) {
	ws := m.WorkspaceID
	conv, err := s.db.ConversationByID(ctx, m.ConversationID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("send channel reply", "message", m.ID, "err", err)
		}
		return // the lease runs out and it is tried again
	}
	acct, err := s.db.ChannelAccount(ctx, ws)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(ctx, ws, m.ID, "Messenger and Instagram are not connected: connect the Page in Settings → Channels, then send again")
		return
	}
	if err != nil {
		s.log.Error("send channel reply", "message", m.ID, "err", err)
		return
	}
	person, err := s.db.ChannelPerson(ctx, ws, conv.Visitor.ID)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(ctx, ws, m.ID, "this conversation has no Messenger or Instagram person to answer")
		return
	}
	if err != nil {
		s.log.Error("send channel reply", "message", m.ID, "err", err)
		return
	}
	tag := ""
	if m.Delivery != nil {
		tag = m.Delivery.Tag
	}
	// The window may have closed while the reply waited for a retry.
	if err := s.chat.CheckChannelReply(ctx, conv, m.Body, tag); err != nil {
		if chat.ErrorCode(err) == "" {
			s.log.Error("send channel reply", "message", m.ID, "err", err)
			return
		}
		s.fail(ctx, ws, m.ID, reason(err))
		return
	}
	cred, err := s.credentials(acct)
	if err != nil {
		s.fail(ctx, ws, m.ID, err.Error())
		return
	}

	// The time Meta stamps the message with is at or after this; read
	// receipts are compared with it.
	start := s.now()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	res, err := s.graph.Send(sctx, cred, SendRequest{From: acct.PageID, Recipient: person.ExternalID, Text: m.Body, Tag: tag})
	cancel()
	if ctx.Err() != nil {
		return // shutting down: the lease runs out and it is tried again
	}
	attempts := 1
	if m.Delivery != nil {
		attempts = m.Delivery.Attempts
	}
	switch {
	case err == nil:
		if err := s.chat.SetChannelDelivery(ctx, ws, m.ID, model.ChannelReplyUpdate{Status: model.DeliverySent, MessageID: res.MessageID, SentAt: &start}); err != nil {
			s.log.Error("record sent channel reply", "message", m.ID, "err", err)
			return
		}
		s.log.Info("channel reply sent", "workspace", ws, "conversation", conv.ID, "message", m.ID, "attempt", attempts)
		if acct.TokenError != "" {
			if err := s.db.SetChannelTokenError(ctx, ws, ""); err != nil {
				s.log.Error("clear token problem", "workspace", ws, "err", err)
			}
		}
	case Temporary(err):
		now := s.now()
		wait := s.backoff(attempts)
		var ae *APIError
		if errors.As(err, &ae) && ae.RetryAfter > wait {
			wait = min(ae.RetryAfter, s.opts.RetryMax)
		}
		next := now.Add(wait)
		if next.Sub(m.CreatedAt) > s.opts.GiveUpAfter {
			s.fail(ctx, ws, m.ID, "gave up after "+now.Sub(m.CreatedAt).Round(time.Minute).String()+": "+Describe(err))
			return
		}
		msg := Describe(err) + "; retrying at " + next.Format("15:04:05") + " UTC"
		s.log.Warn("channel reply not sent; will retry", "workspace", ws, "message", m.ID, "attempt", attempts, "retry_at", next, "err", err)
		if err := s.chat.SetChannelDelivery(ctx, ws, m.ID, model.ChannelReplyUpdate{Status: model.DeliveryQueued, Error: msg, NextTry: &next}); err != nil {
			s.log.Error("reschedule channel reply", "message", m.ID, "err", err)
		}
	default:
		s.noteTokenProblem(ctx, ws, err)
		s.fail(ctx, ws, m.ID, Describe(err))
	}
}
