-- +goose Up
-- Whether a workspace may email an address belongs to the address, not to
-- one visitor record: an unsubscribe or a bounce covers every visitor of
-- the workspace with that address, now and later. address is the
-- normalised form (trimmed, lower-cased: model.EmailKey); visitors carry the
-- same key of their email in email_key, written by the application (and by
-- migration 00014 for existing rows), so both databases compare the same
-- bytes. id is what unsubscribe links name. An explicit opt-in (the widget's
-- contact form) sets the status back to ok and records when (opt_in_at).
CREATE TABLE email_addresses (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    address      TEXT NOT NULL,
    id           TEXT NOT NULL UNIQUE,
    status       TEXT NOT NULL DEFAULT 'ok',
    -- what last changed status ('unsubscribe', 'bounce', 'opt_in'), when,
    -- and a detail shown to agents (e.g. the bounce's diagnostic)
    source       TEXT,
    changed_at   BIGINT,
    detail       TEXT,
    opt_in_at    BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, address)
);

ALTER TABLE visitors ADD COLUMN email_key TEXT;
CREATE INDEX visitors_email_key ON visitors (workspace_id, email_key) WHERE email_key IS NOT NULL;

-- +goose Down
DROP INDEX visitors_email_key;
ALTER TABLE visitors DROP COLUMN email_key;
DROP TABLE email_addresses;
