package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/parleychat/parley/internal/model"
)

// decodeTags reads a conversation's tags column: a JSON array, empty for
// none (nil, which model.Tags writes as [] all the same).
func decodeTags(raw string) (model.Tags, error) {
	if raw == "" {
		return nil, nil
	}
	var tags model.Tags
	if err := json.Unmarshal([]byte(raw), &tags); err != nil {
		return nil, err
	}
	return tags, nil
}

// SetConversationTags makes names (tags the domain accepted, no two with
// the same key) the tags of a conversation of the workspace, replacing
// those it had, and returns them as the workspace spells them, sorted. A
// tag new to the workspace is spelled as given. Run it in a transaction
// that holds the conversation (LockConversation). ErrNotFound when the
// workspace has no such conversation.
func (s *Store) SetConversationTags(ctx context.Context, workspaceID, conversationID string, names []string) (model.Tags, error) {
	var tags model.Tags
	ids := make([]string, 0, len(names))
	// In the order of their keys: on PostgreSQL a tag being made holds its
	// key until the commit, and two transactions making the same new tags
	// in opposite orders would each wait for the other's (a deadlock).
	names = slices.Clone(names)
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(model.TagKey(a), model.TagKey(b)) })
	for _, name := range names {
		key := model.TagKey(name)
		// A tag another transaction makes at the same moment is one row
		// all the same: the unique key makes the second insert nothing.
		if _, err := s.exec(ctx, `INSERT INTO tags (id, workspace_id, name, name_key) VALUES (?, ?, ?, ?)
			ON CONFLICT (workspace_id, name_key) DO NOTHING`, model.NewID(), workspaceID, name, key); err != nil {
			return nil, fmt.Errorf("tag conversation %s: add tag: %w", conversationID, err)
		}
		var id, spelled string
		if err := s.queryRow(ctx, `SELECT id, name FROM tags WHERE workspace_id = ? AND name_key = ?`, workspaceID, key).Scan(&id, &spelled); err != nil {
			return nil, fmt.Errorf("tag conversation %s: read tag: %w", conversationID, err)
		}
		ids = append(ids, id)
		tags = append(tags, spelled)
	}
	model.SortTags(tags)
	column := ""
	if len(tags) > 0 {
		raw, err := json.Marshal([]string(tags))
		if err != nil {
			return nil, fmt.Errorf("tag conversation %s: %w", conversationID, err)
		}
		column = string(raw)
	}
	res, err := s.exec(ctx, `UPDATE conversations SET tags = ? WHERE id = ? AND workspace_id = ?`, column, conversationID, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("tag conversation %s: %w", conversationID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, fmt.Errorf("tag conversation %s: %w", conversationID, ErrNotFound)
	}
	if _, err := s.exec(ctx, `DELETE FROM conversation_tags WHERE conversation_id = ? AND workspace_id = ?`, conversationID, workspaceID); err != nil {
		return nil, fmt.Errorf("tag conversation %s: remove tags: %w", conversationID, err)
	}
	for _, id := range ids {
		if _, err := s.exec(ctx, `INSERT INTO conversation_tags (workspace_id, conversation_id, tag_id) VALUES (?, ?, ?)`,
			workspaceID, conversationID, id); err != nil {
			return nil, fmt.Errorf("tag conversation %s: %w", conversationID, err)
		}
	}
	return tags, nil
}

// TagsInUse lists the tags conversations of a workspace have, with how
// many of them are open and how many there are, sorted without regard to
// case. A tag no conversation has any more is left out.
func (s *Store) TagsInUse(ctx context.Context, workspaceID string) ([]model.WorkspaceTag, error) {
	rows, err := s.query(ctx, `SELECT t.name, COALESCE(SUM(CASE WHEN c.status = 'open' THEN 1 ELSE 0 END), 0), COUNT(*)
		FROM tags t JOIN conversation_tags ct ON ct.tag_id = t.id JOIN conversations c ON c.id = ct.conversation_id
		WHERE t.workspace_id = ? GROUP BY t.id, t.name`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list tags of workspace %s: %w", workspaceID, err)
	}
	defer rows.Close()
	out := []model.WorkspaceTag{}
	byName := map[string]model.WorkspaceTag{}
	var names []string
	for rows.Next() {
		var t model.WorkspaceTag
		if err := rows.Scan(&t.Name, &t.OpenConversations, &t.Conversations); err != nil {
			return nil, fmt.Errorf("list tags of workspace %s: %w", workspaceID, err)
		}
		byName[t.Name] = t
		names = append(names, t.Name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tags of workspace %s: %w", workspaceID, err)
	}
	model.SortTags(names)
	for _, n := range names {
		out = append(out, byName[n])
	}
	return out, nil
}

// TagNamesInUse lists the names of the tags conversations of a workspace
// have, sorted without regard to case: what the dashboard suggests and
// shows, on every page of a conversation, so it counts nothing (one probe
// of conversation_tags a tag, where TagsInUse reads every tagged
// conversation).
func (s *Store) TagNamesInUse(ctx context.Context, workspaceID string) ([]string, error) {
	names, err := s.ids(ctx, `SELECT t.name FROM tags t WHERE t.workspace_id = ?
		AND EXISTS (SELECT 1 FROM conversation_tags ct WHERE ct.tag_id = t.id)`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list tags of workspace %s: %w", workspaceID, err)
	}
	model.SortTags(names)
	return names, nil
}
