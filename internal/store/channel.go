package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// Messenger and Instagram: the connected accounts, the people behind
// channel visitors, the channel side of messages (Meta's message ids and
// the delivery of agent replies) and the webhook events waiting to be
// processed.

// ---- accounts -------------------------------------------------------------------

// ChannelAccount is a workspace's connected Facebook Page and Instagram
// account. The *Enc fields are ciphertexts (the channels package encrypts
// and decrypts them); the store never sees the secrets in clear.
type ChannelAccount struct {
	WorkspaceID      string
	PageID           string
	PageName         string
	InstagramID      string // "" when no Instagram account is connected
	PageTokenEnc     string
	PageTokenLast4   string
	AppSecretEnc     string
	AppSecretLast4   string
	VerifyTokenHash  string
	VerifyTokenLast4 string
	TokenError       string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

const channelAccountColumns = `workspace_id, page_id, page_name, instagram_id, page_token_enc, page_token_last4,
	app_secret_enc, app_secret_last4, verify_token_hash, verify_token_last4, token_error, created_at, updated_at`

func scanChannelAccount(row interface{ Scan(...any) error }) (ChannelAccount, error) {
	var (
		a                  ChannelAccount
		name, ig, tokenErr sql.NullString
		created, updated   int64
	)
	err := row.Scan(&a.WorkspaceID, &a.PageID, &name, &ig, &a.PageTokenEnc, &a.PageTokenLast4,
		&a.AppSecretEnc, &a.AppSecretLast4, &a.VerifyTokenHash, &a.VerifyTokenLast4, &tokenErr, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.PageName, a.InstagramID, a.TokenError = name.String, ig.String, tokenErr.String
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// SaveChannelAccount connects a workspace's Page, or replaces its
// connection. A Page or Instagram account already connected to another
// workspace is refused with ErrDuplicate.
func (s *Store) SaveChannelAccount(ctx context.Context, a ChannelAccount) error {
	_, err := s.exec(ctx, `INSERT INTO channel_accounts (`+channelAccountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace_id) DO UPDATE SET page_id = excluded.page_id, page_name = excluded.page_name,
			instagram_id = excluded.instagram_id, page_token_enc = excluded.page_token_enc, page_token_last4 = excluded.page_token_last4,
			app_secret_enc = excluded.app_secret_enc, app_secret_last4 = excluded.app_secret_last4,
			verify_token_hash = excluded.verify_token_hash, verify_token_last4 = excluded.verify_token_last4,
			token_error = excluded.token_error, updated_at = excluded.updated_at`,
		a.WorkspaceID, a.PageID, nullIfEmpty(a.PageName), nullIfEmpty(a.InstagramID), a.PageTokenEnc, a.PageTokenLast4,
		a.AppSecretEnc, a.AppSecretLast4, a.VerifyTokenHash, a.VerifyTokenLast4, nullIfEmpty(a.TokenError),
		micros(a.CreatedAt), micros(a.UpdatedAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("save channel account of %s: %w", a.WorkspaceID, ErrDuplicate)
		}
		return fmt.Errorf("save channel account of %s: %w", a.WorkspaceID, err)
	}
	return nil
}

// ChannelAccount returns a workspace's connected account.
func (s *Store) ChannelAccount(ctx context.Context, workspaceID string) (ChannelAccount, error) {
	a, err := scanChannelAccount(s.queryRow(ctx, `SELECT `+channelAccountColumns+` FROM channel_accounts WHERE workspace_id = ?`, workspaceID))
	if err != nil {
		return a, fmt.Errorf("get channel account of %s: %w", workspaceID, err)
	}
	return a, nil
}

// ChannelAccountByPage returns the account a Facebook Page id belongs to.
func (s *Store) ChannelAccountByPage(ctx context.Context, pageID string) (ChannelAccount, error) {
	a, err := scanChannelAccount(s.queryRow(ctx, `SELECT `+channelAccountColumns+` FROM channel_accounts WHERE page_id = ?`, pageID))
	if err != nil {
		return a, fmt.Errorf("get channel account of page %s: %w", pageID, err)
	}
	return a, nil
}

// ChannelAccountByInstagram returns the account an Instagram professional
// account id belongs to.
func (s *Store) ChannelAccountByInstagram(ctx context.Context, instagramID string) (ChannelAccount, error) {
	a, err := scanChannelAccount(s.queryRow(ctx, `SELECT `+channelAccountColumns+` FROM channel_accounts WHERE instagram_id = ?`, instagramID))
	if err != nil {
		return a, fmt.Errorf("get channel account of instagram account %s: %w", instagramID, err)
	}
	return a, nil
}

// ChannelVerifyTokenExists reports whether some workspace's webhook verify
// token has this hash.
func (s *Store) ChannelVerifyTokenExists(ctx context.Context, hash string) (bool, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM channel_accounts WHERE verify_token_hash = ?`, hash).Scan(&n); err != nil {
		return false, fmt.Errorf("look up verify token: %w", err)
	}
	return n > 0, nil
}

// DeleteChannelAccount disconnects a workspace's Page. Its conversations
// stay.
func (s *Store) DeleteChannelAccount(ctx context.Context, workspaceID string) error {
	if _, err := s.exec(ctx, `DELETE FROM channel_accounts WHERE workspace_id = ?`, workspaceID); err != nil {
		return fmt.Errorf("delete channel account of %s: %w", workspaceID, err)
	}
	return nil
}

// SetChannelTokenError records (or, with "", clears) the last problem Meta
// reported with a workspace's Page access token.
func (s *Store) SetChannelTokenError(ctx context.Context, workspaceID, msg string) error {
	if _, err := s.exec(ctx, `UPDATE channel_accounts SET token_error = ? WHERE workspace_id = ?`, nullIfEmpty(msg), workspaceID); err != nil {
		return fmt.Errorf("set token error of %s: %w", workspaceID, err)
	}
	return nil
}

// ---- people -----------------------------------------------------------------------

const channelPersonSelect = `SELECT ` + visitorColumns + `, v.channel, v.external_id, v.profile_checked_at FROM visitors v` + visitorAddressJoin

func scanChannelPerson(row interface{ Scan(...any) error }) (model.ChannelPerson, error) {
	var (
		p       model.ChannelPerson
		vs      visitorScan
		ch, ext sql.NullString
		checked sql.NullInt64
	)
	err := row.Scan(append(vs.dest(&p.Visitor), &ch, &ext, &checked)...)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, err
	}
	vs.fill(&p.Visitor)
	p.Channel, p.ExternalID = ch.String, ext.String
	p.ProfileCheckedAt = fromNullMicros(checked)
	return p, nil
}

// EnsureChannelVisitor returns the visitor of a person on a channel,
// creating it from v when there is none (concurrent first messages of the
// same person make one visitor). created reports whether v was inserted.
func (s *Store) EnsureChannelVisitor(ctx context.Context, v model.Visitor, channel, externalID string) (p model.ChannelPerson, created bool, err error) {
	res, err := s.exec(ctx, `INSERT INTO visitors (id, workspace_id, name, email, email_key, online, created_at, channel, external_id)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.ID, v.WorkspaceID, v.Name, v.Email, emailKey(v.Email), micros(v.CreatedAt), channel, externalID)
	if err != nil {
		return p, false, fmt.Errorf("create %s visitor: %w", channel, err)
	}
	n, _ := res.RowsAffected()
	p, err = s.ChannelPersonByExternalID(ctx, v.WorkspaceID, channel, externalID)
	return p, n > 0, err
}

// ChannelPersonByExternalID returns the visitor of a person on a channel.
func (s *Store) ChannelPersonByExternalID(ctx context.Context, workspaceID, channel, externalID string) (model.ChannelPerson, error) {
	p, err := scanChannelPerson(s.queryRow(ctx, channelPersonSelect+` WHERE v.workspace_id = ? AND v.channel = ? AND v.external_id = ?`,
		workspaceID, channel, externalID))
	if err != nil {
		return p, fmt.Errorf("get %s person: %w", channel, err)
	}
	return p, nil
}

// ChannelPerson returns the channel identity of a visitor (ErrNotFound for
// a website visitor).
func (s *Store) ChannelPerson(ctx context.Context, workspaceID, visitorID string) (model.ChannelPerson, error) {
	p, err := scanChannelPerson(s.queryRow(ctx, channelPersonSelect+` WHERE v.id = ? AND v.workspace_id = ? AND v.external_id IS NOT NULL`,
		visitorID, workspaceID))
	if err != nil {
		return p, fmt.Errorf("get channel person %s: %w", visitorID, err)
	}
	return p, nil
}

// SetChannelProfile stores the name a profile lookup found (nil keeps the
// current one) and when the lookup was made.
func (s *Store) SetChannelProfile(ctx context.Context, visitorID string, name *string, checkedAt time.Time) error {
	if _, err := s.exec(ctx, `UPDATE visitors SET name = COALESCE(?, name), profile_checked_at = ? WHERE id = ?`,
		name, micros(checkedAt), visitorID); err != nil {
		return fmt.Errorf("set profile of visitor %s: %w", visitorID, err)
	}
	return nil
}

// EnsureChannelConversation returns the person's conversation on c's
// channel, creating c when there is none (one conversation per person per
// channel, held by a unique index). created reports whether c was inserted.
func (s *Store) EnsureChannelConversation(ctx context.Context, c model.Conversation) (conv model.Conversation, created bool, err error) {
	res, err := s.exec(ctx, `INSERT INTO conversations (id, workspace_id, visitor_id, status, channel, created_at, last_message_at, activity_id, identified_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, `+identifiedBy+`) ON CONFLICT DO NOTHING`,
		c.ID, c.WorkspaceID, c.Visitor.ID, c.Status, c.Channel, micros(c.CreatedAt), micros(c.LastMessageAt), c.ID, c.Visitor.ID)
	if err != nil {
		return conv, false, fmt.Errorf("create %s conversation: %w", c.Channel, err)
	}
	n, _ := res.RowsAffected()
	conv, err = scanConversation(s.queryRow(ctx, conversationSelect+` WHERE c.visitor_id = ? AND c.channel = ? AND c.workspace_id = ?`,
		c.Visitor.ID, c.Channel, c.WorkspaceID))
	if err != nil {
		return conv, false, fmt.Errorf("get %s conversation of %s: %w", c.Channel, c.Visitor.ID, err)
	}
	return conv, n > 0, nil
}

// ---- messages ---------------------------------------------------------------------

const channelMessageColumns = `channel_message_id, channel_payload, channel_status, channel_error, channel_tag, channel_attempts, channel_sent_at`

// channelScan reads the channel columns of a message.
type channelScan struct {
	mid, payload, status, errMsg, tag sql.NullString
	attempts                          int
	sent                              sql.NullInt64
}

func (cs *channelScan) dest() []any {
	return []any{&cs.mid, &cs.payload, &cs.status, &cs.errMsg, &cs.tag, &cs.attempts, &cs.sent}
}

// delivery is the message's ChannelDelivery, nil when it has no channel side.
func (cs *channelScan) delivery() *model.ChannelDelivery {
	if !cs.mid.Valid && !cs.status.Valid && !cs.payload.Valid {
		return nil
	}
	return &model.ChannelDelivery{Status: cs.status.String, Error: cs.errMsg.String, Tag: cs.tag.String,
		Attempts: cs.attempts, SentAt: fromNullMicros(cs.sent), MessageID: cs.mid.String, Payload: cs.payload.String}
}

// withExtra appends destinations to a row's Scan, so that a scan function
// (scanMessage, scanWorkspace) reads its columns and the caller the columns
// after them.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

func scanChannelMessage(row interface{ Scan(...any) error }) (model.Message, error) {
	var cs channelScan
	m, err := scanMessage(withExtra{row, cs.dest()})
	if err != nil {
		return m, err
	}
	m.Delivery = cs.delivery()
	return m, nil
}

// CreateChannelMessage inserts a message with its channel side
// (m.Delivery): Meta's message id, a payload, a delivery status. A message
// id already stored in the workspace is not inserted again: ErrDuplicate.
func (s *Store) CreateChannelMessage(ctx context.Context, m model.Message) error {
	d := m.Delivery
	if d == nil {
		d = &model.ChannelDelivery{}
	}
	var next any
	if d.Status == model.DeliveryQueued {
		next = micros(m.CreatedAt)
	}
	_, err := s.exec(ctx, `INSERT INTO messages (id, workspace_id, conversation_id, author_kind, author_id, author_name, kind, channel, body,
			client_id, created_at, read_by_visitor_at,
			channel_message_id, channel_payload, channel_status, channel_error, channel_tag, channel_next_attempt_at, channel_sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.WorkspaceID, m.ConversationID, m.Author.Kind, m.Author.ID, m.Author.Name, m.Kind, m.Channel, m.Body,
		m.ClientID, micros(m.CreatedAt), nullMicros(m.ReadByVisitorAt),
		nullIfEmpty(d.MessageID), nullIfEmpty(d.Payload), nullIfEmpty(d.Status), nullIfEmpty(d.Error), nullIfEmpty(d.Tag),
		next, nullMicros(d.SentAt))
	if err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create channel message: %w", ErrDuplicate)
		}
		return fmt.Errorf("create channel message: %w", err)
	}
	return s.bumpActivity(ctx, m)
}

// ChannelMessage returns a message of a workspace with its channel side.
func (s *Store) ChannelMessage(ctx context.Context, workspaceID, id string) (model.Message, error) {
	m, err := scanChannelMessage(s.queryRow(ctx, `SELECT `+messageColumns+`, `+channelMessageColumns+` FROM messages WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return m, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// MessageByChannelID returns the message Meta knows by mid.
func (s *Store) MessageByChannelID(ctx context.Context, workspaceID, mid string) (model.Message, error) {
	m, err := scanChannelMessage(s.queryRow(ctx, `SELECT `+messageColumns+`, `+channelMessageColumns+` FROM messages WHERE workspace_id = ? AND channel_message_id = ?`, workspaceID, mid))
	if err != nil {
		return m, fmt.Errorf("get message by channel id: %w", err)
	}
	return m, nil
}

// LastInboundAt returns when the person last wrote in a conversation (the
// start of Meta's messaging window), or nil.
func (s *Store) LastInboundAt(ctx context.Context, conversationID string) (*time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MAX(created_at) FROM messages WHERE conversation_id = ? AND author_kind = 'visitor'`, conversationID).Scan(&v); err != nil {
		return nil, fmt.Errorf("last inbound message of %s: %w", conversationID, err)
	}
	return fromNullMicros(v), nil
}

// SetChannelDelivery records a reply's delivery: queued (with the next
// attempt), sent (with Meta's mid), failed (with the error). A reply that
// is already sent or delivered is never moved back to queued or failed.
func (s *Store) SetChannelDelivery(ctx context.Context, workspaceID, messageID string, u model.ChannelReplyUpdate) (bool, error) {
	q := `UPDATE messages SET channel_status = ?, channel_error = ?, channel_next_attempt_at = ?,
		channel_message_id = COALESCE(?, channel_message_id), channel_sent_at = COALESCE(?, channel_sent_at)`
	args := []any{u.Status, nullIfEmpty(u.Error), nullMicros(u.NextTry), nullIfEmpty(u.MessageID), nullMicros(u.SentAt)}
	if u.Tag != nil {
		q += `, channel_tag = ?`
		args = append(args, nullIfEmpty(*u.Tag))
	}
	q += ` WHERE id = ? AND workspace_id = ? AND (channel_status IS NULL OR channel_status NOT IN ('sent', 'delivered'))`
	args = append(args, messageID, workspaceID)
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		if isUniqueViolation(err) {
			return false, fmt.Errorf("set delivery of %s: %w", messageID, ErrDuplicate)
		}
		return false, fmt.Errorf("set delivery of %s: %w", messageID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// ClaimChannelReplies takes up to limit queued replies whose attempt time
// has come, moving their next attempt past the lease so that no other
// worker takes them meanwhile, and counting the attempt.
func (s *Store) ClaimChannelReplies(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.Message, error) {
	if s.commits != nil { // a write: the writer's
		return alone(ctx, s.commits, func(tx *Store) ([]model.Message, error) { return tx.ClaimChannelReplies(ctx, now, lease, limit) })
	}
	lock := ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := s.query(ctx, `UPDATE messages SET channel_next_attempt_at = ?, channel_attempts = channel_attempts + 1
		WHERE id IN (SELECT id FROM messages WHERE channel_status = 'queued' AND channel_next_attempt_at <= ?
			ORDER BY channel_next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING `+messageColumns+`, `+channelMessageColumns, micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim channel replies: %w", err)
	}
	defer rows.Close()
	var out []model.Message
	for rows.Next() {
		m, err := scanChannelMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("claim channel replies: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim channel replies: %w", err)
	}
	// RETURNING gives no order; replies go out in the order agents wrote them.
	slices.SortFunc(out, func(a, b model.Message) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// NextChannelReplyDue returns the earliest attempt time of a queued reply,
// or nil.
func (s *Store) NextChannelReplyDue(ctx context.Context) (*time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(channel_next_attempt_at) FROM messages WHERE channel_status = 'queued'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("next channel reply due: %w", err)
	}
	return fromNullMicros(v), nil
}

// ReleaseChannelLeases makes every queued reply that was claimed but not
// answered due now (start-up of a single node: nothing is in flight after
// a restart).
func (s *Store) ReleaseChannelLeases(ctx context.Context, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE messages SET channel_next_attempt_at = ?
		WHERE channel_status = 'queued' AND channel_next_attempt_at > ? AND channel_attempts > 0 AND channel_error IS NULL`,
		micros(now), micros(now)); err != nil {
		return fmt.Errorf("release channel reply leases: %w", err)
	}
	if _, err := s.exec(ctx, `UPDATE channel_events SET next_attempt_at = ?
		WHERE status = 'pending' AND next_attempt_at > ? AND attempts > 0 AND last_error IS NULL`,
		micros(now), micros(now)); err != nil {
		return fmt.Errorf("release channel event leases: %w", err)
	}
	return nil
}

// UnsentChannelReplies lists agent replies in Messenger and Instagram
// conversations, written since since, that never got a delivery status (the
// process stopped between storing the reply and queueing it).
func (s *Store) UnsentChannelReplies(ctx context.Context, since time.Time) ([]model.Message, error) {
	rows, err := s.query(ctx, unsentChannelRepliesQuery, micros(since))
	if err != nil {
		return nil, fmt.Errorf("list unsent channel replies: %w", err)
	}
	defer rows.Close()
	var out []model.Message
	for rows.Next() {
		m, err := scanChannelMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list unsent channel replies: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// unsentChannelRepliesQuery starts from the Messenger and Instagram
// conversations (CROSS JOIN keeps SQLite's join in that order; PostgreSQL
// plans it as any join): SQLite without statistics, as Parley runs it,
// otherwise read every message of every channel in the order of their
// ids, to spare a sort, at each start (a second at a million messages).
var unsentChannelRepliesQuery = `SELECT ` + prefixed("m.", messageColumns) + `, ` + prefixed("m.", channelMessageColumns) + `
	FROM conversations c CROSS JOIN messages m
	WHERE m.conversation_id = c.id AND c.channel IN ('messenger', 'instagram')
		AND m.kind = 'reply' AND m.author_kind = 'agent' AND m.channel_status IS NULL AND m.created_at >= ?
	ORDER BY m.id`

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// MarkChannelDelivered moves sent replies of a conversation to delivered:
// those Meta names by mid, and those sent at or before watermark (when not
// nil). It returns the ids it moved.
func (s *Store) MarkChannelDelivered(ctx context.Context, conversationID string, mids []string, watermark *time.Time) ([]string, error) {
	cond := []string{}
	args := []any{conversationID}
	if len(mids) > 0 {
		cond = append(cond, `channel_message_id IN (?`+strings.Repeat(", ?", len(mids)-1)+`)`)
		for _, m := range mids {
			args = append(args, m)
		}
	}
	if watermark != nil {
		cond = append(cond, `channel_sent_at <= ?`)
		args = append(args, micros(*watermark))
	}
	if len(cond) == 0 {
		return nil, nil
	}
	ids, err := s.ids(ctx, `UPDATE messages SET channel_status = 'delivered'
		WHERE conversation_id = ? AND channel_status = 'sent' AND (`+strings.Join(cond, " OR ")+`)
		RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("mark replies of %s delivered: %w", conversationID, err)
	}
	return ids, nil
}

// MarkChannelRead stamps read_by_visitor_at on the conversation's agent
// replies that Meta accepted at or before watermark (Meta's read receipts
// are a time: everything sent up to it was read), moves the visitor's read
// cursor, and returns the ids it stamped. A read receipt also means
// delivered.
func (s *Store) MarkChannelRead(ctx context.Context, conversationID string, watermark, at time.Time) ([]string, error) {
	ids, err := s.ids(ctx, `UPDATE messages SET read_by_visitor_at = ?, channel_status = 'delivered'
		WHERE conversation_id = ? AND kind = 'reply' AND author_kind = 'agent' AND read_by_visitor_at IS NULL
			AND channel_status IN ('sent', 'delivered') AND channel_sent_at <= ?
		RETURNING id`, micros(at), conversationID, micros(watermark))
	if err != nil {
		return nil, fmt.Errorf("mark replies of %s read: %w", conversationID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	newest := ids[0]
	for _, id := range ids {
		if id > newest {
			newest = id
		}
	}
	if _, err := s.exec(ctx, `UPDATE conversations SET visitor_read_id = ?, visitor_read_at = ? WHERE id = ? AND (visitor_read_id IS NULL OR visitor_read_id < ?)`,
		newest, micros(at), conversationID, newest); err != nil {
		return nil, fmt.Errorf("move read cursor of %s: %w", conversationID, err)
	}
	return ids, nil
}

// ---- webhook events -----------------------------------------------------------------

// ChannelEvent is one messaging item of a webhook delivery, stored as
// received until the worker has processed it.
type ChannelEvent struct {
	ID            string
	WorkspaceID   string
	Object        string // "page" or "instagram"
	Payload       []byte // the raw JSON of one entry[].messaging[] item
	Status        string // pending, failed (processed events are deleted)
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	ReceivedAt    time.Time
}

const channelEventColumns = `id, workspace_id, object, payload, status, attempts, next_attempt_at, last_error, received_at`

func scanChannelEvent(row interface{ Scan(...any) error }) (ChannelEvent, error) {
	var (
		e              ChannelEvent
		payload        string
		next, received int64
		lastErr        sql.NullString
	)
	if err := row.Scan(&e.ID, &e.WorkspaceID, &e.Object, &payload, &e.Status, &e.Attempts, &next, &lastErr, &received); err != nil {
		return e, err
	}
	e.Payload = []byte(payload)
	e.NextAttemptAt, e.ReceivedAt = fromMicros(next), fromMicros(received)
	e.LastError = lastErr.String
	return e, nil
}

// CreateChannelEvents stores webhook events, all or none.
func (s *Store) CreateChannelEvents(ctx context.Context, evs []ChannelEvent) error {
	for _, e := range evs {
		if _, err := s.exec(ctx, `INSERT INTO channel_events (id, workspace_id, object, payload, status, attempts, next_attempt_at, received_at)
			VALUES (?, ?, ?, ?, 'pending', 0, ?, ?)`,
			e.ID, e.WorkspaceID, e.Object, string(e.Payload), micros(e.NextAttemptAt), micros(e.ReceivedAt)); err != nil {
			return fmt.Errorf("store webhook event: %w", err)
		}
	}
	return nil
}

// ClaimChannelEvents takes up to limit pending events whose time has come,
// oldest first, hiding them from other workers for the lease and counting
// the attempt.
func (s *Store) ClaimChannelEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ChannelEvent, error) {
	if s.commits != nil { // a write: the writer's
		return alone(ctx, s.commits, func(tx *Store) ([]ChannelEvent, error) { return tx.ClaimChannelEvents(ctx, now, lease, limit) })
	}
	lock := ""
	if s.dialect == Postgres {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	rows, err := s.query(ctx, `UPDATE channel_events SET next_attempt_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM channel_events WHERE status = 'pending' AND next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
		RETURNING `+channelEventColumns, micros(now.Add(lease)), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	defer rows.Close()
	var out []ChannelEvent
	for rows.Next() {
		e, err := scanChannelEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("claim webhook events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim webhook events: %w", err)
	}
	// RETURNING gives no order; events of one person must be applied in
	// the order Meta sent them.
	slices.SortFunc(out, func(a, b ChannelEvent) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// ChannelEvents lists a workspace's stored events (pending and failed),
// oldest first.
func (s *Store) ChannelEvents(ctx context.Context, workspaceID string) ([]ChannelEvent, error) {
	rows, err := s.query(ctx, `SELECT `+channelEventColumns+` FROM channel_events WHERE workspace_id = ? ORDER BY id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list webhook events: %w", err)
	}
	defer rows.Close()
	var out []ChannelEvent
	for rows.Next() {
		e, err := scanChannelEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhook events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// FinishChannelEvent deletes a processed event.
func (s *Store) FinishChannelEvent(ctx context.Context, id string) error {
	if _, err := s.exec(ctx, `DELETE FROM channel_events WHERE id = ?`, id); err != nil {
		return fmt.Errorf("finish webhook event %s: %w", id, err)
	}
	return nil
}

// RetryChannelEvent puts an event back for another attempt at next; with
// failed set, it is kept but never tried again.
func (s *Store) RetryChannelEvent(ctx context.Context, id string, next time.Time, lastErr string, failed bool) error {
	status := "pending"
	if failed {
		status = "failed"
	}
	if _, err := s.exec(ctx, `UPDATE channel_events SET status = ?, next_attempt_at = ?, last_error = ? WHERE id = ?`,
		status, micros(next), nullIfEmpty(lastErr), id); err != nil {
		return fmt.Errorf("reschedule webhook event %s: %w", id, err)
	}
	return nil
}

// NextChannelEventDue returns the earliest attempt time of a pending event,
// or nil.
func (s *Store) NextChannelEventDue(ctx context.Context) (*time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(next_attempt_at) FROM channel_events WHERE status = 'pending'`).Scan(&v); err != nil {
		return nil, fmt.Errorf("next webhook event due: %w", err)
	}
	return fromNullMicros(v), nil
}
