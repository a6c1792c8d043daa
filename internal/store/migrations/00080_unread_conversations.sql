-- +goose Up
-- visitor_message_id is the id of the conversation's newest visitor message
-- (NULL while it has none), written with each message. A conversation is
-- unread when it is newer than the agents' read cursor: counting the unread
-- conversations reads the conversations alone, where looking for a visitor
-- message past the cursor in each conversation took half a second at a
-- million messages.
ALTER TABLE conversations ADD COLUMN visitor_message_id TEXT;
UPDATE conversations SET visitor_message_id = (SELECT MAX(m.id) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'visitor');
CREATE INDEX conversations_unread ON conversations (workspace_id, visitor_message_id, agent_read_id);

-- +goose Down
DROP INDEX conversations_unread;
ALTER TABLE conversations DROP COLUMN visitor_message_id;
