-- PostgreSQL keeps each message's search vector in its own row, written
-- with it: nothing to change there.
SELECT 1;
