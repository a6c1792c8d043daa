-- +goose Up
-- Until when a node holds a due conversation it claimed (PostgreSQL, where
-- several nodes share the forwarding schedule). The claim used to move
-- forward_due_at to the lease's end, so that the API showed the lease as the
-- due time and the backlog's count of due conversations left claimed ones
-- out; the due time now stays as decided. A decision clears the claim.
ALTER TABLE conversations ADD COLUMN forward_claimed_until BIGINT;

-- +goose Down
ALTER TABLE conversations DROP COLUMN forward_claimed_until;
