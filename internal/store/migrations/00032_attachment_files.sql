-- +goose Up
-- The bytes of every file live in the database, so that every node serves
-- every file and a file is written in the same transaction as its message.
-- BYTEA is PostgreSQL's binary type; SQLite stores the bytes as a BLOB.
CREATE TABLE attachment_files (
    id           TEXT PRIMARY KEY, -- the attachment's or upload's id
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    data         BYTEA NOT NULL
);

-- Files uploaded from the widget or the reply box and not yet sent with a
-- message. Sending moves the row to attachments (the bytes keep their id);
-- unsent uploads are deleted after a day.
CREATE TABLE uploads (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    visitor_id      TEXT,   -- uploaded from the widget by this visitor
    conversation_id TEXT,   -- uploaded by an agent into this conversation
    agent_id        TEXT,
    filename        TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX uploads_created ON uploads (created_at);
CREATE INDEX attachments_workspace ON attachments (workspace_id);

-- +goose Down
DROP INDEX attachments_workspace;
DROP TABLE uploads;
DROP TABLE attachment_files;
