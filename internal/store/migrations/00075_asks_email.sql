-- +goose Up
-- An agent reply that asks the visitor for their email address: the widget
-- shows an email field under it until the visitor has an email.
ALTER TABLE messages ADD COLUMN asks_email INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE messages DROP COLUMN asks_email;
