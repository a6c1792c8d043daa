package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Conversations from Messenger and Instagram. The channels package receives
// Meta's webhooks and calls the Send API; every change it makes to
// conversations goes through the methods below, like any other.

// Codes of channel conversations.
const (
	// CodeWindowClosed: Meta's messaging window does not allow this reply
	// now (past 24 hours without the HUMAN_AGENT tag, past 7 days with it).
	CodeWindowClosed = "channel_window_closed"
	// CodeNotChannel: the conversation is not a Messenger or Instagram one.
	CodeNotChannel = "not_a_channel_conversation"
)

// Meta's messaging windows, counted from the person's last message.
const (
	// StandardWindow: any reply may be sent this long after.
	StandardWindow = 24 * time.Hour
	// HumanAgentWindow: a reply a person (never a bot) writes, tagged
	// HUMAN_AGENT, may be sent this long after.
	HumanAgentWindow = 7 * 24 * time.Hour
)

// Longest replies the platforms take: Messenger 2,000 characters,
// Instagram 1,000 bytes of UTF-8.
const (
	MessengerMaxChars = 2000
	InstagramMaxBytes = 1000
)

// IsChannel reports whether a conversation channel is answered through
// Meta's Send API.
func IsChannel(channel string) bool {
	return channel == model.ChannelMessenger || channel == model.ChannelInstagram
}

// Window is the state of Meta's messaging window of a channel conversation,
// for the dashboard to warn before sending.
type Window struct {
	Channel string `json:"channel"`
	// Open: the person wrote within the last 24 hours; any reply may go.
	Open          bool       `json:"open"`
	LastInboundAt *time.Time `json:"last_inbound_at"`
	ClosesAt      *time.Time `json:"closes_at"`
	// HumanAgentAllowed: a reply tagged HUMAN_AGENT may go now (within 7
	// days of the person's last message).
	HumanAgentAllowed      bool       `json:"human_agent_allowed"`
	HumanAgentAllowedUntil *time.Time `json:"human_agent_allowed_until"`
}

// MessagingWindow computes the window of a conversation whose person last
// wrote at lastInbound (nil: never).
func MessagingWindow(channel string, lastInbound *time.Time, now time.Time) Window {
	w := Window{Channel: channel}
	if lastInbound == nil {
		return w
	}
	last := lastInbound.UTC()
	closes := last.Add(StandardWindow)
	until := last.Add(HumanAgentWindow)
	w.LastInboundAt, w.ClosesAt, w.HumanAgentAllowedUntil = &last, &closes, &until
	w.Open = now.Before(closes)
	w.HumanAgentAllowed = now.Before(until)
	return w
}

// Allows tells whether a reply with this tag ("" or model.TagHumanAgent)
// may be sent now; the error says why not.
func (w Window) Allows(tag string) error {
	switch tag {
	case "":
		if w.Open {
			return nil
		}
		if w.LastInboundAt == nil {
			return newError(CodeWindowClosed, "this person has not written yet: Meta lets you answer only after they do")
		}
		msg := fmt.Sprintf("more than 24 hours have passed since this person last wrote (%s UTC): Meta refuses a standard reply",
			w.LastInboundAt.Format("Jan 2, 15:04"))
		if w.HumanAgentAllowed {
			msg += fmt.Sprintf("; send it as a human agent (HUMAN_AGENT tag, allowed until %s UTC)", w.HumanAgentAllowedUntil.Format("Jan 2, 15:04"))
		}
		return newError(CodeWindowClosed, msg)
	case model.TagHumanAgent:
		if w.HumanAgentAllowed {
			return nil
		}
		if w.LastInboundAt == nil {
			return newError(CodeWindowClosed, "this person has not written yet: Meta lets you answer only after they do")
		}
		return newError(CodeWindowClosed, fmt.Sprintf("more than 7 days have passed since this person last wrote (%s UTC): Meta refuses even a human agent's reply until they write again",
			w.LastInboundAt.Format("Jan 2, 15:04")))
	default:
		return newError(CodeBadRequest, `tag is "HUMAN_AGENT" or absent`)
	}
}

// CheckChannelBody checks a reply against the platform's length limit.
func CheckChannelBody(channel, body string) error {
	switch channel {
	case model.ChannelMessenger:
		if utf8.RuneCountInString(body) > MessengerMaxChars {
			return newError(CodeMessageTooLong, fmt.Sprintf("a Messenger message is at most %d characters", MessengerMaxChars))
		}
	case model.ChannelInstagram:
		if len(body) > InstagramMaxBytes {
			return newError(CodeMessageTooLong, fmt.Sprintf("an Instagram message is at most %d bytes (about %d plain letters)", InstagramMaxBytes, InstagramMaxBytes))
		}
	}
	return nil
}

// ConversationWindow returns the messaging window of a channel conversation
// (for the channels package, which holds no agent).
func (s *Service) ConversationWindow(ctx context.Context, conv model.Conversation) (Window, error) {
	if !IsChannel(conv.Channel) {
		return Window{}, newError(CodeNotChannel, "this conversation is not on Messenger or Instagram")
	}
	last, err := s.db.LastInboundAt(ctx, conv.ID)
	if err != nil {
		return Window{}, err
	}
	return MessagingWindow(conv.Channel, last, s.now()), nil
}

// ChannelWindow returns the messaging window of one of the agent's
// workspace's conversations.
func (s *Service) ChannelWindow(ctx context.Context, a model.Agent, conversationID string) (Window, error) {
	c, err := s.Conversation(ctx, a, conversationID)
	if err != nil {
		return Window{}, err
	}
	return s.ConversationWindow(ctx, c)
}

// CheckChannelReply tells whether an agent reply may be sent on a channel
// conversation now (length and messaging window); nil for other channels.
func (s *Service) CheckChannelReply(ctx context.Context, conv model.Conversation, body, tag string) error {
	if !IsChannel(conv.Channel) {
		return nil
	}
	if err := CheckChannelBody(conv.Channel, body); err != nil {
		return err
	}
	w, err := s.ConversationWindow(ctx, conv)
	if err != nil {
		return err
	}
	return w.Allows(tag)
}

// PostChannelReply stores an agent's reply on a Messenger or Instagram
// conversation and hands it to the Send API, optionally tagged HUMAN_AGENT.
// A reply Meta would refuse (too long, window closed) is refused here,
// before anything is stored.
func (s *Service) PostChannelReply(ctx context.Context, a model.Agent, conversationID, body, tag string) (model.Message, error) {
	body, err := checkBody(body)
	if err != nil {
		return model.Message{}, err
	}
	if err := checkFilledIn(body); err != nil {
		return model.Message{}, err
	}
	conv, err := s.Conversation(ctx, a, conversationID)
	if err != nil {
		return model.Message{}, err
	}
	if !IsChannel(conv.Channel) {
		return model.Message{}, newError(CodeNotChannel, "this conversation is not on Messenger or Instagram: post the reply to /messages")
	}
	if err := s.CheckChannelReply(ctx, conv, body, tag); err != nil {
		return model.Message{}, err
	}
	now := s.now()
	msg := model.Message{ID: model.NewID(), WorkspaceID: a.WorkspaceID, ConversationID: conv.ID,
		Author: model.Author{Kind: model.AuthorAgent, ID: &a.ID, Name: &a.Name},
		Kind:   model.KindReply, Channel: model.MsgChannelDashboard, Body: body, CreatedAt: now,
		Delivery: &model.ChannelDelivery{Status: model.DeliveryQueued, Tag: tag}}
	hooks := s.hooks()
	before := conv
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		if err := tx.CreateChannelMessage(ctx, msg); err != nil {
			return err
		}
		if err := tx.RecordFirstReply(ctx, conv.ID, a.ID, now); err != nil {
			return err
		}
		if err := tx.TouchConversation(ctx, conv.ID, now, true); err != nil {
			return err
		}
		// Whoever answers an unassigned conversation takes it.
		if _, err := tx.ClaimConversation(ctx, a.WorkspaceID, conv.ID, a.ID); err != nil {
			return err
		}
		var err error
		if conv, err = tx.Conversation(ctx, a.WorkspaceID, conv.ID); err != nil {
			return err
		}
		return s.emitNewMessage(ctx, hooks, tx, before, conv, false, msg)
	})
	if err != nil {
		return model.Message{}, err
	}
	hooks.done()
	s.toAgents(a.WorkspaceID, realtime.MessageCreated, msg)
	s.updatedAfter(a.WorkspaceID, conv, before.Assignee == nil, a.ID)
	if s.chans != nil {
		s.chans.SendReply(ctx, conv, msg)
	}
	s.eval.ConversationChanged(ctx, conv.ID)
	return msg, nil
}

// ChannelMessage is a message a person sent on Messenger or Instagram.
type ChannelMessage struct {
	WorkspaceID string
	Channel     string // model.ChannelMessenger or model.ChannelInstagram
	ExternalID  string // the person's PSID or IGSID
	MessageID   string // Meta's mid (a second delivery of it makes no message)
	Body        string
	Payload     string // quick-reply or postback payload
	SentAt      time.Time
}

// ChannelPerson returns the visitor of a person on a channel, creating it
// on the person's first message.
func (s *Service) ChannelPerson(ctx context.Context, workspaceID, channel, externalID string) (model.ChannelPerson, error) {
	if !IsChannel(channel) || externalID == "" {
		return model.ChannelPerson{}, newError(CodeBadRequest, "a channel person needs a channel and an id")
	}
	p, err := s.db.ChannelPersonByExternalID(ctx, workspaceID, channel, externalID)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	v := model.Visitor{ID: model.NewID(), WorkspaceID: workspaceID, EmailStatus: model.EmailOK, CreatedAt: s.now()}
	p, _, err = s.db.EnsureChannelVisitor(ctx, v, channel, externalID)
	return p, err
}

// SetChannelProfile stores what a profile lookup found: the person's name
// (nil when the lookup found none), and that the lookup was made now.
func (s *Service) SetChannelProfile(ctx context.Context, workspaceID, visitorID string, name *string) error {
	if name != nil {
		n, err := cleanName(*name)
		if err != nil {
			return err
		}
		name = n
	}
	if err := s.db.SetChannelProfile(ctx, visitorID, name, s.now()); err != nil {
		return err
	}
	if name == nil {
		return nil
	}
	v, err := s.db.Visitor(ctx, workspaceID, visitorID)
	if err != nil {
		return notFound(err, "visitor")
	}
	s.toAgents(workspaceID, realtime.VisitorUpdated, v)
	return nil
}

// ReceiveChannelMessage stores a person's message: in the person's
// conversation on that channel (created on the first message, reopened when
// closed), pushed to agents at once. A mid already stored returns
// duplicate and stores nothing.
func (s *Service) ReceiveChannelMessage(ctx context.Context, in ChannelMessage) (msg model.Message, duplicate bool, err error) {
	body, err := checkBody(in.Body)
	if err != nil {
		return msg, false, err
	}
	if in.MessageID == "" {
		return msg, false, newError(CodeBadRequest, "a channel message needs Meta's message id")
	}
	now := s.now()
	at := in.SentAt.UTC()
	if at.IsZero() || at.After(now) {
		at = now
	}
	p, err := s.ChannelPerson(ctx, in.WorkspaceID, in.Channel, in.ExternalID)
	if err != nil {
		return msg, false, err
	}
	var (
		conv     model.Conversation
		line     *model.Message // the line saying the message reopened the conversation
		assigned *model.Message // the line saying it was assigned automatically
	)
	hooks := s.hooks()
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		line, assigned = nil, nil
		if old, err := tx.MessageByChannelID(ctx, in.WorkspaceID, in.MessageID); err == nil {
			msg, duplicate = old, true
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		c, created, err := tx.EnsureChannelConversation(ctx, model.Conversation{ID: model.NewID(), WorkspaceID: in.WorkspaceID,
			Visitor: p.Visitor, Status: "open", Channel: in.Channel, CreatedAt: at, LastMessageAt: at})
		if err != nil {
			return err
		}
		// Read the visitor again: a profile lookup may have named them.
		v, err := tx.Visitor(ctx, in.WorkspaceID, p.Visitor.ID)
		if err != nil {
			return err
		}
		msg = model.Message{ID: model.NewID(), WorkspaceID: in.WorkspaceID, ConversationID: c.ID,
			Author: model.Author{Kind: model.AuthorVisitor, ID: &v.ID, Name: v.Name},
			Kind:   model.KindReply, Channel: in.Channel, Body: body, CreatedAt: at,
			Delivery: &model.ChannelDelivery{MessageID: in.MessageID, Payload: in.Payload}}
		if err := tx.CreateChannelMessage(ctx, msg); err != nil {
			return err
		}
		if err := tx.TouchConversation(ctx, c.ID, maxTime(at, c.LastMessageAt), true); err != nil {
			return err
		}
		if err := tx.TouchVisitor(ctx, v.ID, at); err != nil {
			return err
		}
		if conv, err = tx.Conversation(ctx, in.WorkspaceID, c.ID); err != nil {
			return err
		}
		line = s.reopenedLine(c, conv, "wrote again")
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		if assigned, conv, err = s.autoAssignReading(ctx, tx, conv); err != nil {
			return err
		}
		return s.emitNewMessage(ctx, hooks, tx, c, conv, created, msg, line, assigned)
	})
	if errors.Is(err, store.ErrDuplicate) {
		// Two deliveries of the same mid raced; the other one stored it.
		m, gerr := s.db.MessageByChannelID(ctx, in.WorkspaceID, in.MessageID)
		if gerr != nil {
			return msg, false, err
		}
		return m, true, nil
	}
	if err != nil || duplicate {
		return msg, duplicate, err
	}
	hooks.done()
	s.toAgents(in.WorkspaceID, realtime.MessageCreated, msg)
	s.lineToAgents(in.WorkspaceID, line)
	s.lineToAgents(in.WorkspaceID, assigned)
	s.toAgents(in.WorkspaceID, realtime.ConversationUpdated, conv)
	s.eval.ConversationChanged(ctx, conv.ID)
	return msg, false, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// channelConversation finds the person's conversation on a channel.
func (s *Service) channelConversation(ctx context.Context, workspaceID, channel, externalID string) (model.Conversation, error) {
	p, err := s.db.ChannelPersonByExternalID(ctx, workspaceID, channel, externalID)
	if err != nil {
		return model.Conversation{}, notFound(err, "person")
	}
	c, err := s.db.LatestConversationOfVisitor(ctx, p.Visitor.ID, channel)
	if err != nil {
		return c, notFound(err, "conversation")
	}
	return c, nil
}

// ChannelRead records Meta's read receipt: the person has read every reply
// sent up to watermark. The replies are marked read_by_visitor_at, like a
// widget read, and agents see it at once. A receipt for an unknown person
// changes nothing.
func (s *Service) ChannelRead(ctx context.Context, workspaceID, channel, externalID string, watermark time.Time) error {
	c, err := s.channelConversation(ctx, workspaceID, channel, externalID)
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	var stamped []string
	err = s.db.InTx(ctx, func(tx *store.Store) error {
		var err error
		stamped, err = tx.MarkChannelRead(ctx, c.ID, watermark, s.now())
		return err
	})
	if err != nil {
		return err
	}
	s.sendAgain(ctx, workspaceID, stamped)
	if len(stamped) > 0 {
		s.eval.ConversationChanged(ctx, c.ID)
	}
	return nil
}

// ChannelReadMessage records a read receipt naming a message (Instagram's
// messaging_seen): every reply sent up to that one has been read.
func (s *Service) ChannelReadMessage(ctx context.Context, workspaceID, channel, externalID, mid string) error {
	m, err := s.db.MessageByChannelID(ctx, workspaceID, mid)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	at := m.CreatedAt
	if m.Delivery != nil && m.Delivery.SentAt != nil {
		at = *m.Delivery.SentAt
	}
	return s.ChannelRead(ctx, workspaceID, channel, externalID, at)
}

// ChannelDelivered records Meta's delivery receipt: the replies it names
// (mids) and those sent up to watermark reached the person's device.
func (s *Service) ChannelDelivered(ctx context.Context, workspaceID, channel, externalID string, mids []string, watermark *time.Time) error {
	c, err := s.channelConversation(ctx, workspaceID, channel, externalID)
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := s.db.MarkChannelDelivered(ctx, c.ID, mids, watermark)
	if err != nil {
		return err
	}
	s.sendAgain(ctx, workspaceID, ids)
	return nil
}

// SetChannelDelivery records how the delivery of an agent reply went
// (queued for another attempt, sent, failed with the error agents see) and
// sends the reply again to agents when it changed.
func (s *Service) SetChannelDelivery(ctx context.Context, workspaceID, messageID string, u model.ChannelReplyUpdate) error {
	changed, err := s.db.SetChannelDelivery(ctx, workspaceID, messageID, u)
	if err != nil {
		return err
	}
	if changed {
		s.sendAgain(ctx, workspaceID, []string{messageID})
	}
	return nil
}
