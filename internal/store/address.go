package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// EmailAddress is the email status of an address in a workspace, shared by
// every visitor with that address (model.EmailKey).
type EmailAddress struct {
	ID          string
	WorkspaceID string
	Address     string // the key: trimmed, lower-cased
	Status      string // model.EmailOK, model.EmailUnsubscribed or model.EmailBouncing
	Source      string // what last changed Status (model.EmailSource...), "" while nothing did
	ChangedAt   *time.Time
	Detail      string
	OptInAt     *time.Time
	CreatedAt   time.Time
}

const emailAddressColumns = `id, workspace_id, address, status, source, changed_at, detail, opt_in_at, created_at`

func scanEmailAddress(row interface{ Scan(...any) error }) (EmailAddress, error) {
	var (
		a                EmailAddress
		source, detail   sql.NullString
		changed, optedIn sql.NullInt64
		created          int64
	)
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Address, &a.Status, &source, &changed, &detail, &optedIn, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.Source, a.Detail = source.String, detail.String
	a.ChangedAt, a.OptInAt = fromNullMicros(changed), fromNullMicros(optedIn)
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// EnsureEmailAddress returns the row of an address in a workspace, creating
// it (status ok) when there is none. Unsubscribe links name its id. In a
// PostgreSQL transaction the row stays share-locked until the end, so an
// unsubscribe committing meanwhile waits, then finds (and gives up) the
// email the transaction queued; SQLite's single writer needs no lock.
func (s *Store) EnsureEmailAddress(ctx context.Context, workspaceID, addr string, now time.Time) (EmailAddress, error) {
	return s.EnsureEmailAddressAs(ctx, workspaceID, addr, model.NewID(), now)
}

// EnsureEmailAddressAs is EnsureEmailAddress giving a new row the id newID
// (one chosen beforehand).
func (s *Store) EnsureEmailAddressAs(ctx context.Context, workspaceID, addr, newID string, now time.Time) (EmailAddress, error) {
	key := model.EmailKey(addr)
	if key == "" {
		return EmailAddress{}, errors.New("ensure email address: empty address")
	}
	if s.commits != nil {
		// A write outside a transaction on SQLite goes through the committer.
		return alone(ctx, s.commits, func(tx *Store) (EmailAddress, error) {
			return tx.EnsureEmailAddressAs(ctx, workspaceID, addr, newID, now)
		})
	}
	// A new address (the first email to it) is inserted and read back
	// in one statement; one known already returns nothing here and is read.
	a, err := scanEmailAddress(s.queryRow(ctx, `INSERT INTO email_addresses (workspace_id, address, id, status, created_at) VALUES (?, ?, ?, 'ok', ?)
		ON CONFLICT (workspace_id, address) DO NOTHING RETURNING `+emailAddressColumns, workspaceID, key, newID, micros(now)))
	if !errors.Is(err, ErrNotFound) {
		if err != nil {
			return a, fmt.Errorf("ensure email address: %w", err)
		}
		return a, nil
	}
	q := `SELECT ` + emailAddressColumns + ` FROM email_addresses WHERE workspace_id = ? AND address = ?`
	if s.dialect == Postgres && s.tx != nil {
		q += ` FOR SHARE`
	}
	a, err = scanEmailAddress(s.queryRow(ctx, q, workspaceID, key))
	if err != nil {
		return a, fmt.Errorf("ensure email address: %w", err)
	}
	return a, nil
}

// EmailAddress returns the row of an address in a workspace (ErrNotFound
// while nothing was recorded for it: its status is ok).
func (s *Store) EmailAddress(ctx context.Context, workspaceID, addr string) (EmailAddress, error) {
	a, err := scanEmailAddress(s.queryRow(ctx, `SELECT `+emailAddressColumns+` FROM email_addresses WHERE workspace_id = ? AND address = ?`,
		workspaceID, model.EmailKey(addr)))
	if err != nil {
		return a, fmt.Errorf("get email address: %w", err)
	}
	return a, nil
}

// EmailAddressByID returns the row an unsubscribe link names.
func (s *Store) EmailAddressByID(ctx context.Context, id string) (EmailAddress, error) {
	a, err := scanEmailAddress(s.queryRow(ctx, `SELECT `+emailAddressColumns+` FROM email_addresses WHERE id = ?`, id))
	if err != nil {
		return a, fmt.Errorf("get email address %s: %w", id, err)
	}
	return a, nil
}

// StopEmailAddress records that an address must get no more email: status
// is model.EmailUnsubscribed or model.EmailBouncing. It reports whether the
// status changed: the same unsubscribe twice, or a bounce of an address
// already unsubscribed (the person's own choice is the better reason to
// show), changes nothing.
func (s *Store) StopEmailAddress(ctx context.Context, workspaceID, addr, status, source, detail string, at time.Time) (bool, error) {
	if status != model.EmailUnsubscribed && status != model.EmailBouncing {
		return false, fmt.Errorf("stop email address: status %q", status)
	}
	key := model.EmailKey(addr)
	if key == "" {
		return false, errors.New("stop email address: empty address")
	}
	res, err := s.exec(ctx, `INSERT INTO email_addresses (workspace_id, address, id, status, source, changed_at, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id, address) DO UPDATE SET status = excluded.status, source = excluded.source,
			changed_at = excluded.changed_at, detail = excluded.detail
		WHERE email_addresses.status <> excluded.status
			AND NOT (email_addresses.status = 'unsubscribed' AND excluded.status = 'bouncing')`,
		workspaceID, key, model.NewID(), status, source, micros(at), nullIfEmpty(detail), micros(at))
	if err != nil {
		return false, fmt.Errorf("set email address %s: %w", status, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set email address %s: %w", status, err)
	}
	return n > 0, nil
}

// OptInEmailAddress records an explicit opt-in: the address is ok again and
// opt_in_at says when the person asked.
func (s *Store) OptInEmailAddress(ctx context.Context, workspaceID, addr string, at time.Time) error {
	key := model.EmailKey(addr)
	if key == "" {
		return errors.New("opt in email address: empty address")
	}
	if _, err := s.exec(ctx, `INSERT INTO email_addresses (workspace_id, address, id, status, source, changed_at, opt_in_at, created_at)
		VALUES (?, ?, ?, 'ok', 'opt_in', ?, ?, ?)
		ON CONFLICT (workspace_id, address) DO UPDATE SET status = 'ok', source = 'opt_in',
			changed_at = excluded.changed_at, detail = NULL, opt_in_at = excluded.opt_in_at`,
		workspaceID, key, model.NewID(), micros(at), micros(at), micros(at)); err != nil {
		return fmt.Errorf("opt in email address: %w", err)
	}
	return nil
}

// ClaimAddressNotice records that the address with this id is told now of
// a change, when it may be: it receives emails (neither unsubscribed nor
// bouncing) and was not told since the time given. It reports whether the
// notice may go; of two nodes claiming at once, one may.
func (s *Store) ClaimAddressNotice(ctx context.Context, id string, now, since time.Time) (bool, error) {
	return s.claimAddressMail(ctx, `status = 'ok'`, id, now, since)
}

// ClaimOptInConfirmation is ClaimAddressNotice for the confirmation of an
// opt-in, which goes to an address that receives no emails (unsubscribed
// or bouncing); the two share the one a day.
func (s *Store) ClaimOptInConfirmation(ctx context.Context, id string, now, since time.Time) (bool, error) {
	return s.claimAddressMail(ctx, `status <> 'ok'`, id, now, since)
}

func (s *Store) claimAddressMail(ctx context.Context, status, id string, now, since time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE email_addresses SET notice_at = ?
		WHERE id = ? AND `+status+` AND (notice_at IS NULL OR notice_at <= ?)`, micros(now), id, micros(since))
	if err != nil {
		return false, fmt.Errorf("claim a notice to email address %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim a notice to email address %s: %w", id, err)
	}
	return n == 1, nil
}

// VisitorIDsWithEmail lists the visitors of a workspace whose email is addr
// in any letter case.
func (s *Store) VisitorIDsWithEmail(ctx context.Context, workspaceID, addr string) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM visitors WHERE workspace_id = ? AND email_key = ? ORDER BY id`, workspaceID, model.EmailKey(addr))
}

// AddressLanguage is the language the widget spoke to the visitor of a
// workspace with addr (in any letter case) who was active last: the one
// the emails to addr are most likely written in. "" when no such visitor
// started a widget.
func (s *Store) AddressLanguage(ctx context.Context, workspaceID, addr string) (string, error) {
	var lang string
	err := s.queryRow(ctx, `SELECT language FROM visitors WHERE workspace_id = ? AND email_key = ? AND language IS NOT NULL
		ORDER BY COALESCE(last_active_at, created_at) DESC, id DESC LIMIT 1`, workspaceID, model.EmailKey(addr)).Scan(&lang)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("language of email address: %w", err)
	}
	return lang, nil
}

// CancelQueuedEmailsTo gives up the workspace's emails to addr that are
// still waiting in the outbox (an unsubscribe or a bounce came first); the
// replies they carry become failed. It returns those replies' ids. An email
// a worker is handing to the relay at this instant may still go out.
func (s *Store) CancelQueuedEmailsTo(ctx context.Context, workspaceID, addr, reason string, at time.Time) ([]string, error) {
	key := model.EmailKey(addr)
	rows, err := s.query(ctx, `SELECT id, rcpt_to FROM emails WHERE workspace_id = ? AND status = 'queued'`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("cancel emails: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id, to string
		if err := rows.Scan(&id, &to); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cancel emails: %w", err)
		}
		if model.EmailKey(to) == key {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cancel emails: %w", err)
	}
	var replies []string
	for _, id := range ids {
		r, err := s.SetEmailStatus(ctx, id, "failed", at, reason, at)
		if err != nil {
			return nil, fmt.Errorf("cancel emails: %w", err)
		}
		replies = append(replies, r...)
	}
	return replies, nil
}
