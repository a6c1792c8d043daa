package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// The reports: the API's GET /api/v1/reports/continuity and
// /api/v1/reports/responses (reportAPI), and the dashboard's pages of them
// (the continuity report's here, the response times' in responses.go).

// reportAPI answers a report of the API: get's report of the range the
// query asks (from, to), as JSON.
func reportAPI[R any](s *Server, get func(ctx context.Context, a model.Agent, from, to string) (R, error)) func(http.ResponseWriter, *http.Request, model.Agent) {
	return func(w http.ResponseWriter, r *http.Request, a model.Agent) {
		q := r.URL.Query()
		rep, err := get(r.Context(), a, q.Get("from"), q.Get("to"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	}
}

// percent is part's share of whole, rounded to the nearest percent (0 of
// nothing).
func percent(part, whole int) int {
	if whole <= 0 {
		return 0
	}
	return (100*part + whole/2) / whole
}

// reportDays is how many days the dashboard's report shows by default.
const reportDays = 30

// reportRangeView is what the dashboard's reports share: the range
// asked (and the address its form asks it of), the time zone of its days,
// or why it was refused.
type reportRangeView struct {
	Action, From, To, TimeZone string
	Error                      string
}

// reportPage answers a report's page: the range of the request (the last
// reportDays days by default) into rv, then run, which fills the report
// (and rv.TimeZone); a domain error shows on the page, with its status.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request, sess *session, p *page, tmpl string, rv *reportRangeView, run func(ctx context.Context) error) {
	ctx := r.Context()
	s.fillChrome(ctx, r, p, sess)
	q := r.URL.Query()
	rv.From, rv.To = reportRange(q.Get("from"), q.Get("to"), time.Now().In(p.Workspace.Location()))
	status := http.StatusOK
	if err := run(ctx); err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		rv.Error, status = a.text(), a.Status
	}
	s.render(w, status, tmpl, p)
}

// reportRange is a report page's range: from and to as given, else the
// last reportDays days to today.
func reportRange(from, to string, today time.Time) (string, string) {
	if to == "" {
		to = today.Format(time.DateOnly)
	}
	if from == "" {
		if t, err := time.Parse(time.DateOnly, to); err == nil {
			from = t.AddDate(0, 0, 1-reportDays).Format(time.DateOnly)
		} else {
			from = to
		}
	}
	return from, to
}

// reportView is the dashboard's continuity report.
type reportView struct {
	reportRangeView
	Days   []reportRow
	Totals reportRow
	// MaxConversations and MaxSent scale the bars.
	MaxConversations, MaxSent int
	Empty                     bool
}

type reportRow struct {
	Date string
	chat.ContinuityTotal
	// Share is the identified conversations' percentage; Sources says how
	// their emails were learned.
	Share   int
	Sources string
}

// sourceLabels name Visitor.email_source values in the report.
var sourceLabels = []struct{ key, label string }{
	{model.EmailFromContactForm, "contact form"},
	{model.EmailFromConversation, "chat"},
	{model.EmailFromAgent, "agent"},
	{model.EmailFromIdentity, "login"},
	{"unknown", "unknown"},
}

func newReportRow(date string, t chat.ContinuityTotal) reportRow {
	row := reportRow{Date: date, ContinuityTotal: t, Share: percent(t.IdentifiedTotal, t.Conversations)}
	var parts []string
	for _, l := range sourceLabels {
		if n := t.Identified[l.key]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, l.label))
		}
	}
	row.Sources = strings.Join(parts, " · ")
	return row
}

func (s *Server) dashContinuity(w http.ResponseWriter, r *http.Request, sess *session) {
	v := &reportView{reportRangeView: reportRangeView{Action: "/dashboard/reports/continuity"}}
	p := &page{Title: "Continuity report", Nav: "reports", Report: v}
	s.reportPage(w, r, sess, p, "report", &v.reportRangeView, func(ctx context.Context) error {
		rep, err := s.svc.Continuity(ctx, sess.agent, v.From, v.To)
		if err != nil {
			return err
		}
		v.TimeZone = rep.TimeZone
		v.Totals = newReportRow("Total", rep.Totals)
		v.Empty = rep.Totals.Conversations == 0 && rep.Totals.Emails.Sent == 0 && rep.Totals.Emails.Bounced == 0 &&
			rep.Totals.Emails.Unsubscribed == 0 && rep.Totals.AnsweredByEmail == 0 && rep.Totals.Returned == 0
		// Newest day first, as the inbox lists conversations.
		for i := len(rep.Days) - 1; i >= 0; i-- {
			d := rep.Days[i]
			v.Days = append(v.Days, newReportRow(d.Date, d.ContinuityTotal))
			v.MaxConversations = max(v.MaxConversations, d.Conversations)
			v.MaxSent = max(v.MaxSent, d.Emails.Sent)
		}
		return nil
	})
}
