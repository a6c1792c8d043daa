package chat

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// An email answer that reopens a conversation nobody has gives it, as a
// widget message does, once automatic assignment is on.
func TestAutoAssignOnEmailAnswer(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	if _, err := f.svc.SetConversationStatus(ctx, f.agent, f.conv, "closed"); err != nil {
		t.Fatal(err)
	}
	on := true
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{AutoAssign: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetAgentStatus(ctx, f.agent, model.StatusOnline); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EmailReply(ctx, f.conv, EmailAnswer{ClientID: "mail-1", FromAddress: "vera@example.com", Text: "One more question"}); err != nil {
		t.Fatal(err)
	}
	c, err := f.svc.Conversation(ctx, f.agent, f.conv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != "open" || c.Assignee == nil || c.Assignee.ID != f.agent.ID {
		t.Errorf("after the email answer: %s, assignee %+v; want open, Ann's", c.Status, c.Assignee)
	}
	// The dashboards are told the conversation with its assignee.
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	var told *model.Conversation
	for _, ev := range f.pub.agents {
		if ev.Type == realtime.ConversationUpdated {
			var got model.Conversation
			if err := json.Unmarshal(ev.Data.(json.RawMessage), &got); err != nil {
				t.Fatal(err)
			}
			told = &got
		}
	}
	if told == nil || told.Assignee == nil || told.Assignee.ID != f.agent.ID || told.Assignee.Name != "Ann" {
		t.Errorf("last conversation.updated: %+v, want Ann as its assignee", told)
	}
}
