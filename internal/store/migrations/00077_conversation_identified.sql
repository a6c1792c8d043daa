-- +goose Up
-- Whether a conversation's visitor is identified, and how their email was
-- learned (visitors.email_source, 'unknown' for an email stored before
-- sources were recorded; NULL: no email). Kept on the conversation and
-- rewritten whenever the visitor's email changes, so that the continuity
-- report counts identified conversations from one index without reading
-- a visitor per conversation.
ALTER TABLE conversations ADD COLUMN identified_by TEXT;
UPDATE conversations SET identified_by = (
    SELECT CASE WHEN v.email IS NULL OR v.email = '' THEN NULL ELSE COALESCE(v.email_source, 'unknown') END
    FROM visitors v WHERE v.id = conversations.visitor_id);
CREATE INDEX conversations_identified ON conversations (workspace_id, created_at, identified_by);
-- It holds the columns of conversations_workspace_created (migration
-- 00050), whose only reader was the report.
DROP INDEX conversations_workspace_created;

-- +goose Down
CREATE INDEX conversations_workspace_created ON conversations (workspace_id, created_at);
DROP INDEX conversations_identified;
ALTER TABLE conversations DROP COLUMN identified_by;
