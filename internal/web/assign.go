package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// Assignment: PUT /api/v1/conversations/{id}/assignee, and the dashboard's
// assign menus (in the conversation's header and in the list).

func (s *Server) putAssignee(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		AgentID *string `json:"agent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	c, err := s.svc.Assign(r.Context(), a, r.PathValue("id"), in.AgentID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// dashAssign takes the form of an assign menu: agent_id is an agent's id,
// "me", or empty for nobody. It goes back to where the form was.
func (s *Server) dashAssign(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	var agentID *string
	switch v := r.PostFormValue("agent_id"); v {
	case "":
	case "me":
		agentID = &sess.agent.ID
	default:
		agentID = &v
	}
	if _, err := s.svc.Assign(r.Context(), sess.agent, id, agentID); err != nil {
		s.refuseOnConversation(w, r, sess, id, err, nil)
		return
	}
	next := conversationHref(id, listOf(r))
	if r.PostFormValue("from") == "list" {
		next = listOf(r).href("")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}
