INSERT INTO search_docs (workspace_id, message_id)
    SELECT m.workspace_id, m.id FROM search_pending p JOIN messages m ON m.id = p.message_id ORDER BY m.id;
INSERT INTO messages_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id
    WHERE d.message_id IN (SELECT message_id FROM search_pending) ORDER BY d.id;

DROP TRIGGER messages_search_insert;
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.kind IN ('reply', 'comment') BEGIN
    INSERT INTO search_docs (workspace_id, message_id) VALUES (new.workspace_id, new.id);
    INSERT INTO messages_fts (rowid, ws, body) VALUES (last_insert_rowid(), new.workspace_id, new.body);
END;

DROP TRIGGER messages_search_delete;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = (SELECT id FROM search_docs WHERE message_id = old.id);
    DELETE FROM search_docs WHERE message_id = old.id;
END;

DROP TABLE search_pending;
