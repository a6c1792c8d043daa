package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleychat/parley/internal/model"
)

const messageColumns = `id, workspace_id, conversation_id, author_kind, author_id, author_name, kind, channel, body, client_id,
	created_at, read_by_visitor_at, forwarded_to, forwarded_at, forwarded_status, forward_off, asks_email`

// messageScan holds a message row's scan destinations in one allocation
// (a conversation's transcript scans thousands of rows).
type messageScan struct {
	m                    model.Message
	authorID, authorName sql.NullString
	clientID             sql.NullString
	created              int64
	read, fwdAt          sql.NullInt64
	fwdTo, fwdStatus     sql.NullString
	fwdOff, asksEmail    int
	dest                 [17]any
}

func scanMessage(row interface{ Scan(...any) error }) (model.Message, error) {
	t := new(messageScan)
	m := &t.m
	t.dest = [...]any{&m.ID, &m.WorkspaceID, &m.ConversationID, &m.Author.Kind, &t.authorID, &t.authorName, &m.Kind, &m.Channel,
		&m.Body, &t.clientID, &t.created, &t.read, &t.fwdTo, &t.fwdAt, &t.fwdStatus, &t.fwdOff, &t.asksEmail}
	err := row.Scan(t.dest[:]...)
	if errors.Is(err, sql.ErrNoRows) {
		return *m, ErrNotFound
	}
	if err != nil {
		return *m, err
	}
	m.Author.ID = nullString(t.authorID)
	m.Author.Name = nullString(t.authorName)
	m.ClientID = nullString(t.clientID)
	m.CreatedAt = fromMicros(t.created)
	m.ForwardOff = t.fwdOff != 0
	m.AsksEmail = t.asksEmail != 0
	m.ReadByVisitorAt = fromNullMicros(t.read)
	if t.fwdTo.Valid {
		m.Forwarded = &model.Forwarded{To: t.fwdTo.String, Status: t.fwdStatus.String}
		if t.fwdAt.Valid {
			m.Forwarded.At = fromMicros(t.fwdAt.Int64)
		}
	}
	return *m, nil
}

// CreateMessage inserts a message. A message whose client_id was already
// stored in the conversation is not inserted again: ErrDuplicate. The
// message records whether the workspace's email forwarding is off as it is
// written (Message.ForwardOff).
func (s *Store) CreateMessage(ctx context.Context, m model.Message) error {
	if err := s.insertMessage(ctx, m); err != nil {
		return err
	}
	return s.bumpActivity(ctx, m)
}

// CreateHistoryLine is CreateMessage for a line of a conversation's history
// that is not news (who assigned it to whom): the conversation keeps its
// place in the lists.
func (s *Store) CreateHistoryLine(ctx context.Context, m model.Message) error {
	return s.insertMessage(ctx, m)
}

// CreateReply is CreateMessage for an agent's reply (m.Author.ID is the
// agent), with what the reply does to its conversation c in the statement
// that records its activity: the conversation is open again, touched at
// m.CreatedAt, and, with claim (c is unassigned), the replying agent's.
// Without claim the statement leaves assignee_id out: SQLite rewrites an
// index entry whenever its column is set, even to the same value, a page
// of log more for every reply.
//
// c is the conversation as this transaction read it (MessageTarget);
// CreateReply returns it as the reply leaves it, derived rather than read
// again, and ok false when it cannot tell (see touched): the caller then
// reads it.
func (s *Store) CreateReply(ctx context.Context, c model.Conversation, m model.Message, claim bool) (after model.Conversation, ok bool, err error) {
	if err := s.insertMessage(ctx, m); err != nil {
		return c, false, err
	}
	assign := ""
	args := []any{micros(m.CreatedAt)}
	if claim {
		assign = "assignee_id = COALESCE(assignee_id, ?), "
		args = append(args, m.Author.ID)
	}
	_, err = s.exec(ctx, `UPDATE conversations SET last_message_at = ?, status = 'open', closed_at = NULL,
		`+assign+`activity_id = CASE WHEN activity_id < ? THEN ? ELSE activity_id END, `+setFirstReply+`
		WHERE id = ? AND workspace_id = ?`, append(args, m.ID, m.ID, m.Author.ID, micros(m.CreatedAt), m.ConversationID, m.WorkspaceID)...)
	if err != nil {
		return c, false, fmt.Errorf("touch conversation %s for a reply: %w", m.ConversationID, err)
	}
	if claim && c.Assignee == nil {
		a := &model.Assignee{ID: *m.Author.ID}
		if m.Author.Name != nil {
			a.Name = *m.Author.Name
		}
		c.Assignee = a
	}
	after, ok = s.touched(c, m)
	return after, ok, nil
}

// touched is conversation c as the statement that stores its public message
// m leaves it, with the columns conversationSelect reads that m moves: open,
// touched at m's time, m its newest activity and its preview. ok is false
// when a message newer than m is stored (the preview may then be either),
// and on PostgreSQL, where another node's transaction may have changed the
// conversation, its visitor or its assignee between the read of c and
// this write (the read took no lock): only SQLite's one writer makes c,
// read in the same transaction, the state this write started from.
func (s *Store) touched(c model.Conversation, m model.Message) (model.Conversation, bool) {
	c.Status, c.LastMessageAt = "open", fromMicros(micros(m.CreatedAt))
	if m.ID <= c.ActivityID {
		return c, false
	}
	c.ActivityID, c.LastMessage = m.ID, preview(m.Body)
	return c, s.dialect == SQLite
}

// CreateComment is CreateMessage for an agent's internal note, with what
// it does to its conversation c in one statement: the conversation is
// touched at m.CreatedAt. c is the conversation as this transaction read
// it (MessageTarget); CreateComment returns it as the note leaves it (a
// note is not a conversation's preview), and ok false where it cannot
// tell (on PostgreSQL: see touched).
func (s *Store) CreateComment(ctx context.Context, c model.Conversation, m model.Message) (after model.Conversation, ok bool, err error) {
	if err := s.insertMessage(ctx, m); err != nil {
		return c, false, err
	}
	_, err = s.exec(ctx, `UPDATE conversations SET last_message_at = ?,
		activity_id = CASE WHEN activity_id < ? THEN ? ELSE activity_id END
		WHERE id = ? AND workspace_id = ?`, micros(m.CreatedAt), m.ID, m.ID, m.ConversationID, m.WorkspaceID)
	if err != nil {
		return c, false, fmt.Errorf("touch conversation %s for a note: %w", m.ConversationID, err)
	}
	c.LastMessageAt = fromMicros(micros(m.CreatedAt))
	c.ActivityID = max(c.ActivityID, m.ID)
	return c, s.dialect == SQLite, nil
}

// CreateVisitorMessage is CreateMessage for a visitor's message, with what
// it does to its conversation c in the statement that records its
// activity: the conversation is open again and touched at m.CreatedAt.
// c is the conversation as this transaction read it; CreateVisitorMessage
// returns it as the message leaves it (one more unread for the agents),
// and ok false when it cannot tell (see CreateReply). A message whose
// client id the conversation already holds (a resend) is not stored, and
// the conversation is left alone: ErrDuplicate, in a transaction that can
// go on (PostgreSQL's would be aborted by a failed insert).
func (s *Store) CreateVisitorMessage(ctx context.Context, c model.Conversation, m model.Message) (after model.Conversation, ok bool, err error) {
	if m.ClientID == nil {
		err = s.insertMessage(ctx, m)
	} else {
		err = s.insertMessageOnce(ctx, m)
	}
	if err != nil {
		return c, false, err
	}
	// Neither cursor moves backwards (bumpActivity).
	_, err = s.exec(ctx, `UPDATE conversations SET last_message_at = ?, status = 'open', closed_at = NULL,
		activity_id = CASE WHEN activity_id < ? THEN ? ELSE activity_id END,
		visitor_message_id = CASE WHEN visitor_message_id IS NULL OR visitor_message_id < ? THEN ? ELSE visitor_message_id END
		WHERE id = ?`, micros(m.CreatedAt), m.ID, m.ID, m.ID, m.ID, m.ConversationID)
	if err != nil {
		return c, false, fmt.Errorf("touch conversation %s for a visitor's message: %w", m.ConversationID, err)
	}
	if c.AgentReadID == nil || m.ID > *c.AgentReadID {
		c.Unread++
	}
	after, ok = s.touched(c, m)
	return after, ok, nil
}

// insertMessageQuery stores one message (insertArgs), whose forwarding is
// off when its workspace's is.
const insertMessageQuery = `INSERT INTO messages (` + messageColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		(SELECT CASE WHEN email_forwarding = 'off' THEN 1 ELSE 0 END FROM workspaces WHERE id = ?), ?)`

// insertArgs are insertMessageQuery's arguments for m.
func insertArgs(m model.Message) []any {
	return []any{m.ID, m.WorkspaceID, m.ConversationID, m.Author.Kind, m.Author.ID, m.Author.Name, m.Kind, m.Channel, m.Body, m.ClientID,
		micros(m.CreatedAt), nullMicros(m.ReadByVisitorAt), nil, nil, nil, m.WorkspaceID, boolInt(m.AsksEmail)}
}

// insertMessage stores m alone.
func (s *Store) insertMessage(ctx context.Context, m model.Message) error {
	if _, err := s.exec(ctx, insertMessageQuery, insertArgs(m)...); err != nil {
		if isUniqueViolation(err) {
			return fmt.Errorf("create message: %w", ErrDuplicate)
		}
		return fmt.Errorf("create message: %w", err)
	}
	return nil
}

// insertMessageOnce stores m unless its conversation holds a message with
// its client id: then ErrDuplicate, and nothing failed in the
// transaction.
func (s *Store) insertMessageOnce(ctx context.Context, m model.Message) error {
	res, err := s.exec(ctx, insertMessageQuery+`
		ON CONFLICT (conversation_id, client_id) WHERE client_id IS NOT NULL DO NOTHING`, insertArgs(m)...)
	if err != nil {
		return fmt.Errorf("create message: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("create message: %w", err)
	} else if n == 0 {
		return fmt.Errorf("create message: client id %q: %w", *m.ClientID, ErrDuplicate)
	}
	return nil
}

// Message returns one message of a workspace.
func (s *Store) Message(ctx context.Context, workspaceID, id string) (model.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if err != nil {
		return m, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// MessageByClientID returns the message a client id already made.
func (s *Store) MessageByClientID(ctx context.Context, conversationID, clientID string) (model.Message, error) {
	m, err := scanMessage(s.queryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE conversation_id = ? AND client_id = ?`, conversationID, clientID))
	if err != nil {
		return m, fmt.Errorf("get message by client id: %w", err)
	}
	return m, nil
}

// Messages lists a conversation's messages oldest first; publicOnly leaves
// out comments and events.
func (s *Store) Messages(ctx context.Context, workspaceID, conversationID string, publicOnly bool) ([]model.Message, error) {
	q := `SELECT ` + messageColumns + `, ` + channelMessageColumns + ` FROM messages WHERE ` + ofConversation
	if publicOnly {
		q += ` AND kind = 'reply'`
	}
	q += ` ORDER BY id`
	out, err := s.scanMessages(ctx, conversationID, q, ofConversationArgs(conversationID, workspaceID)...)
	if err != nil {
		return nil, err
	}
	if err := s.attachmentsOf(ctx, conversationID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// scanMessages runs a query of messages (with their channel side) and
// scans every row.
func (s *Store) scanMessages(ctx context.Context, conversationID, q string, args ...any) ([]model.Message, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	defer rows.Close()
	out := []model.Message{}
	for rows.Next() {
		m, err := scanChannelMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list messages of %s: %w", conversationID, err)
	}
	return out, nil
}

// MessageWindow is a part of a conversation's history, bounded by message
// ids (ids grow with time, so a bound is a moment): After and Before leave
// the bound out, From and Until keep it; "" is no bound. Limit (0: no
// limit) keeps the oldest messages of the range, or the newest with Newest.
type MessageWindow struct {
	After, From, Before, Until string
	Limit                      int
	Newest                     bool
}

// ofConversation selects a conversation's messages when the conversation
// is in the workspace, with ofConversationArgs. The workspace is checked
// once, on the conversation's row, not on each message: with a condition
// on the messages' own workspace_id, PostgreSQL without statistics yet (a
// young database) intersects the conversation's index with the whole
// workspace's, 0.7 ms instead of 0.04 at 8,000 messages.
const ofConversation = `conversation_id = ? AND EXISTS (SELECT 1 FROM conversations WHERE id = ? AND workspace_id = ?)`

func ofConversationArgs(conversationID, workspaceID string) []any {
	return []any{conversationID, conversationID, workspaceID}
}

// MessagePage is a window of a conversation's messages, oldest first, and
// whether the conversation holds messages older and newer than it.
type MessagePage struct {
	Messages     []model.Message
	Older, Newer bool
}

// MessagePage returns a window of a conversation's messages (comments and
// events included). Each page is one range scan of the conversation's
// index, however long the conversation.
func (s *Store) MessagePage(ctx context.Context, workspaceID, conversationID string, w MessageWindow) (MessagePage, error) {
	var page MessagePage
	where := ` WHERE ` + ofConversation
	args := ofConversationArgs(conversationID, workspaceID)
	for _, b := range []struct{ op, id string }{{">", w.After}, {">=", w.From}, {"<", w.Before}, {"<=", w.Until}} {
		if b.id != "" {
			where += ` AND id ` + b.op + ` ?`
			args = append(args, b.id)
		}
	}
	q := `SELECT ` + messageColumns + `, ` + channelMessageColumns + ` FROM messages` + where + ` ORDER BY id`
	if w.Newest {
		q += ` DESC`
	}
	if w.Limit > 0 {
		// One more than asked tells whether the range goes on.
		q += ` LIMIT ?`
		args = append(args, w.Limit+1)
	}
	msgs, err := s.scanMessages(ctx, conversationID, q, args...)
	if err != nil {
		return page, err
	}
	more := w.Limit > 0 && len(msgs) > w.Limit
	if more {
		msgs = msgs[:w.Limit]
	}
	if w.Newest {
		slices.Reverse(msgs)
	}
	// Beyond the bounds of the range: one index seek each.
	older, newer := w.Newest && more, !w.Newest && more
	if lower := cmp.Or(w.From, w.After); lower != "" && !older {
		op := "<="
		if w.From != "" {
			op = "<"
		}
		if older, err = s.hasMessage(ctx, conversationID, workspaceID, op, lower); err != nil {
			return page, err
		}
	}
	if upper := cmp.Or(w.Until, w.Before); upper != "" && !newer {
		op := ">="
		if w.Until != "" {
			op = ">"
		}
		if newer, err = s.hasMessage(ctx, conversationID, workspaceID, op, upper); err != nil {
			return page, err
		}
	}
	if len(msgs) > 0 {
		if err := s.attachmentsIn(ctx, conversationID, msgs); err != nil {
			return page, err
		}
	}
	page.Messages, page.Older, page.Newer = msgs, older, newer
	return page, nil
}

func (s *Store) hasMessage(ctx context.Context, conversationID, workspaceID, op, id string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE `+ofConversation+` AND id `+op+` ? LIMIT 1) t`,
		append(ofConversationArgs(conversationID, workspaceID), id)...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look for messages of %s: %w", conversationID, err)
	}
	return n > 0, nil
}

// NewestMessageID returns the id of a conversation's newest message of any
// kind, "" when it has none.
func (s *Store) NewestMessageID(ctx context.Context, workspaceID, conversationID string) (string, error) {
	var id sql.NullString
	err := s.queryRow(ctx, `SELECT MAX(id) FROM messages WHERE `+ofConversation, ofConversationArgs(conversationID, workspaceID)...).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("newest message of %s: %w", conversationID, err)
	}
	return id.String, nil
}

// setFirstReply records a reply (its agent, then its time: the two
// arguments) as the conversation's first unless it has one; both read the
// row as it was.
const setFirstReply = `first_reply_by = CASE WHEN first_reply_at IS NULL THEN ? ELSE first_reply_by END,
		first_reply_at = COALESCE(first_reply_at, ?)`

// RecordFirstReply records agentID's reply at as the conversation's first,
// unless it has one (CreateReply does it in its own statement).
func (s *Store) RecordFirstReply(ctx context.Context, conversationID, agentID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET `+setFirstReply+` WHERE id = ?`, agentID, micros(at), conversationID); err != nil {
		return fmt.Errorf("record the first reply of conversation %s: %w", conversationID, err)
	}
	return nil
}
