-- +goose Up
-- Whether a conversation a visitor writes in while nobody has it is given
-- to the online agent with the fewest open conversations (off until an
-- admin turns it on), and when each agent was last given one that way:
-- of two agents with as many open, the one who waited longer is next.
ALTER TABLE workspaces ADD COLUMN auto_assign INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_auto_assigned_at BIGINT;

-- +goose Down
ALTER TABLE agents DROP COLUMN last_auto_assigned_at;
ALTER TABLE workspaces DROP COLUMN auto_assign;
