package chat

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// TestReplyEventIsTheConversation: the conversation.updated event of an
// agent's reply is the conversation as an agent reads it after the reply:
// for an identified visitor's conversation that the reply claims, for a
// closed one that it reopens, and for an anonymous visitor's, whose
// forwarding decision the reply's transaction records.
func TestReplyEventIsTheConversation(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	anon := f.anonymousConversation(t)
	tests := []struct {
		name    string
		conv    string
		prepare func() error
	}{
		{"an identified visitor's, claimed", f.conv, nil},
		{"a closed one, reopened", f.conv, func() error {
			_, err := f.svc.SetConversationStatus(ctx, f.agent, f.conv, "closed")
			return err
		}},
		{"an anonymous visitor's, with no decision recorded", anon, func() error {
			return f.svc.db.SetForwardState(ctx, anon, model.Forwarding{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.prepare != nil {
				if err := tt.prepare(); err != nil {
					t.Fatal(err)
				}
			}
			f.pub.mu.Lock()
			f.pub.agents = nil
			f.pub.mu.Unlock()
			if _, err := f.svc.PostMessage(ctx, f.agent, tt.conv, "It ships today.", model.KindReply); err != nil {
				t.Fatal(err)
			}
			var got any
			f.pub.mu.Lock()
			for _, ev := range f.pub.agents {
				if ev.Type == realtime.ConversationUpdated {
					_ = json.Unmarshal(ev.Data.(json.RawMessage), &got)
				}
			}
			f.pub.mu.Unlock()
			c, err := f.svc.Conversation(ctx, f.agent, tt.conv)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(c)
			var want any
			_ = json.Unmarshal(raw, &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("conversation.updated\n got %v\nwant %v", got, want)
			}
		})
	}
}
