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

// assignView is the data of the "assign-form" template.
type assignView struct {
	ID, Current, From  string
	CSRF, Filter, View string
	Me                 string
	Agents             []model.AssignableAgent
}

// assignForm builds an assign menu for a conversation of the page; from is
// "list" or "conversation", where the form goes back to.
func assignForm(p *page, id, current, from string) assignView {
	return assignView{ID: id, Current: current, From: from, CSRF: p.CSRF, Filter: p.Filter, View: p.View,
		Me: p.Agent.ID, Agents: p.Assignees}
}

func assigneeID(a *model.Assignee) string {
	if a == nil {
		return ""
	}
	return a.ID
}

// ListQuery is the query string that keeps the list's state in links.
func (p *page) ListQuery() string { return listState{Status: p.Filter, View: p.View}.query() }
