package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// conversationColumns and conversationFrom make conversationSelect, the
// read of a conversation with its visitor and assignee.
const conversationColumns = `SELECT c.id, c.workspace_id, c.status, c.channel, c.created_at, c.last_message_at,
	c.visitor_read_id, c.agent_read_id, c.forward_due_at, c.forward_code, c.forward_reason,
	(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND m.author_kind = 'visitor'
		AND m.id > COALESCE(c.agent_read_id, '')),
	(SELECT m.body FROM messages m WHERE m.conversation_id = c.id AND m.kind = 'reply' ORDER BY m.id DESC LIMIT 1),
	c.assignee_id, ag.name, c.activity_id, c.tags,
	` + visitorColumns

const conversationFrom = `
	FROM conversations c JOIN visitors v ON v.id = c.visitor_id LEFT JOIN agents ag ON ag.id = c.assignee_id` + visitorAddressJoin

const conversationSelect = conversationColumns + conversationFrom

// conversationScan holds a conversation row's scan destinations in one
// allocation: each variable whose address went into the arguments of Scan
// was a heap allocation of its own.
type conversationScan struct {
	c                model.Conversation
	created, last    int64
	readID, agentRID sql.NullString
	preview          sql.NullString
	fwdDue           sql.NullInt64
	fwdCode, fwdWhy  sql.NullString
	vs               visitorScan
	assigneeID       sql.NullString
	assigneeName     sql.NullString
	tags             string
	dest             [17 + visitorColumnCount]any
}

func scanConversation(row interface{ Scan(...any) error }) (model.Conversation, error) {
	t := new(conversationScan)
	c := &t.c
	dest := append(t.dest[:0], &c.ID, &c.WorkspaceID, &c.Status, &c.Channel, &t.created, &t.last, &t.readID, &t.agentRID,
		&t.fwdDue, &t.fwdCode, &t.fwdWhy, &c.Unread, &t.preview, &t.assigneeID, &t.assigneeName, &c.ActivityID, &t.tags)
	dest = t.vs.appendDest(dest, &c.Visitor)
	err := row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return *c, ErrNotFound
	}
	if err != nil {
		return *c, err
	}
	t.vs.fill(&c.Visitor)
	c.CreatedAt = fromMicros(t.created)
	c.LastMessageAt = fromMicros(t.last)
	c.VisitorReadID = nullString(t.readID)
	c.AgentReadID = nullString(t.agentRID)
	if t.fwdCode.Valid && t.fwdCode.String != "" {
		c.Forwarding = &model.Forwarding{Code: t.fwdCode.String, Reason: t.fwdWhy.String, DueAt: fromNullMicros(t.fwdDue)}
	}
	if t.assigneeID.Valid {
		c.Assignee = &model.Assignee{ID: t.assigneeID.String, Name: t.assigneeName.String}
	}
	if t.preview.Valid {
		c.LastMessage = preview(t.preview.String)
	}
	if c.Tags, err = decodeTags(t.tags); err != nil {
		return *c, fmt.Errorf("read tags of conversation %s: %w", c.ID, err)
	}
	return *c, nil
}

// preview is a message's body as a conversation's LastMessage shows it.
func preview(body string) *string {
	if r := []rune(body); len(r) > 140 {
		body = string(r[:140]) + "…"
	}
	return &body
}

// MessageTarget is what the transaction that stores an agent's message
// reads before it writes: the conversation, its workspace, and whether
// the workspace has a webhook (enabled or not: a disabled one's events
// wait for it). The transaction derives the
// conversation its writes leave (CreateReply) instead of reading it again.
type MessageTarget struct {
	Conversation model.Conversation
	Workspace    model.Workspace
	Webhooks     bool
}

var messageTargetSelect = conversationColumns + `,
	EXISTS (SELECT 1 FROM webhooks wh WHERE wh.workspace_id = c.workspace_id), ` +
	qualified("ws", workspaceColumns) + conversationFrom + ` JOIN workspaces ws ON ws.id = c.workspace_id
	WHERE c.id = ? AND c.workspace_id = ?`

// MessageTarget reads conversation id of a workspace for an agent's
// message, in one statement.
func (s *Store) MessageTarget(ctx context.Context, workspaceID, id string) (MessageTarget, error) {
	var (
		t  MessageTarget
		ws workspaceScan
	)
	c, err := scanConversation(withExtra{s.queryRow(ctx, messageTargetSelect, id, workspaceID), ws.dest(&t.Webhooks)})
	if err != nil {
		return t, fmt.Errorf("get conversation %s: %w", id, err)
	}
	t.Conversation, t.Workspace = c, ws.fill()
	return t, nil
}

// CreateConversation inserts a conversation.
func (s *Store) CreateConversation(ctx context.Context, c model.Conversation) error {
	_, err := s.exec(ctx, `INSERT INTO conversations (id, workspace_id, visitor_id, status, channel, created_at, last_message_at, activity_id, identified_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, `+identifiedBy+`)`,
		c.ID, c.WorkspaceID, c.Visitor.ID, c.Status, c.Channel, micros(c.CreatedAt), micros(c.LastMessageAt), c.ID, c.Visitor.ID)
	if err != nil {
		return fmt.Errorf("create conversation: %w", err)
	}
	return nil
}

// Conversation returns a conversation of a workspace.
func (s *Store) Conversation(ctx context.Context, workspaceID, id string) (model.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, conversationSelect+` WHERE c.id = ? AND c.workspace_id = ?`, id, workspaceID))
	if err != nil {
		return c, fmt.Errorf("get conversation %s: %w", id, err)
	}
	return c, nil
}

// newestConversation ends a query of "conversations c" with the visitor's
// newest conversation on a channel (its arguments: visitor id, channel).
const newestConversation = ` WHERE c.visitor_id = ? AND c.channel = ? ORDER BY c.created_at DESC LIMIT 1`

// LatestConversationOfVisitor returns the visitor's newest conversation on
// a channel.
func (s *Store) LatestConversationOfVisitor(ctx context.Context, visitorID, channel string) (model.Conversation, error) {
	c, err := scanConversation(s.queryRow(ctx, conversationSelect+newestConversation, visitorID, channel))
	if err != nil {
		return c, fmt.Errorf("get conversation of visitor %s: %w", visitorID, err)
	}
	return c, nil
}

// seenVisitorMessage is, of conversation c, the visitor's newest message
// once the team has read it (the agents' read cursor is at it or past it),
// else NULL: what the visitor's widget marks "Seen".
const seenVisitorMessage = `CASE WHEN c.agent_read_id >= c.visitor_message_id THEN c.visitor_message_id END`

// LatestConversationSeenOfVisitor is the id of LatestConversationOfVisitor's
// conversation, and its visitor's newest message once the team has read it
// ("" before): what a visitor's widget shows of it.
func (s *Store) LatestConversationSeenOfVisitor(ctx context.Context, visitorID, channel string) (id, seenID string, err error) {
	var seen sql.NullString
	err = s.queryRow(ctx, `SELECT c.id, `+seenVisitorMessage+` FROM conversations c`+newestConversation, visitorID, channel).Scan(&id, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return "", "", fmt.Errorf("get conversation of visitor %s: %w", visitorID, err)
	}
	return id, seen.String, nil
}

// SeenVisitorMessage is a conversation's visitor's newest message once the
// team has read it, "" before.
func (s *Store) SeenVisitorMessage(ctx context.Context, conversationID string) (string, error) {
	var seen sql.NullString
	if err := s.queryRow(ctx, `SELECT `+seenVisitorMessage+` FROM conversations c WHERE c.id = ?`, conversationID).Scan(&seen); err != nil {
		return "", fmt.Errorf("read what the team saw of conversation %s: %w", conversationID, err)
	}
	return seen.String, nil
}

// LatestConversationIDOfVisitor is the id of LatestConversationOfVisitor's
// conversation, without the conversation (a widget's session needs
// nothing else).
func (s *Store) LatestConversationIDOfVisitor(ctx context.Context, visitorID, channel string) (string, error) {
	id, _, err := s.LatestConversationSeenOfVisitor(ctx, visitorID, channel)
	return id, err
}

// ConversationIDsOfVisitors lists the ids of the conversations of the
// visitors, a few dozen visitors a query.
func (s *Store) ConversationIDsOfVisitors(ctx context.Context, visitorIDs []string) ([]string, error) {
	var out []string
	for _, chunk := range paddedChunks(visitorIDs) {
		ids, err := s.ids(ctx, `SELECT id FROM conversations WHERE visitor_id IN (`+placeholders(len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("conversations of %d visitors: %w", len(visitorIDs), err)
		}
		out = append(out, ids...)
	}
	return out, nil
}

// chunkSizes are the lengths of paddedChunks' chunks: a few texts of a
// statement with an IN list, each prepared once (a length for every count
// would fill the statement cache).
var chunkSizes = [...]int{1, 8, 64}

// paddedChunks cuts ids into chunks of one of chunkSizes, the last padded
// with copies of its last id (IN ignores them).
func paddedChunks(ids []string) [][]string {
	var out [][]string
	for len(ids) > 0 {
		n := min(len(ids), chunkSizes[len(chunkSizes)-1])
		size := chunkSizes[0]
		for _, c := range chunkSizes {
			if c >= n {
				size = c
				break
			}
		}
		chunk := make([]string, size)
		copy(chunk, ids[:n])
		for i := n; i < size; i++ {
			chunk[i] = ids[n-1]
		}
		out = append(out, chunk)
		ids = ids[n:]
	}
	return out
}

// OpenConversationIDs lists a workspace's open conversation ids.
func (s *Store) OpenConversationIDs(ctx context.Context, workspaceID string) ([]string, error) {
	return s.ids(ctx, `SELECT id FROM conversations WHERE workspace_id = ? AND status = 'open'`, workspaceID)
}

func (s *Store) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	if s.commits != nil && isWrite(q) {
		// A write (UPDATE ... RETURNING id), as exec's.
		return alone(ctx, s.commits, func(tx *Store) ([]string, error) { return tx.ids(ctx, q, args...) })
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list ids: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list ids: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetConversationStatus opens or closes a conversation.
// Closing records when (retention counts from then); reopening clears it.
func (s *Store) SetConversationStatus(ctx context.Context, workspaceID, id, status string, at time.Time) error {
	var closedAt any
	if status == "closed" {
		closedAt = micros(at)
	}
	res, err := s.exec(ctx, `UPDATE conversations SET status = ?, closed_at = CASE WHEN status = ? THEN closed_at ELSE ? END WHERE id = ? AND workspace_id = ?`,
		status, status, closedAt, id, workspaceID)
	if err != nil {
		return fmt.Errorf("set status of conversation %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set status of conversation %s: %w", id, ErrNotFound)
	}
	return nil
}

// TouchConversation records a new message's time and reopens the
// conversation when reopen is set.
func (s *Store) TouchConversation(ctx context.Context, id string, at time.Time, reopen bool) error {
	q := `UPDATE conversations SET last_message_at = ? WHERE id = ?`
	if reopen {
		q = `UPDATE conversations SET last_message_at = ?, status = 'open', closed_at = NULL WHERE id = ?`
	}
	if _, err := s.exec(ctx, q, micros(at), id); err != nil {
		return fmt.Errorf("touch conversation %s: %w", id, err)
	}
	return nil
}

// SetAgentRead moves the agents' read cursor of a conversation.
func (s *Store) SetAgentRead(ctx context.Context, workspaceID, id, messageID string) error {
	_, err := s.exec(ctx, `UPDATE conversations SET agent_read_id = ? WHERE id = ? AND workspace_id = ? AND (agent_read_id IS NULL OR agent_read_id < ?)`,
		messageID, id, workspaceID, messageID)
	if err != nil {
		return fmt.Errorf("set agent read cursor of %s: %w", id, err)
	}
	return nil
}

// MarkReadByVisitor moves the visitor's read cursor to messageID (when it is
// newer) and stamps read_by_visitor_at on every public message up to it that
// had none. It returns the messages it stamped.
func (s *Store) MarkReadByVisitor(ctx context.Context, conversationID, messageID string, at time.Time) ([]string, error) {
	if err := s.moveVisitorReadCursor(ctx, conversationID, messageID, at); err != nil {
		return nil, err
	}
	// One statement, so two concurrent reads never both report a message.
	ids, err := s.ids(ctx, `UPDATE messages SET read_by_visitor_at = ?
		WHERE conversation_id = ? AND id <= ? AND kind = 'reply' AND author_kind <> 'visitor' AND read_by_visitor_at IS NULL
		RETURNING id`, micros(at), conversationID, messageID)
	if err != nil {
		return nil, fmt.Errorf("read messages of %s: %w", conversationID, err)
	}
	return ids, nil
}

// MarkEmailedReadByVisitor stamps read_by_visitor_at on the replies of the
// conversation older than beforeID that were emailed to the visitor and
// accepted by the relay (an answer to an email shows it was read), and
// moves the visitor's read cursor to the newest of them. Replies not
// emailed stay unread: they are still to be seen, or emailed. It returns
// the messages it stamped.
func (s *Store) MarkEmailedReadByVisitor(ctx context.Context, conversationID, beforeID string, at time.Time) ([]string, error) {
	ids, err := s.ids(ctx, `UPDATE messages SET read_by_visitor_at = ?
		WHERE conversation_id = ? AND id < ? AND kind = 'reply' AND author_kind <> 'visitor' AND read_by_visitor_at IS NULL
		AND forwarded_email_id IS NOT NULL AND forwarded_status = 'sent'
		RETURNING id`, micros(at), conversationID, beforeID)
	if err != nil {
		return nil, fmt.Errorf("read emailed messages of %s: %w", conversationID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	if err := s.moveVisitorReadCursor(ctx, conversationID, slices.Max(ids), at); err != nil {
		return nil, err
	}
	return ids, nil
}

// Waiting tells which of a workspace's conversations ids wait for an
// answer (waitingAnswer). The workspace is checked on the rows, not in the
// statement, as in conversationsByIDQuery: given "workspace_id = ?" beside
// the ids, SQLite without statistics (as Parley runs it) walked the
// workspace's conversations_unread index and looked for an answer in
// every conversation of the workspace, 25 ms a dashboard page at a
// million messages, where the ids are one lookup each.
func (s *Store) Waiting(ctx context.Context, workspaceID string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, chunk := range paddedChunks(ids) {
		if err := s.waiting(ctx, workspaceID, chunk, out); err != nil {
			return nil, fmt.Errorf("read which of %d conversations wait: %w", len(ids), err)
		}
	}
	return out, nil
}

func (s *Store) waiting(ctx context.Context, workspaceID string, ids []string, out map[string]bool) error {
	rows, err := s.query(ctx, waitingQuery(len(ids)), anys(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, ws string
		if err := rows.Scan(&id, &ws); err != nil {
			return err
		}
		if ws == workspaceID {
			out[id] = true
		}
	}
	return rows.Err()
}

// moveVisitorReadCursor moves the visitor's read cursor of a conversation
// to messageID when it is newer.
func (s *Store) moveVisitorReadCursor(ctx context.Context, conversationID, messageID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE conversations SET visitor_read_id = ?, visitor_read_at = ? WHERE id = ? AND (visitor_read_id IS NULL OR visitor_read_id < ?)`,
		messageID, micros(at), conversationID, messageID); err != nil {
		return fmt.Errorf("move read cursor of %s: %w", conversationID, err)
	}
	return nil
}

// waitingQuery lists which of n conversations, by id, wait for an answer,
// with their workspaces.
func waitingQuery(n int) string {
	return `SELECT c.id, c.workspace_id FROM conversations c WHERE c.id IN (` + placeholders(n) + `) AND ` + waitingAnswer
}

// waitingAnswer holds for an open conversation c whose visitor waits for
// an answer: no agent replied after the visitor's newest message. Reading
// it, or writing a note, is no answer.
const waitingAnswer = `c.status = 'open' AND c.visitor_message_id IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.author_kind = 'agent'
		AND m.id > c.visitor_message_id AND m.kind = 'reply')`

// CountWaiting counts a workspace's conversations whose visitor waits for
// an answer (waitingAnswer).
func (s *Store) CountWaiting(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM conversations c WHERE c.workspace_id = ? AND `+waitingAnswer, workspaceID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count waiting conversations of %s: %w", workspaceID, err)
	}
	return n, nil
}
