-- +goose Up
-- Files that came with visitors' email replies, offered to agents as
-- downloads. The bytes live in the attachments directory, named by id.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    message_id   TEXT NOT NULL REFERENCES messages(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);

-- +goose Down
DROP TABLE attachments;
