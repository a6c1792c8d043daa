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
