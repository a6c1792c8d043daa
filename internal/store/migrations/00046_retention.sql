-- +goose Up
-- Privacy: how long closed conversations are kept (0 = for ever), and when
-- a conversation was closed (NULL while open), which retention counts from.
ALTER TABLE workspaces ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN closed_at BIGINT;
UPDATE conversations SET closed_at = last_message_at WHERE status = 'closed';
CREATE INDEX conversations_closed ON conversations (closed_at) WHERE closed_at IS NOT NULL;

-- +goose Down
DROP INDEX conversations_closed;
ALTER TABLE conversations DROP COLUMN closed_at;
ALTER TABLE workspaces DROP COLUMN retention_days;
