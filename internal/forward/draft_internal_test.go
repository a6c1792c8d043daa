package forward

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
	"github.com/parleychat/parley/internal/token"
)

// TestDraftTakenOnlyWhenNothingChanged: an email composed before the
// locked evaluation is queued as it is when the conversation is as it was,
// and never when something changed in between: the evaluation then
// decides again from what it reads.
func TestDraftTakenOnlyWhenNothingChanged(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, db *store.DB, f draftFixture)
		want   string // "draft", "fresh" (another email) or "none"
	}{
		{"nothing changed", func(*testing.T, *store.DB, draftFixture) {}, "draft"},
		{"another reply", func(t *testing.T, db *store.DB, f draftFixture) {
			f.reply(t, db, "One more thing: it ships in blue.")
		}, "fresh"},
		{"the visitor read the reply", func(t *testing.T, db *store.DB, f draftFixture) {
			if _, err := db.MarkReadByVisitor(context.Background(), f.conv.ID, f.replyID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "none"},
		{"the visitor came back", func(t *testing.T, db *store.DB, f draftFixture) {
			// Every agent is offline: still emailed, but not the draft
			// composed while the visitor was away.
			if _, _, err := db.SetVisitorOnline(context.Background(), f.conv.Visitor.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "fresh"},
		{"the address was recorded meanwhile", func(t *testing.T, db *store.DB, f draftFixture) {
			// Another row id than the one the draft's unsubscribe link names.
			if _, err := db.EnsureEmailAddress(context.Background(), f.conv.WorkspaceID, *f.conv.Visitor.Email, time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "fresh"},
		{"the address unsubscribed", func(t *testing.T, db *store.DB, f draftFixture) {
			if _, err := db.StopEmailAddress(context.Background(), f.conv.WorkspaceID, *f.conv.Visitor.Email,
				model.EmailUnsubscribed, model.EmailStatusByUnsubscribe, "", time.Now()); err != nil {
				t.Fatal(err)
			}
		}, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			db := migratedDB(t)
			f := newDraftFixture(t, db)
			e := newDraftEngine(db)
			dr := e.draft(ctx, f.conv.ID, newWorkspaceCache())
			if dr == nil {
				t.Fatal("no draft for a due conversation")
			}
			tt.change(t, db, f)
			if _, err := e.evaluate(ctx, f.conv.ID, newWorkspaceCache(), dr); err != nil {
				t.Fatal(err)
			}
			emails := queuedEmails(t, db, f.conv.ID)
			got := "none"
			switch {
			case len(emails) > 1:
				t.Fatalf("%d emails queued", len(emails))
			case len(emails) == 1 && emails[0].ID == dr.email.ID && bytes.Equal(emails[0].Raw, dr.email.Raw):
				got = "draft"
			case len(emails) == 1:
				got = "fresh"
				if tt.name == "another reply" && !strings.Contains(string(emails[0].Raw), "ships in blue") {
					t.Errorf("the email lacks the reply written after the draft")
				}
			}
			if got != tt.want {
				t.Errorf("queued %s, want %s", got, tt.want)
			}
		})
	}
}

func newDraftEngine(db *store.DB) *Engine {
	return NewEngine(db, token.NewSigner([]byte("draft-test-secret-0123456789")), nil, EngineOptions{
		Timings: DefaultTimings, PublicURL: "https://chat.example.com", MailFrom: "chat@example.com", InboundDomain: "reply.example.com",
	})
}

type draftFixture struct {
	conv    model.Conversation
	replyID string
}

// newDraftFixture stores an identified visitor who left an hour ago with
// one unread agent reply: due now.
func newDraftFixture(t *testing.T, db *store.DB) draftFixture {
	t.Helper()
	ctx := context.Background()
	left := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	email := "vera@example.com"
	w := model.Workspace{ID: model.NewID(), Name: "Shop", SiteKey: model.NewID(), TimeZone: "UTC",
		Settings: model.DefaultSettings(), AgentsUnavailableSince: &left, CreatedAt: left}
	v := model.Visitor{ID: model.NewID(), WorkspaceID: w.ID, Email: &email, EmailStatus: model.EmailOK,
		LeftAt: &left, LastActiveAt: &left, CreatedAt: left}
	c := model.Conversation{ID: model.NewID(), WorkspaceID: w.ID, Visitor: v, Status: "open",
		Channel: model.ChannelWebsite, CreatedAt: left, LastMessageAt: left}
	for _, err := range []error{db.CreateWorkspace(ctx, w), db.CreateVisitor(ctx, v), db.CreateConversation(ctx, c)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	f := draftFixture{conv: c}
	f.replyID = f.reply(t, db, "Your order shipped today.")
	return f
}

// reply stores an agent reply written an hour ago and returns its id.
func (f draftFixture) reply(t *testing.T, db *store.DB, body string) string {
	t.Helper()
	name := "Ann"
	m := model.Message{ID: model.NewID(), WorkspaceID: f.conv.WorkspaceID, ConversationID: f.conv.ID,
		Author: model.Author{Kind: model.AuthorAgent, Name: &name}, Kind: model.KindReply, Channel: "dashboard",
		Body: body, CreatedAt: time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)}
	if err := db.CreateMessage(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func queuedEmails(t *testing.T, db *store.DB, conversationID string) []store.Email {
	t.Helper()
	batch, err := db.ClaimEmails(context.Background(), "test", time.Now().Add(time.Hour), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Email
	for _, e := range batch {
		if e.ConversationID == conversationID {
			out = append(out, e)
		}
	}
	return out
}
