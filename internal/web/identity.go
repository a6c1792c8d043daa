package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// getIdentitySecret answers the workspace's identity secret (admins only),
// making it on first use.
func (s *Server) getIdentitySecret(w http.ResponseWriter, r *http.Request, a model.Agent) {
	secret, err := s.svc.IdentitySecret(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
}

// rotateIdentitySecret makes a new identity secret (admins only).
func (s *Server) rotateIdentitySecret(w http.ResponseWriter, r *http.Request, a model.Agent) {
	secret, err := s.svc.RotateIdentitySecret(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
}
