-- +goose Up
-- Identity verification: a site signs its logged-in user's id with the
-- workspace's identity secret (stored encrypted under PARLEY_SECRET), and
-- the widget's visitor is then that user on every device.
ALTER TABLE workspaces ADD COLUMN identity_secret_enc TEXT;
ALTER TABLE workspaces ADD COLUMN identity_verification INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visitors ADD COLUMN user_id TEXT;
CREATE UNIQUE INDEX visitors_user ON visitors (workspace_id, user_id) WHERE user_id IS NOT NULL;

-- +goose Down
DROP INDEX visitors_user;
ALTER TABLE visitors DROP COLUMN user_id;
ALTER TABLE workspaces DROP COLUMN identity_verification;
ALTER TABLE workspaces DROP COLUMN identity_secret_enc;
