-- Full-text search (PostgreSQL): a tsvector of message bodies (replies and
-- comments, whatever their channel) and of visitors' names and emails, as
-- generated columns, so they are written by the same statement as the row
-- whichever code path writes it, and filled for the rows already stored.
--
-- parley_fold lower-cases, removes accents (unaccent, a trusted extension
-- since PostgreSQL 13: the database owner may create it) and turns ASCII
-- punctuation into spaces, so that "jean.dupont@example.com" is the words
-- jean, dupont, example, com, as SQLite's tokenizer sees it.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;

CREATE FUNCTION parley_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
AS $$ SELECT regexp_replace(lower(public.unaccent('public.unaccent'::regdictionary, t)), '[!-/:-@[-`{-~]+', ' ', 'g') $$;

-- The search for words (all of them) with the last one as a prefix.
CREATE FUNCTION parley_search_query(words text, last_word text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT plainto_tsquery('simple', parley_fold(coalesce(words, ''))) &&
        CASE WHEN numnode(plainto_tsquery('simple', parley_fold(coalesce(last_word, '')))) = 0
            THEN plainto_tsquery('simple', parley_fold(coalesce(last_word, '')))
            ELSE (plainto_tsquery('simple', parley_fold(coalesce(last_word, '')))::text || ':*')::tsquery
        END
$$;

ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN kind IN ('reply', 'comment') THEN to_tsvector('simple'::regconfig, parley_fold(body)) END
) STORED;
CREATE INDEX messages_search ON messages USING gin (search);
-- Newest first within a workspace, for searches of very common words.
CREATE INDEX messages_workspace_newest ON messages (workspace_id, id);

ALTER TABLE visitors ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, parley_fold(coalesce(name, '') || ' ' || coalesce(email, '')))
) STORED;
CREATE INDEX visitors_search ON visitors USING gin (search);
