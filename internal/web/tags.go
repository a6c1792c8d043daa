package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// Tags: PUT /api/v1/conversations/{id}/tags and GET /api/v1/tags.

func (s *Server) putTags(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Tags *[]string `json:"tags"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.Tags == nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"tags" is required: the conversation's tags, [] for none`)
		return
	}
	c, err := s.svc.SetTags(r.Context(), a, r.PathValue("id"), *in.Tags)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) listTags(w http.ResponseWriter, r *http.Request, a model.Agent) {
	tags, err := s.svc.Tags(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Tags []model.WorkspaceTag `json:"tags"`
	}{tags})
}
