CREATE TABLE presence_by_node (
    node_id    TEXT NOT NULL,
    kind       TEXT NOT NULL, -- 'visitor' or 'agent'
    subject_id TEXT NOT NULL,
    since      BIGINT NOT NULL,
    PRIMARY KEY (node_id, kind, subject_id)
);
INSERT INTO presence_by_node (node_id, kind, subject_id, since)
    SELECT node_id, kind, subject_id, since FROM presence;
DROP TABLE presence;
ALTER TABLE presence_by_node RENAME TO presence;
CREATE INDEX presence_subject ON presence (kind, subject_id);
