-- The two indexes of conversations no query reads (see the SQLite file).
-- visitors_workspace stays: PostgreSQL's visitor search filters a
-- workspace's visitors by it beside the search vector's index, which
-- covers every workspace (without it a small workspace's search read
-- every visitor).
DROP INDEX conversations_workspace;
DROP INDEX conversations_visitor;
