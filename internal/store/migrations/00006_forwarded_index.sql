-- +goose Up
-- Delivery outcomes update the replies an email carries.
CREATE INDEX messages_forwarded_email ON messages (forwarded_email_id) WHERE forwarded_email_id IS NOT NULL;

-- +goose Down
DROP INDEX messages_forwarded_email;
