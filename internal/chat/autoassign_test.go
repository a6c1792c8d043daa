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

// An agent set offline by the away timer is online again when a dashboard
// of theirs opens: the conversation that waited meanwhile is handed out to
// them then, and their dashboards are told it was automatic.
func TestHandOutWhenADashboardOpens(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	ann, err := f.svc.SetAgentStatus(ctx, f.agent, model.StatusOnline)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.setAway(ctx, ann, "away in a test")
	on, limit := true, 5
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{AutoAssign: &on, AutoAssignLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	f.svc.serveHandOuts(ctx)
	assignee := func() *model.Assignee {
		t.Helper()
		c, err := f.svc.Conversation(ctx, f.agent, f.conv)
		if err != nil {
			t.Fatal(err)
		}
		return c.Assignee
	}
	if a := assignee(); a != nil {
		t.Fatalf("given to %s while nobody was online", a.Name)
	}
	f.svc.AgentConnected(ctx, ann.ID)
	if a := assignee(); a != nil {
		t.Fatalf("given to %s at once, in the dashboard's own request", a.Name)
	}
	f.svc.serveHandOuts(ctx)
	if a := assignee(); a == nil || a.ID != ann.ID {
		t.Fatalf("after Ann's dashboard opened: %+v, want Ann", a)
	}
	f.pub.mu.Lock()
	defer f.pub.mu.Unlock()
	auto := false
	for _, ev := range f.pub.agents {
		auto = auto || ev.Type == realtime.ConversationUpdated && ev.Auto
	}
	if !auto {
		t.Error("no conversation.updated marked auto")
	}
}

// A hand-out asked for while a bulk change holds its workspace waits for
// the release, and requests meanwhile are one.
func TestHandOutsHeld(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	on, limit := true, 5
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{AutoAssign: &on, AutoAssignLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	release := f.svc.HoldHandOuts(f.ws.ID)
	if _, err := f.svc.SetAgentStatus(ctx, f.agent, model.StatusOnline); err != nil {
		t.Fatal(err)
	}
	f.svc.requestHandOut(f.ws.ID)
	if !f.svc.HandOutsIdle() {
		t.Error("a held hand-out counted as pending")
	}
	f.svc.serveHandOuts(ctx)
	if c, err := f.svc.Conversation(ctx, f.agent, f.conv); err != nil || c.Assignee != nil {
		t.Fatalf("while held: %+v, %v; want nobody's", c.Assignee, err)
	}
	release()
	release() // twice is once
	if f.svc.HandOutsIdle() {
		t.Error("released, the hand-out is not pending")
	}
	f.svc.serveHandOuts(ctx)
	if c, err := f.svc.Conversation(ctx, f.agent, f.conv); err != nil || c.Assignee == nil || c.Assignee.ID != f.agent.ID {
		t.Fatalf("released: %+v, %v; want Ann's", c.Assignee, err)
	}
	if !f.svc.HandOutsIdle() {
		t.Error("served, still pending")
	}
}
