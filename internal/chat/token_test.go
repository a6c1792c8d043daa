package chat

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/token"
)

// TestVisitorKeyByToken: a widget connection's check of its token refuses
// what the full check refuses, with the same codes, and names the same
// visitor.
func TestVisitorKeyByToken(t *testing.T) {
	f := newTypingFixture(t)
	ctx := t.Context()
	good := f.svc.visitorToken(f.v)
	other, err := f.svc.Session(ctx, f.ws.SiteKey, "", "", nil, SessionLanguage{}, SessionContext{})
	if err != nil {
		t.Fatal(err)
	}
	// The other visitor's links are reset: its token is of an older generation.
	if _, _, err := f.svc.ResetVisitorLinks(ctx, f.ws.ID, other.Visitor.ID); err != nil {
		t.Fatal(err)
	}
	// Another is erased a moment after its session.
	erased, err := f.svc.Session(ctx, f.ws.SiteKey, "", "", nil, SessionLanguage{}, SessionContext{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EraseVisitor(ctx, f.agent, erased.Visitor.ID); err != nil {
		t.Fatal(err)
	}
	ghost := f.svc.signer.Sign(token.Visitor, "no-such-visitor")
	tests := []struct {
		name, tok string
		wantID    string // "" when refused
		wantMsg   string
	}{
		{"current token", good, f.v.ID, ""},
		{"forged", "forged", "", "invalid visitor token"},
		{"empty", "", "", "invalid visitor token"},
		{"reset", other.VisitorToken, "", "this visitor token was reset"},
		{"nobody", ghost, "", "invalid visitor token"},
		{"erased", erased.VisitorToken, "", "invalid visitor token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, kerr := f.svc.VisitorKeyByToken(ctx, tt.tok)
			v, verr := f.svc.VisitorByToken(ctx, tt.tok)
			if tt.wantID != "" {
				if kerr != nil || verr != nil {
					t.Fatalf("refused: %v, %v", kerr, verr)
				}
				vk := v.Key()
				if k.ID != vk.ID || k.TokenGeneration != vk.TokenGeneration || k.ID != tt.wantID || k.WorkspaceID != f.ws.ID {
					t.Fatalf("key %+v, visitor's %+v; want visitor %s", k, v.Key(), tt.wantID)
				}
				return
			}
			for _, err := range []error{kerr, verr} {
				var e *Error
				if !errors.As(err, &e) || e.Code != CodeInvalidToken || e.Message != tt.wantMsg {
					t.Errorf("err = %v (%s), want %s %q", err, ErrorCode(err), CodeInvalidToken, tt.wantMsg)
				}
			}
		})
	}
}

func TestSessionKeys(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	k := model.VisitorKey{ID: "v1", WorkspaceID: "w1", TokenGeneration: 2}
	tests := []struct {
		name   string
		setup  func(r *sessionKeys)
		id     string
		gen    int
		at     time.Time
		wantOK bool
	}{
		{"just remembered", nil, "v1", 2, t0, true},
		{"within the lifetime", nil, "v1", 2, t0.Add(sessionKeyLifetime - time.Millisecond), true},
		{"lifetime over", nil, "v1", 2, t0.Add(sessionKeyLifetime), false},
		{"clock moved back", nil, "v1", 2, t0.Add(-time.Second), false},
		{"older generation", nil, "v1", 1, t0, false},
		{"newer generation", nil, "v1", 3, t0, false},
		{"another visitor", nil, "v2", 2, t0, false},
		{"forgotten", func(r *sessionKeys) { r.forget("v1") }, "v1", 2, t0, false},
		{"remembered again with a new generation", func(r *sessionKeys) {
			r.remember(model.VisitorKey{ID: "v1", WorkspaceID: "w1", TokenGeneration: 3}, t0)
		}, "v1", 2, t0, false},
		{"taken already", func(r *sessionKeys) {
			if _, ok := r.take("v1", 2, t0); !ok {
				t.Fatal("first take missed")
			}
		}, "v1", 2, t0, false},
		{"a miss takes nothing", func(r *sessionKeys) { r.take("v1", 1, t0) }, "v1", 2, t0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newSessionKeys()
			r.remember(k, t0)
			if tt.setup != nil {
				tt.setup(r)
			}
			got, ok := r.take(tt.id, tt.gen, tt.at)
			if ok != tt.wantOK || (ok && got != k) {
				t.Fatalf("lookup = %+v, %v; want %v", got, ok, tt.wantOK)
			}
		})
	}
}

func TestSessionKeysSweep(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newSessionKeys()
	for i := range 100 {
		r.remember(model.VisitorKey{ID: "old" + strconv.Itoa(i)}, t0)
	}
	r.remember(model.VisitorKey{ID: "new"}, t0.Add(sessionKeyLifetime))
	if len(r.keys) != 1 {
		t.Fatalf("%d keys kept after the lifetime, want only the new one", len(r.keys))
	}
}
