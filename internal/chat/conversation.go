package chat

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Conversation returns one conversation of the agent's workspace.
func (s *Service) Conversation(ctx context.Context, a model.Agent, id string) (model.Conversation, error) {
	c, err := s.db.Conversation(ctx, a.WorkspaceID, id)
	return c, notFound(err, "conversation")
}

// Messages lists a conversation's messages, comments and events included.
func (s *Service) Messages(ctx context.Context, a model.Agent, conversationID string) ([]model.Message, error) {
	if _, err := s.Conversation(ctx, a, conversationID); err != nil {
		return nil, err
	}
	ms, err := s.db.Messages(ctx, a.WorkspaceID, conversationID, false)
	if err != nil {
		return nil, err
	}
	return s.agentMessages(ctx, conversationID, ms)
}

// agentMessages completes messages as agents see them: the email answers
// that may hold a quote flagged, files with their URLs.
func (s *Service) agentMessages(ctx context.Context, conversationID string, ms []model.Message) ([]model.Message, error) {
	quoted, err := s.db.MayHoldQuote(ctx, conversationID)
	if err != nil {
		return nil, err
	}
	for i := range ms {
		ms[i].MayHoldQuote = slices.Contains(quoted, ms[i].ID)
	}
	ms, err = s.authorAvatars(ctx, ms)
	return messagesURLs(ms, s.opts.PublicURL, agentURLs), err
}

// Bounds of a page of messages.
const (
	DefaultMessagePage = 50
	MaxMessagePage     = 200
)

// MessagePage is a page of a conversation's messages, oldest first, and
// whether older and newer ones are left.
type MessagePage = store.MessagePage

// MessageQuery asks for a page of a conversation's messages by message id:
// the newest (no id given), the newest before Before, the oldest after
// After, or Around a message (the page holding it, with up to half the
// limit of older ones). From (with Until, optional) asks again for a range
// a client already shows, whole: every message from From, up to Until.
type MessageQuery struct {
	Before, After, Around string
	From, Until           string
	Limit                 int // 0: DefaultMessagePage; above MaxMessagePage: MaxMessagePage
}

// MessagePage returns a page of a conversation's messages (comments and
// events included). A long conversation is read a page at a time, newest
// first, older pages on demand.
func (s *Service) MessagePage(ctx context.Context, a model.Agent, conversationID string, q MessageQuery) (MessagePage, error) {
	var page MessagePage
	set := 0
	for _, id := range []string{q.Before, q.After, q.Around, q.From} {
		if id == "" {
			continue
		}
		set++
		if !isMessageCursor(id) {
			return page, newError(CodeBadRequest, "a message cursor is the id of a message")
		}
	}
	if q.Until != "" && (q.From == "" || !isMessageCursor(q.Until)) {
		return page, newError(CodeBadRequest, "until is the id of a message, after from")
	}
	if set > 1 {
		return page, newError(CodeBadRequest, "give one of before, after and around")
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultMessagePage
	case q.Limit < 0:
		return page, newError(CodeBadRequest, "limit is a positive number")
	case q.Limit > MaxMessagePage:
		q.Limit = MaxMessagePage
	}
	if _, err := s.Conversation(ctx, a, conversationID); err != nil {
		return page, err
	}
	var err error
	switch {
	case q.From != "":
		page, err = s.db.MessagePage(ctx, a.WorkspaceID, conversationID, store.MessageWindow{From: q.From, Until: q.Until})
	case q.After != "":
		page, err = s.db.MessagePage(ctx, a.WorkspaceID, conversationID, store.MessageWindow{After: q.After, Limit: q.Limit})
	case q.Around != "":
		page, err = s.messagesAround(ctx, a, conversationID, q.Around, q.Limit)
	default:
		page, err = s.db.MessagePage(ctx, a.WorkspaceID, conversationID, store.MessageWindow{Before: q.Before, Limit: q.Limit, Newest: true})
	}
	if err != nil {
		return page, err
	}
	page.Messages, err = s.agentMessages(ctx, conversationID, page.Messages)
	return page, err
}

// messagesAround returns the page holding a message of the conversation:
// up to half the limit older than it, then it and the newer ones.
func (s *Service) messagesAround(ctx context.Context, a model.Agent, conversationID, messageID string, limit int) (MessagePage, error) {
	m, err := s.db.Message(ctx, a.WorkspaceID, messageID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.ConversationID != conversationID) {
		return MessagePage{}, newError(CodeNotFound, "message not found in this conversation")
	}
	if err != nil {
		return MessagePage{}, err
	}
	older, err := s.db.MessagePage(ctx, a.WorkspaceID, conversationID, store.MessageWindow{Before: messageID, Limit: limit / 2, Newest: true})
	if err != nil {
		return MessagePage{}, err
	}
	rest, err := s.db.MessagePage(ctx, a.WorkspaceID, conversationID, store.MessageWindow{From: messageID, Limit: limit - len(older.Messages)})
	if err != nil {
		return MessagePage{}, err
	}
	return MessagePage{Messages: append(older.Messages, rest.Messages...), Older: older.Older, Newer: rest.Newer}, nil
}

// isMessageCursor reports whether s has the form of a message id (the
// store's ids, model.NewID's: 26 characters of 0-9 and a-v).
func isMessageCursor(s string) bool {
	if len(s) != 26 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'v') {
			return false
		}
	}
	return true
}

// EmailOriginal returns the whole text of an email answer of a
// conversation of the agent's workspace.
func (s *Service) EmailOriginal(ctx context.Context, a model.Agent, conversationID, messageID string) (model.EmailOriginal, error) {
	if _, err := s.Conversation(ctx, a, conversationID); err != nil {
		return model.EmailOriginal{}, err
	}
	o, err := s.db.EmailOriginal(ctx, a.WorkspaceID, messageID)
	if err == nil && o.ConversationID != conversationID {
		err = store.ErrNotFound
	}
	return o, notFound(err, "original email of message "+messageID)
}

// PostMessage stores an agent's reply (sent to the visitor) or internal
// comment (seen by agents only).
func (s *Service) PostMessage(ctx context.Context, a model.Agent, conversationID, body, kind string) (model.Message, error) {
	return s.PostMessageFiles(ctx, a, conversationID, body, kind, nil)
}

// PostMessageFiles is PostMessage with files the agent uploaded into the
// conversation (attachment_ids); the body may then be empty.
func (s *Service) PostMessageFiles(ctx context.Context, a model.Agent, conversationID, body, kind string, attachmentIDs []string) (model.Message, error) {
	return s.postMessage(ctx, a, conversationID, body, kind, attachmentIDs, false)
}

// postMessage stores an agent's message; asksEmail marks a reply asking the
// visitor for their email, refused when the conversation is not a website
// one or its visitor has an email already.
func (s *Service) postMessage(ctx context.Context, a model.Agent, conversationID, body, kind string, attachmentIDs []string, asksEmail bool) (model.Message, error) {
	if kind == "" {
		kind = model.KindReply
	}
	if kind != model.KindReply && kind != model.KindComment {
		return model.Message{}, newError(CodeBadRequest, `kind is "reply" or "comment"`)
	}
	body, err := checkBodyWithFiles(body, attachmentIDs)
	if err != nil {
		return model.Message{}, err
	}
	if kind == model.KindReply {
		if err := checkFilledIn(body); err != nil {
			return model.Message{}, err
		}
	}
	var (
		msg        model.Message
		conv       model.Conversation
		ws         *model.Workspace
		unassigned bool           // before the message
		line       *model.Message // the line saying the reply reopened the conversation
	)
	var named []string // the agents a note names
	if kind == model.KindComment && strings.Contains(body, "@") {
		agents, err := s.db.AssignableAgents(ctx, a.WorkspaceID)
		if err != nil {
			return model.Message{}, err
		}
		named = mentioned(body, agents, a.ID)
	}
	hooks := s.hooks()
	err = s.db.InTxThen(ctx, func(tx *store.Store) error {
		// The id and time are taken in the transaction, so that the
		// conversation's order is the order its messages were written in
		// (and published in: see the after function).
		now := s.now()
		msg = model.Message{ID: model.NewID(), WorkspaceID: a.WorkspaceID, ConversationID: conversationID,
			Author: model.Author{Kind: model.AuthorAgent, ID: &a.ID, Name: &a.Name, AvatarURL: s.avatarURL(a.AvatarID)},
			Kind:   kind, Channel: model.MsgChannelDashboard, Body: body, CreatedAt: now, AsksEmail: asksEmail}
		// The conversation, its workspace and whether it has webhooks, read
		// once: on SQLite the conversation after the writes is derived
		// from it (see store.CreateReply), on PostgreSQL read again.
		target, err := tx.MessageTarget(ctx, a.WorkspaceID, conversationID)
		if err != nil {
			return notFound(err, "conversation")
		}
		before := target.Conversation
		unassigned = before.Assignee == nil
		if asksEmail {
			if err := canAskEmail(before); err != nil {
				return err
			}
		}
		if !target.Webhooks {
			hooks.none(a.WorkspaceID)
		}
		derived := true
		if kind == model.KindReply {
			// A reply reopens the conversation, and whoever answers an
			// unassigned conversation takes it.
			if conv, derived, err = tx.CreateReply(ctx, before, msg, before.Assignee == nil); err != nil {
				return err
			}
		} else if conv, derived, err = tx.CreateComment(ctx, before, msg); err != nil {
			return err
		} else if err := tx.RecordMentions(ctx, a.WorkspaceID, conversationID, msg.ID, now, named); err != nil {
			return err
		}
		if err := attachUploads(ctx, tx, &msg, attachmentIDs, func(u store.Upload) bool { return u.ConversationID == conversationID }); err != nil {
			return err
		}
		if !derived {
			if conv, err = tx.Conversation(ctx, a.WorkspaceID, conversationID); err != nil {
				return err
			}
		}
		line = nil
		if reopened(before, conv) {
			l := s.historyLine(conv, a.Name+" reopened the conversation by replying.")
			line = &l
		}
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		if kind == model.KindReply {
			var settled bool
			if forward.SettlesWritten(s.db.Dialect(), conv) {
				// Read with the conversation, by the writer, for the
				// forwarding engine (ConversationWritten), which then reads
				// neither the conversation nor the workspace again.
				ws = &target.Workspace
				if settled, err = settleForwarding(ctx, tx, &conv, *ws); err != nil {
					return err
				}
			} else {
				_, settled = forward.Settled(conv, target.Workspace)
			}
			// A reply that may be emailed is on the schedule from its
			// commit: the engine is told of it in memory only, and may
			// stop (a crash, a busy engine killed) before it decides.
			if !settled {
				if err := tx.ForwardDueBy(ctx, conv.ID, now); err != nil {
					return err
				}
			}
		}
		return s.emitNewMessage(ctx, hooks, tx, before, conv, false, msg, line)
	}, func() {
		s.toAgents(a.WorkspaceID, realtime.MessageCreated, msg)
		s.lineToAgents(a.WorkspaceID, line)
		s.updatedAfter(a.WorkspaceID, conv, unassigned, a.ID)
		if kind == model.KindReply && conv.Channel == model.ChannelWebsite {
			s.pub.ToVisitor(conv.Visitor.ID, s.messageFrame(msg))
		}
		if kind == model.KindReply {
			s.eval.ConversationWritten(conv, ws)
		}
	})
	if err != nil {
		return model.Message{}, err
	}
	hooks.done()
	if kind == model.KindReply {
		switch conv.Channel {
		case model.ChannelMessenger, model.ChannelInstagram:
			if s.chans != nil {
				s.chans.SendReply(ctx, conv, msg)
			}
		}
	}
	return msg, nil
}

// settleForwarding records in the transaction that changed conversation c
// the forwarding decision the change leaves when it needs no engine
// (forward.Settled) and is not the one recorded already; c then carries it
// to the dashboards' event and the engine. settled is false when only the
// engine decides.
func settleForwarding(ctx context.Context, tx *store.Store, c *model.Conversation, w model.Workspace) (settled bool, err error) {
	st, ok := forward.Settled(*c, w)
	if !ok || forward.Recorded(c.Forwarding, st) {
		return ok, nil
	}
	if err := tx.SetForwardState(ctx, c.ID, st); err != nil {
		return true, err
	}
	c.Forwarding = &st
	return true, nil
}

// SetConversationStatus closes or reopens a conversation. A change leaves
// a line in the conversation, for agents only, saying who made it.
func (s *Service) SetConversationStatus(ctx context.Context, a model.Agent, id, status string) (model.Conversation, error) {
	c, _, err := s.setConversationStatus(ctx, a, id, status)
	return c, err
}

// setConversationStatus is SetConversationStatus, telling whether the
// conversation changed (it may have had that status already).
func (s *Service) setConversationStatus(ctx context.Context, a model.Agent, id, status string) (model.Conversation, bool, error) {
	var (
		c, before model.Conversation
		line      *model.Message
	)
	hooks := s.hooks()
	err := s.db.InTx(ctx, func(tx *store.Store) error {
		line = nil
		// Held, so that two agents closing it at once leave one line.
		if err := tx.LockConversation(ctx, a.WorkspaceID, id); err != nil {
			return notFound(err, "conversation")
		}
		var err error
		if before, err = tx.Conversation(ctx, a.WorkspaceID, id); err != nil {
			return notFound(err, "conversation")
		}
		if err := tx.SetConversationStatus(ctx, a.WorkspaceID, id, status, s.now()); err != nil {
			return notFound(err, "conversation")
		}
		if c, err = tx.Conversation(ctx, a.WorkspaceID, id); err != nil {
			return err
		}
		if before.Status == c.Status {
			return nil
		}
		text := a.Name + " reopened the conversation."
		if c.Status == "closed" {
			text = a.Name + " closed the conversation."
		}
		l := s.historyLine(c, text)
		line = &l
		if err := saveLine(ctx, tx, line); err != nil {
			return err
		}
		// The line first, then the conversation it tells about.
		if err := hooks.emitNotes(ctx, tx, line); err != nil {
			return err
		}
		return hooks.emit(ctx, tx, a.WorkspaceID, id, realtime.ConversationUpdated, c)
	})
	if err != nil {
		return c, false, err
	}
	hooks.done()
	s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
	s.lineToAgents(a.WorkspaceID, line)
	if line != nil && c.Status == "closed" && before.Assignee != nil {
		s.requestHandOut(ctx, a.WorkspaceID) // its agent has room for another
	}
	return c, line != nil, nil
}

// MarkSeenByAgent clears the conversation's unread marker.
func (s *Service) MarkSeenByAgent(ctx context.Context, a model.Agent, id string) (model.Conversation, error) {
	before, err := s.Conversation(ctx, a, id)
	if err != nil {
		return before, err
	}
	newest, err := s.db.NewestMessageID(ctx, a.WorkspaceID, id)
	if err != nil || newest == "" {
		return before, err
	}
	if before.AgentReadID != nil && *before.AgentReadID >= newest {
		return before, nil // nothing new: no event for every open dashboard
	}
	if err := s.db.SetAgentRead(ctx, a.WorkspaceID, id, newest); err != nil {
		return model.Conversation{}, err
	}
	c, err := s.Conversation(ctx, a, id)
	if err == nil {
		s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
		if c.Channel == model.ChannelWebsite {
			// The visitor's widget shows "Seen" under their last message.
			if seen, err := s.db.SeenVisitorMessage(ctx, id); err != nil {
				s.log.Warn("read what the team saw of a conversation", "conversation", id, "err", err)
			} else if seen != "" {
				s.pub.ToVisitor(c.Visitor.ID, seenFrame(seen))
			}
		}
	}
	return c, err
}

// seenFrame tells a visitor's widget that the team has read their
// messages up to id, their newest.
func seenFrame(id string) []byte {
	return encode(struct {
		Type      realtime.FrameType `json:"type"`
		MessageID string             `json:"message_id"`
	}{realtime.FrameSeen, id})
}

// VisitorPatch changes a visitor's details; a field left out stays, an
// empty string clears it.
type VisitorPatch struct {
	Email *string `json:"email"`
	Name  *string `json:"name"`
	// set reports which fields were present in the JSON (null clears too).
	emailSet, nameSet bool
}

// UnmarshalJSON records which fields the patch names.
func (p *VisitorPatch) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	type plain VisitorPatch
	var q plain
	if err := json.Unmarshal(b, &q); err != nil {
		return err
	}
	*p = VisitorPatch(q)
	_, p.emailSet = raw["email"]
	_, p.nameSet = raw["name"]
	return nil
}

// NewVisitorPatch builds a patch setting the given fields (nil: left alone).
func NewVisitorPatch(email, name *string) VisitorPatch {
	return VisitorPatch{Email: email, Name: name, emailSet: email != nil, nameSet: name != nil}
}

// UpdateVisitor applies an agent's change to a visitor's details.
func (s *Service) UpdateVisitor(ctx context.Context, a model.Agent, visitorID string, p VisitorPatch) (model.Visitor, error) {
	v, err := s.db.Visitor(ctx, a.WorkspaceID, visitorID)
	if err != nil {
		return v, notFound(err, "visitor")
	}
	if p.emailSet {
		if e := trimmed(p.Email); e == nil {
			v.Email = nil
		} else {
			addr, err := ValidateEmail(*e)
			if err != nil {
				return v, err
			}
			v.Email = &addr
			source := model.EmailFromAgent
			v.EmailSource = &source
		}
	}
	if p.nameSet {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		n, err := cleanName(name)
		if err != nil {
			return v, err
		}
		v.Name = n
	}
	return s.saveContact(ctx, v)
}

// Visitor returns a visitor of the agent's workspace.
func (s *Service) Visitor(ctx context.Context, a model.Agent, id string) (model.Visitor, error) {
	v, err := s.db.Visitor(ctx, a.WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		return v, notFound(err, "visitor")
	}
	return v, err
}

// emitNewMessage queues the webhook events of a new message in tx:
// conversation.created when the message started the conversation,
// message.created of the message and then of the system notes it left
// (nil: none), and conversation.updated when it reopened it.
func (s *Service) emitNewMessage(ctx context.Context, h *hookBatch, tx *store.Store, before, after model.Conversation, created bool, msg model.Message, notes ...*model.Message) error {
	if created {
		if err := h.emit(ctx, tx, after.WorkspaceID, after.ID, realtime.ConversationCreated, after); err != nil {
			return err
		}
	}
	if err := h.emit(ctx, tx, after.WorkspaceID, after.ID, realtime.MessageCreated, msg); err != nil {
		return err
	}
	if err := h.emitNotes(ctx, tx, notes...); err != nil {
		return err
	}
	if !created && before.Status != after.Status {
		return h.emit(ctx, tx, after.WorkspaceID, after.ID, realtime.ConversationUpdated, after)
	}
	return nil
}
