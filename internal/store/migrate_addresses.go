package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/model"
	"github.com/pressly/goose/v3"
)

// addressMigration is migration 00014, written in Go so that the keys of
// existing addresses are normalised by model.EmailKey exactly as new ones
// are: SQL's LOWER differs between SQLite (ASCII only) and PostgreSQL (the
// server's locale). It fills visitors.email_key and moves the email status
// that used to live on each visitor record to the address: an address any
// of whose visitors unsubscribed is unsubscribed, else one that bounced is
// bouncing.
func addressMigration(dialect Dialect) *goose.Migration {
	up := func(ctx context.Context, tx *sql.Tx) error {
		s := &Store{q: tx, tx: tx, dialect: dialect}
		return backfillEmailKeys(ctx, s, time.Now())
	}
	return goose.NewGoMigration(14, &goose.GoFunc{RunTx: up}, &goose.GoFunc{})
}

func backfillEmailKeys(ctx context.Context, s *Store, now time.Time) error {
	type row struct{ id, workspace, email, status string }
	rows, err := s.query(ctx, `SELECT id, workspace_id, email, email_status FROM visitors WHERE email IS NOT NULL`)
	if err != nil {
		return fmt.Errorf("migrate email addresses: %w", err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.workspace, &r.email, &r.status); err != nil {
			rows.Close()
			return fmt.Errorf("migrate email addresses: %w", err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("migrate email addresses: %w", err)
	}
	// Unsubscribes first: StopEmailAddress keeps an unsubscribe over a
	// later bounce. The time of the old change is unknown (NULL).
	for _, status := range []string{model.EmailUnsubscribed, model.EmailBouncing} {
		source := model.EmailStatusByUnsubscribe
		if status == model.EmailBouncing {
			source = model.EmailStatusByBounce
		}
		for _, r := range all {
			if r.status != status || model.EmailKey(r.email) == "" {
				continue
			}
			if _, err := s.exec(ctx, `INSERT INTO email_addresses (workspace_id, address, id, status, source, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, address) DO NOTHING`,
				r.workspace, model.EmailKey(r.email), model.NewID(), status, source, micros(now)); err != nil {
				return fmt.Errorf("migrate email addresses: %w", err)
			}
		}
	}
	for _, r := range all {
		if _, err := s.exec(ctx, `UPDATE visitors SET email_key = ? WHERE id = ?`, emailKey(&r.email), r.id); err != nil {
			return fmt.Errorf("migrate email addresses: %w", err)
		}
	}
	return nil
}
