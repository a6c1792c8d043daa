-- +goose Up
-- The widget's look (colour, side, greeting, away note) and the language a
-- workspace speaks to visitors whose language is not known; the language
-- the widget speaks to a visitor (one of Parley's, resolved when the widget
-- starts), which forwarded emails are written in.
ALTER TABLE workspaces ADD COLUMN widget_color TEXT NOT NULL DEFAULT '#2563eb';
ALTER TABLE workspaces ADD COLUMN widget_position TEXT NOT NULL DEFAULT 'right';
ALTER TABLE workspaces ADD COLUMN widget_greeting TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN widget_away_message TEXT NOT NULL DEFAULT '';
ALTER TABLE workspaces ADD COLUMN default_locale TEXT NOT NULL DEFAULT 'en';
ALTER TABLE visitors ADD COLUMN language TEXT;

-- +goose Down
ALTER TABLE visitors DROP COLUMN language;
ALTER TABLE workspaces DROP COLUMN default_locale;
ALTER TABLE workspaces DROP COLUMN widget_away_message;
ALTER TABLE workspaces DROP COLUMN widget_greeting;
ALTER TABLE workspaces DROP COLUMN widget_position;
ALTER TABLE workspaces DROP COLUMN widget_color;
