-- +goose Up
-- An agent reply written while the workspace's email forwarding was off is
-- never emailed, also after forwarding is switched back on: only replies
-- written while a mode was on are pending.
ALTER TABLE messages ADD COLUMN forward_off INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET forward_off = 1
    WHERE author_kind = 'agent' AND kind = 'reply' AND forwarded_to IS NULL
    AND workspace_id IN (SELECT id FROM workspaces WHERE email_forwarding = 'off');

-- +goose Down
ALTER TABLE messages DROP COLUMN forward_off;
