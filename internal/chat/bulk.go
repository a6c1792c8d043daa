package chat

import (
	"context"

	"github.com/parleychat/parley/internal/model"
)

// Bulk changes: the dashboard's selection bar changes many conversations
// one by one, each as its own form would, and says how many it changed. A
// change that finds the conversation as asked already (a colleague closed
// it a moment before, it has the tag) changes nothing and says so.

// ChangeStatus closes or reopens a conversation (SetConversationStatus);
// changed is false when it had that status already.
func (s *Service) ChangeStatus(ctx context.Context, a model.Agent, id, status string) (changed bool, err error) {
	_, changed, err = s.setConversationStatus(ctx, a, id, status)
	return changed, err
}

// ChangeAssignee assigns a conversation (Assign); changed is false when
// it had that assignee already.
func (s *Service) ChangeAssignee(ctx context.Context, a model.Agent, id string, agentID *string) (changed bool, err error) {
	_, changed, err = s.assign(ctx, a, id, agentID)
	return changed, err
}

// ChangeTags adds a tag to a conversation (AddTag); changed is false when
// it had the tag already.
func (s *Service) ChangeTags(ctx context.Context, a model.Agent, id, tag string) (changed bool, err error) {
	_, changed, err = s.addTag(ctx, a, id, tag)
	return changed, err
}
