-- Messages are indexed for search shortly after they are written, in
-- batches, instead of in the transaction that writes them: FTS5 writes a
-- new segment, its structure record and its averages at the end of every
-- transaction that changed the index, ten pages of write-ahead log for a
-- one-line reply, more than the message and its conversation together. A
-- message now leaves its id in search_pending (one small page); the store
-- indexes what is pending within a second, and before any search, so a
-- search still finds every message written before it.
CREATE TABLE search_pending (
    message_id TEXT PRIMARY KEY
) WITHOUT ROWID;

DROP TRIGGER messages_search_insert;
CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.kind IN ('reply', 'comment') BEGIN
    INSERT INTO search_pending (message_id) VALUES (new.id);
END;

DROP TRIGGER messages_search_delete;
CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM search_pending WHERE message_id = old.id;
    DELETE FROM messages_fts WHERE rowid = (SELECT id FROM search_docs WHERE message_id = old.id);
    DELETE FROM search_docs WHERE message_id = old.id;
END;
