DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
INSERT INTO messages_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id ORDER BY d.id;

DROP TABLE visitors_fts;
CREATE VIRTUAL TABLE visitors_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
INSERT INTO visitors_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, coalesce(v.name, '') || ' ' || coalesce(v.email, '')
    FROM search_docs d JOIN visitors v ON v.id = d.visitor_id ORDER BY d.id;
