-- +goose Up
-- Visitors who never wrote, left no contact and came from no channel are
-- deleted a day after they were made; this index finds them by age.
CREATE INDEX visitors_silent ON visitors (created_at) WHERE email IS NULL AND external_id IS NULL;

-- +goose Down
DROP INDEX visitors_silent;
