package main

import (
	"errors"
	"testing"
	"time"
)

// counter is a CPU clock that advances by the next step each time it is
// read twice (once before a window, once after).
type counter struct {
	steps []time.Duration // per window; the last repeats
	reads int
	at    time.Duration
}

func (c *counter) read() (time.Duration, error) {
	if c.reads%2 == 1 {
		i := min(c.reads/2, len(c.steps)-1)
		c.at += c.steps[i]
	}
	c.reads++
	return c.at, nil
}

func TestSettle(t *testing.T) {
	const window = 20 * time.Millisecond
	busy, idle := 15*time.Millisecond, time.Duration(0) // 75 % and 0 % of a core over a window
	tests := []struct {
		name       string
		host, self []time.Duration
		limit      time.Duration
		wantQuiet  bool
		minWindows int
	}{
		{"quiet at once", []time.Duration{idle}, []time.Duration{idle}, time.Second, true, 1},
		{"quiet after three busy windows", []time.Duration{busy, busy, busy, idle}, []time.Duration{idle}, time.Second, true, 4},
		{"the tool's own work does not count", []time.Duration{busy}, []time.Duration{busy}, time.Second, true, 1},
		{"busy until the limit", []time.Duration{busy}, []time.Duration{idle}, 5 * window, false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, self := &counter{steps: tt.host}, &counter{steps: tt.self}
			rep, err := settle(t.Context(), tt.limit, window, host.read, self.read)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Quiet != tt.wantQuiet {
				t.Fatalf("quiet %v, want %v (%s)", rep.Quiet, tt.wantQuiet, rep)
			}
			if windows := host.reads / 2; windows < tt.minWindows {
				t.Fatalf("looked at %d windows, want at least %d", windows, tt.minWindows)
			}
			if tt.wantQuiet && rep.BusyPercent >= quietPercent {
				t.Fatalf("quiet at %.0f%% of a core", rep.BusyPercent)
			}
			if !tt.wantQuiet && rep.BusyPercent < quietPercent {
				t.Fatalf("busy at %.0f%% of a core", rep.BusyPercent)
			}
		})
	}
	t.Run("a clock that fails", func(t *testing.T) {
		fail := func() (time.Duration, error) { return 0, errors.New("no /proc") }
		if _, err := settle(t.Context(), time.Second, window, fail, fail); err == nil {
			t.Fatal("no error")
		}
	})
}
