package store

import (
	"context"
	"fmt"
	"time"
)

// RecordMentions records that agentIDs were named in the note messageID of
// a conversation: each agent's row of the conversation then holds this
// note, the newest that named them.
func (s *Store) RecordMentions(ctx context.Context, workspaceID, conversationID, messageID string, at time.Time, agentIDs []string) error {
	for _, id := range agentIDs {
		if _, err := s.exec(ctx, `INSERT INTO mentions (agent_id, conversation_id, workspace_id, message_id, created_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (agent_id, conversation_id) DO UPDATE SET message_id = excluded.message_id, created_at = excluded.created_at`,
			id, conversationID, workspaceID, messageID, micros(at)); err != nil {
			return fmt.Errorf("record mention of agent %s in conversation %s: %w", id, conversationID, err)
		}
	}
	return nil
}
