package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// One conversation: its page (the inbox with it open), the reply, close,
// reopen and visitor forms, and its partial that dashboard.js refetches.

func (s *Server) dashConversation(w http.ResponseWriter, r *http.Request, sess *session) {
	// The page does not mark the conversation seen: a page loaded in a tab
	// nobody looks at (opened in the background, restored) is not seen,
	// and the visitor would be told "Seen". dashboard.js marks it once the
	// page is visible (markSeen); the page itself shows it as read.
	cv, err := s.svc.Conversation(r.Context(), sess.agent, r.PathValue("id"))
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	s.conversationPage(w, r, sess, http.StatusOK, cv, nil)
}

// conversationPage renders the inbox with a conversation open; edit, when
// not nil, adjusts the view (a refused form shown again with its input).
func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request, sess *session, status int, cv model.Conversation, edit func(*convView)) {
	s.conversationPageWith(w, r, sess, status, cv, edit, nil)
}

// conversationPageWith is conversationPage whose page editPage changes too
// (the list's selection bar).
func (s *Server) conversationPageWith(w http.ResponseWriter, r *http.Request, sess *session, status int, cv model.Conversation, edit func(*convView), editPage func(*page)) {
	ctx := r.Context()
	q := r.URL.Query()
	p := &page{Title: visitorName(cv.Visitor), Nav: "inbox", Selecting: q.Get("select") == "1"}
	if r.Method == http.MethodGet {
		p.Bulk = s.bulkDone(ctx, sess, q)
	}
	s.fillChrome(ctx, r, p, sess)
	c := newClock(p.Workspace.Location())
	page, err := s.threadPage(r, sess.agent, cv.ID)
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	if err := s.fillList(ctx, p, sess, listOf(r), cv.ID, "", "", c); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	p.Conv = conversationView(cv, page.Messages, c, s.svc.EmailInMessage)
	p.Conv.pageLinks(page, listOf(r))
	p.Conv.Window = s.channelWindow(ctx, sess, cv)
	if err := s.fillConvTags(ctx, p, sess, listOf(r), cv); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	if p.Conv.Context, err = s.visitorContext(ctx, sess, cv, c, time.Now()); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	if edit != nil {
		edit(p.Conv)
	}
	if editPage != nil {
		editPage(p)
	}
	s.render(w, status, "inbox", p)
}

func (s *Server) dashPostMessage(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	// Browsers send a textarea's line breaks as CRLF.
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	kind := r.PostFormValue("kind")
	var err error
	if kind == model.KindReply && r.PostFormValue("note_mode") == "1" {
		// "Writing a note" is ticked: a note the agent meant for colleagues
		// must not reach the visitor through the other button.
		err = &chat.Error{Code: chat.CodeBadRequest, Message: "“Writing a note” is ticked: nothing was sent. " +
			"Add it as an internal note, or untick “Writing a note” to send it to the visitor."}
	} else if tag := r.PostFormValue("tag"); tag != "" && kind == model.KindReply {
		// Outside Messenger's 24-hour window, with the human agent tag.
		_, err = s.svc.PostChannelReply(r.Context(), sess.agent, id, body, tag)
	} else {
		_, err = s.svc.PostMessageFiles(r.Context(), sess.agent, id, body, kind, r.PostForm["attachment_ids"])
	}
	if err != nil {
		s.refuseOnConversation(w, r, sess, id, err, func(v *convView) {
			v.ReplyBody, v.ReplyError = body, answerOf(err).text()
		})
		return
	}
	http.Redirect(w, r, conversationHref(id, listOf(r)), http.StatusSeeOther)
}

// refuseOnConversation shows the conversation again with the error of a
// refused form (a domain error), or fails the request.
func (s *Server) refuseOnConversation(w http.ResponseWriter, r *http.Request, sess *session, convID string, err error, edit func(*convView)) {
	a := answerOf(err)
	if a.Internal || a.Code == chat.CodeNotFound {
		s.failPage(w, r, sess, err)
		return
	}
	cv, cerr := s.svc.Conversation(r.Context(), sess.agent, convID)
	if cerr != nil {
		s.failPage(w, r, sess, err)
		return
	}
	s.conversationPage(w, r, sess, a.Status, cv, edit)
}

func (s *Server) dashClose(w http.ResponseWriter, r *http.Request, sess *session) {
	s.dashSetConversationStatus(w, r, sess, "closed")
}

func (s *Server) dashReopen(w http.ResponseWriter, r *http.Request, sess *session) {
	s.dashSetConversationStatus(w, r, sess, "open")
}

func (s *Server) dashSetConversationStatus(w http.ResponseWriter, r *http.Request, sess *session, status string) {
	id := r.PathValue("id")
	if _, err := s.svc.SetConversationStatus(r.Context(), sess.agent, id, status); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, conversationHref(id, listOf(r)), http.StatusSeeOther)
}

func (s *Server) dashUpdateVisitor(w http.ResponseWriter, r *http.Request, sess *session) {
	var email, name *string
	if v, ok := r.PostForm["email"]; ok && len(v) > 0 {
		email = &v[len(v)-1]
	}
	if v, ok := r.PostForm["name"]; ok && len(v) > 0 {
		name = &v[len(v)-1]
	}
	convID := r.PostFormValue("conversation")
	_, err := s.svc.UpdateVisitor(r.Context(), sess.agent, r.PathValue("id"), chat.NewVisitorPatch(email, name))
	if err != nil {
		if convID == "" {
			s.failPage(w, r, sess, err)
			return
		}
		s.refuseOnConversation(w, r, sess, convID, err, func(v *convView) {
			if email != nil {
				v.EmailInput = *email
			}
			if name != nil {
				v.NameInput = *name
			}
			v.VisitorError = answerOf(err).text()
		})
		return
	}
	if convID == "" {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, conversationHref(convID, listOf(r)), http.StatusSeeOther)
}

func (s *Server) dashConversationPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	cv, err := s.svc.Conversation(ctx, sess.agent, r.PathValue("id"))
	if err != nil {
		s.failFragment(w, r, err)
		return
	}
	// The range the page shows, again: from its oldest message on, up to
	// its newest when newer ones are not shown yet.
	q := r.URL.Query()
	msgs, err := s.svc.MessagePage(ctx, sess.agent, cv.ID, chat.MessageQuery{From: q.Get("from"), Until: q.Get("until")})
	if err != nil {
		s.failFragment(w, r, err)
		return
	}
	p := &page{}
	s.fillChrome(ctx, r, p, sess)
	p.Filter, p.View, p.Tag = filterOf(r), viewOf(r), tagOf(r)
	if p.Assignees, err = s.svc.Assignees(ctx, sess.agent); err != nil {
		s.failFragment(w, r, err)
		return
	}
	c := newClock(p.Workspace.Location())
	p.Conv = conversationView(cv, msgs.Messages, c, s.svc.EmailInMessage)
	p.Conv.pageLinks(msgs, listOf(r))
	p.Conv.Window = s.channelWindow(ctx, sess, cv)
	if err := s.fillConvTags(ctx, p, sess, listOf(r), cv); err != nil {
		s.failFragment(w, r, err)
		return
	}
	if p.Conv.Context, err = s.visitorContext(ctx, sess, cv, c, time.Now()); err != nil {
		s.failFragment(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "conversation-partial", p)
}

// threadPage reads the page of messages a conversation opens at: the
// newest, the page around a message (?at=, a search result), or the pages
// before or after a message (?before=, ?after=, the links at either end).
// A message no longer there (deleted since the link was made) opens the
// newest.
func (s *Server) threadPage(r *http.Request, a model.Agent, convID string) (chat.MessagePage, error) {
	q := r.URL.Query()
	mq := chat.MessageQuery{Before: q.Get("before"), After: q.Get("after"), Around: q.Get("at")}
	page, err := s.svc.MessagePage(r.Context(), a, convID, mq)
	if mq.Around != "" && answerOf(err).Code == chat.CodeNotFound {
		page, err = s.svc.MessagePage(r.Context(), a, convID, chat.MessageQuery{})
	}
	return page, err
}

// dashMessagesPartial is a page of older or newer messages that
// dashboard.js adds at either end of the thread as the agent scrolls.
func (s *Server) dashMessagesPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx := r.Context()
	cv, err := s.svc.Conversation(ctx, sess.agent, r.PathValue("id"))
	if err != nil {
		s.failFragment(w, r, err)
		return
	}
	msgs, err := s.threadPage(r, sess.agent, cv.ID)
	if err != nil {
		s.failFragment(w, r, err)
		return
	}
	p := &page{}
	s.fillChrome(ctx, r, p, sess)
	p.Filter, p.View, p.Tag = filterOf(r), viewOf(r), tagOf(r)
	p.Conv = conversationView(cv, msgs.Messages, newClock(p.Workspace.Location()), s.svc.EmailInMessage)
	p.Conv.pageLinks(msgs, listOf(r))
	s.render(w, http.StatusOK, "messages-partial", p)
}

// channelWindow returns the messaging window of a Messenger or Instagram
// conversation, so agents are told before sending; nil otherwise.
func (s *Server) channelWindow(ctx context.Context, sess *session, cv model.Conversation) *chat.Window {
	if !chat.IsChannel(cv.Channel) {
		return nil
	}
	w, err := s.svc.ChannelWindow(ctx, sess.agent, cv.ID)
	if err != nil {
		s.log.Warn("read messaging window", "conversation", cv.ID, "err", err)
		return nil
	}
	return &w
}

// dashResetLinks resets the visitor's links from the visitor panel.
func (s *Server) dashResetLinks(w http.ResponseWriter, r *http.Request, sess *session) {
	convID := r.PostFormValue("conversation")
	if _, err := s.svc.ResetVisitorLinksBy(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		if convID == "" {
			s.failPage(w, r, sess, err)
			return
		}
		s.refuseOnConversation(w, r, sess, convID, err, func(v *convView) { v.VisitorError = answerOf(err).text() })
		return
	}
	if convID == "" {
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, conversationHref(convID, listOf(r)), http.StatusSeeOther)
}
