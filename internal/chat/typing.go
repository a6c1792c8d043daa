package chat

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// Typing indicators: a visitor's draft shown to agents as they type, and
// "NAME is typing…" shown to the visitor. Nothing of it is stored; it goes
// through the Publisher, so it reaches every node.

// MaxTypingPreview is the longest draft preview, in characters.
const MaxTypingPreview = 500

// Typing is throttled per side to one a second on average: each visitor,
// and each agent in each conversation, has a bucket of typingBurst that
// refills once a second. The burst of two absorbs network jitter between
// a client's once-a-second frames; anything faster is dropped without an
// error, as a newer frame follows while the person types.
const (
	typingPerSecond = 1
	typingBurst     = 2
)

// VisitorTypingData is the data of visitor.typing: the conversation and
// the draft so far (nil when the visitor sent none or the workspace turned
// previews off).
type VisitorTypingData struct {
	ConversationID string  `json:"conversation_id"`
	Preview        *string `json:"preview"`
}

// agentTypingFrame is the widget's typing frame: an agent is typing.
type agentTypingFrame struct {
	Type  realtime.FrameType `json:"type"`
	Agent struct {
		Name string `json:"name"`
	} `json:"agent"`
}

// VisitorTyping tells the agents that the visitor is typing in their
// website conversation, with the draft when the workspace shows previews.
// A visitor without a conversation yet has nothing to show it in.
func (s *Service) VisitorTyping(ctx context.Context, v model.VisitorKey, preview *string) error {
	if preview != nil {
		if !utf8.ValidString(*preview) || utf8.RuneCountInString(*preview) > MaxTypingPreview {
			return newError(CodeBadRequest, "preview is at most 500 characters of UTF-8")
		}
	}
	if !s.typingLimits.allow("v:"+v.ID, s.now()) {
		return nil
	}
	convID, err := s.db.LatestConversationIDOfVisitor(ctx, v.ID, model.ChannelWebsite)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	w, err := s.db.Workspace(ctx, v.WorkspaceID)
	if err != nil {
		return err
	}
	data := VisitorTypingData{ConversationID: convID}
	if w.Settings.TypingPreview && preview != nil && *preview != "" {
		data.Preview = preview
	}
	s.toAgents(v.WorkspaceID, realtime.VisitorTyping, data)
	return nil
}

// AgentTyping tells the visitor of a conversation of the agent's workspace
// (on the website) that the agent is typing, and the workspace's other
// dashboards, so that two agents do not answer at once.
func (s *Service) AgentTyping(ctx context.Context, a model.Agent, conversationID string) error {
	if conversationID == "" || len(conversationID) > 64 {
		return newError(CodeBadRequest, "typing needs a conversation_id")
	}
	c, err := s.db.Conversation(ctx, a.WorkspaceID, conversationID)
	if err != nil {
		return notFound(err, "conversation")
	}
	if !s.typingLimits.allow("a:"+a.ID+":"+c.ID, s.now()) {
		return nil
	}
	ev := agentTyping{ConversationID: c.ID}
	ev.Agent.ID, ev.Agent.Name = a.ID, a.Name
	s.toAgents(a.WorkspaceID, realtime.AgentTyping, ev)
	if c.Channel != model.ChannelWebsite {
		return nil
	}
	f := agentTypingFrame{Type: realtime.FrameTyping}
	f.Agent.Name = a.Name
	s.pub.ToVisitor(c.Visitor.ID, encode(f))
	return nil
}

// agentTyping is the dashboards' agent.typing event.
type agentTyping struct {
	ConversationID string `json:"conversation_id"`
	Agent          struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"agent"`
}
