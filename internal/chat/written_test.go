package chat

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/parleychat/parley/internal/model"
)

// writtenRecorder is an Evaluator that keeps what ConversationWritten was
// told: the conversation, and its workspace's id ("" when none was given).
type writtenRecorder struct {
	noEvaluator
	mu   sync.Mutex
	told [][2]string
}

func (r *writtenRecorder) ConversationWritten(c model.Conversation, w *model.Workspace) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ws := ""
	if w != nil {
		ws = w.ID
	}
	r.told = append(r.told, [2]string{c.ID, ws})
}

func (r *writtenRecorder) take() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.told
	r.told = nil
	return out
}

// On SQLite an agent's reply and a visitor's message tell the forwarding
// engine the conversation and the workspace their transaction read, so
// that it reads neither again; an internal comment tells nothing, a
// resent message (same client id) neither.
func TestWrittenToTheEngine(t *testing.T) {
	ctx := context.Background()
	f := newTypingFixture(t)
	rec := &writtenRecorder{}
	f.svc.SetEvaluator(rec)
	both := [][2]string{{f.conv, f.ws.ID}}
	tests := []struct {
		name string
		do   func() error
		want [][2]string
	}{
		{"an agent's reply", func() error {
			_, err := f.svc.PostMessage(ctx, f.agent, f.conv, "It ships today.", model.KindReply)
			return err
		}, both},
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
		if err := tt.do(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := rec.take(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: told %v, want %v", tt.name, got, tt.want)
		}
	}
}
