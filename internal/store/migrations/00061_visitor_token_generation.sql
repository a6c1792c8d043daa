-- +goose Up
-- The generation of a visitor's credential: resetting the visitor's links
-- increments it, which ends every visitor token and continue link of the
-- generations before. 0 is the token of earlier versions (the visitor id
-- signed alone), so widgets keep working across the upgrade.
ALTER TABLE visitors ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE visitors DROP COLUMN token_generation;
