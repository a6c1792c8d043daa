package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/search"
)

// SearchHit is a match of a search: a message (MessageID set) or a visitor
// whose name or email matched (one hit per conversation of theirs).
type SearchHit struct {
	ConversationID string
	MessageID      string
	// Text is what matched: the message body, or the visitor's name and
	// email.
	Text string
	// At is when the message was written, or the visitor's conversation
	// last active.
	At time.Time
	// AuthorKind, AuthorName and Kind are the message's ("" for a match
	// on a visitor's name or email).
	AuthorKind, AuthorName, Kind string
}

// SearchMessages returns the newest messages (replies and comments) of a
// workspace that hold every word, the last one as a prefix; words are as
// typed (the index folds case and accents) and must not be empty.
func (s *Store) SearchMessages(ctx context.Context, workspaceID string, words []string, limit int) ([]SearchHit, error) {
	if s.dialect == Postgres {
		return s.searchMessagesPostgres(ctx, workspaceID, words, limit)
	}
	// What was written before the search is found by it.
	if err := s.IndexPendingMessages(ctx); err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	// The subquery walks the index newest first and stops at limit; the
	// join checks the workspace again, so isolation never rests on the
	// index's tokens alone.
	q := `WITH f AS MATERIALIZED (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid DESC LIMIT ?)
		SELECT m.conversation_id, m.id, m.body, m.created_at, m.author_kind, COALESCE(m.author_name, ''), m.kind FROM f
		JOIN search_docs d ON d.id = f.rowid
		JOIN messages m ON m.id = d.message_id
		WHERE m.workspace_id = ?
		ORDER BY f.rowid DESC`
	match, err := s.ftsMatch(ctx, workspaceID, words)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	args := []any{match, limit, workspaceID}
	hits, err := s.searchHits(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return hits, nil
}

// recentScan is how many of a workspace's newest messages a PostgreSQL
// search reads first, looking for matches without the index.
const recentScan = 5000

// searchMessagesPostgres finds the newest matches in two steps, because a
// GIN index returns its matches in no order: a search of a common word
// would sort hundreds of thousands of them, and walking the messages
// newest first (the planner's choice when it guesses a word is common)
// reads the whole table for a rare one. So the newest messages are read
// first, a bounded number of them; when they hold enough matches those
// are the answer, else the index gives every match, few by then (at most
// one in every recentScan/limit messages), sorted.
func (s *Store) searchMessagesPostgres(ctx context.Context, workspaceID string, words []string, limit int) ([]SearchHit, error) {
	rest, last := strings.Join(words[:len(words)-1], " "), words[len(words)-1]
	hits, err := s.searchHits(ctx, `SELECT t.conversation_id, t.id, t.body, t.created_at, t.author_kind, COALESCE(t.author_name, ''), t.kind FROM (
			SELECT conversation_id, id, body, created_at, author_kind, author_name, kind, search FROM messages
			WHERE workspace_id = ? ORDER BY id DESC LIMIT ?) t
		WHERE t.search @@ parley_search_query(?, ?) ORDER BY t.id DESC LIMIT ?`,
		workspaceID, recentScan, rest, last, limit)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	if len(hits) >= limit {
		return hits, nil
	}
	// MATERIALIZED keeps the planner from walking the table newest first
	// for the LIMIT: the matches come from the index. A GIN index expands
	// a prefix into every word it starts ("ka" is thousands of words, most
	// of the table), however rare the other words; so when one of the
	// whole words is rare, the index is asked for the whole words (it
	// intersects them cheaply) and the prefix is checked on what it
	// returns. When all are common the prefix is the rare part.
	index, indexWords := searchQuery, []string{rest, last}
	if whole := words[:len(words)-1]; s.hasRareWord(ctx, whole) {
		index, indexWords = plainQuery, whole
	}
	args := []any{workspaceID}
	for _, w := range indexWords {
		args = append(args, w)
	}
	args = append(args, rest, last, limit)
	hits, err = s.searchHits(ctx, `WITH f AS MATERIALIZED (SELECT id, search FROM messages
			WHERE workspace_id = ? AND search @@ `+index(len(indexWords))+`)
		SELECT m.conversation_id, m.id, m.body, m.created_at, m.author_kind, COALESCE(m.author_name, ''), m.kind FROM f JOIN messages m ON m.id = f.id
		WHERE f.search @@ parley_search_query(?, ?) ORDER BY f.id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("search messages: %w", err)
	}
	return hits, nil
}

// searchQuery and plainQuery write the tsquery of a search: every word,
// the last one as a prefix; or every word, whole.
func searchQuery(int) string { return `parley_search_query(?, ?)` }
func plainQuery(n int) string {
	return `plainto_tsquery('simple', parley_fold(?` + strings.Repeat(` || ' ' || ?`, n-1) + `))`
}

// rareFrequency is the share of messages under which a word is rare
// enough to look up in the index without the prefix.
const rareFrequency = 0.02

// hasRareWord reports whether a word is in fewer than rareFrequency of the
// messages, from the statistics PostgreSQL keeps of the most common words
// (a word missing from them is rare). Without statistics every word counts
// as rare: the table is new, and small.
func (s *Store) hasRareWord(ctx context.Context, words []string) bool {
	if len(words) == 0 {
		return false
	}
	var elems, freqs []string
	var rawElems, rawFreqs sql.NullString
	err := s.queryRow(ctx, `SELECT most_common_elems::text, most_common_elem_freqs::text FROM pg_stats
		WHERE schemaname = current_schema() AND tablename = 'messages' AND attname = 'search'`).Scan(&rawElems, &rawFreqs)
	if err == nil && rawElems.Valid && rawFreqs.Valid {
		elems, freqs = pgArray(rawElems.String), pgArray(rawFreqs.String)
	}
	common := make(map[string]bool, len(elems))
	for i, e := range elems {
		if i < len(freqs) {
			if f, err := strconv.ParseFloat(freqs[i], 64); err == nil && f >= rareFrequency {
				common[e] = true
			}
		}
	}
	for _, w := range words {
		if !common[search.Fold(w)] {
			return true
		}
	}
	return false
}

// pgArray splits the text form of a one-dimensional PostgreSQL array of
// simple values ({a,b,"c d"}).
func pgArray(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if s == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		out = append(out, strings.Trim(v, `"`))
	}
	return out
}

// SearchVisitors returns the conversations of a workspace's visitors whose
// name or email holds every word (the last one as a prefix), newest
// activity first.
func (s *Store) SearchVisitors(ctx context.Context, workspaceID string, words []string, limit int) ([]SearchHit, error) {
	var q string
	var args []any
	if s.dialect == Postgres {
		// MATERIALIZED: the visitors come from the index, never from a
		// walk of every conversation by its activity.
		q = `WITH v AS MATERIALIZED (SELECT id, workspace_id, name, email FROM visitors
				WHERE workspace_id = ? AND search @@ parley_search_query(?, ?))
			SELECT c.id, '', concat_ws(' ', v.name, v.email), c.last_message_at, '', '', '' FROM v
			JOIN conversations c ON c.visitor_id = v.id
			WHERE c.workspace_id = v.workspace_id
			ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?`
		args = []any{workspaceID, strings.Join(words[:len(words)-1], " "), words[len(words)-1], limit}
	} else {
		// MATERIALIZED: the index is read once, never once per
		// conversation of the workspace (the plan SQLite picks otherwise).
		// A common name matches thousands of visitors: their conversations
		// are ranked from an index that holds what the ranking needs, and
		// only the newest limit read their visitor's name and email.
		q = `WITH f AS MATERIALIZED (SELECT d.visitor_id AS vid FROM visitors_fts
				JOIN search_docs d ON d.id = visitors_fts.rowid WHERE visitors_fts MATCH ?),
			top AS MATERIALIZED (SELECT c.id, c.visitor_id, c.last_message_at FROM f
				JOIN conversations c INDEXED BY conversations_visitor_activity ON c.visitor_id = f.vid
				WHERE c.workspace_id = ? ORDER BY c.last_message_at DESC, c.id DESC LIMIT ?)
			SELECT top.id, '', trim(coalesce(v.name, '') || ' ' || coalesce(v.email, '')), top.last_message_at, '', '', '' FROM top
			JOIN visitors v ON v.id = top.visitor_id
			WHERE v.workspace_id = ?
			ORDER BY top.last_message_at DESC, top.id DESC`
		match, err := s.ftsMatch(ctx, workspaceID, words)
		if err != nil {
			return nil, fmt.Errorf("search visitors: %w", err)
		}
		args = []any{match, workspaceID, limit, workspaceID}
	}
	hits, err := s.searchHits(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("search visitors: %w", err)
	}
	return hits, nil
}

// LabelScope is how many of a workspace's most recently active
// conversations SearchVisitorLabel looks through: a label is read in the
// list, where those are.
const LabelScope = 5000

// SearchVisitorLabel finds the conversations of visitors the dashboard
// names by label (model.VisitorLabel: visitors with neither a name nor an
// email) whose id ends with suffix, among the workspace's LabelScope most
// recently active conversations: newest first, at most limit.
func (s *Store) SearchVisitorLabel(ctx context.Context, workspaceID, suffix string, limit int) ([]SearchHit, error) {
	// The visitor's id stands in the text's column, and its label then in
	// the hit's text.
	hits, err := s.searchHits(ctx, `WITH recent AS (SELECT id, visitor_id, last_message_at FROM conversations
			WHERE workspace_id = ? ORDER BY activity_id DESC LIMIT ?)
		SELECT r.id, '', r.visitor_id, r.last_message_at, '', '', '' FROM recent r
		JOIN visitors v ON v.id = r.visitor_id
		WHERE r.visitor_id LIKE ? AND coalesce(trim(v.name), '') = '' AND coalesce(v.email, '') = ''
		ORDER BY r.last_message_at DESC, r.id DESC LIMIT ?`, workspaceID, LabelScope, "%"+suffix, limit)
	if err != nil {
		return nil, fmt.Errorf("search visitors' labels: %w", err)
	}
	for i := range hits {
		hits[i].Text = model.VisitorLabel(hits[i].Text)
	}
	return hits, nil
}

func (s *Store) searchHits(ctx context.Context, q string, args ...any) ([]SearchHit, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []SearchHit
	for rows.Next() {
		var h SearchHit
		var at int64
		if err := rows.Scan(&h.ConversationID, &h.MessageID, &h.Text, &at, &h.AuthorKind, &h.AuthorName, &h.Kind); err != nil {
			return nil, err
		}
		h.At = fromMicros(at)
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

// ftsMatch builds an FTS5 query: every word in the body, the last as a
// prefix. Each word is quoted (a double quote doubled), so whatever was
// typed is a literal, never FTS5 syntax.
//
// With several workspaces the query also asks for the workspace's token in
// the ws column, so that a small workspace never walks the matches of a
// large one. With one, every entry is the workspace's and the token would
// only cost: intersecting with a doclist of every entry took tens of
// milliseconds at a million messages.
func (s *Store) ftsMatch(ctx context.Context, workspaceID string, words []string) (string, error) {
	var workspaces int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM workspaces`).Scan(&workspaces); err != nil {
		return "", err
	}
	var b strings.Builder
	if workspaces > 1 {
		b.WriteString("ws : ")
		b.WriteString(ftsString(workspaceID))
		b.WriteString(" AND ")
	}
	b.WriteString("body : (")
	for i, t := range ftsTokens(words) {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(ftsString(t.text))
		if t.prefix {
			b.WriteString(" *")
		}
	}
	b.WriteString(")")
	return b.String(), nil
}

// ftsToken is a quoted string of an FTS5 query, searched as a prefix or
// whole.
type ftsToken struct {
	text   string
	prefix bool
}

// ftsTokens cuts words where the index's tokenizer does (ftsSeparators),
// so that every quoted string of the query is at most one token: the index
// keeps no positions, and refuses a phrase. The last word's last part is
// the prefix. A word of separators only is kept whole: it is no token.
func ftsTokens(words []string) []ftsToken {
	var out []ftsToken
	for i, w := range words {
		parts := strings.FieldsFunc(w, func(r rune) bool { return unicode.Is(ftsSeparators, r) })
		if len(parts) == 0 {
			parts = []string{w}
		}
		for j, p := range parts {
			out = append(out, ftsToken{text: p, prefix: i == len(words)-1 && j == len(parts)-1})
		}
	}
	return out
}

func ftsString(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
