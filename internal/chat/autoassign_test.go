package chat

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/worker"
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
// them then, and their dashboards are told it was automatic. (No worker
// runs here, as in a command of the command line: the request serves it.)
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
	if a := f.assignee(t); a != nil {
		t.Fatalf("given to %s while nobody was online", a.Name)
	}
	f.svc.AgentConnected(ctx, ann.ID)
	if a := f.assignee(t); a == nil || a.ID != ann.ID {
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

// Removing an agent from the command line, where no worker runs, hands
// out their conversations there and then.
func TestHandOutWithoutAWorker(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	bob, err := f.svc.CreateAgent(ctx, f.ws.ID, "bob@example.com", "Bob", "password123", model.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	on, limit := true, 5
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{AutoAssign: &on, AutoAssignLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Assign(ctx, f.agent, f.conv, &bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetAgentStatus(ctx, f.agent, model.StatusOnline); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RemoveAgentByEmail(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	if a := f.assignee(t); a == nil || a.ID != f.agent.ID {
		t.Fatalf("Bob's conversation after his removal: %+v, want Ann's", a)
	}
	if !f.svc.HandOutsIdle() {
		t.Error("a hand-out left pending")
	}
}

// A hand-out asked for while a bulk change holds its workspace waits for
// the release; the worker serves it then.
func TestHandOutsHeld(t *testing.T) {
	f := newTypingFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := worker.New(worker.Config{Name: "hand-outs", Work: f.svc.ServeHandOuts})
	stopped := make(chan struct{})
	go func() { defer close(stopped); w.Run(ctx) }()
	defer func() { cancel(); <-stopped }()
	f.svc.HandOutsServedBy(w.Kick)
	on, limit := true, 5
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{AutoAssign: &on, AutoAssignLimit: &limit}); err != nil {
		t.Fatal(err)
	}
	release := f.svc.HoldHandOuts(ctx, f.ws.ID)
	if _, err := f.svc.SetAgentStatus(ctx, f.agent, model.StatusOnline); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // time for the worker to be wrong
	if !f.svc.HandOutsIdle() {
		t.Error("a held hand-out counted as pending")
	}
	if a := f.assignee(t); a != nil {
		t.Fatalf("handed out to %s while held", a.Name)
	}
	release()
	release() // twice is once
	deadline := time.Now().Add(10 * time.Second)
	for f.assignee(t) == nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if a := f.assignee(t); a == nil || a.ID != f.agent.ID {
		t.Fatalf("released: %+v, want Ann's", a)
	}
}

// assignee is who has the fixture's conversation.
func (f *typingFixture) assignee(t *testing.T) *model.Assignee {
	t.Helper()
	c, err := f.svc.Conversation(context.Background(), f.agent, f.conv)
	if err != nil {
		t.Fatal(err)
	}
	return c.Assignee
}
