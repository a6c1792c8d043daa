package web

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Agents: the API (GET/POST /api/v1/agents, PATCH/DELETE /api/v1/agents/{id})
// and Settings → Agents, where an admin invites, changes and removes agents
// and everyone else sees the list read-only.

// InviteMailer emails an invitation link.
type InviteMailer interface {
	SendInvite(ctx context.Context, to, name, workspace, link string) error
}

// mailInvite emails the invitation in the background when a relay is
// configured, and reports whether it does. Shutdown waits for it.
func (s *Server) mailInvite(inv chat.Invitation) bool {
	if s.opts.Invites == nil {
		return false
	}
	s.connMu.Lock()
	if s.ctx.Err() != nil {
		s.connMu.Unlock()
		return false
	}
	s.wg.Add(1)
	s.connMu.Unlock()
	workspace := ""
	if ws, err := s.svc.Workspace(s.ctx, inv.Agent.WorkspaceID); err == nil {
		workspace = ws.Name
	}
	go func() {
		defer s.wg.Done()
		if err := s.opts.Invites.SendInvite(context.WithoutCancel(s.ctx), inv.Agent.Email, inv.Agent.Name, workspace, s.inviteURL(inv.Token)); err != nil {
			s.log.Error("email invitation", "agent", inv.Agent.ID, "err", err)
		}
	}()
	return true
}

// inviteURL is the link where an invited person sets their password.
func (s *Server) inviteURL(tok string) string {
	return s.opts.PublicURL + "/invite/" + url.PathEscape(tok)
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, a model.Agent) {
	agents, err := s.svc.Agents(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if agents == nil {
		agents = []model.Agent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

func (s *Server) postAgent(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	}
	if !decode(w, r, &in) {
		return
	}
	inv, err := s.svc.InviteAgent(r.Context(), a, in.Email, in.Name, in.Role)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mailInvite(inv)
	writeJSON(w, http.StatusCreated, map[string]any{"agent": inv.Agent, "invite_url": s.inviteURL(inv.Token)})
}

func (s *Server) patchAgent(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var p chat.AgentPatch
	if !decode(w, r, &p) {
		return
	}
	got, err := s.svc.UpdateAgent(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.RemoveAgent(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// adminAPI wraps an API handler that only admins may call.
func (s *Server) adminAPI(h func(http.ResponseWriter, *http.Request, model.Agent)) func(http.ResponseWriter, *http.Request, model.Agent) {
	return func(w http.ResponseWriter, r *http.Request, a model.Agent) {
		if err := chat.RequireAdmin(a); err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r, a)
	}
}

// adminPage wraps a dashboard form handler that only admins may post.
func (s *Server) adminPage(h func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		if err := chat.RequireAdmin(sess.agent); err != nil {
			s.failPage(w, r, sess, err)
			return
		}
		h(w, r, sess)
	}
}

// agentsView is the data of Settings → Agents.
type agentsView struct {
	Agents []agentRow
	// InviteURL is the link of the invitation just made, shown once for
	// the admin to pass on.
	InviteURL, InvitedEmail string
	// Mailed: the link is being emailed too.
	Mailed bool
	// Input refills the invitation form after a refusal.
	Email, Name, Role string
	Notice            string
	Roles             []option
}

type agentRow struct {
	model.Agent
	Avatar        *avatarView
	Self, Invited bool
	// InviteEnds is when a pending invitation's link stops working (zero:
	// none is known); Expired, that it has.
	InviteEnds time.Time
	Expired    bool
	Roles      []option
	// Tokens are the agent's API tokens (shown to admins).
	Tokens tokenTable
}

var roleLabels = []option{
	{Value: model.RoleAgent, Label: "Agent"},
	{Value: model.RoleAdmin, Label: "Admin"},
}

func roleOptions(cur string) []option {
	out := make([]option, 0, len(roleLabels))
	for _, o := range roleLabels {
		o.On = o.Value == cur
		out = append(out, o)
	}
	return out
}

func (s *Server) agentsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg string, edit func(*agentsView)) {
	agents, err := s.svc.Agents(r.Context(), sess.agent)
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	p := &page{Title: "Agents", Nav: "settings", Error: errMsg}
	s.fillChrome(r.Context(), r, p, sess)
	ends, err := s.svc.InviteExpiries(r.Context(), sess.agent)
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	// An admin sees every agent's API tokens, and can revoke them.
	var tokens map[string][]model.APIToken
	if sess.agent.IsAdmin() {
		if tokens, err = s.svc.WorkspaceAPITokens(r.Context(), sess.agent); err != nil {
			s.failPage(w, r, sess, err)
			return
		}
	}
	c := newClock(p.Workspace.Location())
	v := &agentsView{Role: model.RoleAgent}
	now := time.Now()
	for _, a := range agents {
		row := agentRow{Agent: a, Avatar: newAvatarView(a.Name, a.AvatarURL), Self: a.ID == sess.agent.ID, Invited: a.Invited(), Roles: roleOptions(a.Role)}
		row.Tokens = newTokenTable(c, p.CSRF, tokens[a.ID], func(id string) string {
			return "/dashboard/settings/agents/" + url.PathEscape(a.ID) + "/tokens/" + url.PathEscape(id) + "/revoke"
		})
		if row.Invited {
			row.InviteEnds = ends[a.ID]
			row.Expired = !row.InviteEnds.After(now)
		}
		v.Agents = append(v.Agents, row)
	}
	switch r.URL.Query().Get("done") {
	case "role":
		v.Notice = "Role changed."
	case "removed":
		v.Notice = "Agent removed: their sessions have ended."
	case "token-revoked":
		v.Notice = "API token revoked: what used it stops working at once."
	}
	if edit != nil {
		edit(v)
	}
	v.Roles = roleOptions(v.Role)
	p.Agents = v
	s.render(w, status, "agents", p)
}

func (s *Server) dashAgents(w http.ResponseWriter, r *http.Request, sess *session) {
	s.agentsPage(w, r, sess, http.StatusOK, "", nil)
}

func (s *Server) dashInviteAgent(w http.ResponseWriter, r *http.Request, sess *session) {
	email, name, role := r.PostFormValue("email"), r.PostFormValue("name"), r.PostFormValue("role")
	inv, err := s.svc.InviteAgent(r.Context(), sess.agent, email, name, role)
	if err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		s.agentsPage(w, r, sess, a.Status, a.text(), func(v *agentsView) { v.Email, v.Name, v.Role = email, name, role })
		return
	}
	s.showInvitation(w, r, sess, inv)
}

// showInvitation emails an invitation's link (with a relay) and answers
// the agents' page showing it: on the answer itself, never in a URL that
// would end up in the browser's history.
func (s *Server) showInvitation(w http.ResponseWriter, r *http.Request, sess *session, inv chat.Invitation) {
	mailed := s.mailInvite(inv)
	s.agentsPage(w, r, sess, http.StatusOK, "", func(v *agentsView) {
		v.InviteURL, v.InvitedEmail, v.Mailed = s.inviteURL(inv.Token), inv.Agent.Email, mailed
	})
}

// dashRenewInvite makes a new link for a pending invitation, shown (and
// emailed) as a new invitation's is.
func (s *Server) dashRenewInvite(w http.ResponseWriter, r *http.Request, sess *session) {
	inv, err := s.svc.RenewInvite(r.Context(), sess.agent, r.PathValue("id"))
	if err != nil {
		s.agentsFailed(w, r, sess, err)
		return
	}
	s.showInvitation(w, r, sess, inv)
}

func (s *Server) dashChangeRole(w http.ResponseWriter, r *http.Request, sess *session) {
	role := r.PostFormValue("role")
	if _, err := s.svc.UpdateAgent(r.Context(), sess.agent, r.PathValue("id"), chat.AgentPatch{Role: &role}); err != nil {
		s.agentsFailed(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/agents?done=role", http.StatusSeeOther)
}

func (s *Server) dashRemoveAgent(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.RemoveAgent(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.agentsFailed(w, r, sess, err)
		return
	}
	if r.PathValue("id") == sess.agent.ID {
		s.clearSessionCookie(w)
		http.Redirect(w, r, "/dashboard/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/agents?done=removed", http.StatusSeeOther)
}

func (s *Server) agentsFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	a := answerOf(err)
	if a.Internal {
		s.failPage(w, r, sess, err)
		return
	}
	s.agentsPage(w, r, sess, a.Status, a.text(), nil)
}
