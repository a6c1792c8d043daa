-- +goose Up
-- Tags agents give conversations. A workspace's tag is spelled as it was
-- first typed (name) and compared by its case-folded form (name_key): one
-- row a tag, made by its first use and kept (its spelling with it) when no
-- conversation has it any more; only tags in use are listed.
CREATE TABLE tags (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL
);
CREATE UNIQUE INDEX tags_key ON tags (workspace_id, name_key);
-- Which conversation has which tag: what the list's filter and the counts
-- read. Rows go with their conversation (store.DeleteConversations deletes
-- them first; the cascade is a second guard).
CREATE TABLE conversation_tags (
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag_id          TEXT NOT NULL REFERENCES tags(id),
    PRIMARY KEY (conversation_id, tag_id)
);
CREATE INDEX conversation_tags_tag ON conversation_tags (tag_id, conversation_id);
-- The conversation's tags' names again, a JSON array in the order shown
-- ('' for none), written with the rows above: every read of a
-- conversation (the list, the API, events) carries its tags without a
-- query of its own.
ALTER TABLE conversations ADD COLUMN tags TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE conversations DROP COLUMN tags;
DROP TABLE conversation_tags;
DROP TABLE tags;
