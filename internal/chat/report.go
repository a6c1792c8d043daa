package chat

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// MaxReportDays is the longest range a report covers.
const MaxReportDays = 366

// dateLayout is how a report's days are written (YYYY-MM-DD).
const dateLayout = "2006-01-02"

// ContinuityReport is what became of a workspace's conversations, day by
// day in the workspace's time zone.
type ContinuityReport struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	TimeZone string          `json:"time_zone"`
	Days     []ContinuityDay `json:"days"`
	Totals   ContinuityTotal `json:"totals"`
}

// ContinuityTotal holds the figures of a day or of the whole range.
type ContinuityTotal struct {
	Conversations int `json:"conversations"`
	// Identified counts the conversations whose visitor has an email, by
	// Visitor.email_source ("unknown" for emails stored before sources).
	Identified      map[string]int `json:"identified"`
	IdentifiedTotal int            `json:"identified_total"`
	Emails          EmailCounts    `json:"emails"`
	AnsweredByEmail int            `json:"answered_by_email"`
	Returned        int            `json:"returned_to_widget"`
}

// EmailCounts are the forwarded emails' outcomes of a day.
type EmailCounts struct {
	Sent         int `json:"sent"`
	Bounced      int `json:"bounced"`
	Unsubscribed int `json:"unsubscribed"`
}

// ContinuityDay is one day of a report.
type ContinuityDay struct {
	Date string `json:"date"`
	ContinuityTotal
}

// reportSources are the email sources every day lists, zero or not.
var reportSources = []string{model.EmailFromContactForm, model.EmailFromAgent, model.EmailFromConversation,
	model.EmailFromIdentity, store.UnknownSource}

// ReportDays parses a report's range: from and to are YYYY-MM-DD, both
// included, at most MaxReportDays apart, read as calendar days in loc.
func ReportDays(from, to string, loc *time.Location) ([]store.Day, []string, error) {
	f, err := time.ParseInLocation(dateLayout, from, loc)
	if err != nil {
		return nil, nil, newError(CodeInvalidDate, fmt.Sprintf("from %q is not a date written YYYY-MM-DD", from))
	}
	t, err := time.ParseInLocation(dateLayout, to, loc)
	if err != nil {
		return nil, nil, newError(CodeInvalidDate, fmt.Sprintf("to %q is not a date written YYYY-MM-DD", to))
	}
	if t.Before(f) {
		return nil, nil, newError(CodeInvalidRange, "to is before from")
	}
	// Counted on the calendar, not in hours: a day of a time zone's change
	// lasts 23 or 25 hours.
	n := 1
	for d := f; d.Before(t); d = d.AddDate(0, 0, 1) {
		if n++; n > MaxReportDays {
			return nil, nil, newError(CodeInvalidRange, fmt.Sprintf("a report covers at most %d days", MaxReportDays))
		}
	}
	days := make([]store.Day, n)
	dates := make([]string, n)
	for i := range days {
		start := time.Date(f.Year(), f.Month(), f.Day()+i, 0, 0, 0, 0, loc)
		days[i] = store.Day{From: start, To: time.Date(f.Year(), f.Month(), f.Day()+i+1, 0, 0, 0, 0, loc)}
		dates[i] = start.Format(dateLayout)
	}
	return days, dates, nil
}

// reportRange reads a report's workspace (the agent's) and its days from
// from to to, in the workspace's time zone (ReportDays).
func (s *Service) reportRange(ctx context.Context, a model.Agent, from, to string) (model.Workspace, []store.Day, []string, error) {
	w, err := s.db.Workspace(ctx, a.WorkspaceID)
	if err != nil {
		return w, nil, nil, notFound(err, "workspace")
	}
	days, dates, err := ReportDays(from, to, w.Location())
	return w, days, dates, err
}

// Continuity reports, per day from from to to (YYYY-MM-DD, included, in the
// workspace's time zone): conversations started, how many of their visitors
// have an email and how it was learned, forwarded emails sent, bounced and
// unsubscribed, and the conversations whose visitor answered by email or
// came back to the widget after an email.
func (s *Service) Continuity(ctx context.Context, a model.Agent, from, to string) (ContinuityReport, error) {
	w, days, dates, err := s.reportRange(ctx, a, from, to)
	if err != nil {
		return ContinuityReport{}, err
	}
	counts, err := s.db.ContinuityReport(ctx, w.ID, days)
	if err != nil {
		return ContinuityReport{}, err
	}
	r := ContinuityReport{From: from, To: to, TimeZone: w.Location().String(), Days: make([]ContinuityDay, len(days)),
		Totals: ContinuityTotal{Identified: map[string]int{}}}
	for _, src := range reportSources {
		r.Totals.Identified[src] = 0
	}
	for i, c := range counts {
		d := ContinuityDay{Date: dates[i], ContinuityTotal: ContinuityTotal{
			Conversations: c.Conversations, Identified: map[string]int{},
			Emails:          EmailCounts{Sent: c.EmailsSent, Bounced: c.EmailsBounced, Unsubscribed: c.Unsubscribed},
			AnsweredByEmail: c.AnsweredByEmail, Returned: c.Returned,
		}}
		for _, src := range reportSources {
			d.Identified[src] = c.Identified[src]
			d.IdentifiedTotal += c.Identified[src]
			r.Totals.Identified[src] += c.Identified[src]
		}
		r.Days[i] = d
		t := &r.Totals
		t.Conversations += d.Conversations
		t.IdentifiedTotal += d.IdentifiedTotal
		t.Emails.Sent += d.Emails.Sent
		t.Emails.Bounced += d.Emails.Bounced
		t.Emails.Unsubscribed += d.Emails.Unsubscribed
		t.AnsweredByEmail += d.AnsweredByEmail
		t.Returned += d.Returned
	}
	return r, nil
}
