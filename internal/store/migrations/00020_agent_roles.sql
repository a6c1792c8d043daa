-- +goose Up
-- Roles: an admin manages settings, channels and agents; an agent answers.
-- Every agent created before roles existed could do everything, so each
-- becomes an admin.
ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent';
UPDATE agents SET role = 'admin';

-- Presence: chosen_status is the status the agent last chose; status_source
-- says whether status is that choice ('agent') or the away timer's offline
-- ('away_timer'), given back when a dashboard connects again.
ALTER TABLE agents ADD COLUMN chosen_status TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE agents ADD COLUMN status_source TEXT NOT NULL DEFAULT 'agent';
UPDATE agents SET chosen_status = status;

-- Invitations: a single-use link where the invited person sets a password.
CREATE TABLE agent_invites (
    token_hash   TEXT PRIMARY KEY,
    agent_id     TEXT NOT NULL REFERENCES agents(id),
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX agent_invites_agent ON agent_invites (agent_id);

-- +goose Down
DROP TABLE agent_invites;
ALTER TABLE agents DROP COLUMN status_source;
ALTER TABLE agents DROP COLUMN chosen_status;
ALTER TABLE agents DROP COLUMN role;
