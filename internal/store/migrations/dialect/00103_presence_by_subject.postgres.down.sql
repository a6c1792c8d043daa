ALTER TABLE presence DROP CONSTRAINT presence_pkey;
ALTER TABLE presence ADD PRIMARY KEY (node_id, kind, subject_id);
CREATE INDEX presence_subject ON presence (kind, subject_id);
