-- +goose Up
-- The forwarding engine's state per conversation: the next time it must
-- look again (indexed, so idle conversations cost nothing) and the outcome
-- of its last decision, shown to agents.
ALTER TABLE conversations ADD COLUMN forward_due_at BIGINT;
ALTER TABLE conversations ADD COLUMN forward_code TEXT;
ALTER TABLE conversations ADD COLUMN forward_reason TEXT;
CREATE INDEX conversations_forward_due ON conversations (forward_due_at) WHERE forward_due_at IS NOT NULL;

ALTER TABLE messages ADD COLUMN forwarded_email_id TEXT;
-- Agent replies not read and not forwarded: the conversations a workspace
-- change (an agent going offline, a settings change) must look at again.
CREATE INDEX messages_unforwarded ON messages (workspace_id, conversation_id)
    WHERE kind = 'reply' AND author_kind = 'agent' AND forwarded_to IS NULL AND read_by_visitor_at IS NULL;

-- The outbox: an email is written here in the same transaction that marks
-- its replies forwarded, then delivered (and retried) from here.
CREATE TABLE emails (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    visitor_id      TEXT NOT NULL REFERENCES visitors(id),
    message_id      TEXT NOT NULL UNIQUE,
    mail_from       TEXT NOT NULL,
    rcpt_to         TEXT NOT NULL,
    raw             TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX emails_queued ON emails (next_attempt_at) WHERE status = 'queued';
CREATE INDEX emails_conversation ON emails (conversation_id, created_at);

-- +goose Down
DROP TABLE emails;
DROP INDEX messages_unforwarded;
DROP INDEX conversations_forward_due;
ALTER TABLE messages DROP COLUMN forwarded_email_id;
ALTER TABLE conversations DROP COLUMN forward_reason;
ALTER TABLE conversations DROP COLUMN forward_code;
ALTER TABLE conversations DROP COLUMN forward_due_at;
