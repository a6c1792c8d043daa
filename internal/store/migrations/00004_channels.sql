-- +goose Up
-- Messenger and Instagram (internal/channels/meta).

-- One connected Facebook Page (and the Instagram professional account linked
-- to it) per workspace. The Page access token and the app secret are stored
-- encrypted (AES-256-GCM, key derived from PARLEY_SECRET); only their last
-- four characters are kept in clear, to show which one is set. The webhook
-- verify token is kept as a SHA-256 hash: it is only ever compared.
CREATE TABLE channel_accounts (
    workspace_id       TEXT PRIMARY KEY REFERENCES workspaces(id),
    page_id            TEXT NOT NULL,
    page_name          TEXT,
    instagram_id       TEXT,
    page_token_enc     TEXT NOT NULL,
    page_token_last4   TEXT NOT NULL,
    app_secret_enc     TEXT NOT NULL,
    app_secret_last4   TEXT NOT NULL,
    verify_token_hash  TEXT NOT NULL,
    verify_token_last4 TEXT NOT NULL,
    -- the last problem Meta reported with the token (e.g. expired), shown in
    -- Settings → Channels until the token is replaced
    token_error        TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE UNIQUE INDEX channel_accounts_page ON channel_accounts (page_id);
CREATE UNIQUE INDEX channel_accounts_instagram ON channel_accounts (instagram_id) WHERE instagram_id IS NOT NULL;
CREATE INDEX channel_accounts_verify ON channel_accounts (verify_token_hash);

-- A person on a channel is a visitor with an external id: the PSID
-- (Messenger) or IGSID (Instagram). profile_checked_at is when the name was
-- last fetched from the Graph API (refreshed at most daily).
ALTER TABLE visitors ADD COLUMN channel TEXT;
ALTER TABLE visitors ADD COLUMN external_id TEXT;
ALTER TABLE visitors ADD COLUMN profile_checked_at BIGINT;
CREATE UNIQUE INDEX visitors_external ON visitors (workspace_id, channel, external_id) WHERE external_id IS NOT NULL;

-- One conversation per person per channel.
CREATE UNIQUE INDEX conversations_channel_person ON conversations (visitor_id, channel) WHERE channel IN ('messenger', 'instagram');

-- The channel side of a message: Meta's message id (mid) of a person's
-- message (unique: a webhook delivered twice makes one message) or of an
-- agent reply once sent; a quick-reply or postback payload; and the
-- delivery of agent replies through the Send API (queued → sent →
-- delivered, or failed with the error shown to agents), retried durably.
ALTER TABLE messages ADD COLUMN channel_message_id TEXT;
ALTER TABLE messages ADD COLUMN channel_payload TEXT;
ALTER TABLE messages ADD COLUMN channel_status TEXT;
ALTER TABLE messages ADD COLUMN channel_error TEXT;
ALTER TABLE messages ADD COLUMN channel_tag TEXT;
ALTER TABLE messages ADD COLUMN channel_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN channel_next_attempt_at BIGINT;
ALTER TABLE messages ADD COLUMN channel_sent_at BIGINT;
CREATE UNIQUE INDEX messages_channel_message ON messages (workspace_id, channel_message_id) WHERE channel_message_id IS NOT NULL;
CREATE INDEX messages_channel_queued ON messages (channel_next_attempt_at) WHERE channel_status = 'queued';

-- Webhook events as received (one row per messaging item of a signed
-- delivery), stored before Meta gets its 200 and processed by a worker, so
-- that Meta never waits and a crash loses nothing.
CREATE TABLE channel_events (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    object          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    received_at     BIGINT NOT NULL
);
CREATE INDEX channel_events_pending ON channel_events (next_attempt_at) WHERE status = 'pending';

-- +goose Down
DROP TABLE channel_events;
DROP INDEX messages_channel_queued;
DROP INDEX messages_channel_message;
ALTER TABLE messages DROP COLUMN channel_sent_at;
ALTER TABLE messages DROP COLUMN channel_next_attempt_at;
ALTER TABLE messages DROP COLUMN channel_attempts;
ALTER TABLE messages DROP COLUMN channel_tag;
ALTER TABLE messages DROP COLUMN channel_error;
ALTER TABLE messages DROP COLUMN channel_status;
ALTER TABLE messages DROP COLUMN channel_payload;
ALTER TABLE messages DROP COLUMN channel_message_id;
DROP INDEX conversations_channel_person;
DROP INDEX visitors_external;
ALTER TABLE visitors DROP COLUMN profile_checked_at;
ALTER TABLE visitors DROP COLUMN external_id;
ALTER TABLE visitors DROP COLUMN channel;
DROP TABLE channel_accounts;
