package chat

import (
	"errors"
	"testing"

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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, kerr := f.svc.VisitorKeyByToken(ctx, tt.tok)
			v, verr := f.svc.VisitorByToken(ctx, tt.tok)
			if tt.wantID != "" {
				if kerr != nil || verr != nil {
					t.Fatalf("refused: %v, %v", kerr, verr)
				}
				if k != v.Key() || k.ID != tt.wantID || k.WorkspaceID != f.ws.ID {
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
