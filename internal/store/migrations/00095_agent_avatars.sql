-- +goose Up
-- Agents' pictures. The bytes live in the database, like attachment_files,
-- so that every node serves them; each upload gets a new id, so the URL of a
-- picture never changes content and can be cached for good. agents.avatar_id
-- names the agent's current picture (NULL: the widget shows initials).
CREATE TABLE agent_avatars (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    agent_id     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX agent_avatars_agent ON agent_avatars (agent_id);
ALTER TABLE agents ADD COLUMN avatar_id TEXT;

-- +goose Down
ALTER TABLE agents DROP COLUMN avatar_id;
DROP INDEX agent_avatars_agent;
DROP TABLE agent_avatars;
