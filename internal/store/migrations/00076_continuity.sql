-- +goose Up
-- The continuity report counts, per day, what became of conversations once
-- an email had gone out. Each figure is a timestamp set when its event
-- happens and read through an index of its own, so the report never reads
-- messages.
--
-- email_answered_at: the visitor's first answer by email.
-- returned_at: the visitor's first return to the widget (a connection or a
-- message) after an email of the conversation was sent.
ALTER TABLE conversations ADD COLUMN email_answered_at BIGINT;
ALTER TABLE conversations ADD COLUMN returned_at BIGINT;
-- given_up_at: when the email failed for good (the relay refused it) or
-- bounced.
ALTER TABLE emails ADD COLUMN given_up_at BIGINT;

-- Before this column, the time of a failure or bounce was only kept as the
-- email's last scheduled attempt.
UPDATE emails SET given_up_at = next_attempt_at WHERE status IN ('failed', 'bounced');
UPDATE conversations SET email_answered_at = (
    SELECT MIN(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.channel = 'email' AND m.author_kind = 'visitor');
-- Returns before this column were only recorded as widget messages.
UPDATE conversations SET returned_at = (
    SELECT MIN(m.created_at) FROM messages m
    WHERE m.conversation_id = conversations.id AND m.channel = 'widget' AND m.author_kind = 'visitor'
      AND m.created_at > (SELECT MIN(e.sent_at) FROM emails e WHERE e.conversation_id = conversations.id))
WHERE EXISTS (SELECT 1 FROM emails e WHERE e.conversation_id = conversations.id AND e.sent_at IS NOT NULL);

CREATE INDEX conversations_email_answered ON conversations (workspace_id, email_answered_at) WHERE email_answered_at IS NOT NULL;
CREATE INDEX conversations_returned ON conversations (workspace_id, returned_at) WHERE returned_at IS NOT NULL;
CREATE INDEX emails_sent ON emails (workspace_id, sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX emails_given_up ON emails (workspace_id, given_up_at) WHERE given_up_at IS NOT NULL;
CREATE INDEX email_addresses_unsubscribed ON email_addresses (workspace_id, changed_at) WHERE status = 'unsubscribed';

-- +goose Down
DROP INDEX email_addresses_unsubscribed;
DROP INDEX emails_given_up;
DROP INDEX emails_sent;
DROP INDEX conversations_returned;
DROP INDEX conversations_email_answered;
ALTER TABLE emails DROP COLUMN given_up_at;
ALTER TABLE conversations DROP COLUMN returned_at;
ALTER TABLE conversations DROP COLUMN email_answered_at;
