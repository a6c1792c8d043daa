-- +goose Up
-- let_go_id is an id made (ids grow with time) when an agent last took
-- themself or a colleague off the conversation, leaving it to nobody.
-- Automatic assignment does not hand such a conversation out again until
-- its visitor writes after that (visitor_message_id greater): its agent
-- chose to let it go.
ALTER TABLE conversations ADD COLUMN let_go_id TEXT;

-- +goose Down
ALTER TABLE conversations DROP COLUMN let_go_id;
