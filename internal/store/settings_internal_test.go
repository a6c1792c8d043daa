package store

import (
	"strings"
	"testing"
)

func TestPostgresWarnings(t *testing.T) {
	tests := []struct {
		autovacuum, trackCounts string
		want                    string // a word of the one warning; "" for none
	}{
		{"on", "on", ""},
		{"off", "on", "autovacuum is off"},
		{"on", "off", "track_counts is off"},
		{"off", "off", "autovacuum is off"},
	}
	for _, tt := range tests {
		got := postgresWarnings(tt.autovacuum, tt.trackCounts)
		if tt.want == "" {
			if len(got) != 0 {
				t.Errorf("autovacuum=%s track_counts=%s: warned %q", tt.autovacuum, tt.trackCounts, got)
			}
			continue
		}
		if len(got) != 1 || !strings.Contains(got[0], tt.want) || !strings.Contains(got[0], "ANALYZE") {
			t.Errorf("autovacuum=%s track_counts=%s: got %q, want one warning about %q that says what to do", tt.autovacuum, tt.trackCounts, got, tt.want)
		}
	}
}
