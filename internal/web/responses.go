package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/parleychat/parley/internal/chat"
)

// The dashboard's page of the response-times report (its API is
// reportAPI's).

// responsesView is the dashboard's response-times report.
type responsesView struct {
	reportRangeView
	Days   []responsesRow
	Totals responsesRow
	Agents []answererRow
	Empty  bool
}

type responsesRow struct {
	Date                            string
	Conversations, Answered, Closed int
	// Share is the answered conversations' percentage.
	Share                      int
	FirstMedian, FirstP90      string
	ResolutionMedian, ResolP90 string
}

type answererRow struct {
	Name                  string
	Answered              int
	FirstMedian, FirstP90 string
}

func newResponsesRow(date string, f chat.ResponseFigures) responsesRow {
	return responsesRow{Date: date, Conversations: f.Conversations, Answered: f.Answered, Closed: f.Closed, Share: percent(f.Answered, f.Conversations),
		FirstMedian: span(f.FirstResponse.MedianSeconds), FirstP90: span(f.FirstResponse.P90Seconds),
		ResolutionMedian: span(f.Resolution.MedianSeconds), ResolP90: span(f.Resolution.P90Seconds)}
}

// span writes a duration in seconds as a person reads it: "45 s", "4 min",
// "1 h 5 min", "2 d 3 h"; "–" for none.
func span(seconds *int64) string {
	if seconds == nil {
		return "–"
	}
	d := time.Duration(*seconds) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", *seconds)
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%d d", days)
	}
	return fmt.Sprintf("%d d %d h", days, h)
}

func (s *Server) dashResponses(w http.ResponseWriter, r *http.Request, sess *session) {
	v := &responsesView{reportRangeView: reportRangeView{Action: "/dashboard/reports/responses"}}
	p := &page{Title: "Response times", Nav: "reports", Responses: v}
	s.reportPage(w, r, sess, p, "responses", &v.reportRangeView, func(ctx context.Context) error {
		rep, err := s.svc.Responses(ctx, sess.agent, v.From, v.To)
		if err != nil {
			return err
		}
		v.TimeZone = rep.TimeZone
		v.Totals = newResponsesRow("Total", rep.Totals)
		v.Empty = rep.Totals.Conversations == 0
		// Newest day first, as the inbox lists conversations.
		for i := len(rep.Days) - 1; i >= 0; i-- {
			v.Days = append(v.Days, newResponsesRow(rep.Days[i].Date, rep.Days[i].ResponseFigures))
		}
		for _, a := range rep.Agents {
			v.Agents = append(v.Agents, answererRow{Name: a.Name, Answered: a.Answered,
				FirstMedian: span(a.FirstResponse.MedianSeconds), FirstP90: span(a.FirstResponse.P90Seconds)})
		}
		return nil
	})
}
