-- The search indexes keep, for each word, the rows and columns it is in,
-- not its positions (detail=column): a search asks for words and prefixes,
-- never a phrase, and its snippet is cut from the stored text. Without the
-- positions the message index is about a quarter smaller, though it gains
-- a fourth prefix index, which serves a last word of 4 letters ("deli")
-- from one list of rows, newest first, instead of merging the lists of
-- every word it starts (tens of milliseconds at a million messages when
-- those are common).
--
-- The triggers name the tables, not their definition: they keep writing
-- to the new ones in the same transaction as the message or visitor.
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3 4',
    detail = column
);
INSERT INTO messages_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id ORDER BY d.id;

DROP TABLE visitors_fts;
CREATE VIRTUAL TABLE visitors_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3 4',
    detail = column
);
INSERT INTO visitors_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, coalesce(v.name, '') || ' ' || coalesce(v.email, '')
    FROM search_docs d JOIN visitors v ON v.id = d.visitor_id ORDER BY d.id;
