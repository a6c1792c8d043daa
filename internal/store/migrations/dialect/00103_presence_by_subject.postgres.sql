-- A node's presence rows are keyed by their subject first: the key is the
-- index the lookups by visitor or agent read, and the index by subject
-- beside it goes (one index written per connection instead of two).
-- Removing a node's rows (it stopped, or died) reads the whole table, which
-- holds only the connections open now.
ALTER TABLE presence DROP CONSTRAINT presence_pkey;
ALTER TABLE presence ADD PRIMARY KEY (kind, subject_id, node_id);
DROP INDEX presence_subject;
