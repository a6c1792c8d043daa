-- +goose Up
-- API tokens: bearer tokens an agent makes for an integration, kept beside
-- the logins' tokens. A login's has no id and no name; an API token has
-- both (the id names it to revoke it), and the last time it was used
-- (written at most once a minute).
ALTER TABLE agent_tokens ADD COLUMN id TEXT;
ALTER TABLE agent_tokens ADD COLUMN name TEXT;
ALTER TABLE agent_tokens ADD COLUMN last_used_at BIGINT;
CREATE UNIQUE INDEX agent_tokens_id ON agent_tokens (id);

-- +goose Down
DROP INDEX agent_tokens_id;
ALTER TABLE agent_tokens DROP COLUMN last_used_at;
ALTER TABLE agent_tokens DROP COLUMN name;
ALTER TABLE agent_tokens DROP COLUMN id;
