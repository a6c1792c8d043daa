package chat

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/store"
)

// Paging of the conversation list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// ListQuery is what an agent asks of the conversation list. Empty fields
// take their defaults: open conversations, anyone's, the first page of 50.
type ListQuery struct {
	Status   string // "open" (default), "closed", "all"
	Assignee string // "" (anyone), "me", "none" or an agent id
	Tag      string // "" (any), or a tag, in any case
	// Mentioned is "" (any) or "me": the conversations whose notes named
	// the agent.
	Mentioned string
	Limit     string // 1..200; more is read as 200
	Cursor    string // next_cursor of the previous page
}

// ConversationList is one page of the list.
type ConversationList struct {
	Conversations []model.Conversation `json:"conversations"`
	NextCursor    *string              `json:"next_cursor"`
}

// ListConversations answers one page of the agent's workspace's
// conversations, most recent activity first. Following NextCursor lists
// every conversation that matches from the first page on exactly once;
// conversations that arrive meanwhile appear at the front of a new first
// page.
func (s *Service) ListConversations(ctx context.Context, a model.Agent, q ListQuery) (ConversationList, error) {
	var out ConversationList
	f, err := s.listFilter(ctx, a, q.Status, q.Assignee, q.Tag)
	if err != nil {
		return out, err
	}
	switch q.Mentioned {
	case "":
	case "me":
		f.Mentioned = a.ID
	default:
		return out, newError(CodeBadRequest, `mentioned is "me"`)
	}
	limit := DefaultPageSize
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 {
			return out, newError(CodeBadRequest, "limit is a whole number from 1 to 200")
		}
		limit = min(n, MaxPageSize)
	}
	snapshot, after := model.NewID(), ""
	if q.Cursor != "" {
		if snapshot, after, err = parseCursor(q.Cursor); err != nil {
			return out, err
		}
	}
	page, err := s.db.ConversationPage(ctx, a.WorkspaceID, f, snapshot, after, limit+1)
	if err != nil {
		return out, err
	}
	if len(page) > limit {
		page = page[:limit]
		next := formatCursor(snapshot, page[limit-1].Key)
		out.NextCursor = &next
	}
	out.Conversations = make([]model.Conversation, len(page))
	for i, c := range page {
		out.Conversations[i] = c.Conversation
	}
	return out, nil
}

// ConversationCounts counts the conversations of a status (and of a tag,
// when tag is not "") in the views Mine, Unassigned, All and Mentions.
func (s *Service) ConversationCounts(ctx context.Context, a model.Agent, status, tag string) (store.ConversationCounts, error) {
	f, err := s.listFilter(ctx, a, status, "", tag)
	if err != nil {
		return store.ConversationCounts{}, err
	}
	return s.db.CountConversations(ctx, a.WorkspaceID, f, a.ID)
}

func (s *Service) listFilter(ctx context.Context, a model.Agent, status, assignee, tag string) (store.ConversationFilter, error) {
	f := store.ConversationFilter{Status: status}
	if tag != "" {
		name, err := NormalizeTag(tag)
		if err != nil {
			return f, err
		}
		f.Tag = model.TagKey(name)
	}
	switch status {
	case "":
		f.Status = "open"
	case "open", "closed", "all":
	default:
		return f, newError(CodeBadRequest, `status is one of "open", "closed", "all"`)
	}
	switch assignee {
	case "":
	case "me":
		f.Assignee = a.ID
	case "none":
		f.Assignee = "none"
	default:
		if _, err := workspaceAgent(ctx, &s.db.Store, a.WorkspaceID, assignee); err != nil {
			return f, err
		}
		f.Assignee = assignee
	}
	return f, nil
}

// A cursor is "SNAPSHOT.KEY" in base64url: the id made when the first page
// was read, and the sort key of the last conversation listed.
func formatCursor(snapshot, key string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(snapshot + "." + key))
}

var errCursor = newError(CodeBadRequest, "cursor is not a next_cursor this server gave")

func parseCursor(c string) (snapshot, key string, err error) {
	raw, derr := base64.RawURLEncoding.DecodeString(c)
	if derr != nil {
		return "", "", errCursor
	}
	snapshot, key, ok := strings.Cut(string(raw), ".")
	if !ok || !isID(snapshot) || !isID(key) {
		return "", "", errCursor
	}
	return snapshot, key, nil
}

// isID reports whether s has the shape of model.NewID's ids.
func isID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'v') {
			return false
		}
	}
	return true
}

// WaitingForAnswer tells which of the conversations ids (of the agent's
// workspace, as a list page gives them) are open with a visitor waiting
// for an answer: no agent replied after their newest message.
func (s *Service) WaitingForAnswer(ctx context.Context, a model.Agent, ids []string) (map[string]bool, error) {
	if len(ids) == 0 {
		return map[string]bool{}, nil
	}
	return s.db.Waiting(ctx, a.WorkspaceID, ids)
}

// UnreadConversations counts the workspace's open conversations with
// visitor messages no agent has seen (the number in the dashboard's tab
// title and on the phone's back arrow).
func (s *Service) UnreadConversations(ctx context.Context, a model.Agent) (int, error) {
	return s.db.CountUnreadConversations(ctx, a.WorkspaceID)
}
