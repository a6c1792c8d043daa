package app

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

// The collector's target is Parley's unless the operator set GOGC, which
// wins, "off" included.
func TestGCPercent(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		gogc string // "" unset
		want int
	}{
		{"", gcPercent},
		{"  ", gcPercent},
		{"50", 50},
		{"off", -1},
	} {
		t.Run("GOGC="+tc.gogc, func(t *testing.T) {
			before := debug.SetGCPercent(100)
			t.Cleanup(func() { debug.SetGCPercent(before) })
			// The runtime reads GOGC at start only: what it would have
			// set is set here, as if the process had started with it.
			t.Setenv("GOGC", tc.gogc)
			if tc.gogc != "" && tc.gogc != "  " {
				debug.SetGCPercent(tc.want)
			}
			if got := setGCPercent(log); got != tc.want {
				t.Errorf("setGCPercent = %d, want %d", got, tc.want)
			}
			if got := debug.SetGCPercent(100); got != tc.want {
				t.Errorf("target in force %d, want %d", got, tc.want)
			}
		})
	}
}
