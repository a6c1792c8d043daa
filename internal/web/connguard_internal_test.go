package web

import (
	"log/slog"
	"testing"
)

// TestConnGuardSizes: the shares kept for other descriptors and for agents
// are proportional on small limits and capped on large ones.
func TestConnGuardSizes(t *testing.T) {
	tests := []struct {
		nofile             int64
		budget, widgetMark int64
	}{
		{256, 192, 168},
		{1024, 922, 807},
		{20000, 19488, 19184},
		{1000000, 984375, 968995},
	}
	for _, tt := range tests {
		g := NewConnGuard(tt.nofile, slog.New(slog.DiscardHandler))
		if g.budget != tt.budget || g.widgetMark != tt.widgetMark {
			t.Errorf("nofile %d: budget %d, widgets %d; want %d, %d", tt.nofile, g.budget, g.widgetMark, tt.budget, tt.widgetMark)
		}
	}
}
