-- +goose Up
-- How many open conversations automatic assignment gives an agent at most
-- (0: no limit). An agent at the limit gets none until one of theirs is
-- closed; the conversations waiting meanwhile are handed out then.
ALTER TABLE workspaces ADD COLUMN auto_assign_limit INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE workspaces DROP COLUMN auto_assign_limit;
