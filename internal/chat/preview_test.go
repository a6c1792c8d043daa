package chat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/forward"
	"github.com/parleychat/parley/internal/model"
)

func TestPreviewEmail(t *testing.T) {
	now := time.Date(2025, 3, 5, 9, 30, 0, 0, time.UTC)
	s := &Service{opts: Options{Now: func() time.Time { return now }}}
	tests := []struct {
		name, mode, tz, workspace string
		wantErr                   error // nil: a preview
		subject, from             string
		text                      []string // parts of the text body
	}{
		{"unread replies", model.ForwardUnread, "UTC", "Acme", nil, "Your conversation with Acme", "via Acme", []string{"Reply to this email to continue the conversation."}},
		{"transcript", model.ForwardTranscript, "UTC", "Acme", nil, "Your conversation with Acme", "via Acme", []string{"Reply to this email to continue the conversation."}},
		{"no workspace name", model.ForwardUnread, "UTC", " ", nil, "Your conversation with Your company", "via Your company", nil},
		{"unknown time zone falls back to UTC", model.ForwardUnread, "Mars/Olympus", "Acme", nil, "Your conversation with Acme", "via Acme", nil},
		{"forwarding off", model.ForwardOff, "UTC", "Acme", forward.ErrForwardingOff, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := s.PreviewEmail(model.Workspace{ID: "ws1", Name: tt.workspace, TimeZone: tt.tz}, tt.mode)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.Subject, tt.subject) || !strings.Contains(e.From, tt.from) || e.Text == "" {
				t.Errorf("preview %+v, want subject %q and from %q", e, tt.subject, tt.from)
			}
			for _, part := range tt.text {
				if !strings.Contains(e.Text, part) {
					t.Errorf("text lacks %q:\n%s", part, e.Text)
				}
			}
		})
	}
	if _, err := s.PreviewEmail(model.Workspace{Name: "Acme"}, "weekly"); err == nil {
		t.Error("an unknown mode gave a preview")
	}
	// The sample is dated in the workspace's time zone.
	utc, err := s.PreviewEmail(model.Workspace{Name: "Acme", TimeZone: "UTC"}, model.ForwardTranscript)
	if err != nil {
		t.Fatal(err)
	}
	tokyo, err := s.PreviewEmail(model.Workspace{Name: "Acme", TimeZone: "Asia/Tokyo"}, model.ForwardTranscript)
	if err != nil {
		t.Fatal(err)
	}
	if utc.Text == tokyo.Text {
		t.Errorf("the same text in UTC and Asia/Tokyo:\n%s", utc.Text)
	}
	// It speaks the workspace's default language in its widget colour, as a
	// visitor without a language of their own would read it.
	ws := model.Workspace{Name: "Acme", TimeZone: "Europe/Paris"}
	ws.Settings.DefaultLocale = "fr"
	ws.Settings.Widget.Color = "#7c3aed"
	fr, err := s.PreviewEmail(ws, model.ForwardUnread)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(fr.Subject, "Acme") || fr.Subject == utc.Subject || !strings.Contains(fr.HTML, `lang="fr"`) ||
		!strings.Contains(strings.ToLower(fr.HTML), "#7c3aed") {
		t.Errorf("French preview: subject %q, html lang/colour missing:\n%.400s", fr.Subject, fr.HTML)
	}
}
