-- +goose Up
-- The dashboard counts a workspace's conversations by status, and by
-- assignee within it, on every page. Through the index of assignees
-- (workspace_id, assignee_id), or the one SQLite picked without statistics
-- (as Parley runs it), each counted conversation was a lookup of its row:
-- 27-30 ms a page at 20,000 conversations. This one holds the three columns
-- counted, in the order they are filtered: a count reads the index alone.
-- It also serves what the index of assignees did (a workspace's
-- conversations of an agent), which it replaces: a conversation keeps as
-- many index entries as before.
DROP INDEX conversations_assignee;
CREATE INDEX conversations_counts ON conversations (workspace_id, status, assignee_id);

-- +goose Down
DROP INDEX conversations_counts;
CREATE INDEX conversations_assignee ON conversations (workspace_id, assignee_id);
