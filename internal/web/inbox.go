package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// The inbox: GET /dashboard, the conversation list with its views (Mine,
// Unassigned, All, Mentions, each Open, Closed or All) and its pages, and the partial
// that dashboard.js refetches when events arrive or appends on "Load more".

// listState is which part of the list an agent looks at.
type listState struct {
	Status string // "open", "closed", "all"
	View   string // "all", "mine", "unassigned", "mentions"
	Tag    string // "" (any), or the tag the list shows alone
}

// query is the state as a query string ("" for the default, open and all).
func (l listState) query() string {
	v := url.Values{}
	if l.Status != "open" && l.Status != "" {
		v.Set("status", l.Status)
	}
	if l.View != "all" && l.View != "" {
		v.Set("view", l.View)
	}
	if l.Tag != "" {
		v.Set("tag", l.Tag)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// href is the inbox's URL for the state, from a cursor on when given.
func (l listState) href(cursor string) string {
	q := l.query()
	if cursor != "" {
		if q == "" {
			q = "?"
		} else {
			q += "&"
		}
		q += "cursor=" + url.QueryEscape(cursor)
	}
	return "/dashboard" + q
}

// at is the dashboard's page of the list in state l with conversation
// current open ("" for none: the list alone).
func (l listState) at(current string) string {
	if current == "" {
		return l.href("")
	}
	return conversationHref(current, l)
}

func (l listState) assignee() string {
	switch l.View {
	case "mine":
		return "me"
	case "unassigned":
		return "none"
	}
	return ""
}

// mentioned is the list's filter of the agent's mentions.
func (l listState) mentioned() string {
	if l.View == "mentions" {
		return "me"
	}
	return ""
}

func listOf(r *http.Request) listState {
	return listState{Status: filterOf(r), View: viewOf(r), Tag: tagOf(r)}
}

// tagOf is the list's tag filter: ?tag= of a page, or list_tag of a form
// (a form's "tag" is what it adds or removes).
func tagOf(r *http.Request) string {
	if t := r.URL.Query().Get("tag"); t != "" {
		return t
	}
	return r.PostFormValue("list_tag")
}

func viewOf(r *http.Request) string {
	v := r.URL.Query().Get("view")
	if v == "" {
		v = r.PostFormValue("view")
	}
	switch v {
	case "mine", "unassigned", "mentions":
		return v
	}
	return "all"
}

func (s *Server) dashInbox(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	p := &page{Title: "Conversations", Nav: "inbox", Gone: q.Get("gone") == "1", Erased: q.Get("erased") == "1",
		Selecting: q.Get("select") == "1", Bulk: s.bulkDone(r.Context(), sess, q)}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, listOf(r), "", q.Get("cursor"), "", newClock(p.Workspace.Location())); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	s.render(w, http.StatusOK, "inbox", p)
}

// dashListPartial answers the list (c: the open conversation; limit: how
// many the page shows now, so a refresh keeps what was loaded), or with
// cursor the next page's items alone, to append.
func (s *Server) dashListPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	q := r.URL.Query()
	// compact=1: the script completes the menus (a script from before it
	// did, still open in a tab, does not ask).
	p := &page{CompactMenus: q.Get("compact") == "1"}
	s.fillChrome(r.Context(), r, p, sess)
	limit := ""
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > chat.DefaultPageSize {
		limit = strconv.Itoa(min(n, chat.MaxPageSize))
	}
	if err := s.fillList(r.Context(), p, sess, listOf(r), q.Get("c"), q.Get("cursor"), limit, newClock(p.Workspace.Location())); err != nil {
		s.failFragment(w, r, err)
		return
	}
	if q.Get("cursor") != "" {
		s.render(w, http.StatusOK, "list-page", p)
		return
	}
	s.render(w, http.StatusOK, "list", p)
}

// fillList loads a page of the conversation list of the agent's workspace,
// the views' counts and the agents conversations can be assigned to.
func (s *Server) fillList(ctx context.Context, p *page, sess *session, st listState, current, cursor, limit string, c clock) error {
	list, err := s.svc.ListConversations(ctx, sess.agent, chat.ListQuery{Status: st.Status, Assignee: st.assignee(), Tag: st.Tag,
		Mentioned: st.mentioned(), Cursor: cursor, Limit: limit})
	if err != nil {
		return err
	}
	counts, err := s.svc.ConversationCounts(ctx, sess.agent, st.Status, st.Tag)
	if err != nil {
		return err
	}
	if st.Tag != "" {
		if err := s.fillTagFilter(ctx, p, sess, st, current); err != nil {
			return err
		}
	}
	unread, err := s.svc.UnreadConversations(ctx, sess.agent)
	if err != nil {
		return err
	}
	if p.Assignees == nil { // a fragment's: fillChrome read them for a page
		if p.Assignees, err = s.svc.Assignees(ctx, sess.agent); err != nil {
			return err
		}
	}
	p.Filter, p.View, p.Tag, p.Current, p.Unread = st.Status, st.View, st.Tag, current, unread
	if list.NextCursor != nil {
		p.NextCursor = *list.NextCursor
		p.MoreHref = st.href(p.NextCursor)
	}
	p.SelectDoneHref = st.at(current)
	p.SelectHref = withQuery(p.SelectDoneHref, "select=1")
	for _, f := range []option{{Value: "open", Label: "Open"}, {Value: "closed", Label: "Closed"}, {Value: "all", Label: "All"}} {
		f.On = f.Value == st.Status
		f.Href = listState{Status: f.Value, View: st.View, Tag: st.Tag}.at(current)
		p.Filters = append(p.Filters, f)
	}
	for _, v := range []option{{Value: "mine", Label: "Mine", Count: counts.Mine}, {Value: "unassigned", Label: "Unassigned", Count: counts.Unassigned},
		{Value: "all", Label: "All", Count: counts.All}, {Value: "mentions", Label: "Mentions", Count: counts.Mentions}} {
		v.On = v.Value == st.View
		v.Href = listState{Status: st.Status, View: v.Value, Tag: st.Tag}.at(current)
		p.Views = append(p.Views, v)
	}
	p.Items = make([]convItem, 0, len(list.Conversations))
	for _, cv := range list.Conversations {
		if cv.ID == current && cv.Unread > 0 {
			// The open conversation is read for whoever has it open; the
			// page's script records it once the page is seen.
			cv.Unread = 0
			p.Unread = max(0, p.Unread-1)
		}
		it := convItem{ID: cv.ID, Href: conversationHref(cv.ID, st), Name: visitorName(cv.Visitor),
			Channel: cv.Channel, Status: cv.Status, Unread: cv.Unread, Active: cv.ID == current,
			Online: cv.Visitor.Online, Time: c.stamp(cv.LastMessageAt), Ago: c.ago(cv.LastMessageAt)}
		if cv.LastMessage != nil {
			it.Preview = *cv.LastMessage
		}
		if cv.Assignee != nil {
			it.AssigneeID, it.AssigneeName = cv.Assignee.ID, cv.Assignee.Name
			it.Mine = cv.Assignee.ID == sess.agent.ID
		}
		var more []string
		it.Tags, more = rowTags(cv.Tags, st, current)
		it.MoreTags, it.MoreTagCount = strings.Join(more, ", "), len(more)
		p.Items = append(p.Items, it)
	}
	ids := make([]string, len(p.Items))
	for i, it := range p.Items {
		ids[i] = it.ID
	}
	waiting, err := s.svc.WaitingForAnswer(ctx, sess.agent, ids)
	if err != nil {
		return err
	}
	for i := range p.Items {
		p.Items[i].Waiting = waiting[p.Items[i].ID]
	}
	return nil
}

func filterOf(r *http.Request) string {
	switch f := r.URL.Query().Get("status"); f {
	case "open", "closed", "all":
		return f
	}
	if f := r.PostFormValue("filter"); f == "closed" || f == "all" {
		return f
	}
	return "open"
}

// tagChip is a tag shown as a chip: a link that filters the list by it.
type tagChip struct {
	Name, Key, Href string
	// ListHref is the list filtered by the tag, with no conversation
	// open: where a chip goes on a phone, which shows one pane at a time.
	ListHref string
}

// tagChips are tags as chips whose links keep the list's state st, and
// the open conversation (current, "" for none).
func tagChips(tags []string, st listState, current string) []tagChip {
	out := make([]tagChip, 0, len(tags))
	for _, t := range tags {
		to := listState{Status: st.Status, View: st.View, Tag: t}
		out = append(out, tagChip{Name: t, Key: model.TagKey(t), Href: to.at(current), ListHref: to.href("")})
	}
	return out
}

// rowTagsShown is how many tags a row of the list shows; the others are
// counted ("+2").
const rowTagsShown = 3

// rowTags are the chips of a row of the list, and the tags left out.
func rowTags(tags []string, st listState, current string) ([]tagChip, []string) {
	if len(tags) <= rowTagsShown {
		return tagChips(tags, st, current), nil
	}
	return tagChips(tags[:rowTagsShown], st, current), tags[rowTagsShown:]
}

// fillTagFilter sets the chip above the list that names its tag filter
// (spelled as the workspace spells the tag) and takes it off.
func (s *Server) fillTagFilter(ctx context.Context, p *page, sess *session, st listState, current string) error {
	p.TagName = st.Tag
	inUse, err := s.svc.TagNames(ctx, sess.agent)
	if err != nil {
		return err
	}
	key := chat.TagKeyOf(st.Tag)
	for _, name := range inUse {
		if model.TagKey(name) == key {
			p.TagName = name
		}
	}
	all := listState{Status: st.Status, View: st.View}
	p.TagClearHref = all.at(current)
	return nil
}

func conversationHref(id string, st listState) string {
	return "/dashboard/conversations/" + url.PathEscape(id) + st.query()
}
