package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// Privacy: a visitor's data exported as one document, or erased (spec
// v1.1: Privacy), from the API and the visitor panel.

func (s *Server) exportVisitor(w http.ResponseWriter, r *http.Request, a model.Agent) {
	ex, err := s.svc.ExportVisitor(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("visitor exported", "visitor", ex.Visitor.ID, "workspace", a.WorkspaceID, "agent", a.ID)
	w.Header().Set("Content-Disposition", `attachment; filename="visitor-`+ex.Visitor.ID+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, ex)
}

func (s *Server) eraseVisitor(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.EraseVisitor(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// eraseView is the data of templates/erase.html, the confirmation asked
// before a visitor is erased.
type eraseView struct {
	ID, Name, Email, Back   string
	Conversations, Messages int
}

func (s *Server) dashEraseVisitorPage(w http.ResponseWriter, r *http.Request, sess *session) {
	ex, err := s.svc.ExportVisitor(r.Context(), sess.agent, r.PathValue("id"))
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	v := &eraseView{ID: ex.Visitor.ID, Name: visitorName(ex.Visitor.Visitor), Conversations: len(ex.Conversations), Messages: len(ex.Messages), Back: "/dashboard"}
	if ex.Visitor.Email != nil {
		v.Email = *ex.Visitor.Email
	}
	if len(ex.Conversations) > 0 {
		v.Back = "/dashboard/conversations/" + ex.Conversations[len(ex.Conversations)-1].ID
	}
	p := &page{Title: "Erase visitor", Nav: "inbox", Erase: v}
	s.fillChrome(r.Context(), r, p, sess)
	s.render(w, http.StatusOK, "erase", p)
}

func (s *Server) dashEraseVisitor(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.EraseVisitor(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard?erased=1", http.StatusSeeOther)
}
