-- Full-text search (SQLite): FTS5 indexes of message bodies (replies and
-- comments, whatever their channel) and of visitors' names and emails.
--
-- search_docs gives every indexed row an integer id, the FTS5 rowid: ids
-- grow with time, so the newest matches come first by walking the index
-- backwards (ORDER BY rowid DESC), which FTS5 does without sorting. The
-- indexes are contentless (the text stays in messages and visitors) and
-- keep the workspace id as a token of its own column, so a search only
-- walks its own workspace's entries.
--
-- Triggers keep the index in step in the same transaction as the write,
-- whichever code path writes.
CREATE TABLE search_docs (
    id           INTEGER PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    message_id   TEXT,
    visitor_id   TEXT
);
CREATE UNIQUE INDEX search_docs_message ON search_docs (message_id) WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX search_docs_visitor ON search_docs (visitor_id) WHERE visitor_id IS NOT NULL;

-- remove_diacritics 2 folds every accent ("Café" → "cafe"); the prefix
-- indexes make a short last word ("ca") as quick as a whole one.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);
CREATE VIRTUAL TABLE visitors_fts USING fts5 (
    ws, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '1 2 3'
);

CREATE TRIGGER messages_search_insert AFTER INSERT ON messages
WHEN new.kind IN ('reply', 'comment') BEGIN
    INSERT INTO search_docs (workspace_id, message_id) VALUES (new.workspace_id, new.id);
    INSERT INTO messages_fts (rowid, ws, body) VALUES (last_insert_rowid(), new.workspace_id, new.body);
END;

CREATE TRIGGER messages_search_update AFTER UPDATE OF body ON messages
WHEN new.kind IN ('reply', 'comment') BEGIN
    UPDATE messages_fts SET ws = new.workspace_id, body = new.body
        WHERE rowid = (SELECT id FROM search_docs WHERE message_id = new.id);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = (SELECT id FROM search_docs WHERE message_id = old.id);
    DELETE FROM search_docs WHERE message_id = old.id;
END;

CREATE TRIGGER visitors_search_insert AFTER INSERT ON visitors
WHEN new.name IS NOT NULL OR new.email IS NOT NULL BEGIN
    INSERT INTO search_docs (workspace_id, visitor_id) VALUES (new.workspace_id, new.id);
    INSERT INTO visitors_fts (rowid, ws, body)
        VALUES (last_insert_rowid(), new.workspace_id, coalesce(new.name, '') || ' ' || coalesce(new.email, ''));
END;

-- A changed name or email is indexed again under a new id: the visitor
-- counts as new for the order of results.
CREATE TRIGGER visitors_search_update AFTER UPDATE OF name, email ON visitors
WHEN old.name IS NOT new.name OR old.email IS NOT new.email BEGIN
    DELETE FROM visitors_fts WHERE rowid = (SELECT id FROM search_docs WHERE visitor_id = old.id);
    DELETE FROM search_docs WHERE visitor_id = old.id;
    INSERT INTO search_docs (workspace_id, visitor_id)
        SELECT new.workspace_id, new.id WHERE new.name IS NOT NULL OR new.email IS NOT NULL;
    INSERT INTO visitors_fts (rowid, ws, body)
        SELECT last_insert_rowid(), new.workspace_id, coalesce(new.name, '') || ' ' || coalesce(new.email, '')
        WHERE new.name IS NOT NULL OR new.email IS NOT NULL;
END;

CREATE TRIGGER visitors_search_delete AFTER DELETE ON visitors BEGIN
    DELETE FROM visitors_fts WHERE rowid = (SELECT id FROM search_docs WHERE visitor_id = old.id);
    DELETE FROM search_docs WHERE visitor_id = old.id;
END;

-- What was stored before: oldest first, so the order of ids holds.
INSERT INTO search_docs (workspace_id, message_id)
    SELECT workspace_id, id FROM messages WHERE kind IN ('reply', 'comment') ORDER BY id;
INSERT INTO search_docs (workspace_id, visitor_id)
    SELECT workspace_id, id FROM visitors WHERE name IS NOT NULL OR email IS NOT NULL ORDER BY created_at, id;
INSERT INTO messages_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, m.body FROM search_docs d JOIN messages m ON m.id = d.message_id;
INSERT INTO visitors_fts (rowid, ws, body)
    SELECT d.id, d.workspace_id, coalesce(v.name, '') || ' ' || coalesce(v.email, '')
    FROM search_docs d JOIN visitors v ON v.id = d.visitor_id;
