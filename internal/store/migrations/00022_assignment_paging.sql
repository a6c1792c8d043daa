-- +goose Up
-- The agent a conversation is assigned to (NULL: nobody).
ALTER TABLE conversations ADD COLUMN assignee_id TEXT REFERENCES agents(id);

-- activity_id is the id of the conversation's newest message (its own id
-- while it has none). Ids grow with the time they are made, so it orders the
-- list by last activity, and the messages table keeps its history: a page
-- can be computed as the list stood when the first page was read, so a
-- conversation that moves to the front while an agent pages is neither
-- skipped nor listed twice.
ALTER TABLE conversations ADD COLUMN activity_id TEXT NOT NULL DEFAULT '';
UPDATE conversations SET activity_id = COALESCE(
    (SELECT MAX(m.id) FROM messages m WHERE m.conversation_id = conversations.id), conversations.id);
CREATE INDEX conversations_activity ON conversations (workspace_id, activity_id);
CREATE INDEX conversations_assignee ON conversations (workspace_id, assignee_id);

-- +goose Down
DROP INDEX conversations_assignee;
DROP INDEX conversations_activity;
ALTER TABLE conversations DROP COLUMN activity_id;
ALTER TABLE conversations DROP COLUMN assignee_id;
