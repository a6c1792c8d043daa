package store

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/parleychat/parley/internal/model"
)

// ConversationFilter selects conversations of a workspace.
type ConversationFilter struct {
	Status   string // "open", "closed" or "all"
	Assignee string // "" (anyone or nobody), "none", or an agent id
	Tag      string // "" (any), or the key of a tag (model.TagKey)
	// Mentioned is "" (anyone's), or an agent id: the conversations whose
	// notes named that agent.
	Mentioned string
}

// where is the filter's conditions on "conversations c" of workspaceID.
func (f ConversationFilter) where(workspaceID string) (string, []any) {
	var (
		q    string
		args []any
	)
	if f.Status != "" && f.Status != "all" {
		q += ` AND c.status = ?`
		args = append(args, f.Status)
	}
	switch f.Assignee {
	case "":
	case "none":
		q += ` AND c.assignee_id IS NULL`
	default:
		q += ` AND c.assignee_id = ?`
		args = append(args, f.Assignee)
	}
	if f.Tag != "" {
		// The tag's conversations, once: the list still walks its index
		// of activity, newest first, and stops at its limit.
		q += ` AND c.id IN (SELECT ct.conversation_id FROM conversation_tags ct
			WHERE ct.tag_id = (SELECT t.id FROM tags t WHERE t.workspace_id = ? AND t.name_key = ?))`
		args = append(args, workspaceID, f.Tag)
	}
	if f.Mentioned != "" {
		q += ` AND c.id IN (SELECT m.conversation_id FROM mentions m WHERE m.agent_id = ?)`
		args = append(args, f.Mentioned)
	}
	return q, args
}

// ListedConversation is a conversation of a page with the key it was
// listed under (its activity as the list stood at the page's snapshot).
type ListedConversation struct {
	model.Conversation
	Key string
}

// ConversationPage lists up to limit conversations of a workspace, most
// recent activity first, as the list stood at snapshot (an id made when the
// first page was read), after the key after ("" for the first page).
//
// A conversation's activity is the id of its newest message. One that gets
// a message after the snapshot is listed under the newest message it had at
// the snapshot (read from the messages themselves), so following pages
// neither skip it nor list it twice; one created after the snapshot is not
// listed (it appears at the front of a new first page).
func (s *Store) ConversationPage(ctx context.Context, workspaceID string, f ConversationFilter, snapshot, after string, limit int) ([]ListedConversation, error) {
	fq, fargs := f.where(workspaceID)
	// Conversations whose activity has not moved since the snapshot: the
	// index on (workspace_id, activity_id) is walked newest first and
	// stops at limit, rather than every conversation being sorted. A tag
	// few conversations have is the exception: the walk would pass over
	// nearly every conversation of the workspace to fill a page, so
	// SQLite starts from the tag's conversations and sorts those ("+"
	// keeps it off the index of activity).
	col := "c."
	if f.Tag != "" && s.dialect == SQLite {
		n, err := s.taggedCount(ctx, workspaceID, f.Tag)
		if err != nil {
			return nil, err
		}
		if int64(n) <= rareTag.Load() {
			col = "+c."
		}
	}
	if f.Mentioned != "" && s.dialect == SQLite {
		// Likewise an agent's mentions: few beside the workspace's
		// conversations.
		col = "+c."
	}
	args := []any{workspaceID, snapshot}
	args = append(args, fargs...)
	if after != "" {
		args = append(args, after)
	}
	args = append(args, limit, snapshot, workspaceID, snapshot, snapshot)
	args = append(args, fargs...)
	if after != "" {
		args = append(args, after)
	}
	args = append(args, limit)
	q := conversationPageQuery(col, fq, after != "")

	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	var (
		ids  []string
		keys = map[string]string{}
	)
	for rows.Next() {
		var id, k string
		if err := rows.Scan(&id, &k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list conversations: %w", err)
		}
		ids = append(ids, id)
		keys[id] = k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]ListedConversation, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	byID, err := s.ConversationsByID(ctx, workspaceID, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if c, ok := byID[id]; ok { // gone since (a deleted visitor): left out
			out = append(out, ListedConversation{Conversation: c, Key: keys[id]})
		}
	}
	return out, nil
}

// conversationPageQuery is ConversationPage's statement: col is "c." or,
// to keep SQLite off the index of activity, "+c."; fq the filter's
// conditions; after whether a page's key bounds it. Its arguments: the
// workspace, the snapshot, fq's, after, the limit; then the snapshot, the
// workspace, the snapshot twice, fq's, after, the limit.
func conversationPageQuery(col, fq string, after bool) string {
	q := `SELECT id, k FROM (SELECT id, k FROM (SELECT c.id AS id, c.activity_id AS k FROM conversations c
		WHERE ` + col + `workspace_id = ? AND ` + col + `activity_id <= ?` + fq
	if after {
		q += ` AND ` + col + `activity_id < ?`
	}
	q += ` ORDER BY ` + col + `activity_id DESC LIMIT ?) newest`
	// Conversations that moved since: few, and their place at the snapshot
	// comes from their messages.
	q += ` UNION ALL SELECT c.id AS id, COALESCE((SELECT MAX(m.id) FROM messages m
			WHERE m.conversation_id = c.id AND m.id <= ?), c.id) AS k FROM conversations c
		WHERE c.workspace_id = ? AND c.activity_id > ? AND c.id <= ?` + fq + `) t`
	if after {
		q += ` WHERE k < ?`
	}
	return q + ` ORDER BY k DESC LIMIT ?`
}

// rareTag is the most conversations a tag may have for a list of it to
// start from them (ConversationPage) rather than walk the workspace's
// (tests set it to read either way).
var rareTag atomic.Int64

func init() { rareTag.Store(5000) }

// taggedCount counts the conversations that have the tag of key.
func (s *Store) taggedCount(ctx context.Context, workspaceID, key string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM conversation_tags WHERE tag_id =
		(SELECT id FROM tags WHERE workspace_id = ? AND name_key = ?)`, workspaceID, key).Scan(&n); err != nil {
		return 0, fmt.Errorf("count the conversations of a tag: %w", err)
	}
	return n, nil
}

// ConversationsByID loads conversations of a workspace by id, a few dozen
// a query; ids of none are left out of the map.
func (s *Store) ConversationsByID(ctx context.Context, workspaceID string, ids []string) (map[string]model.Conversation, error) {
	out := make(map[string]model.Conversation, len(ids))
	for _, chunk := range paddedChunks(ids) {
		if err := s.conversationsByID(ctx, workspaceID, chunk, out); err != nil {
			return nil, fmt.Errorf("load %d conversations: %w", len(ids), err)
		}
	}
	return out, nil
}

func (s *Store) conversationsByID(ctx context.Context, workspaceID string, ids []string, out map[string]model.Conversation) error {
	rows, err := s.query(ctx, conversationsByIDQuery(len(ids)), anys(ids)...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return err
		}
		if c.WorkspaceID == workspaceID {
			out[c.ID] = c
		}
	}
	return rows.Err()
}

// conversationsByIDQuery reads n conversations by id. The workspace is
// checked on the rows, not in the statement: given "workspace_id = ? AND
// id IN (...)" without statistics, SQLite walked the workspace's index,
// every conversation of the workspace for each chunk of ids (a quarter of
// the CPU of a burst of forwarded emails, whose outcomes read their
// conversations back for the dashboards), where the ids alone are one
// lookup each.
func conversationsByIDQuery(n int) string {
	return conversationSelect + ` WHERE c.id IN (` + placeholders(n) + `)`
}

// ConversationCounts counts a workspace's conversations of a status
// ("open", "closed", "all"): assigned to agentID, assigned to nobody, and
// in all.
type ConversationCounts struct {
	Mine, Unassigned, All int
	// Mentions counts those whose notes named agentID.
	Mentions int
}

// CountConversations counts the views of the conversation list, of a
// tag when f names one (f.Assignee and f.Mentioned are not read).
func (s *Store) CountConversations(ctx context.Context, workspaceID string, f ConversationFilter, agentID string) (ConversationCounts, error) {
	f.Assignee, f.Mentioned = "", ""
	fq, fargs := f.where(workspaceID)
	args := append([]any{agentID, workspaceID}, fargs...)
	col := "c."
	if f.Tag != "" && s.dialect == SQLite {
		// A tag's conversations are fewer than the status's: SQLite reads
		// them, not the whole index of counts ("+" keeps it off that).
		col = "+c."
	}
	var n ConversationCounts
	err := s.queryRow(ctx, countConversationsQuery(col, fq), args...).Scan(&n.Mine, &n.Unassigned, &n.All)
	if err != nil {
		return n, fmt.Errorf("count conversations: %w", err)
	}
	// The agent's mentions, each read with its conversation.
	err = s.queryRow(ctx, `SELECT COUNT(*) FROM mentions m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.agent_id = ? AND c.workspace_id = ?`+fq, append([]any{agentID, workspaceID}, fargs...)...).Scan(&n.Mentions)
	if err != nil {
		return n, fmt.Errorf("count mentions: %w", err)
	}
	return n, nil
}

// countConversationsQuery counts a workspace's conversations mine (the
// first argument: the agent), unassigned and in all, with the filter fq;
// col is "c." or, to keep SQLite off the index conversations_counts,
// "+c.". Without a tag it reads that index alone.
func countConversationsQuery(col, fq string) string {
	return `SELECT COALESCE(SUM(CASE WHEN c.assignee_id = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.assignee_id IS NULL THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM conversations c WHERE ` + col + `workspace_id = ?` + fq
}

// bumpActivity makes m its conversation's newest activity, and its newest
// visitor message when the visitor wrote it.
func (s *Store) bumpActivity(ctx context.Context, m model.Message) error {
	if m.Author.Kind != model.AuthorVisitor {
		if _, err := s.exec(ctx, `UPDATE conversations SET activity_id = ? WHERE id = ? AND activity_id < ?`,
			m.ID, m.ConversationID, m.ID); err != nil {
			return fmt.Errorf("record activity of conversation %s: %w", m.ConversationID, err)
		}
		return nil
	}
	// Both in one statement; neither cursor moves backwards.
	if _, err := s.exec(ctx, `UPDATE conversations SET
		activity_id = CASE WHEN activity_id < ? THEN ? ELSE activity_id END,
		visitor_message_id = CASE WHEN visitor_message_id IS NULL OR visitor_message_id < ? THEN ? ELSE visitor_message_id END
		WHERE id = ?`, m.ID, m.ID, m.ID, m.ID, m.ConversationID); err != nil {
		return fmt.Errorf("record activity of conversation %s: %w", m.ConversationID, err)
	}
	return nil
}

// Conversations lists the first limit conversations of a workspace with a
// status ("open", "closed", "all"), most recent activity first.
func (s *Store) Conversations(ctx context.Context, workspaceID, status string, limit int) ([]model.Conversation, error) {
	page, err := s.ConversationPage(ctx, workspaceID, ConversationFilter{Status: status}, model.NewID(), "", limit)
	if err != nil {
		return nil, err
	}
	out := make([]model.Conversation, len(page))
	for i, c := range page {
		out[i] = c.Conversation
	}
	return out, nil
}

// CountUnreadConversations counts a workspace's open conversations with
// visitor messages newer than the agents' read cursor (a closed one asks
// nothing of anyone until a message reopens it).
func (s *Store) CountUnreadConversations(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM conversations c WHERE c.workspace_id = ? AND c.status = 'open'
		AND c.visitor_message_id > COALESCE(c.agent_read_id, '')`, workspaceID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count unread conversations: %w", err)
	}
	return n, nil
}
