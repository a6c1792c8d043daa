-- +goose Up
-- Agents named in internal notes ("@Ada"): one row an agent and
-- conversation, with the newest note that named them. The dashboard's
-- Mentions view lists an agent's rows' conversations. Rows go with their
-- conversation (store.DeleteConversations deletes them first; the cascade
-- is a second guard) and with their agent.
CREATE TABLE mentions (
    agent_id        TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    message_id      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (agent_id, conversation_id)
);
CREATE INDEX mentions_conversation ON mentions (conversation_id);

-- +goose Down
DROP TABLE mentions;
