-- A node's presence rows are keyed by their subject first: the key is the
-- index the lookups by visitor or agent read, and the table is one b-tree
-- without rowid. A widget opening wrote three pages of write-ahead log for
-- its row (the table by rowid, its key, the index by subject); now one.
-- Removing a node's rows (it stopped, or died) reads the whole table, which
-- holds only the connections open now.
CREATE TABLE presence_by_subject (
    node_id    TEXT NOT NULL,
    kind       TEXT NOT NULL, -- 'visitor' or 'agent'
    subject_id TEXT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (kind, subject_id, node_id)
) WITHOUT ROWID;
INSERT INTO presence_by_subject (node_id, kind, subject_id, since)
    SELECT node_id, kind, subject_id, since FROM presence;
DROP TABLE presence;
ALTER TABLE presence_by_subject RENAME TO presence;
