package chat

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

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

// A visitor who writes to a closed conversation, in the widget or by
// answering an email, reopens it with a line for agents saying so; a
// message to an open conversation leaves none.
func TestVisitorMessageReopeningLeavesALine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	tests := []struct {
		name  string
		close bool
		write func() error
		want  string // "" for no line
	}{
		{"widget, open", false, func() error {
			_, err := f.svc.VisitorSend(ctx, f.v.ID, "Still there?", "c2", model.MsgChannelWidget)
			return err
		}, ""},
		{"widget, closed", true, func() error {
			_, err := f.svc.VisitorSend(ctx, f.v.ID, "One more question", "c3", model.MsgChannelWidget)
			return err
		}, "The visitor wrote again: the conversation is open again."},
		{"email answer, closed", true, func() error {
			_, err := f.svc.EmailReply(ctx, f.conv, EmailAnswer{ClientID: "mail-1", FromAddress: "vera@example.com", Text: "Thanks, and another thing"})
			return err
		}, "The visitor answered by email: the conversation is open again."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.close {
				if _, err := f.svc.SetConversationStatus(ctx, f.agent, f.conv, "closed"); err != nil {
					t.Fatal(err)
				}
			}
			f.advance(time.Minute)
			f.pub.mu.Lock()
			f.pub.agents = nil
			f.pub.mu.Unlock()
			if err := tt.write(); err != nil {
				t.Fatal(err)
			}
			var told []string
			f.pub.mu.Lock()
			for _, ev := range f.pub.agents {
				var m model.Message
				if ev.Type == realtime.MessageCreated && json.Unmarshal(ev.Data.(json.RawMessage), &m) == nil && m.Kind == model.KindEvent {
					told = append(told, m.Body)
				}
			}
			f.pub.mu.Unlock()
			all, err := f.svc.db.Messages(ctx, f.agent.WorkspaceID, f.conv, false)
			if err != nil {
				t.Fatal(err)
			}
			last := all[len(all)-1]
			if tt.want == "" {
				if len(told) != 0 || last.Kind == model.KindEvent {
					t.Errorf("told %q, last stored %q: want no line", told, last.Body)
				}
				return
			}
			if len(told) != 1 || told[0] != tt.want {
				t.Errorf("told %q, want %q", told, tt.want)
			}
			if last.Kind != model.KindEvent || last.Body != tt.want || all[len(all)-2].Author.Kind != model.AuthorVisitor {
				t.Errorf("stored last %q after %q, want the line after the visitor's message", last.Body, all[len(all)-2].Body)
			}
			c, err := f.svc.db.ConversationByID(ctx, f.conv)
			if err != nil || c.Status != "open" {
				t.Errorf("conversation %q (%v), want open", c.Status, err)
			}
		})
	}
}

// A Messenger conversation closed by an agent reopens with the same line
// when the person writes again.
func TestChannelMessageReopeningLeavesALine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	in := ChannelMessage{WorkspaceID: f.ws.ID, Channel: model.ChannelMessenger, ExternalID: "psid-1", MessageID: "mid-1", Body: "Hi"}
	first, _, err := f.svc.ReceiveChannelMessage(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetConversationStatus(ctx, f.agent, first.ConversationID, "closed"); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	in.MessageID, in.Body = "mid-2", "Me again"
	if _, _, err := f.svc.ReceiveChannelMessage(ctx, in); err != nil {
		t.Fatal(err)
	}
	all, err := f.svc.db.Messages(ctx, f.ws.ID, first.ConversationID, false)
	if err != nil {
		t.Fatal(err)
	}
	const want = "The visitor wrote again: the conversation is open again."
	if last := all[len(all)-1]; last.Kind != model.KindEvent || last.Body != want {
		t.Errorf("last stored %q, want %q", last.Body, want)
	}
}

// An agent's reply to a closed conversation reopens it with a line saying
// who did; a note, which reopens nothing, leaves none.
func TestReplyReopeningLeavesALine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	if _, err := f.svc.SetConversationStatus(ctx, f.agent, f.conv, "closed"); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	if _, err := f.svc.PostMessage(ctx, f.agent, f.conv, "A note, for us", model.KindComment); err != nil {
		t.Fatal(err)
	}
	f.advance(time.Minute)
	if _, err := f.svc.PostMessage(ctx, f.agent, f.conv, "One more thing", model.KindReply); err != nil {
		t.Fatal(err)
	}
	all, err := f.svc.db.Messages(ctx, f.agent.WorkspaceID, f.conv, false)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		got = append(got, m.Body)
	}
	want := []string{"Hello", f.agent.Name + " closed the conversation.", "A note, for us", "One more thing", f.agent.Name + " reopened the conversation by replying."}
	if !slices.Equal(got, want) {
		t.Errorf("conversation %q, want %q", got, want)
	}
}
