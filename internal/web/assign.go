package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/parleychat/parley/internal/model"
)

// Assignment: PUT /api/v1/conversations/{id}/assignee, and the dashboard's
// assign menus (in the conversation's header and in the list).

func (s *Server) putAssignee(w http.ResponseWriter, r *http.Request, a model.Agent) {
	// agent_id is required: null unassigns, and a body without it (a
	// misspelled key) is refused rather than read as null.
	var in struct {
		AgentID json.RawMessage `json:"agent_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	var agentID *string
	if in.AgentID == nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"agent_id" is required: an agent's id, or null to unassign`)
		return
	}
	if err := json.Unmarshal(in.AgentID, &agentID); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `"agent_id" is an agent's id (a string) or null`)
		return
	}
	c, err := s.svc.Assign(r.Context(), a, r.PathValue("id"), agentID)
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
	ID, Current, From       string
	CSRF, Filter, View, Tag string
	// Compact: the menu carries its selected option alone, and
	// dashboard.js gives it the others from the page's AssignOptions.
	Compact bool
	opts    *assignOptions
}

// assignForm builds an assign menu for a conversation of the page; from is
// "list" or "conversation", where the form goes back to.
func assignForm(p *page, id, current, from string) assignView {
	return assignView{ID: id, Current: current, From: from, CSRF: p.CSRF, Filter: p.Filter, View: p.View, Tag: p.Tag,
		Compact: p.CompactMenus && from == "list", opts: p.assignOptions()}
}

// assignOptions are a page's agents as options of its assign menus. The
// list has a menu a row, each with an option an agent: executing the
// option's template 50 times for each agent was most of the page's time,
// so each agent's option is rendered once a page, selected and not.
type assignOptions struct {
	agents          []model.AssignableAgent
	me              string
	plain, selected []template.HTML // by agent, rendered on first use
}

func (p *page) assignOptions() *assignOptions {
	if p.assignOpts == nil {
		p.assignOpts = &assignOptions{agents: p.Assignees, me: p.Agent.ID}
	}
	return p.assignOpts
}

// render renders each agent's option, selected and not, once.
func (o *assignOptions) render() error {
	if o.plain != nil {
		return nil
	}
	plain, selected := make([]template.HTML, len(o.agents)), make([]template.HTML, len(o.agents))
	var buf bytes.Buffer
	for i, a := range o.agents {
		for sel, out := range [][]template.HTML{plain, selected} {
			buf.Reset()
			data := struct {
				model.AssignableAgent
				Selected, Me bool
			}{a, sel == 1, a.ID == o.me}
			if err := dashTemplates.ExecuteTemplate(&buf, "assign-option", data); err != nil {
				return fmt.Errorf("render assign option: %w", err)
			}
			out[i] = template.HTML(buf.String()) // escaped by html/template
		}
	}
	o.plain, o.selected = plain, selected
	return nil
}

// join is the agents' options of a menu, current's selected; with only,
// current's alone.
func (o *assignOptions) join(current string, only bool) (template.HTML, error) {
	if err := o.render(); err != nil {
		return "", err
	}
	var b strings.Builder
	for i, a := range o.agents {
		switch {
		case a.ID == current:
			b.WriteString("\n    ")
			b.WriteString(string(o.selected[i]))
		case !only:
			b.WriteString("\n    ")
			b.WriteString(string(o.plain[i]))
		}
	}
	return template.HTML(b.String()), nil // each option escaped by html/template
}

// Options are the menu's agents, the current assignee's selected (alone
// when the menu is compact).
func (v assignView) Options() (template.HTML, error) { return v.opts.join(v.Current, v.Compact) }

// AssignOptions are the agents' options of the page's compact menus, none
// selected: sent once, beside the list's rows.
func (p *page) AssignOptions() (template.HTML, error) { return p.assignOptions().join("", false) }

func assigneeID(a *model.Assignee) string {
	if a == nil {
		return ""
	}
	return a.ID
}

// ListQuery is the query string that keeps the list's state in links.
func (p *page) ListQuery() string {
	return listState{Status: p.Filter, View: p.View, Tag: p.Tag}.query()
}
