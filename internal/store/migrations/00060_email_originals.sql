-- +goose Up
-- The whole text of each email answer, beside the message that holds only
-- its new text: agents can read the original, and may_hold_quote flags the
-- answers where no quote marker was found although the text ends like an
-- older message.
CREATE TABLE email_originals (
    message_id      TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    workspace_id    TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    may_hold_quote  INTEGER NOT NULL DEFAULT 0,
    subject         TEXT NOT NULL DEFAULT '',
    text            TEXT NOT NULL
);
CREATE INDEX email_originals_conversation ON email_originals (conversation_id, may_hold_quote);

-- +goose Down
DROP TABLE email_originals;
