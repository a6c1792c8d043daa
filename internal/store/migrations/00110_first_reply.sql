-- +goose Up
-- When a conversation was first answered, and by whom: the agent's first
-- reply (not a note, not an event), written by the reply's own statement.
-- The response-times report reads them beside created_at and closed_at,
-- never the messages. Conversations answered before this migration get
-- theirs from their messages.
ALTER TABLE conversations ADD COLUMN first_reply_at BIGINT;
ALTER TABLE conversations ADD COLUMN first_reply_by TEXT;
UPDATE conversations SET first_reply_at = (SELECT MIN(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'agent' AND m.kind = 'reply');
UPDATE conversations SET first_reply_by = (SELECT m.author_id FROM messages m
    WHERE m.conversation_id = conversations.id AND m.author_kind = 'agent' AND m.kind = 'reply'
    ORDER BY m.created_at, m.id LIMIT 1)
    WHERE first_reply_at IS NOT NULL;

-- +goose Down
ALTER TABLE conversations DROP COLUMN first_reply_by;
ALTER TABLE conversations DROP COLUMN first_reply_at;
