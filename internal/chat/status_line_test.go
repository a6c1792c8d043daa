package chat

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// Closing and reopening a conversation leave a line for agents saying who
// did it, told to the dashboards; asking for the status it has changes
// nothing and says nothing; the visitor sees none of it.
func TestStatusChangeLeavesALine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	tests := []struct {
		status, want string // want: the line, "" for none
	}{
		{"closed", f.agent.Name + " closed the conversation."},
		{"closed", ""},
		{"open", f.agent.Name + " reopened the conversation."},
		{"open", ""},
	}
	var lines []string
	for _, tt := range tests {
		f.pub.mu.Lock()
		f.pub.agents = nil
		f.pub.mu.Unlock()
		if _, err := f.svc.SetConversationStatus(ctx, f.agent, f.conv, tt.status); err != nil {
			t.Fatal(err)
		}
		var told []string
		f.pub.mu.Lock()
		for _, ev := range f.pub.agents {
			var m model.Message
			if ev.Type == realtime.MessageCreated && json.Unmarshal(ev.Data.(json.RawMessage), &m) == nil {
				told = append(told, m.Body)
			}
		}
		f.pub.mu.Unlock()
		if tt.want == "" {
			if len(told) != 0 {
				t.Errorf("set %s again: told %q, want nothing", tt.status, told)
			}
			continue
		}
		lines = append(lines, tt.want)
		if len(told) != 1 || told[0] != tt.want {
			t.Errorf("set %s: told %q, want %q", tt.status, told, tt.want)
		}
	}
	all, err := f.svc.db.Messages(ctx, f.agent.WorkspaceID, f.conv, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		if m.Kind == model.KindEvent && m.Author.Kind == model.AuthorSystem {
			got = append(got, m.Body)
		}
	}
	if !slices.Equal(got, lines) {
		t.Errorf("stored lines %q, want %q", got, lines)
	}
	public, err := f.svc.db.Messages(ctx, f.agent.WorkspaceID, f.conv, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range public {
		if m.Kind != model.KindReply {
			t.Errorf("the visitor sees %+v", m)
		}
	}
}
