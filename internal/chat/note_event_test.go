package chat

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// The system notes of the changes that reach no receiver in the webhook
// package's tests (an email answer or a Messenger message reopening a
// conversation, a visitor's file refused for the quota) are queued for
// webhooks as message.created, a note before the conversation.updated of
// its change.
func TestSystemNotesQueuedForWebhooks(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	if _, _, err := f.svc.CreateWebhook(ctx, f.agent, "https://93.184.215.14/hook", []string{"message.created", "conversation.updated"}); err != nil {
		t.Fatal(err)
	}
	messenger, _, err := f.svc.ReceiveChannelMessage(ctx, ChannelMessage{WorkspaceID: f.ws.ID, Channel: model.ChannelMessenger,
		ExternalID: "psid-1", MessageID: "mid-1", Body: "Hi"})
	if err != nil {
		t.Fatal(err)
	}
	const msg, updated = "message.created: ", "conversation.updated: "
	closed := func(conv string) {
		t.Helper()
		if _, err := f.svc.SetConversationStatus(ctx, f.agent, conv, "closed"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		conv string
		do   func() error
		want []string
	}{
		{"an email answer reopening", f.conv, func() error {
			closed(f.conv)
			_, err := f.svc.EmailReply(ctx, f.conv, EmailAnswer{ClientID: "mail-1", FromAddress: "vera@example.com", Text: "Thanks, and another thing"})
			return err
		}, []string{msg + "Ann closed the conversation.", updated + "closed", msg + "Thanks, and another thing",
			msg + "The visitor answered by email: the conversation is open again.", updated + "open"}},
		{"a Messenger message reopening", messenger.ConversationID, func() error {
			closed(messenger.ConversationID)
			_, _, err := f.svc.ReceiveChannelMessage(ctx, ChannelMessage{WorkspaceID: f.ws.ID, Channel: model.ChannelMessenger,
				ExternalID: "psid-1", MessageID: "mid-2", Body: "Me again"})
			return err
		}, []string{msg + "Ann closed the conversation.", updated + "closed", msg + "Me again",
			msg + "The visitor wrote again: the conversation is open again.", updated + "open"}},
		{"a file refused for the quota", f.conv, func() error {
			f.svc.noteQuota(ctx, f.v, "A file from the visitor was refused.")
			return nil
		}, []string{msg + "A file from the visitor was refused."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(queuedEvents(t, f, tt.conv))
			f.advance(time.Minute)
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			got := queuedEvents(t, f, tt.conv)[before:]
			if !slices.Equal(got, tt.want) {
				t.Errorf("queued\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

// queuedEvents returns the webhook events queued for a conversation, in
// order, as "type: body" of a message or "type: status" of the
// conversation.
func queuedEvents(t *testing.T, f *typingFixture, conv string) []string {
	t.Helper()
	rows, err := f.svc.db.SQL.Query(`SELECT type, body FROM webhook_events WHERE conversation_id = ? ORDER BY id`, conv)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, body string
		if err := rows.Scan(&typ, &body); err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Data struct {
				Body   string `json:"body"`
				Status string `json:"status"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(body), &ev); err != nil {
			t.Fatal(err)
		}
		if typ == "message.created" {
			out = append(out, typ+": "+ev.Data.Body)
		} else {
			out = append(out, typ+": "+ev.Data.Status)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
