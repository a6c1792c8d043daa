-- +goose Up
-- Webhooks: a workspace's subscriptions to its events. events is the
-- subscribed types, each between spaces (" message.created email.sent "),
-- so one LIKE finds the subscribers of a type. A webhook that kept
-- failing for a day is disabled (disabled_at, disabled_reason) until an
-- admin enables it again.
CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    url             TEXT NOT NULL,
    events          TEXT NOT NULL,
    secret          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    failing_since   BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id);

-- An event, written in the transaction of the change it tells about when
-- some webhook subscribes to it. body is the exact JSON POSTed, the same on
-- every try.
CREATE TABLE webhook_events (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT,
    type            TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX webhook_events_conversation ON webhook_events (conversation_id);

-- One event to deliver to one webhook. order_key (the conversation) keeps
-- the deliveries of a conversation in event order: only the oldest pending
-- one of a webhook and key is tried. A delivered row is deleted.
CREATE TABLE webhook_deliveries (
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id),
    event_id        TEXT NOT NULL REFERENCES webhook_events(id),
    order_key       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, order_key, event_id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The log of attempts shown to admins: the last 100 per webhook are kept,
-- with at most a short excerpt of the receiver's answer.
CREATE TABLE webhook_attempts (
    id          TEXT PRIMARY KEY,
    webhook_id  TEXT NOT NULL REFERENCES webhooks(id),
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    at          BIGINT NOT NULL,
    status_code INTEGER,
    ok          INTEGER NOT NULL,
    error       TEXT,
    excerpt     TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, at);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhooks;
