package web_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/store"
)

// BenchmarkScaleContinuityReport asks for a year of the continuity report
// (366 days) on the seeded database, API and dashboard page, after giving
// the seeded conversations their continuity facts: an email sent for each
// identified visitor (a tenth of them bounced), answers by email, returns
// and unsubscribes.
//
//	PARLEY_BENCH_MESSAGES=1000000 go test ./internal/web -run '^$' -bench ScaleContinuity -benchtime 200x
func BenchmarkScaleContinuityReport(b *testing.B) {
	sc := startScale(b)
	db := sc.srv.App.DB
	if err := seedContinuity(b.Context(), db.SQL); err != nil {
		b.Fatal(err)
	}
	if db.Dialect() == store.Postgres {
		// What autovacuum does on a running database after the rows the
		// seeding rewrote: without it, every index-only scan reads the
		// table too.
		if _, err := db.SQL.ExecContext(b.Context(), `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	loc := sc.srv.Workspace.Location()
	to := time.Now().In(loc)
	q := "?from=" + to.AddDate(0, 0, -365).Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	b.Run("api", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/api/v1/reports/continuity"+q, true) })
	})
	b.Run("dashboard", func(b *testing.B) {
		measure(b, func(int) int { return sc.get(b, "/dashboard/reports/continuity"+q, false) })
	})
}

// seedContinuity writes the continuity facts, in statements both databases
// run, each of which changes nothing the second time (a database kept
// between runs has them already).
func seedContinuity(ctx context.Context, db *sql.DB) error {
	h := strconv.FormatInt(int64(time.Hour/time.Microsecond), 10) // an hour in stored units
	for _, q := range []string{
		`UPDATE visitors SET email_source = CASE WHEN created_at % 3 = 0 THEN 'contact_form' WHEN created_at % 3 = 1 THEN 'conversation' ELSE 'agent' END
			WHERE email IS NOT NULL AND email_source IS NULL`,
		`INSERT INTO emails (id, workspace_id, conversation_id, visitor_id, message_id, mail_from, rcpt_to, raw, status, attempts, next_attempt_at, created_at, sent_at, given_up_at)
			SELECT 'bench-' || c.id, c.workspace_id, c.id, c.visitor_id, '<bench-' || c.id || '@parley.test>', 'parley@bench.test', v.email, 'x', 'sent', 1,
				c.created_at + 1*` + h + `, c.created_at + 1*` + h + `, c.created_at + 1*` + h + `,
				CASE WHEN c.created_at % 10 = 0 THEN c.created_at + 2*` + h + ` END
			FROM conversations c JOIN visitors v ON v.id = c.visitor_id WHERE v.email IS NOT NULL
			ON CONFLICT DO NOTHING`,
		`UPDATE conversations SET email_answered_at = created_at + 3*` + h + ` WHERE created_at % 4 = 0 AND email_answered_at IS NULL`,
		`UPDATE conversations SET returned_at = created_at + 5*` + h + ` WHERE created_at % 5 = 0 AND returned_at IS NULL`,
		// As the application keeps it when an email changes.
		`UPDATE conversations SET identified_by = (SELECT CASE WHEN v.email IS NULL OR v.email = '' THEN NULL ELSE COALESCE(v.email_source, 'unknown') END
			FROM visitors v WHERE v.id = conversations.visitor_id)`,
		`INSERT INTO email_addresses (workspace_id, address, id, status, source, changed_at, created_at)
			SELECT workspace_id, LOWER(email), 'bench-' || id, 'unsubscribed', 'unsubscribe', created_at + 24*` + h + `, created_at
			FROM visitors WHERE email IS NOT NULL AND created_at % 20 = 0
			ON CONFLICT DO NOTHING`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
