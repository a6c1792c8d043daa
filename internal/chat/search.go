package chat

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/search"
	"github.com/parleychat/parley/internal/store"
)

// Bounds of a search's limit.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// snippetWidth is about how many characters of a match a result shows.
const snippetWidth = 120

// Search finds the agent's workspace's messages (replies and comments of
// every channel) and visitors (name, email) holding every word of q, the
// last one as a prefix, accents and case ignored; newest first, at most
// limit results (0 is the default). Whatever q holds is searched as plain
// words: the index's own syntax is never passed on.
func (s *Service) Search(ctx context.Context, a model.Agent, q string, limit int) ([]model.SearchResult, error) {
	switch {
	case limit == 0:
		limit = DefaultSearchLimit
	case limit < 0:
		return nil, newError(CodeBadRequest, "limit is a positive number")
	case limit > MaxSearchLimit:
		limit = MaxSearchLimit
	}
	if !utf8.ValidString(q) {
		return nil, newError(CodeBadRequest, "q is not valid UTF-8")
	}
	if strings.TrimSpace(q) == "" {
		return nil, newError(CodeBadRequest, "q is required: the words to search for")
	}
	if utf8.RuneCountInString(q) > search.MaxQueryLength {
		return nil, newError(CodeBadRequest, fmt.Sprintf("q is at most %d characters", search.MaxQueryLength))
	}
	words := search.Words(q)
	if len(words) > search.MaxWords {
		return nil, newError(CodeBadRequest, fmt.Sprintf("q is at most %d words", search.MaxWords))
	}
	results := []model.SearchResult{}
	if len(words) == 0 {
		// Only punctuation: no word to find.
		return results, nil
	}
	msgs, err := s.db.SearchMessages(ctx, a.WorkspaceID, words, limit)
	if err != nil {
		return nil, err
	}
	visitors, err := s.db.SearchVisitors(ctx, a.WorkspaceID, words, limit)
	if err != nil {
		return nil, err
	}
	hits := append(msgs, visitors...)
	if suffix, ok := visitorLabel(q); ok {
		labelled, err := s.db.SearchVisitorLabel(ctx, a.WorkspaceID, suffix, limit)
		if err != nil {
			return nil, err
		}
		hits = append(hits, labelled...)
	}
	// Newest first; a message before its visitor's match at the same time.
	slices.SortStableFunc(hits, func(x, y store.SearchHit) int { return y.At.Compare(x.At) })
	if len(hits) > limit {
		hits = hits[:limit]
	}
	ids := make([]string, 0, len(hits))
	for _, h := range hits {
		if !slices.Contains(ids, h.ConversationID) {
			ids = append(ids, h.ConversationID)
		}
	}
	// The conversations of every hit in one query.
	convs, err := s.db.ConversationsByID(ctx, a.WorkspaceID, ids)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	for _, h := range hits {
		c, ok := convs[h.ConversationID]
		if !ok {
			continue // removed since the index was read
		}
		snippet, spans := search.Snippet(h.Text, words, snippetWidth)
		r := model.SearchResult{Conversation: c, Snippet: snippet, Highlights: [][2]int{}, At: h.At}
		if h.MessageID != "" {
			id, name := h.MessageID, h.AuthorName
			r.MessageID = &id
			r.Author, r.Note = &model.Author{Kind: h.AuthorKind, Name: &name}, h.Kind == model.KindComment
		}
		for _, sp := range spans {
			r.Highlights = append(r.Highlights, [2]int{sp.Start, sp.End})
		}
		results = append(results, r)
	}
	return results, nil
}

// visitorLabel reads q as the label the dashboard gives a visitor with
// neither a name nor an email (model.VisitorLabel), or its characters
// alone, and returns them in the ids' case.
func visitorLabel(q string) (string, bool) {
	f := strings.Fields(strings.ToLower(q))
	if len(f) == 2 && f[0] == strings.ToLower(model.LabelWord) {
		f = f[1:]
	}
	if len(f) != 1 || len(f[0]) != model.LabelChars {
		return "", false
	}
	for _, r := range f[0] {
		if (r < '0' || r > '9') && (r < 'a' || r > 'z') {
			return "", false
		}
	}
	return f[0], true
}
