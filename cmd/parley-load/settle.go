package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

// A server that has just taken 10,000 widgets is still working through
// them (presence, the first messages' conversations, their forwarding
// evaluations) for seconds after the last one opened; replies sent then
// measure that backlog. --settle waits for it.

// settleReport says how the wait for a quiet host ended.
type settleReport struct {
	WaitedSeconds float64 `json:"waited_seconds"`
	Quiet         bool    `json:"quiet"` // false: the limit came first
	// BusyPercent is the host's CPU besides the tool's, in % of one core,
	// over the last window looked at.
	BusyPercent float64 `json:"busy_percent_one_core"`
}

func (s settleReport) String() string {
	if s.Quiet {
		return fmt.Sprintf("host quiet after %.1f s (%.0f%% of a core besides the tool)", s.WaitedSeconds, s.BusyPercent)
	}
	return fmt.Sprintf("host still busy after %.1f s (%.0f%% of a core besides the tool): measured anyway", s.WaitedSeconds, s.BusyPercent)
}

// quietPercent is the host's CPU besides the tool's, in % of one core,
// under which it counts as quiet.
const quietPercent = 10.0

// settle waits, at most limit, for a window (one second in use) in which
// the host's busy CPU time (host) less the tool's own (self) stays under
// quietPercent of one core.
func settle(ctx context.Context, limit, window time.Duration, host, self func() (time.Duration, error)) (settleReport, error) {
	// others is the host's busy CPU time so far, less the tool's.
	others := func() (time.Duration, error) {
		h, err := host()
		if err != nil {
			return 0, fmt.Errorf("settle: %w", err)
		}
		s, err := self()
		if err != nil {
			return 0, fmt.Errorf("settle: %w", err)
		}
		return h - s, nil
	}
	start := time.Now()
	var rep settleReport
	for {
		before, err := others()
		if err != nil {
			return rep, err
		}
		t0 := time.Now()
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(window):
		}
		after, err := others()
		if err != nil {
			return rep, err
		}
		busy := max(after-before, 0)
		rep.BusyPercent = 100 * busy.Seconds() / time.Since(t0).Seconds()
		rep.WaitedSeconds = time.Since(start).Seconds()
		if rep.BusyPercent < quietPercent {
			rep.Quiet = true
			return rep, nil
		}
		if time.Since(start) >= limit {
			return rep, nil
		}
	}
}

// selfCPU is the tool's own CPU time.
func selfCPU() (time.Duration, error) { return proc(os.Getpid()).cpu() }
