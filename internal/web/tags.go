package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/parleychat/parley/internal/model"
)

// Tags: PUT /api/v1/conversations/{id}/tags, GET /api/v1/tags, and the
// dashboard's forms that add a tag to a conversation or take one off (in
// its header).

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

// dashAddTag takes the header's "Add tag" form; a refused tag shows the
// conversation again with the reason beside the field, the tag kept in it.
func (s *Server) dashAddTag(w http.ResponseWriter, r *http.Request, sess *session) {
	id, tag := r.PathValue("id"), r.PostFormValue("tag")
	if _, err := s.svc.AddTag(r.Context(), sess.agent, id, tag); err != nil {
		s.refuseOnConversation(w, r, sess, id, err, func(v *convView) {
			v.TagInput, v.TagError = tag, answerOf(err).text()
		})
		return
	}
	http.Redirect(w, r, conversationHref(id, listOf(r)), http.StatusSeeOther)
}

// dashRemoveTag takes a tag chip's remove button.
func (s *Server) dashRemoveTag(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if _, err := s.svc.RemoveTag(r.Context(), sess.agent, id, r.PostFormValue("tag")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, conversationHref(id, listOf(r)), http.StatusSeeOther)
}

// fillConvTags sets the open conversation's tags as chips (each filters
// the list, the conversation staying open) and the workspace's tags in use
// as the "Add tag" field's suggestions.
func (s *Server) fillConvTags(ctx context.Context, p *page, sess *session, st listState, cv model.Conversation) error {
	p.Conv.Tags = tagChips(cv.Tags, st, cv.ID)
	inUse, err := s.svc.TagNames(ctx, sess.agent)
	if err != nil {
		return err
	}
	for _, name := range inUse {
		if !slices.Contains(cv.Tags, name) {
			p.Conv.TagSuggestions = append(p.Conv.TagSuggestions, name)
		}
	}
	return nil
}
