package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The continuity report: what became of conversations once the visitor
// had left. Every figure is counted through an index on a column set when
// its event happened (migrations 00076 and 00077), one range per day: the
// report never reads messages, nor a visitor per conversation.

// Day is one day of a report: the instants [From, To) of a calendar day in
// the workspace's time zone.
type Day struct {
	From, To time.Time
}

// ContinuityDay holds the figures of one day.
type ContinuityDay struct {
	// Conversations started that day.
	Conversations int
	// Identified counts those of them whose visitor has an email, by
	// how it was learned (model.EmailFrom… constants, "unknown" when it
	// was stored before sources were recorded).
	Identified map[string]int
	// EmailsSent: forwarded emails the relay accepted that day.
	EmailsSent int
	// EmailsBounced: emails that bounced or that the relay refused for
	// good that day.
	EmailsBounced int
	// Unsubscribed: addresses unsubscribed that day (and not opted in
	// again since).
	Unsubscribed int
	// AnsweredByEmail: conversations whose visitor first answered by email
	// that day.
	AnsweredByEmail int
	// Returned: conversations whose visitor first came back to the widget
	// after an email that day.
	Returned int
}

// UnknownSource names the emails stored before their source was recorded.
const UnknownSource = "unknown"

// ContinuityReport counts the figures of each day of the workspace.
func (s *Store) ContinuityReport(ctx context.Context, workspaceID string, days []Day) ([]ContinuityDay, error) {
	out := make([]ContinuityDay, len(days))
	for i := range out {
		out[i].Identified = map[string]int{}
	}
	if len(days) == 0 {
		return out, nil
	}
	values := make([]string, len(days))
	dayArgs := make([]any, 0, 3*len(days))
	for i, d := range days {
		values[i] = "(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT))"
		dayArgs = append(dayArgs, i, micros(d.From), micros(d.To))
	}
	with := `WITH days (d, lo, hi) AS (VALUES ` + strings.Join(values, ", ") + `) `

	// Conversations, and their identified visitors by source: from the
	// index conversations_identified alone.
	rows, err := s.query(ctx, with+`SELECT days.d, c.identified_by, COUNT(*)
		FROM days JOIN conversations c ON c.workspace_id = ? AND c.created_at >= days.lo AND c.created_at < days.hi
		GROUP BY days.d, c.identified_by`,
		append(dayArgs, workspaceID)...)
	if err != nil {
		return nil, fmt.Errorf("count conversations by day: %w", err)
	}
	err = eachRow(rows, func() error {
		var (
			d, n   int
			source sql.NullString
		)
		if err := rows.Scan(&d, &source, &n); err != nil {
			return err
		}
		out[d].Conversations += n
		if source.Valid {
			out[d].Identified[source.String] += n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count conversations by day: %w", err)
	}

	// The events, each through its own partial index.
	counts := []struct {
		table, column, where string
		into                 func(*ContinuityDay) *int
	}{
		{"emails", "sent_at", "", func(c *ContinuityDay) *int { return &c.EmailsSent }},
		{"emails", "given_up_at", "", func(c *ContinuityDay) *int { return &c.EmailsBounced }},
		{"email_addresses", "changed_at", " AND t.status = 'unsubscribed'", func(c *ContinuityDay) *int { return &c.Unsubscribed }},
		{"conversations", "email_answered_at", "", func(c *ContinuityDay) *int { return &c.AnsweredByEmail }},
		{"conversations", "returned_at", "", func(c *ContinuityDay) *int { return &c.Returned }},
	}
	parts := make([]string, len(counts))
	args := append([]any{}, dayArgs...)
	for i, c := range counts {
		parts[i] = fmt.Sprintf(`SELECT %d AS k, days.d AS d, COUNT(*) AS n FROM days JOIN %s t ON t.workspace_id = ?
			AND t.%s IS NOT NULL AND t.%s >= days.lo AND t.%s < days.hi%s GROUP BY days.d`,
			i, c.table, c.column, c.column, c.column, c.where)
		args = append(args, workspaceID)
	}
	rows, err = s.query(ctx, with+strings.Join(parts, " UNION ALL "), args...)
	if err != nil {
		return nil, fmt.Errorf("count continuity events by day: %w", err)
	}
	err = eachRow(rows, func() error {
		var k, d, n int
		if err := rows.Scan(&k, &d, &n); err != nil {
			return err
		}
		*counts[k].into(&out[d]) = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count continuity events by day: %w", err)
	}
	return out, nil
}

// eachRow calls fn for every row and closes rows.
func eachRow(rows *sql.Rows, fn func() error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(); err != nil {
			return err
		}
	}
	return rows.Err()
}

// MarkEmailAnswered records the visitor's first answer by email in a
// conversation.
func (s *Store) MarkEmailAnswered(ctx context.Context, conversationID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET email_answered_at = ? WHERE id = ? AND email_answered_at IS NULL`,
		micros(at), conversationID); err != nil {
		return fmt.Errorf("mark conversation %s answered by email: %w", conversationID, err)
	}
	return nil
}

// awaitingReturn is the condition on a conversation (table names it) that
// MarkReturned marks: a website conversation an email was sent in by the
// time that is its one argument, and no return recorded since.
func awaitingReturn(table string) string {
	return table + `.channel = 'website' AND ` + table + `.returned_at IS NULL
		AND EXISTS (SELECT 1 FROM emails e WHERE e.conversation_id = ` + table + `.id AND e.sent_at IS NOT NULL AND e.sent_at <= ?)`
}

// MarkReturned records that the visitor came back to the widget at at, on
// each of their website conversations that an email was sent for before
// and that had no return yet. One statement: it runs in the transactions
// of a widget opening, where the common case, nothing to record, changes
// no row.
func (s *Store) MarkReturned(ctx context.Context, visitorID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET returned_at = ? WHERE visitor_id = ? AND `+awaitingReturn("conversations"),
		micros(at), visitorID, micros(at)); err != nil {
		return fmt.Errorf("mark the emailed conversations of visitor %s returned: %w", visitorID, err)
	}
	return nil
}

// identifiedBy is what conversations.identified_by holds for the visitor
// whose id is its one argument: how their email was learned ("unknown"
// when before sources were recorded), NULL when they have none.
const identifiedBy = `(SELECT CASE WHEN v.email IS NULL OR v.email = '' THEN NULL ELSE COALESCE(v.email_source, '` + UnknownSource + `') END
	FROM visitors v WHERE v.id = ?)`

// syncIdentified copies a visitor's email source to their conversations
// (conversations.identified_by), after any change of their email.
func (s *Store) syncIdentified(ctx context.Context, visitorID string) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET identified_by = `+identifiedBy+` WHERE visitor_id = ?`, visitorID, visitorID); err != nil {
		return fmt.Errorf("mark the conversations of visitor %s identified: %w", visitorID, err)
	}
	return nil
}
