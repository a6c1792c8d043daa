-- +goose Up
-- How a visitor's email was learned: 'contact_form', 'agent',
-- 'conversation' (written in a chat message) or 'identity' (a verified
-- login). Emails stored before this column existed left no record of
-- where they came from, so they stay NULL (unknown).
ALTER TABLE visitors ADD COLUMN email_source TEXT;
-- The continuity report counts, per day, the conversations and their
-- visitors; it reads conversations by creation time.
CREATE INDEX conversations_workspace_created ON conversations (workspace_id, created_at);

-- +goose Down
DROP INDEX conversations_workspace_created;
ALTER TABLE visitors DROP COLUMN email_source;
