DROP INDEX visitors_search;
ALTER TABLE visitors DROP COLUMN search;
DROP INDEX messages_workspace_newest;
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
DROP FUNCTION parley_search_query(text, text);
DROP FUNCTION parley_fold(text);
