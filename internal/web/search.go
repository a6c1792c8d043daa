package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/search"
)

// Search: the API's GET /api/v1/search, and the dashboard's results page.

func (s *Server) search(w http.ResponseWriter, r *http.Request, a model.Agent) {
	limit, ok := searchLimit(w, r)
	if !ok {
		return
	}
	results, err := s.svc.Search(r.Context(), a, r.URL.Query().Get("q"), limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// searchLimit reads the limit parameter: absent is the default, above the
// maximum is the maximum, anything but a positive number is refused.
func searchLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return 0, true
	}
	n, err := strconv.Atoi(raw)
	if errors.Is(err, strconv.ErrRange) && raw[0] != '-' {
		return chat.MaxSearchLimit, true // above the maximum, however far
	}
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, chat.CodeBadRequest, "limit is a number from 1 to 100")
		return 0, false
	}
	return n, true
}

// searchView is the dashboard's search results page.
type searchView struct {
	Query string
	Error string
	// Results are the rows shown: at most perConversation of each
	// conversation; Total counts every match found.
	Results []resultView
	Total   int
	// More: the results stop at the page's limit; older ones match too.
	More bool
	// Tag is the tag the query names, if the workspace uses it.
	Tag *tagMatch
}

// tagMatch is a tag a search names: its conversations are a link away.
type tagMatch struct {
	Name                string
	Conversations, Open int
	Href                string
}

// perConversation bounds the rows of one conversation in the search page:
// a word a conversation repeats would fill the page with it.
const perConversation = 3

type resultView struct {
	// MoreHere counts the matches of the same conversation not shown
	// (perConversation), older than this row.
	MoreHere                    int
	Href, Name, Channel, Status string
	// Who wrote the matching message ("" for a match on the visitor), and
	// whether it is an internal note.
	Who   string
	Note  bool
	Parts []search.Part
	// Visitor is set when the visitor's name or email matched.
	Visitor bool
	Time    stamp
	Ago     string
}

func (s *Server) dashSearch(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	q := r.URL.Query().Get("q")
	p := &page{Title: "Search", Nav: "inbox", Search: &searchView{Query: q}}
	s.fillChrome(ctx, r, p, sess)
	if strings.TrimSpace(q) == "" {
		s.render(w, http.StatusOK, "search", p)
		return
	}
	p.Title = q + " · Search"
	// A query that names a tag in use leads to its conversations too.
	if key := chat.TagKeyOf(q); key != "" && utf8.RuneCountInString(key) <= model.MaxTagLength {
		tags, err := s.svc.Tags(ctx, sess.agent)
		if err != nil {
			s.failPage(w, r, sess, err)
			return
		}
		for _, t := range tags {
			if model.TagKey(t.Name) == key {
				p.Search.Tag = &tagMatch{Name: t.Name, Conversations: t.Conversations, Open: t.OpenConversations,
					Href: listState{Status: "all", View: "all", Tag: t.Name}.href("")}
			}
		}
	}
	results, err := s.svc.Search(ctx, sess.agent, q, chat.MaxSearchLimit)
	if err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		p.Search.Error = a.text()
		s.render(w, a.Status, "search", p)
		return
	}
	c := newClock(p.Workspace.Location())
	p.Search.More, p.Search.Total = len(results) >= chat.MaxSearchLimit, len(results)
	shown := map[string]int{} // rows shown of each conversation, by id
	last := map[string]int{}  // the index of its last row
	for _, res := range results {
		id := res.Conversation.ID
		if shown[id] == perConversation {
			p.Search.Results[last[id]].MoreHere++
			continue
		}
		shown[id]++
		last[id] = len(p.Search.Results)
		spans := make([]search.Span, len(res.Highlights))
		for i, h := range res.Highlights {
			spans[i] = search.Span{Start: h[0], End: h[1]}
		}
		v := resultView{Href: conversationHref(res.Conversation.ID, listState{Status: "all", View: "all"}), Name: visitorName(res.Conversation.Visitor),
			Channel: res.Conversation.Channel, Status: res.Conversation.Status,
			Parts: search.Parts(res.Snippet, spans), Visitor: res.MessageID == nil,
			Time: c.stamp(res.At), Ago: c.ago(res.At)}
		if a := res.Author; a != nil {
			v.Note = res.Note
			if a.Name != nil {
				v.Who = *a.Name
			}
			if v.Who == "" && a.Kind == model.AuthorVisitor {
				v.Who = v.Name
			}
		}
		if res.MessageID != nil {
			// Opened at the message: the fragment scrolls to it and marks it.
			// The page around it: it may be far back in a long history.
			v.Href += "&at=" + url.QueryEscape(*res.MessageID) + "#msg-" + url.PathEscape(*res.MessageID)
		}
		p.Search.Results = append(p.Search.Results, v)
	}
	s.render(w, http.StatusOK, "search", p)
}
