CREATE INDEX conversations_workspace ON conversations (workspace_id, last_message_at);
CREATE INDEX conversations_visitor ON conversations (visitor_id);
CREATE INDEX visitors_workspace ON visitors (workspace_id);
