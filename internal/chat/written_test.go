package chat

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
)

// writtenRecorder is an Evaluator that keeps what ConversationWritten was
// told: the conversation, and its workspace's id ("" when none was given).
type writtenRecorder struct {
	noEvaluator
	mu    sync.Mutex
	told  [][2]string
	convs []model.Conversation // as told, for a look at the stored ones
}

func (r *writtenRecorder) ConversationWritten(c model.Conversation, w *model.Workspace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := ""
	if w != nil {
		ws = w.ID
	}
	r.told = append(r.told, [2]string{c.ID, ws})
	r.convs = append(r.convs, c)
}

// checkStored fails t for each conversation told since the last call that
// is not the one stored: a transaction that derives the conversation its
// writes leave must derive what a read finds.
func (r *writtenRecorder) checkStored(t *testing.T, f *typingFixture, step string) {
	t.Helper()
	r.mu.Lock()
	convs := r.convs
	r.convs = nil
	r.mu.Unlock()
	for _, c := range convs {
		stored, err := f.svc.db.ConversationByID(context.Background(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, stored) {
			t.Errorf("%s: the engine was told\n%+v\nwhere the database holds\n%+v", step, c, stored)
		}
	}
}

// anonymousConversation is the conversation a new visitor who gave no
// address starts with a message (the contact form is no longer demanded
// for it).
func (f *typingFixture) anonymousConversation(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{ContactForm: &ContactFormPatch{OfflineRequiresForm: new(false)}}); err != nil {
		t.Fatal(err)
	}
	sess, err := f.svc.Session(ctx, f.ws.SiteKey, "", "", nil, SessionLanguage{}, SessionContext{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.svc.VisitorSend(ctx, sess.Visitor.ID, "Hi", "a1", model.MsgChannelWidget)
	if err != nil {
		t.Fatal(err)
	}
	return m.ConversationID
}

func (r *writtenRecorder) take() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.told
	r.told = nil
	return out
}

// On SQLite an agent's reply and a visitor's message tell the forwarding
// engine the conversation their transaction read, so that it does not read
// it again; with the workspace when the engine can settle the change from
// them (forward.SettlesWritten: a message of an anonymous visitor's
// conversation, whose transaction records the decision itself) or the
// transaction read it anyway (a visitor's message). An internal comment
// tells nothing, a resent message (same client id) neither.
func TestWrittenToTheEngine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	rec := &writtenRecorder{}
	f.svc.SetEvaluator(rec)
	both := [][2]string{{f.conv, f.ws.ID}}

	// An anonymous visitor's conversation: its first message records the
	// decision, with no engine running.
	anon := f.anonymousConversation(t)
	recorded := func(t *testing.T) {
		t.Helper()
		c, err := f.svc.db.ConversationByID(ctx, anon)
		if err != nil {
			t.Fatal(err)
		}
		if c.Forwarding == nil || c.Forwarding.Code != string(forward.CodeNotIdentified) {
			t.Errorf("forwarding state %+v, want %s recorded", c.Forwarding, forward.CodeNotIdentified)
		}
	}
	recorded(t)
	if got, want := rec.take(), [][2]string{{anon, f.ws.ID}}; !slices.Equal(got, want) {
		t.Errorf("the first message: told %v, want %v", got, want)
	}
	reply := func(conv string) func() error {
		return func() error {
			_, err := f.svc.PostMessage(ctx, f.agent, conv, "It ships today.", model.KindReply)
			return err
		}
	}
	tests := []struct {
		name string
		do   func() error
		want [][2]string
	}{
		{"a reply to an identified visitor", reply(f.conv), [][2]string{{f.conv, ""}}},
		{"a reply to an anonymous visitor", reply(anon), [][2]string{{anon, f.ws.ID}}},
		{"a reply with no decision recorded", func() error {
			if err := f.svc.db.SetForwardState(ctx, anon, model.Forwarding{}); err != nil {
				return err
			}
			return reply(anon)()
		}, [][2]string{{anon, f.ws.ID}}},
		{"a long reply reopening a closed conversation", func() error {
			if _, err := f.svc.SetConversationStatus(ctx, f.agent, anon, "closed"); err != nil {
				return err
			}
			_, err := f.svc.PostMessage(ctx, f.agent, anon, strings.Repeat("It ships today, from Oslo. ", 10), model.KindReply)
			return err
		}, [][2]string{{anon, f.ws.ID}}},
		{"an internal comment", func() error {
			_, err := f.svc.PostMessage(ctx, f.agent, f.conv, "Check the courier.", model.KindComment)
			return err
		}, nil},
		{"a visitor's message", func() error {
			_, err := f.svc.VisitorSend(ctx, f.v.ID, "Thanks!", "c2", model.MsgChannelWidget)
			return err
		}, both},
		{"the same message resent", func() error {
			_, err := f.svc.VisitorSend(ctx, f.v.ID, "Thanks!", "c2", model.MsgChannelWidget)
			return err
		}, nil},
	}
	for _, tt := range tests {
		*f.now = f.now.Add(time.Minute)
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		rec.checkStored(t, f, tt.name)
		if got := rec.take(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: told %v, want %v", tt.name, got, tt.want)
		}
		recorded(t)
	}
}
