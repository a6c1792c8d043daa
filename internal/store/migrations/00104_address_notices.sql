-- +goose Up
-- When an address was last told that a visitor's contact form replaced it
-- (unix microseconds): such notices go at most once a day to an address, so
-- that typing someone's address into a chat again and again sends them one.
ALTER TABLE email_addresses ADD COLUMN notice_at BIGINT;

-- +goose Down
ALTER TABLE email_addresses DROP COLUMN notice_at;
