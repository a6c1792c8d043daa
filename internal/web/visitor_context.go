package web

import (
	"context"
	"net/url"
	"time"

	"github.com/parleychat/parley/internal/model"
)

// The visitor panel's context: the page the visitor is on, where they came
// from, their browser, language and local time, the last pages and their
// other conversations. Everything here comes from the visitor's browser:
// html/template escapes it, and only http and https addresses become links.

// pastConversations bounds the visitor's other conversations in the panel.
const pastConversations = 10

type contextView struct {
	// Online tells whether Page is where the visitor is now or the last
	// page they were on.
	Online            bool
	Page              *pageView
	Referrer          *pageView
	Browser, Language string
	// LocalTime is the visitor's time now in their zone ("14:05"), with
	// the zone's name.
	LocalTime, TimeZone string
	Pages               []pageView
	Conversations       []pastConvView
}

type pageView struct {
	// Href is the address when it may be a link (http or https).
	URL, Href, Title string
	Time             stamp
}

type pastConvView struct {
	ID, Href, Label, Status, Channel string
	Time                             stamp
	Current                          bool
}

// visitorContext builds the context part of the visitor panel of cv.
func (s *Server) visitorContext(ctx context.Context, sess *session, cv model.Conversation, c clock, now time.Time) (*contextView, error) {
	v := cv.Visitor
	view := &contextView{Online: v.Online}
	if v.Page != nil {
		p := pageOf(*v.Page, c)
		view.Page = &p
	}
	if v.Referrer != nil {
		p := pageOf(model.Page{URL: *v.Referrer}, c)
		view.Referrer = &p
	}
	switch {
	case v.Browser != nil && v.OS != nil:
		view.Browser = *v.Browser + " on " + *v.OS
	case v.Browser != nil:
		view.Browser = *v.Browser
	}
	if v.Locale != nil {
		view.Language = *v.Locale
	}
	if v.TimeZone != nil {
		if loc, err := time.LoadLocation(*v.TimeZone); err == nil {
			view.LocalTime, view.TimeZone = now.In(loc).Format("15:04"), *v.TimeZone
		}
	}
	pages, err := s.svc.VisitorPages(ctx, sess.agent, v.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		view.Pages = append(view.Pages, pageOf(p, c))
	}
	convs, err := s.svc.VisitorConversations(ctx, sess.agent, v.ID, pastConversations)
	if err != nil {
		return nil, err
	}
	for _, o := range convs {
		label := "(no message)"
		if o.LastMessage != nil && *o.LastMessage != "" {
			label = *o.LastMessage
		}
		if r := []rune(label); len(r) > 60 {
			label = string(r[:60]) + "…"
		}
		view.Conversations = append(view.Conversations, pastConvView{ID: o.ID, Href: "/dashboard/conversations/" + url.PathEscape(o.ID),
			Label: label, Status: o.Status, Channel: o.Channel, Time: c.stamp(o.LastMessageAt), Current: o.ID == cv.ID})
	}
	return view, nil
}

func pageOf(p model.Page, c clock) pageView {
	v := pageView{URL: p.URL, Title: p.Title, Time: c.stamp(p.At)}
	if u, err := url.Parse(p.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		v.Href = p.URL
	}
	return v
}
