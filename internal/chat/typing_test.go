package chat

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
	"github.com/parleychat/parley/internal/token"
)

// recorder is a Publisher that keeps what was published.
type recorder struct {
	mu       sync.Mutex
	agents   []realtime.Event
	visitors map[string][]map[string]any
}

func (r *recorder) ToAgents(_ string, frame []byte) {
	var ev struct {
		Type realtime.EventType `json:"type"`
		Data json.RawMessage    `json:"data"`
		By   string             `json:"by"`
		Auto bool               `json:"auto"`
	}
	_ = json.Unmarshal(frame, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.agents = append(r.agents, realtime.Event{Type: ev.Type, Data: ev.Data, By: ev.By, Auto: ev.Auto})
}

func (r *recorder) ToVisitor(id string, frame []byte) {
	var f map[string]any
	_ = json.Unmarshal(frame, &f)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.visitors == nil {
		r.visitors = map[string][]map[string]any{}
	}
	r.visitors[id] = append(r.visitors[id], f)
}

func (r *recorder) ToWidgets(string, []byte)       {}
func (r *recorder) Revoke(realtime.Revocation) int { return 0 }
func (r *recorder) typing() (out []VisitorTypingData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.agents {
		if ev.Type == realtime.VisitorTyping {
			var d VisitorTypingData
			_ = json.Unmarshal(ev.Data.(json.RawMessage), &d)
			out = append(out, d)
		}
	}
	return out
}

// typingFixture is a service on a fresh SQLite database with a fake clock,
// a workspace, an agent and a visitor who has a website conversation.
type typingFixture struct {
	svc   *Service
	path  string // the SQLite file
	pub   *recorder
	now   *time.Time
	ws    model.Workspace
	agent model.Agent
	v     model.Visitor
	conv  string
}

func newTypingFixture(t *testing.T) *typingFixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	db := openSQLite(t, path)
	err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := &typingFixture{pub: &recorder{}, now: &now, path: path}
	f.svc = New(db, f.pub, token.NewSigner([]byte("test-secret-0123456789abcdef")), Options{Now: func() time.Time { return *f.now }})
	if f.ws, err = f.svc.CreateWorkspace(ctx, "Acme"); err != nil {
		t.Fatal(err)
	}
	if f.agent, err = f.svc.CreateAgent(ctx, f.ws.ID, "ann@example.com", "Ann", "password123", model.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	sess, err := f.svc.Session(ctx, f.ws.SiteKey, "", "", nil, SessionLanguage{}, SessionContext{})
	if err != nil {
		t.Fatal(err)
	}
	f.v = sess.Visitor
	// Agents are offline and the contact form is demanded then: give the
	// visitor an email so they may write.
	if _, err := f.svc.SubmitContact(ctx, f.v.ID, Contact{Email: "vera@example.com"}); err != nil {
		t.Fatal(err)
	}
	m, err := f.svc.VisitorSend(ctx, f.v.ID, "Hello", "c1", model.MsgChannelWidget)
	if err != nil {
		t.Fatal(err)
	}
	f.conv = m.ConversationID
	return f
}

func (f *typingFixture) advance(d time.Duration) { *f.now = f.now.Add(d) }

func TestVisitorTypingThrottle(t *testing.T) {
	f := newTypingFixture(t)
	ctx := context.Background()
	draft := func(s string) *string { return &s }
	// Ten frames in the same instant: the burst of two goes through.
	for i := range 10 {
		if err := f.svc.VisitorTyping(ctx, f.v.Key(), draft(strings.Repeat("a", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.pub.typing()); got != typingBurst {
		t.Fatalf("%d typing events in one instant, want %d", got, typingBurst)
	}
	// Then one a second, and no more: 20 frames in 10 seconds, every half second.
	for range 20 {
		f.advance(500 * time.Millisecond)
		if err := f.svc.VisitorTyping(ctx, f.v.Key(), draft("more")); err != nil {
			t.Fatal(err)
		}
	}
	got := f.pub.typing()
	if len(got) != typingBurst+10 {
		t.Fatalf("%d typing events after 10 s of frames every 0.5 s, want %d", len(got), typingBurst+10)
	}
	if got[0].ConversationID != f.conv || got[0].Preview == nil || *got[0].Preview != "a" {
		t.Fatalf("first event %+v", got[0])
	}
}

func TestVisitorTypingPreview(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("é", MaxTypingPreview)
	tests := []struct {
		name    string
		preview *string
		setting bool
		want    *string
		code    string
	}{
		{"draft shown", &long, true, &long, ""},
		{"no preview sent", nil, true, nil, ""},
		{"empty preview", new(string), true, nil, ""},
		{"previews turned off", &long, false, nil, ""},
		{"too long", ptr(long + "x"), true, nil, CodeBadRequest},
		{"not UTF-8", ptr("bad \xff"), true, nil, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTypingFixture(t)
			if _, err := f.svc.UpdateSettings(ctx, f.ws.ID, SettingsPatch{TypingPreview: &tt.setting}); err != nil {
				t.Fatal(err)
			}
			err := f.svc.VisitorTyping(ctx, f.v.Key(), tt.preview)
			if ErrorCode(err) != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			got := f.pub.typing()
			if tt.code != "" {
				if len(got) != 0 {
					t.Fatalf("refused frame published %v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d events", len(got))
			}
			if (got[0].Preview == nil) != (tt.want == nil) || (tt.want != nil && *got[0].Preview != *tt.want) {
				t.Fatalf("preview %v, want %v", got[0].Preview, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestAgentTyping(t *testing.T) {
	f := newTypingFixture(t)
	ctx := context.Background()
	for range 5 {
		if err := f.svc.AgentTyping(ctx, f.agent, f.conv); err != nil {
			t.Fatal(err)
		}
	}
	f.advance(time.Second)
	if err := f.svc.AgentTyping(ctx, f.agent, f.conv); err != nil {
		t.Fatal(err)
	}
	var typing int
	for _, fr := range f.pub.visitors[f.v.ID] {
		if fr["type"] == string(realtime.FrameTyping) {
			typing++
			if a, _ := fr["agent"].(map[string]any); a["name"] != "Ann" {
				t.Fatalf("typing frame %v", fr)
			}
		}
	}
	if typing != typingBurst+1 {
		t.Fatalf("%d typing frames, want %d", typing, typingBurst+1)
	}
	other, err := f.svc.CreateWorkspace(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := f.svc.CreateAgent(ctx, other.ID, "sam@example.com", "Sam", "password123", model.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AgentTyping(ctx, stranger, f.conv); ErrorCode(err) != CodeNotFound {
		t.Fatalf("another workspace's conversation: %v", err)
	}
}
