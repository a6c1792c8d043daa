-- +goose Up
-- Unread counts ask, per conversation, for visitor messages after the
-- agents' read cursor: one seek in this index, where the conversation
-- index alone made every message of the conversation a table lookup (the
-- unread-conversations count took over a second at a million messages).
CREATE INDEX messages_conversation_author ON messages (conversation_id, author_kind, id);

-- +goose Down
DROP INDEX messages_conversation_author;
