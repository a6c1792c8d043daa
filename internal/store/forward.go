package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// ForwardState returns the forwarding engine's last decision on a
// conversation (all fields empty when it made none).
func (s *Store) ForwardState(ctx context.Context, conversationID string) (model.Forwarding, error) {
	var (
		st           model.Forwarding
		due          sql.NullInt64
		code, reason sql.NullString
	)
	err := s.queryRow(ctx, `SELECT forward_due_at, forward_code, forward_reason FROM conversations WHERE id = ?`, conversationID).Scan(&due, &code, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("forward state of %s: %w", conversationID, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("forward state of %s: %w", conversationID, err)
	}
	st.DueAt, st.Code, st.Reason = fromNullMicros(due), code.String, reason.String
	return st, nil
}

// SetForwardState records a decision; a nil due time takes the
// conversation off the schedule. It ends a node's claim on the
// conversation (ClaimForwardDue): the decision is made.
func (s *Store) SetForwardState(ctx context.Context, conversationID string, st model.Forwarding) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET forward_due_at = ?, forward_code = ?, forward_reason = ?,
		forward_claimed_until = NULL WHERE id = ?`,
		nullMicros(st.DueAt), st.Code, st.Reason, conversationID); err != nil {
		return fmt.Errorf("set forward state of %s: %w", conversationID, err)
	}
	return nil
}

// ForwardVisitorDueBy brings the due time of each of a visitor's
// conversations on the forwarding schedule forward to at, when it is
// later: the schedule then holds, durably, that their decision must be
// made again by then. A leave is written with it: a leave may make an
// email due sooner, and the engine told of it in memory may stop (the
// process stops, or is killed) before it decided; any node's engine, or
// the next start's, finds the conversation due and decides it again. A
// due time that comes too early costs an evaluation, never an email:
// the decision is made from the conversation's state at that time.
//
// Every scheduled conversation of the visitor is written, also one due
// already: on PostgreSQL, one being decided is locked, and the statement
// waits for that decision, which may have read the visitor as still
// online, and then moves the due time it wrote.
func (s *Store) ForwardVisitorDueBy(ctx context.Context, visitorID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET forward_due_at = CASE WHEN forward_due_at > ? THEN ? ELSE forward_due_at END
		WHERE visitor_id = ? AND forward_due_at IS NOT NULL`, micros(at), micros(at), visitorID); err != nil {
		return fmt.Errorf("bring the forwarding of visitor %s forward: %w", visitorID, err)
	}
	return nil
}

// ForwardDueBy brings conversation id's due time on the forwarding
// schedule forward to at, or puts it on the schedule at at: a reply is
// written with it, so that the decision it calls for is made even when
// the engine told of the reply in memory stops before deciding (as
// ForwardVisitorDueBy for a leave). Too early, it costs an evaluation,
// never an email.
func (s *Store) ForwardDueBy(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET forward_due_at = ? WHERE id = ? AND (forward_due_at IS NULL OR forward_due_at > ?)`,
		micros(at), id, micros(at)); err != nil {
		return fmt.Errorf("bring the forwarding of conversation %s forward: %w", id, err)
	}
	return nil
}

// SetForwardDelivered moves the forwarding state of the conversation of
// email emailID on from "queued" once the outbox knows how the email went
// (status "sent" or "failed"), so the dashboard no longer says it waits.
// Only the conversation's newest email speaks for it, only when the email
// has that status (a bounce recorded first stays), and only a "queued"
// state changes: a later decision of the engine stays. note is added to the
// reason. It returns the conversation's id and whether the state changed.
func (s *Store) SetForwardDelivered(ctx context.Context, emailID, status, note string) (string, bool, error) {
	if status != "sent" && status != "failed" {
		return "", false, nil
	}
	ids, err := s.ids(ctx, setForwardDelivered, forwardDeliveredArgs(emailID, status, note)...)
	if err != nil {
		return "", false, fmt.Errorf("set forward state after %s email %s: %w", status, emailID, err)
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return ids[0], true, nil
}

// setForwardDelivered is SetForwardDelivered's statement, with
// forwardDeliveredArgs.
const setForwardDelivered = `UPDATE conversations SET forward_code = ?, forward_reason = COALESCE(forward_reason, '') || ?
	WHERE forward_code = 'queued' AND id = (
		SELECT e.conversation_id FROM emails e WHERE e.id = ? AND e.status = ? AND NOT EXISTS (
			SELECT 1 FROM emails n WHERE n.conversation_id = e.conversation_id
			AND (n.created_at > e.created_at OR (n.created_at = e.created_at AND n.id > e.id))))
	RETURNING id`

func forwardDeliveredArgs(emailID, status, note string) []any {
	return []any{status, note, emailID, status}
}

// Backlog is the work waiting in the database for every node.
type Backlog struct {
	OutboxPending    int64 // emails queued, not yet accepted by the relay
	ForwardDue       int64 // conversations whose evaluation is due at now
	ForwardScheduled int64 // conversations with an evaluation scheduled
}

// Backlog counts the queued emails and the scheduled forwarding
// evaluations. Both counts read only the partial indexes emails_queued and
// conversations_forward_due, so they stay cheap with a large history.
func (s *Store) Backlog(ctx context.Context, now time.Time) (Backlog, error) {
	var b Backlog
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM emails WHERE status = 'queued'`).Scan(&b.OutboxPending); err != nil {
		return b, fmt.Errorf("count the outbox: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN forward_due_at <= ? THEN 1 END)
		FROM conversations WHERE forward_due_at IS NOT NULL`, micros(now)).Scan(&b.ForwardScheduled, &b.ForwardDue); err != nil {
		return b, fmt.Errorf("count the forwarding schedule: %w", err)
	}
	return b, nil
}

// NextForwardDue returns the earliest due time on the schedule, or nil.
func (s *Store) NextForwardDue(ctx context.Context) (*time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(forward_due_at) FROM conversations WHERE forward_due_at IS NOT NULL`).Scan(&v); err != nil {
		return nil, fmt.Errorf("next forward due: %w", err)
	}
	return fromNullMicros(v), nil
}

// ForwardSchedule lists up to limit conversations whose due time has come
// at now, earliest first, and the earliest due time after now when the
// same read reaches it (nil when none is scheduled after them, or when
// more than limit are due): one walk of the schedule's index for both.
func (s *Store) ForwardSchedule(ctx context.Context, now time.Time, limit int) (due []string, next *time.Time, err error) {
	rows, err := s.query(ctx, `SELECT id, forward_due_at FROM conversations WHERE forward_due_at IS NOT NULL ORDER BY forward_due_at LIMIT ?`, limit+1)
	if err != nil {
		return nil, nil, fmt.Errorf("read forwarding schedule: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id string
			at int64
		)
		if err := rows.Scan(&id, &at); err != nil {
			return nil, nil, fmt.Errorf("read forwarding schedule: %w", err)
		}
		if at > micros(now) {
			next = new(fromMicros(at))
			break
		}
		if len(due) == limit {
			break // more are due: the next due time is now
		}
		due = append(due, id)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("read forwarding schedule: %w", err)
	}
	return due, next, nil
}

// ClaimForwardDue is ForwardSchedule for several nodes (PostgreSQL only):
// it takes up to limit due conversations, earliest first, that no other
// transaction holds and no other node claimed, and marks them claimed
// until now+lease so that other nodes pass them over while this one
// decides. The due time stays as it was (the API and the backlog see it);
// the decision clears the claim (SetForwardState), and a node that dies
// leaves its claims to the others once the lease ends. next is the
// earliest due time the statement saw, claimed or not (nil when none was
// scheduled); it can be at or before now when the due conversations were
// all held by others.
func (s *Store) ClaimForwardDue(ctx context.Context, now time.Time, lease time.Duration, limit int) (due []string, next *time.Time, err error) {
	if s.dialect != Postgres {
		return nil, nil, errors.New("claim due conversations: only on PostgreSQL")
	}
	// The outer SELECT sees the rows as they were before the UPDATE: the
	// MIN is the schedule as found.
	rows, err := s.query(ctx, `WITH claimed AS (
			UPDATE conversations SET forward_claimed_until = ? WHERE id IN (
				SELECT id FROM conversations WHERE forward_due_at IS NOT NULL AND forward_due_at <= ?
				AND (forward_claimed_until IS NULL OR forward_claimed_until <= ?)
				ORDER BY forward_due_at LIMIT ? FOR UPDATE SKIP LOCKED)
			RETURNING id)
		SELECT id, CAST(NULL AS BIGINT) FROM claimed
		UNION ALL SELECT CAST(NULL AS TEXT), MIN(forward_due_at) FROM conversations WHERE forward_due_at IS NOT NULL`,
		micros(now.Add(lease)), micros(now), micros(now), limit)
	if err != nil {
		return nil, nil, fmt.Errorf("claim due conversations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id sql.NullString
			at sql.NullInt64
		)
		if err := rows.Scan(&id, &at); err != nil {
			return nil, nil, fmt.Errorf("claim due conversations: %w", err)
		}
		if id.Valid {
			due = append(due, id.String)
		} else {
			next = fromNullMicros(at)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("claim due conversations: %w", err)
	}
	return due, next, nil
}

// LockedConversation reads a conversation for a transaction that will
// change it, as ConversationForForwarding does. On PostgreSQL the row
// stays locked until the transaction ends, and ok is false when another
// transaction holds it (another node is deciding on it) or it is gone;
// SQLite's single writer needs no lock.
func (s *Store) LockedConversation(ctx context.Context, id string) (c model.Conversation, ok bool, err error) {
	q := conversationForwardSelect + ` WHERE c.id = ?`
	if s.dialect == Postgres {
		q += ` FOR UPDATE OF c SKIP LOCKED`
	}
	c, err = scanConversation(s.queryRow(ctx, q, id))
	if errors.Is(err, ErrNotFound) && s.dialect == Postgres {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return c, true, nil
}

// conversationForwardSelect is conversationSelect without the unread
// count and the preview, which walk the conversation's messages and which
// forwarding decisions never use.
var conversationForwardSelect = strings.Replace(strings.Replace(conversationSelect,
	`(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.author_kind = 'visitor'
		AND m.id > COALESCE(c.agent_read_id, ''))`, `0`, 1),
	`(SELECT m.body FROM messages m WHERE m.conversation_id = c.id AND m.kind = 'reply' ORDER BY m.id DESC LIMIT 1)`, `NULL`, 1)

// ConversationForForwarding is ConversationByID without Unread and
// LastMessage (zero): what a forwarding decision reads.
func (s *Store) ConversationForForwarding(ctx context.Context, id string) (model.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, conversationForwardSelect+` WHERE c.id = ?`, id))
	if err != nil {
		return c, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return c, nil
}

// ConversationByID returns a conversation whatever its workspace (for the
// engines, never for agent calls).
func (s *Store) ConversationByID(ctx context.Context, id string) (model.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, conversationSelect+` WHERE c.id = ?`, id))
	if err != nil {
		return c, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return c, nil
}

// ConversationsWithUnforwarded lists a workspace's conversations holding
// agent replies neither read nor forwarded.
func (s *Store) ConversationsWithUnforwarded(ctx context.Context, workspaceID string) ([]string, error) {
	return s.ids(ctx, `SELECT DISTINCT conversation_id FROM messages WHERE workspace_id = ?
		AND kind = 'reply' AND author_kind = 'agent' AND forwarded_to IS NULL AND read_by_visitor_at IS NULL`, workspaceID)
}

// Email is a row of the outbox.
type Email struct {
	ID             string
	WorkspaceID    string
	ConversationID string
	VisitorID      string
	MessageID      string
	From, To       string
	Raw            []byte
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	LastError      string
	CreatedAt      time.Time
	SentAt         *time.Time
}

// CreateEmail puts an email in the outbox.
func (s *Store) CreateEmail(ctx context.Context, e Email) error {
	_, err := s.exec(ctx, `INSERT INTO emails (id, workspace_id, conversation_id, visitor_id, message_id, mail_from, rcpt_to, raw, status, attempts, next_attempt_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', 0, ?, ?)`,
		e.ID, e.WorkspaceID, e.ConversationID, e.VisitorID, e.MessageID, e.From, e.To, string(e.Raw), micros(e.NextAttemptAt), micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("queue email for conversation %s: %w", e.ConversationID, err)
	}
	return nil
}

// EmailsToSince counts the emails queued for addr (without regard to
// case) at or after since, and returns the time of the oldest of them.
func (s *Store) EmailsToSince(ctx context.Context, addr string, since time.Time) (int, time.Time, error) {
	var (
		n      int
		oldest sql.NullInt64
	)
	err := s.queryRow(ctx, `SELECT COUNT(*), MIN(created_at) FROM emails WHERE lower(rcpt_to) = lower(?) AND created_at >= ?`,
		addr, micros(since)).Scan(&n, &oldest)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count emails to an address: %w", err)
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	return n, fromMicros(oldest.Int64), nil
}

// EmailMessageIDs lists the Message-IDs of a conversation's emails to addr
// (in any letter case), oldest first (for In-Reply-To and References). The
// emails to another address of the visitor's are left out: an address
// sees only its own thread, and a Message-ID is what a bounce names, so
// it is shown to nobody but its recipient.
func (s *Store) EmailMessageIDs(ctx context.Context, conversationID, addr string) ([]string, error) {
	return s.ids(ctx, `SELECT message_id FROM emails WHERE conversation_id = ? AND LOWER(rcpt_to) = LOWER(?) ORDER BY created_at, id`, conversationID, addr)
}

// MarkForwarded records that agent replies are part of a queued email.
func (s *Store) MarkForwarded(ctx context.Context, messageIDs []string, emailID, to string, at time.Time) error {
	if len(messageIDs) == 0 {
		return nil
	}
	args := []any{to, micros(at), emailID}
	for _, id := range messageIDs {
		args = append(args, id)
	}
	q := `UPDATE messages SET forwarded_to = ?, forwarded_at = ?, forwarded_status = 'queued', forwarded_email_id = ?
		WHERE forwarded_to IS NULL AND id IN (?` + strings.Repeat(", ?", len(messageIDs)-1) + `)`
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("mark replies forwarded: %w", err)
	}
	if n, _ := res.RowsAffected(); int(n) != len(messageIDs) {
		return fmt.Errorf("mark replies forwarded: %d of %d replies were already forwarded", len(messageIDs)-int(n), len(messageIDs))
	}
	return nil
}

const emailColumns = `id, workspace_id, conversation_id, visitor_id, message_id, mail_from, rcpt_to, raw, status, attempts, next_attempt_at, last_error, created_at, sent_at`

func scanEmail(row interface{ Scan(...any) error }) (Email, error) {
	var (
		e             Email
		raw           string
		next, created int64
		lastErr       sql.NullString
		sent          sql.NullInt64
	)
	if err := row.Scan(&e.ID, &e.WorkspaceID, &e.ConversationID, &e.VisitorID, &e.MessageID, &e.From, &e.To, &raw, &e.Status,
		&e.Attempts, &next, &lastErr, &created, &sent); err != nil {
		return e, err
	}
	e.Raw = []byte(raw)
	e.NextAttemptAt, e.CreatedAt = fromMicros(next), fromMicros(created)
	e.LastError = lastErr.String
	e.SentAt = fromNullMicros(sent)
	return e, nil
}

// ClaimEmails takes up to limit queued emails whose attempt time has come,
// moving their next attempt past the lease so that no other worker takes
// them meanwhile, and counting the attempt.
func (s *Store) ClaimEmails(ctx context.Context, nodeID string, now time.Time, lease time.Duration, limit int) ([]Email, error) {
	if s.commits != nil { // a write: the writer's
		return alone(ctx, s.commits, func(tx *Store) ([]Email, error) { return tx.ClaimEmails(ctx, nodeID, now, lease, limit) })
	}
	lock := ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	return s.emails(ctx, "claim emails", `UPDATE emails SET next_attempt_at = ?, attempts = attempts + 1, claimed_by = ?
		WHERE id IN (SELECT id FROM emails WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`+lock+`)
		RETURNING `+emailColumns, micros(now.Add(lease)), nullIfEmpty(nodeID), micros(now), limit)
}

// WakeEmails makes the queued emails whose last attempt ended with
// lastError due at now, and returns how many there were.
func (s *Store) WakeEmails(ctx context.Context, lastError string, now time.Time) (int64, error) {
	res, err := s.exec(ctx, `UPDATE emails SET next_attempt_at = ? WHERE status = 'queued' AND last_error = ? AND next_attempt_at > ?`,
		micros(now), lastError, micros(now))
	if err != nil {
		return 0, fmt.Errorf("make emails due: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("make emails due: %w", err)
	}
	return n, nil
}

// NextEmailDue returns the earliest attempt time of a queued email, or nil.
func (s *Store) NextEmailDue(ctx context.Context) (*time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(next_attempt_at) FROM emails WHERE status = 'queued'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("next email due: %w", err)
	}
	return fromNullMicros(v), nil
}

// Email returns an outbox row.
func (s *Store) Email(ctx context.Context, id string) (Email, error) {
	e, err := scanEmail(s.queryRow(ctx, `SELECT `+emailColumns+` FROM emails WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("get email %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("get email %s: %w", id, err)
	}
	return e, nil
}

// Emails lists a conversation's emails, oldest first.
func (s *Store) Emails(ctx context.Context, conversationID string) ([]Email, error) {
	return s.emails(ctx, "list emails", `SELECT `+emailColumns+` FROM emails WHERE conversation_id = ? ORDER BY created_at, id`, conversationID)
}

// NewestEmails lists a conversation's n newest emails, newest first.
func (s *Store) NewestEmails(ctx context.Context, conversationID string, n int) ([]Email, error) {
	return s.emails(ctx, "list emails", `SELECT `+emailColumns+` FROM emails WHERE conversation_id = ? ORDER BY created_at DESC, id DESC LIMIT ?`, conversationID, n)
}

// emails runs a query of emails (what names it in errors) and scans
// every row.
func (s *Store) emails(ctx context.Context, what, q string, args ...any) ([]Email, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Email
	for rows.Next() {
		e, err := scanEmail(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// setEmailStatus records a delivery outcome on an email (arguments from
// emailStatusArgs). A bounce is final: an outcome recorded late (the relay
// accepted, then the bounce came back first) does not undo it.
// given_up_at keeps the first failure or bounce, for the continuity report.
const setEmailStatus = `UPDATE emails SET status = ?, next_attempt_at = ?, last_error = ?, claimed_by = NULL,
		sent_at = COALESCE(CAST(? AS BIGINT), sent_at), given_up_at = COALESCE(given_up_at, CAST(? AS BIGINT))
	WHERE id = ? AND status <> 'bounced'`

func emailStatusArgs(id, status string, next time.Time, lastErr string, at time.Time) []any {
	var sent, givenUp any
	switch status {
	case "sent":
		sent = micros(at)
	case "failed", "bounced":
		givenUp = micros(at)
	}
	return []any{status, micros(next), nullIfEmpty(lastErr), sent, givenUp, id}
}

// SetEmailStatus records a delivery outcome: "sent", "failed", or "queued"
// again with the next attempt time. The replies the email carries take the
// same status; their ids are returned.
func (s *Store) SetEmailStatus(ctx context.Context, id, status string, next time.Time, lastErr string, at time.Time) ([]string, error) {
	res, err := s.exec(ctx, setEmailStatus, emailStatusArgs(id, status, next, lastErr, at)...)
	if err != nil {
		return nil, fmt.Errorf("set status of email %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 || status == "queued" {
		return nil, nil
	}
	ids, err := s.ids(ctx, `UPDATE messages SET forwarded_status = ? WHERE forwarded_email_id = ? RETURNING id`, status, id)
	if err != nil {
		return nil, fmt.Errorf("set status of replies of email %s: %w", id, err)
	}
	return ids, nil
}

// Outcome is what RecordEmailOutcomes changed for one email.
type Outcome struct {
	// Recorded is whether the email took the status (not when a bounce
	// was recorded first).
	Recorded bool
	// Replies are the replies the email carries, as they now are, with
	// their files (none when their status did not change).
	Replies []model.Message
	// Conversation is the email's conversation when its forwarding state
	// moved on (SetForwardDelivered), else "".
	Conversation string
}

// EmailAttempt is how one attempt at delivering an email went, for
// RecordEmailOutcomes: its status ("sent", "failed", or "queued" again
// until Next), the relay's error, when, and the note added to the
// conversation's forwarding reason when the state moves on.
type EmailAttempt struct {
	EmailID, Status string
	Next, At        time.Time
	Error, Note     string
}

// RecordEmailOutcomes is SetEmailStatus and SetForwardDelivered for the
// outbox: it records how the deliveries of emails went and returns, in the
// attempts' order, the replies each email carries as they now are, for the
// agents' dashboards. All of them are one transaction: the outbox records
// the outcomes of a burst together, and on SQLite and PostgreSQL alike a
// commit, not a statement, is what a burst of thousands of one-outcome
// transactions paid for. The emails are updated in the order of their
// ids, so that two such transactions on PostgreSQL never wait for each
// other's rows.
//
// also (when not nil) runs after them in the same transaction, with the
// outcomes, within a savepoint: when it fails, what it wrote is undone and
// the outcomes commit all the same; its error is then returned with the
// outcomes. A nil []Outcome means nothing was recorded.
func (db *DB) RecordEmailOutcomes(ctx context.Context, attempts []EmailAttempt, also func(tx *Store, outs []Outcome) error) ([]Outcome, error) {
	order := make([]int, len(attempts))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return attempts[order[i]].EmailID < attempts[order[j]].EmailID })
	outs := make([]Outcome, len(attempts))
	var alsoErr error
	err := db.InTx(ctx, func(tx *Store) error {
		alsoErr = nil
		for _, i := range order {
			out, err := tx.recordEmailOutcome(ctx, attempts[i])
			if err != nil {
				return err
			}
			outs[i] = out
		}
		if err := tx.repliesFiles(ctx, outs); err != nil {
			return err
		}
		if also == nil {
			return nil
		}
		if _, err := tx.exec(ctx, `SAVEPOINT outcome_extras`); err != nil {
			return fmt.Errorf("begin savepoint: %w", err)
		}
		if alsoErr = also(tx, outs); alsoErr != nil {
			if _, err := tx.exec(ctx, `ROLLBACK TO SAVEPOINT outcome_extras`); err != nil {
				return fmt.Errorf("undo what followed the outcomes (%v): %w", alsoErr, err)
			}
		}
		if _, err := tx.exec(ctx, `RELEASE SAVEPOINT outcome_extras`); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return outs, alsoErr
}

// repliesFiles loads the attachments of the outcomes' replies into them:
// their events replace the replies on screens, files included.
func (s *Store) repliesFiles(ctx context.Context, outs []Outcome) error {
	var all []model.Message
	for _, o := range outs {
		all = append(all, o.Replies...)
	}
	if len(all) == 0 {
		return nil
	}
	if err := s.filesOf(ctx, "emailed replies", all); err != nil {
		return err
	}
	for i := range outs {
		n := copy(outs[i].Replies, all)
		all = all[n:]
	}
	return nil
}

// recordEmailOutcome is one attempt of RecordEmailOutcomes, in its
// transaction.
func (s *Store) recordEmailOutcome(ctx context.Context, a EmailAttempt) (Outcome, error) {
	if s.dialect == Postgres && a.Status != "queued" {
		return s.recordEmailOutcomePostgres(ctx, a)
	}
	var out Outcome
	res, err := s.exec(ctx, setEmailStatus, emailStatusArgs(a.EmailID, a.Status, a.Next, a.Error, a.At)...)
	if err != nil {
		return Outcome{}, fmt.Errorf("set status of email %s: %w", a.EmailID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return out, nil // a bounce recorded first stays, and so does all the rest
	}
	out.Recorded = true
	if a.Status == "queued" {
		return out, nil
	}
	// The replies come back as they now are, from the same statement.
	out.Replies, err = returnedMessages(s.query(ctx, `UPDATE messages SET forwarded_status = ? WHERE forwarded_email_id = ?
		RETURNING `+messageColumns, a.Status, a.EmailID))
	if err != nil {
		return Outcome{}, fmt.Errorf("set status of replies of email %s: %w", a.EmailID, err)
	}
	sort.Slice(out.Replies, func(i, j int) bool { return out.Replies[i].ID < out.Replies[j].ID })
	if out.Conversation, _, err = s.SetForwardDelivered(ctx, a.EmailID, a.Status, a.Note); err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// recordEmailOutcomePostgres is recordEmailOutcome for a final status on
// PostgreSQL, in two round trips instead of three: the email and its
// replies in one statement, then the conversation's state in one that
// also tells whether the email took the status. The email can only have
// refused it for "bounced", which is neither "sent" nor "failed", so the
// status it now has says whether the first statement changed it.
func (s *Store) recordEmailOutcomePostgres(ctx context.Context, a EmailAttempt) (Outcome, error) {
	var (
		out  Outcome
		conv sql.NullString
		err  error
	)
	out.Replies, err = returnedMessages(s.query(ctx, `WITH e AS (`+setEmailStatus+` RETURNING id, status)
		UPDATE messages SET forwarded_status = e.status FROM e
		WHERE messages.forwarded_email_id = e.id
		RETURNING `+prefixed("messages.", messageColumns), emailStatusArgs(a.EmailID, a.Status, a.Next, a.Error, a.At)...))
	if err != nil {
		return Outcome{}, fmt.Errorf("set status of email %s: %w", a.EmailID, err)
	}
	sort.Slice(out.Replies, func(i, j int) bool { return out.Replies[i].ID < out.Replies[j].ID })
	if err := s.queryRow(ctx, `WITH c AS (`+setForwardDelivered+`)
		SELECT EXISTS (SELECT 1 FROM emails WHERE id = ? AND status = ?), (SELECT id FROM c)`,
		append(forwardDeliveredArgs(a.EmailID, a.Status, a.Note), a.EmailID, a.Status)...).Scan(&out.Recorded, &conv); err != nil {
		return Outcome{}, fmt.Errorf("set forward state after %s email %s: %w", a.Status, a.EmailID, err)
	}
	out.Conversation = conv.String
	return out, nil
}

// returnedMessages reads the messages a statement returned (messageColumns).
func returnedMessages(rows *sql.Rows, err error) ([]model.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []model.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	return msgs, rows.Err()
}

// ReleaseEmailLeases makes every queued email due now (start-up of a single
// node: nothing is in flight after a restart).
func (s *Store) ReleaseEmailLeases(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE emails SET next_attempt_at = ? WHERE status = 'queued' AND next_attempt_at > ? AND attempts > 0 AND last_error IS NULL`, micros(now), micros(now)); err != nil {
		return fmt.Errorf("release email leases: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
