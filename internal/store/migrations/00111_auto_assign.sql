-- +goose Up
-- Whether a conversation a visitor starts (or reopens) unassigned is given
-- to the online agent with the fewest open conversations. Off until an
-- admin turns it on.
ALTER TABLE workspaces ADD COLUMN auto_assign INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE workspaces DROP COLUMN auto_assign;
