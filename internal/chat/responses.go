package chat

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// ResponseReport says how fast a workspace's conversations were answered
// and closed, by the day they started (in the workspace's time zone), in
// all, and by the agent who answered each first.
type ResponseReport struct {
	From     string           `json:"from"`
	To       string           `json:"to"`
	TimeZone string           `json:"time_zone"`
	Days     []ResponseDay    `json:"days"`
	Totals   ResponseFigures  `json:"totals"`
	Agents   []AgentResponses `json:"agents"`
}

// ResponseFigures are the figures of a day or of the whole range.
type ResponseFigures struct {
	// Conversations started.
	Conversations int `json:"conversations"`
	// Answered: those an agent replied to (a reply, not a note).
	Answered int `json:"answered"`
	// FirstResponse: from the start to the first reply, of those answered.
	FirstResponse Durations `json:"first_response"`
	// Closed: those closed now; Resolution, from the start to the close.
	Closed     int       `json:"closed"`
	Resolution Durations `json:"resolution"`
}

// Durations are the median and the 90th percentile of some durations, in
// whole seconds; null when there are none.
type Durations struct {
	MedianSeconds *int64 `json:"median_seconds"`
	P90Seconds    *int64 `json:"p90_seconds"`
}

// ResponseDay is one day of the report.
type ResponseDay struct {
	Date string `json:"date"`
	ResponseFigures
}

// AgentResponses are the conversations an agent answered first, and how
// fast.
type AgentResponses struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Answered      int       `json:"answered"`
	FirstResponse Durations `json:"first_response"`
}

// samples collects durations for a Durations.
type samples []time.Duration

func (s samples) durations() Durations {
	if len(s) == 0 {
		return Durations{}
	}
	slices.Sort(s)
	at := func(p float64) *int64 {
		// The nearest rank: the smallest duration with at least p of
		// them at or under it.
		i := max(0, int(math.Ceil(p*float64(len(s))))-1)
		v := int64(s[i].Round(time.Second) / time.Second)
		return &v
	}
	return Durations{MedianSeconds: at(0.5), P90Seconds: at(0.9)}
}

// figures accumulates a ResponseFigures.
type figures struct {
	conversations, answered, closed int
	first, resolution               samples
}

func (f *figures) add(r store.ResponseRow) {
	f.conversations++
	if r.FirstReplyAt != nil {
		f.answered++
		f.first = append(f.first, max(0, r.FirstReplyAt.Sub(r.CreatedAt)))
	}
	if r.ClosedAt != nil {
		f.closed++
		f.resolution = append(f.resolution, max(0, r.ClosedAt.Sub(r.CreatedAt)))
	}
}

func (f *figures) result() ResponseFigures {
	return ResponseFigures{Conversations: f.conversations, Answered: f.answered, FirstResponse: f.first.durations(),
		Closed: f.closed, Resolution: f.resolution.durations()}
}

// Responses reports, per day from from to to (YYYY-MM-DD, included, in the
// workspace's time zone), the conversations started, answered and closed,
// and how long their first answer and their close took; in all; and per
// agent, the conversations each answered first.
func (s *Service) Responses(ctx context.Context, a model.Agent, from, to string) (ResponseReport, error) {
	w, days, dates, err := s.reportRange(ctx, a, from, to)
	if err != nil {
		return ResponseReport{}, err
	}
	perDay := make([]figures, len(days))
	var all figures
	byAgent := map[string]*figures{}
	d := 0
	err = s.db.ResponseRows(ctx, w.ID, days[0].From, days[len(days)-1].To, func(r store.ResponseRow) {
		for d < len(days)-1 && !r.CreatedAt.Before(days[d].To) {
			d++
		}
		perDay[d].add(r)
		all.add(r)
		if r.FirstReplyAt != nil && r.FirstReplyBy != "" {
			f := byAgent[r.FirstReplyBy]
			if f == nil {
				f = &figures{}
				byAgent[r.FirstReplyBy] = f
			}
			f.add(store.ResponseRow{CreatedAt: r.CreatedAt, FirstReplyAt: r.FirstReplyAt})
		}
	})
	if err != nil {
		return ResponseReport{}, err
	}
	rep := ResponseReport{From: from, To: to, TimeZone: w.Location().String(), Days: make([]ResponseDay, len(days)),
		Totals: all.result(), Agents: []AgentResponses{}}
	for i := range days {
		rep.Days[i] = ResponseDay{Date: dates[i], ResponseFigures: perDay[i].result()}
	}
	if len(byAgent) > 0 {
		agents, err := s.db.AgentsOf(ctx, w.ID)
		if err != nil {
			return ResponseReport{}, err
		}
		names := map[string]string{}
		for _, ag := range agents {
			names[ag.ID] = ag.Name
		}
		for id, f := range byAgent {
			name, ok := names[id]
			if !ok {
				name = "Removed agent"
			}
			rep.Agents = append(rep.Agents, AgentResponses{ID: id, Name: name, Answered: f.answered, FirstResponse: f.first.durations()})
		}
		// The busiest first, then by name.
		slices.SortFunc(rep.Agents, func(x, y AgentResponses) int {
			return cmp.Or(cmp.Compare(y.Answered, x.Answered), strings.Compare(x.Name, y.Name))
		})
	}
	return rep, nil
}
