-- +goose Up
-- What the widget tells about the visitor: their language and time zone,
-- the page they are on now, where they came from, and the browser and
-- operating system read from the User-Agent. NULL while unknown.
ALTER TABLE visitors ADD COLUMN locale TEXT;
ALTER TABLE visitors ADD COLUMN time_zone TEXT;
ALTER TABLE visitors ADD COLUMN referrer TEXT;
ALTER TABLE visitors ADD COLUMN browser TEXT;
ALTER TABLE visitors ADD COLUMN os TEXT;
ALTER TABLE visitors ADD COLUMN page_url TEXT;
ALTER TABLE visitors ADD COLUMN page_title TEXT;
ALTER TABLE visitors ADD COLUMN page_at BIGINT;
-- The pages a visitor went through, newest kept: the store prunes each
-- visitor's rows to the last 50 as it adds one. They go with the visitor.
CREATE TABLE visitor_pages (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    visitor_id   TEXT NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    title        TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX visitor_pages_visitor ON visitor_pages (visitor_id, at);
-- Typing previews (the visitor's draft shown to agents) can be turned off.
ALTER TABLE workspaces ADD COLUMN typing_preview INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE workspaces DROP COLUMN typing_preview;
DROP TABLE visitor_pages;
ALTER TABLE visitors DROP COLUMN page_at;
ALTER TABLE visitors DROP COLUMN page_title;
ALTER TABLE visitors DROP COLUMN page_url;
ALTER TABLE visitors DROP COLUMN os;
ALTER TABLE visitors DROP COLUMN browser;
ALTER TABLE visitors DROP COLUMN referrer;
ALTER TABLE visitors DROP COLUMN time_zone;
ALTER TABLE visitors DROP COLUMN locale;
