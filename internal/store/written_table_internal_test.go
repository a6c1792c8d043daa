package store

import "testing"

func TestWrittenTable(t *testing.T) {
	tests := []struct {
		q    string
		want string
	}{
		{"INSERT INTO agents (id, name) VALUES (?, ?)", "agents"},
		{"\n\t\tinsert into agent_tokens(token_hash) values (?)", "agent_tokens"},
		{"INSERT OR IGNORE INTO workspaces (id) VALUES (?)", "workspaces"},
		{"UPDATE workspaces SET agents_unavailable_since = ? WHERE id = ?", "workspaces"},
		{"UPDATE OR REPLACE agents SET status = ?", "agents"},
		{"DELETE FROM agent_tokens WHERE agent_id = ?", "agent_tokens"},
		{"UPDATE ONLY public.agents SET status = ?", "agents"},
		{"DELETE FROM ONLY workspaces WHERE id = ?", "workspaces"},
		// Tables named only to be read are not written.
		{"INSERT INTO messages (id, quiet) VALUES (?, (SELECT 1 FROM workspaces WHERE id = ?))", "messages"},
		{"UPDATE conversations SET assignee_id = NULL WHERE assignee_id IN (SELECT id FROM agents)", "conversations"},
		{"SELECT * FROM agents", ""},
		{"DELETE agents", ""},
		{"INSERT agents", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := writtenTable(tt.q); got != tt.want {
			t.Errorf("writtenTable(%q) = %q; want %q", tt.q, got, tt.want)
		}
	}
}

// TestWritesAccounts: a form writtenTable does not parse counts as a write
// of the accounts when it may write and names them.
func TestWritesAccounts(t *testing.T) {
	tests := []struct {
		q    string
		want bool
	}{
		{"UPDATE agents SET status = ?", true},
		{"INSERT INTO messages (quiet) VALUES ((SELECT 1 FROM workspaces))", false},
		{"WITH a AS (SELECT id FROM agents) UPDATE agents SET status = ? WHERE id IN (SELECT id FROM a)", true},
		{`UPDATE "agents" SET status = ?`, true},
		{"/* a comment */ DELETE FROM agent_tokens", true},
		{"REPLACE INTO workspaces (id) VALUES (?)", true},
		{"WITH e AS (UPDATE emails SET status = ? RETURNING id) UPDATE messages SET forwarded_status = ? FROM e", false},
		{"SELECT c.id FROM conversations c LEFT JOIN agents ag ON ag.id = c.assignee_id", false},
		{"WITH v AS (SELECT id FROM visitors) SELECT * FROM v JOIN workspaces w ON true", false},
		{"WITH a AS (SELECT updated_at, deleted FROM agents) SELECT * FROM a", false},
		{"SELECT id FROM agents WHERE status = 'update'", false},
	}
	for _, tt := range tests {
		if got := writesAccounts(tt.q); got != tt.want {
			t.Errorf("writesAccounts(%q) = %v; want %v", tt.q, got, tt.want)
		}
	}
}
