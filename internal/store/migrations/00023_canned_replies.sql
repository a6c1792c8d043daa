-- +goose Up
-- Canned replies: a body an agent inserts by typing /shortcut in the reply
-- box. created_by is the agent who made it (NULL once they are gone).
CREATE TABLE canned_replies (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    shortcut     TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_by   TEXT REFERENCES agents(id),
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX canned_replies_shortcut ON canned_replies (workspace_id, shortcut);

-- +goose Down
DROP TABLE canned_replies;
