-- +goose Up
-- Times are stored as BIGINT microseconds since the Unix epoch (UTC), so the
-- same statements work on SQLite and PostgreSQL. Booleans are INTEGER 0/1.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE workspaces (
    id                       TEXT PRIMARY KEY,
    name                     TEXT NOT NULL,
    site_key                 TEXT NOT NULL UNIQUE,
    time_zone                TEXT NOT NULL DEFAULT 'UTC',
    email_forwarding         TEXT NOT NULL DEFAULT 'unread',
    offline_requires_form    INTEGER NOT NULL DEFAULT 1,
    online_form              TEXT NOT NULL DEFAULT 'optional',
    agents_unavailable_since BIGINT,
    created_at               BIGINT NOT NULL
);

CREATE TABLE agents (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    email           TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    password_hash   TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'offline',
    -- when the agent's last dashboard connection closed; NULL while connected
    disconnected_at BIGINT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX agents_workspace ON agents (workspace_id, status);

CREATE TABLE agent_tokens (
    token_hash  TEXT PRIMARY KEY,
    agent_id    TEXT NOT NULL REFERENCES agents(id),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX agent_tokens_agent ON agent_tokens (agent_id);

CREATE TABLE visitors (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    name           TEXT,
    email          TEXT,
    email_status   TEXT NOT NULL DEFAULT 'ok',
    online         INTEGER NOT NULL DEFAULT 0,
    left_at        BIGINT,
    last_active_at BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX visitors_workspace ON visitors (workspace_id);
CREATE INDEX visitors_online ON visitors (online);

CREATE TABLE conversations (
    id                TEXT PRIMARY KEY,
    workspace_id      TEXT NOT NULL REFERENCES workspaces(id),
    visitor_id        TEXT NOT NULL REFERENCES visitors(id),
    status            TEXT NOT NULL DEFAULT 'open',
    channel           TEXT NOT NULL DEFAULT 'website',
    created_at        BIGINT NOT NULL,
    last_message_at   BIGINT NOT NULL,
    -- newest public message the visitor has seen (read cursor)
    visitor_read_id   TEXT,
    visitor_read_at   BIGINT,
    -- newest visitor message an agent has seen (unread marker in the dashboard)
    agent_read_id     TEXT
);
CREATE INDEX conversations_workspace ON conversations (workspace_id, last_message_at);
CREATE INDEX conversations_visitor ON conversations (visitor_id);

CREATE TABLE messages (
    id                 TEXT PRIMARY KEY,
    workspace_id       TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id    TEXT NOT NULL REFERENCES conversations(id),
    author_kind        TEXT NOT NULL,
    author_id          TEXT,
    author_name        TEXT,
    kind               TEXT NOT NULL,
    channel            TEXT NOT NULL,
    body               TEXT NOT NULL,
    client_id          TEXT,
    created_at         BIGINT NOT NULL,
    read_by_visitor_at BIGINT,
    forwarded_to       TEXT,
    forwarded_at       BIGINT,
    forwarded_status   TEXT
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE UNIQUE INDEX messages_client_id ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;

-- +goose Down
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE visitors;
DROP TABLE agent_tokens;
DROP TABLE agents;
DROP TABLE workspaces;
DROP TABLE meta;
