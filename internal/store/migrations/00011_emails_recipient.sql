-- +goose Up
-- The emails sent to one address in the last day are counted before each
-- new one, to cap what one address receives.
CREATE INDEX emails_recipient ON emails (lower(rcpt_to), created_at);

-- +goose Down
DROP INDEX emails_recipient;
