package chat

import (
	"context"
	"errors"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/store"
)

// CodeInvalidAgent refuses an agent id that is not of the workspace (or
// of an agent who was removed).
const CodeInvalidAgent = "invalid_agent"

// Assign gives a conversation to an agent of the workspace, or to nobody
// when agentID is nil, and tells every open dashboard.
func (s *Service) Assign(ctx context.Context, a model.Agent, conversationID string, agentID *string) (model.Conversation, error) {
	if agentID != nil {
		if _, err := s.assignableAgent(ctx, a.WorkspaceID, *agentID); err != nil {
			return model.Conversation{}, err
		}
	}
	if err := s.db.SetAssignee(ctx, a.WorkspaceID, conversationID, agentID); err != nil {
		return model.Conversation{}, notFound(err, "conversation")
	}
	c, err := s.Conversation(ctx, a, conversationID)
	if err != nil {
		return c, err
	}
	s.toAgents(a.WorkspaceID, realtime.ConversationUpdated, c)
	return c, nil
}

// assignableAgent returns an agent of the workspace who may be given
// conversations.
func (s *Service) assignableAgent(ctx context.Context, workspaceID, id string) (model.Agent, error) {
	ag, err := s.db.Agent(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ag, newError(CodeInvalidAgent, "no agent of this workspace has this id")
	case err != nil:
		return ag, err
	case ag.WorkspaceID != workspaceID:
		return ag, newError(CodeInvalidAgent, "no agent of this workspace has this id")
	}
	return ag, nil
}

// Assignees lists the agents of the workspace a conversation can be given to.
func (s *Service) Assignees(ctx context.Context, a model.Agent) ([]model.Assignee, error) {
	return s.db.AssignableAgents(ctx, a.WorkspaceID)
}
