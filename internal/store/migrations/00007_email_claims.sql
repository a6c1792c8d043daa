-- +goose Up
-- The node delivering a claimed email. When that node dies, its claims are
-- released at once instead of when the lease runs out.
ALTER TABLE emails ADD COLUMN claimed_by TEXT;

-- +goose Down
ALTER TABLE emails DROP COLUMN claimed_by;
