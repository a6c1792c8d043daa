-- +goose Up
-- A search of a common name ranks the conversations of thousands of
-- visitors by their last message: this index holds all it reads, one seek
-- per visitor.
CREATE INDEX conversations_visitor_activity ON conversations (visitor_id, workspace_id, last_message_at, id);

-- +goose Down
DROP INDEX conversations_visitor_activity;
