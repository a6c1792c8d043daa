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

func (s *Server) dashEraseVisitor(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.EraseVisitor(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard?gone=1", http.StatusSeeOther)
}
