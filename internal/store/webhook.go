package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// Webhook is a workspace's subscription to its events, with its signing
// secret (never shown again after creation).
type Webhook struct {
	ID             string
	WorkspaceID    string
	URL            string
	Events         []string
	Secret         string
	CreatedAt      time.Time
	FailingSince   *time.Time
	DisabledAt     *time.Time
	DisabledReason string
}

// WebhookDelivery is one event to deliver to one webhook, as claimed by the
// delivery worker.
type WebhookDelivery struct {
	WebhookID   string
	WorkspaceID string
	EventID     string
	EventType   string
	OrderKey    string
	Attempts    int
	CreatedAt   time.Time
	URL         string
	Secret      string
	Body        []byte
}

// WebhookAttempt is one try of a delivery, as logged for admins.
type WebhookAttempt struct {
	ID         string    `json:"id"`
	WebhookID  string    `json:"-"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	At         time.Time `json:"at"`
	StatusCode *int      `json:"status_code"`
	OK         bool      `json:"ok"`
	Error      string    `json:"error,omitempty"`
	Excerpt    string    `json:"excerpt,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// WebhookAttemptsKept is how many attempts are logged per webhook.
const WebhookAttemptsKept = 100

const webhookColumns = `id, workspace_id, url, events, secret, created_at, failing_since, disabled_at, disabled_reason`

func scanWebhook(row interface{ Scan(...any) error }) (Webhook, error) {
	var (
		w                 Webhook
		events            string
		created           int64
		failing, disabled sql.NullInt64
		reason            sql.NullString
	)
	err := row.Scan(&w.ID, &w.WorkspaceID, &w.URL, &events, &w.Secret, &created, &failing, &disabled, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNotFound
	}
	if err != nil {
		return w, err
	}
	w.Events = strings.Fields(events)
	w.CreatedAt = fromMicros(created)
	w.FailingSince = fromNullMicros(failing)
	w.DisabledAt = fromNullMicros(disabled)
	w.DisabledReason = reason.String
	return w, nil
}

// CreateWebhook inserts a webhook.
func (s *Store) CreateWebhook(ctx context.Context, w Webhook) error {
	_, err := s.exec(ctx, `INSERT INTO webhooks (id, workspace_id, url, events, secret, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		w.ID, w.WorkspaceID, w.URL, " "+strings.Join(w.Events, " ")+" ", w.Secret, micros(w.CreatedAt))
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// Webhooks lists a workspace's webhooks, oldest first.
func (s *Store) Webhooks(ctx context.Context, workspaceID string) ([]Webhook, error) {
	rows, err := s.query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Webhook returns a webhook of a workspace.
func (s *Store) Webhook(ctx context.Context, workspaceID, id string) (Webhook, error) {
	w, err := scanWebhook(s.queryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return w, fmt.Errorf("get webhook %s: %w", id, err)
	}
	return w, nil
}

// DeleteWebhook removes a webhook with its pending deliveries and its log,
// and the events no other webhook still waits for.
func (db *DB) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	return db.InTx(ctx, func(tx *Store) error {
		if _, err := tx.Webhook(ctx, workspaceID, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM webhook_deliveries WHERE webhook_id = ?`,
			`DELETE FROM webhook_attempts WHERE webhook_id = ?`,
			`DELETE FROM webhooks WHERE id = ?`,
		} {
			if _, err := tx.exec(ctx, q, id); err != nil {
				return fmt.Errorf("delete webhook %s: %w", id, err)
			}
		}
		_, err := tx.exec(ctx, `DELETE FROM webhook_events WHERE workspace_id = ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`, workspaceID)
		if err != nil {
			return fmt.Errorf("delete webhook %s: forget its events: %w", id, err)
		}
		return nil
	})
}

// WebhookKeptWhileDisabled is how long a disabled webhook's deliveries
// wait for it to be enabled again, counted from their event: an older one
// is dropped (EnableWebhook, DropExpiredWebhookDeliveries), so that a
// webhook nobody enables again does not pile up rows for ever.
const WebhookKeptWhileDisabled = 7 * 24 * time.Hour

// EnableWebhook enables a disabled webhook again: its deliveries of events
// older than WebhookKeptWhileDisabled at now are dropped, the others are
// due at once, in order, and their 72 hours before being given up (see
// package webhook) and their retry delays start again now.
func (db *DB) EnableWebhook(ctx context.Context, workspaceID, id string, now time.Time) error {
	// One transaction: a claim between the statements would take a
	// delivery that a later one then makes due again, and it would go out
	// twice.
	return db.InTx(ctx, func(tx *Store) error {
		w, err := tx.Webhook(ctx, workspaceID, id)
		if err != nil {
			return fmt.Errorf("enable webhook: %w", err)
		}
		if w.DisabledAt == nil { // enabled: what is pending is retried now
			if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE webhook_id = ? AND status = 'pending'`, micros(now), id); err != nil {
				return fmt.Errorf("enable webhook %s: %w", id, err)
			}
			return nil
		}
		if _, err := tx.dropExpiredDeliveries(ctx, `webhook_id = ?`, []any{id}, now); err != nil {
			return fmt.Errorf("enable webhook %s: %w", id, err)
		}
		if _, err := tx.exec(ctx, `UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL WHERE id = ?`, id); err != nil {
			return fmt.Errorf("enable webhook %s: %w", id, err)
		}
		// created_at is when a delivery's tries began, the start of its 72
		// hours before being given up: an event that waited for the
		// webhook gets them from now.
		// Its tries counted from none, too: one that fails again at once is
		// retried after the first delay, not the longest.
		if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = 0, created_at = CASE WHEN created_at < ? THEN ? ELSE created_at END
			WHERE webhook_id = ? AND status = 'pending'`, micros(now), micros(now), micros(now), id); err != nil {
			return fmt.Errorf("enable webhook %s: %w", id, err)
		}
		return nil
	})
}

// DropExpiredWebhookDeliveries deletes the deliveries of disabled webhooks
// whose event is older than WebhookKeptWhileDisabled at now, and the events
// no delivery waits for any more; it returns how many deliveries went.
func (db *DB) DropExpiredWebhookDeliveries(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := db.InTx(ctx, func(tx *Store) error {
		var err error
		n, err = tx.dropExpiredDeliveries(ctx, `webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NOT NULL)`, nil, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("drop expired webhook deliveries: %w", err)
	}
	return n, nil
}

// dropExpiredDeliveries deletes the pending deliveries of the webhooks
// that which (with its args) selects, whose event is older than
// WebhookKeptWhileDisabled at now, and the events left without a delivery.
func (s *Store) dropExpiredDeliveries(ctx context.Context, which string, args []any, now time.Time) (int, error) {
	cutoff := micros(now.Add(-WebhookKeptWhileDisabled))
	res, err := s.exec(ctx, `DELETE FROM webhook_deliveries WHERE `+which+` AND status = 'pending'
		AND event_id IN (SELECT id FROM webhook_events WHERE created_at < ?)`, append(args, cutoff)...)
	if err != nil {
		return 0, fmt.Errorf("drop deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 {
		return 0, nil
	}
	if _, err := s.exec(ctx, `DELETE FROM webhook_events WHERE created_at < ?
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`, cutoff); err != nil {
		return 0, fmt.Errorf("drop events: %w", err)
	}
	return int(n), nil
}

// QueueWebhookEvent records an event for every webhook of the workspace
// that subscribes to its type, in the caller's transaction: a disabled
// webhook's delivery waits for it to be enabled again (for
// WebhookKeptWhileDisabled at most). It reports whether any webhook
// subscribes (nothing is written otherwise). body is the exact JSON each
// delivery POSTs.
func (s *Store) QueueWebhookEvent(ctx context.Context, workspaceID, conversationID, eventID, typ string, body []byte, at time.Time) (bool, error) {
	pattern := "% " + typ + " %"
	res, err := s.exec(ctx, `INSERT INTO webhook_events (id, workspace_id, conversation_id, type, body, created_at)
		SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE workspace_id = ? AND events LIKE ?)`,
		eventID, workspaceID, nullIfEmpty(conversationID), typ, string(body), micros(at), workspaceID, pattern)
	if err != nil {
		return false, fmt.Errorf("queue %s event: %w", typ, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	orderKey := conversationID
	if orderKey == "" {
		orderKey = eventID
	}
	_, err = s.exec(ctx, `INSERT INTO webhook_deliveries (webhook_id, event_id, order_key, next_attempt_at, created_at)
		SELECT id, ?, ?, ?, ? FROM webhooks WHERE workspace_id = ? AND events LIKE ?`,
		eventID, orderKey, micros(at), micros(at), workspaceID, pattern)
	if err != nil {
		return false, fmt.Errorf("queue %s deliveries: %w", typ, err)
	}
	return true, nil
}

// WebhookSubscriptions returns the events column ("' type type '") of each
// webhook of a workspace, enabled or disabled (whose deliveries wait for
// it): a change's events are encoded and queued only when one of them
// subscribes (QueueWebhookEvent decides again).
func (s *Store) WebhookSubscriptions(ctx context.Context, workspaceID string) ([]string, error) {
	evs, err := s.ids(ctx, `SELECT events FROM webhooks WHERE workspace_id = ?`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list webhook subscriptions: %w", err)
	}
	return evs, nil
}

// firstOfItsConversation keeps, of webhook_deliveries d, the first pending
// delivery of each webhook and conversation (order key).
const firstOfItsConversation = `AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id
	AND e.order_key = d.order_key AND e.status = 'pending' AND e.event_id < d.event_id)`

// ClaimWebhookDeliveries leases up to limit due deliveries, each the oldest
// pending one of its webhook and conversation (so a conversation's events
// go out in order, one at a time), of enabled webhooks. The lease moves the
// next attempt past now+lease, so another node does not take it meanwhile.
// Deliveries of the webhooks of exceptWorkspaces are left (their
// workspaces have all the calls they may have at once).
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, nodeID string, now time.Time, lease time.Duration, limit int, exceptWorkspaces []string) ([]WebhookDelivery, error) {
	if s.commits != nil { // a write: the writer's
		return alone(ctx, s.commits, func(tx *Store) ([]WebhookDelivery, error) {
			return tx.ClaimWebhookDeliveries(ctx, nodeID, now, lease, limit, exceptWorkspaces)
		})
	}
	lock, except := "", ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE OF d SKIP LOCKED`
	}
	if len(exceptWorkspaces) > 0 {
		except = ` AND w.workspace_id NOT IN (` + placeholders(len(exceptWorkspaces)) + `)`
	}
	rows, err := s.query(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1, claimed_by = ?
		WHERE (webhook_id, event_id) IN (
			SELECT d.webhook_id, d.event_id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.disabled_at IS NULL`+except+`
			`+firstOfItsConversation+`
			ORDER BY d.next_attempt_at LIMIT ?`+lock+`)
		RETURNING webhook_id, event_id, order_key, attempts, created_at`,
		append(append([]any{micros(now.Add(lease)), nullIfEmpty(nodeID), micros(now)}, anys(exceptWorkspaces)...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	var out []WebhookDelivery
	for rows.Next() {
		var (
			d       WebhookDelivery
			created int64
		)
		if err := rows.Scan(&d.WebhookID, &d.EventID, &d.OrderKey, &d.Attempts, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim webhook deliveries: %w", err)
		}
		d.CreatedAt = fromMicros(created)
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	for i := range out {
		d := &out[i]
		var body string
		err := s.queryRow(ctx, `SELECT w.workspace_id, w.url, w.secret, e.type, e.body FROM webhooks w, webhook_events e WHERE w.id = ? AND e.id = ?`,
			d.WebhookID, d.EventID).Scan(&d.WorkspaceID, &d.URL, &d.Secret, &d.EventType, &body)
		if err != nil {
			return nil, fmt.Errorf("claim webhook deliveries: read %s: %w", d.EventID, err)
		}
		d.Body = []byte(body)
	}
	return out, nil
}

// NextWebhookDue returns the earliest attempt time of a pending delivery of
// an enabled webhook that ClaimWebhookDeliveries could take (the first
// pending one of its webhook and conversation), or nil. A later event of
// a conversation waits for its earlier one's retry, not its own time.
func (s *Store) NextWebhookDue(ctx context.Context) (*time.Time, error) {
	var v sql.NullInt64
	err := s.queryRow(ctx, `SELECT MIN(d.next_attempt_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
		WHERE d.status = 'pending' AND w.disabled_at IS NULL `+firstOfItsConversation).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("next webhook due: %w", err)
	}
	return fromNullMicros(v), nil
}

// WebhookOutcome is how one attempt went and what follows from it.
type WebhookOutcome struct {
	Attempt WebhookAttempt
	// Delivered: the receiver answered 2xx; the delivery is done.
	Delivered bool
	// GiveUp: the delivery is abandoned (kept in the log only).
	GiveUp bool
	// Next is the next attempt's time when neither.
	Next time.Time
	// DisableAfter: a webhook failing since at least this long is disabled.
	DisableAfter time.Duration
}

// RecordWebhookAttempt logs an attempt (keeping the last
// WebhookAttemptsKept per webhook), moves the delivery on, and keeps the
// webhook's failing streak: cleared by a success, and the webhook disabled
// once it has failed for DisableAfter. It reports whether the webhook was
// disabled now.
func (db *DB) RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, o WebhookOutcome) (disabled bool, err error) {
	a := o.Attempt
	err = db.InTx(ctx, func(tx *Store) error {
		if _, err := tx.exec(ctx, `INSERT INTO webhook_attempts (id, webhook_id, event_id, event_type, at, status_code, ok, error, excerpt, duration_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, model.NewID(), d.WebhookID, d.EventID, d.EventType, micros(a.At), a.StatusCode,
			boolInt(a.OK), nullIfEmpty(a.Error), nullIfEmpty(a.Excerpt), a.DurationMS); err != nil {
			return fmt.Errorf("log webhook attempt: %w", err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM webhook_attempts WHERE webhook_id = ? AND id NOT IN
			(SELECT id FROM webhook_attempts WHERE webhook_id = ? ORDER BY at DESC, id DESC LIMIT ?)`, d.WebhookID, d.WebhookID, WebhookAttemptsKept); err != nil {
			return fmt.Errorf("trim webhook log: %w", err)
		}
		switch {
		case o.Delivered || o.GiveUp:
			if _, err := tx.exec(ctx, `DELETE FROM webhook_deliveries WHERE webhook_id = ? AND event_id = ?`, d.WebhookID, d.EventID); err != nil {
				return fmt.Errorf("finish webhook delivery: %w", err)
			}
			if _, err := tx.exec(ctx, `DELETE FROM webhook_events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM webhook_deliveries WHERE event_id = ?)`, d.EventID, d.EventID); err != nil {
				return fmt.Errorf("finish webhook delivery: %w", err)
			}
		default:
			if _, err := tx.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_by = NULL WHERE webhook_id = ? AND event_id = ?`,
				micros(o.Next), d.WebhookID, d.EventID); err != nil {
				return fmt.Errorf("reschedule webhook delivery: %w", err)
			}
		}
		if o.Delivered {
			_, err := tx.exec(ctx, `UPDATE webhooks SET failing_since = NULL WHERE id = ?`, d.WebhookID)
			return err
		}
		if _, err := tx.exec(ctx, `UPDATE webhooks SET failing_since = ? WHERE id = ? AND failing_since IS NULL`, micros(a.At), d.WebhookID); err != nil {
			return fmt.Errorf("mark webhook failing: %w", err)
		}
		reason := fmt.Sprintf("Every delivery failed for %s (last: %s).", hours(o.DisableAfter), attemptSummary(a))
		res, err := tx.exec(ctx, `UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL AND failing_since <= ?`,
			micros(a.At), reason, d.WebhookID, micros(a.At.Add(-o.DisableAfter)))
		if err != nil {
			return fmt.Errorf("disable webhook: %w", err)
		}
		n, _ := res.RowsAffected()
		disabled = n > 0
		return nil
	})
	return disabled, err
}

func attemptSummary(a WebhookAttempt) string {
	if a.StatusCode != nil {
		return fmt.Sprintf("HTTP %d", *a.StatusCode)
	}
	return a.Error
}

// WebhookAttempts returns a webhook's logged attempts, newest first.
func (s *Store) WebhookAttempts(ctx context.Context, webhookID string) ([]WebhookAttempt, error) {
	rows, err := s.query(ctx, `SELECT id, event_id, event_type, at, status_code, ok, error, excerpt, duration_ms FROM webhook_attempts
		WHERE webhook_id = ? ORDER BY at DESC, id DESC LIMIT ?`, webhookID, WebhookAttemptsKept)
	if err != nil {
		return nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	defer rows.Close()
	out := []WebhookAttempt{}
	for rows.Next() {
		var (
			a          WebhookAttempt
			at         int64
			code       sql.NullInt64
			ok         int
			errText, x sql.NullString
		)
		if err := rows.Scan(&a.ID, &a.EventID, &a.EventType, &at, &code, &ok, &errText, &x, &a.DurationMS); err != nil {
			return nil, fmt.Errorf("list webhook attempts: %w", err)
		}
		a.WebhookID, a.At, a.OK, a.Error, a.Excerpt = webhookID, fromMicros(at), ok != 0, errText.String, x.String
		if code.Valid {
			c := int(code.Int64)
			a.StatusCode = &c
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PendingWebhookDeliveries counts a webhook's deliveries still to make as
// of now: for a disabled webhook, those that enabling it would send (not
// the ones older than WebhookKeptWhileDisabled, dropped then).
func (s *Store) PendingWebhookDeliveries(ctx context.Context, webhookID string, now time.Time) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN webhook_events e ON e.id = d.event_id
		WHERE d.webhook_id = ? AND d.status = 'pending' AND (w.disabled_at IS NULL OR e.created_at >= ?)`,
		webhookID, micros(now.Add(-WebhookKeptWhileDisabled))).Scan(&n); err != nil {
		return 0, fmt.Errorf("count webhook deliveries: %w", err)
	}
	return n, nil
}

// ReleaseWebhookClaims makes the deliveries a node had claimed due now (it
// stopped, or died, before finishing them).
func (s *Store) ReleaseWebhookClaims(ctx context.Context, nodeID string, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_by = NULL WHERE claimed_by = ? AND status = 'pending'`,
		micros(now), nodeID); err != nil {
		return fmt.Errorf("release webhook claims: %w", err)
	}
	return nil
}

// WebhookWorkspace returns the workspace a webhook belongs to.
func (s *Store) WebhookWorkspace(ctx context.Context, id string) (string, error) {
	var ws string
	err := s.queryRow(ctx, `SELECT workspace_id FROM webhooks WHERE id = ?`, id).Scan(&ws)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("get webhook %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("get webhook %s: %w", id, err)
	}
	return ws, nil
}

// ReleaseWebhookLeases makes every claimed delivery due now (start-up of a
// single node: nothing is in flight after a restart).
func (s *Store) ReleaseWebhookLeases(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ?, claimed_by = NULL WHERE claimed_by IS NOT NULL AND status = 'pending'`,
		micros(now)); err != nil {
		return fmt.Errorf("release webhook leases: %w", err)
	}
	return nil
}

func hours(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return d.String()
}
