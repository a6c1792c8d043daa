package web

import (
	"context"
	"net/http"
	"net/url"
)

// The inbox: GET /dashboard, the conversation list, and its partial that
// dashboard.js refetches when events arrive.

func (s *Server) dashInbox(w http.ResponseWriter, r *http.Request, sess *session) {
	p := &page{Title: "Conversations", Nav: "inbox"}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, filterOf(r), "", newClock(p.Workspace.Location())); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	s.render(w, http.StatusOK, "inbox", p)
}

func (s *Server) dashListPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	p := &page{}
	s.fillChrome(r.Context(), r, p, sess)
	if err := s.fillList(r.Context(), p, sess, filterOf(r), r.URL.Query().Get("c"), newClock(p.Workspace.Location())); err != nil {
		s.failFragment(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "list", p)
}

// fillList loads the conversation list of the agent's workspace.
func (s *Server) fillList(ctx context.Context, p *page, sess *session, filter, current string, c clock) error {
	convs, err := s.svc.Conversations(ctx, sess.agent, filter)
	if err != nil {
		return err
	}
	p.Filter, p.Current = filter, current
	for _, f := range []option{{Value: "open", Label: "Open"}, {Value: "closed", Label: "Closed"}, {Value: "all", Label: "All"}} {
		f.On = f.Value == filter
		f.Href = "/dashboard?status=" + f.Value
		if current != "" {
			f.Href = conversationHref(current, "open") + "?status=" + f.Value
		}
		p.Filters = append(p.Filters, f)
	}
	p.Items = make([]convItem, 0, len(convs))
	for _, cv := range convs {
		it := convItem{ID: cv.ID, Href: conversationHref(cv.ID, filter), Name: visitorName(cv.Visitor),
			Channel: cv.Channel, Status: cv.Status, Unread: cv.Unread, Active: cv.ID == current,
			Online: cv.Visitor.Online, Time: c.stamp(cv.LastMessageAt), Ago: c.ago(cv.LastMessageAt)}
		if cv.LastMessage != nil {
			it.Preview = *cv.LastMessage
		}
		p.Items = append(p.Items, it)
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

func conversationHref(id, filter string) string {
	h := "/dashboard/conversations/" + url.PathEscape(id)
	if filter != "open" {
		h += "?status=" + filter
	}
	return h
}
