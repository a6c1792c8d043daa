-- The SQLite search indexes change form (detail=column, a fourth prefix
-- index); PostgreSQL's tsvector index stays as it is.
SELECT 1;
