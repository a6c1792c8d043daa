-- Three indexes no query reads, which every write kept up to date.
-- conversations_workspace (workspace_id, last_message_at) moved with every
-- message (the list is ordered by activity_id, the search by
-- conversations_visitor_activity): one page of write-ahead log a reply and
-- a visitor's message spent on it. The few counts that read it by
-- workspace alone read another index that starts with the workspace (the
-- assignee counts now from the index alone). conversations_visitor
-- (visitor_id) is the first column of conversations_visitor_activity, which
-- serves every lookup by visitor. visitors_workspace (workspace_id): on
-- SQLite a visitor is looked up by its id, address, user or external id,
-- and found by the search through its full-text table, never by its
-- workspace alone; every new visitor wrote a page of it.
DROP INDEX conversations_workspace;
DROP INDEX conversations_visitor;
DROP INDEX visitors_workspace;
