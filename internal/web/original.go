package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// The original of an email answer: the whole text the visitor's email
// held, of which the conversation shows only the new part. The dashboard
// shows it as escaped text on a page of its own, never as the email's HTML.

func (s *Server) apiEmailOriginal(w http.ResponseWriter, r *http.Request, a model.Agent) {
	o, err := s.svc.EmailOriginal(r.Context(), a, r.PathValue("id"), r.PathValue("message_id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) dashEmailOriginal(w http.ResponseWriter, r *http.Request, sess *session) {
	o, err := s.svc.EmailOriginal(r.Context(), sess.agent, r.PathValue("id"), r.PathValue("message_id"))
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	p := &page{Title: "Original email", Nav: "inbox", Original: &o}
	s.fillChrome(r.Context(), r, p, sess)
	s.render(w, http.StatusOK, "original", p)
}
