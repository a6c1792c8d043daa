package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// The invitation page: the single-use link an admin passes on, where the
// invited person sets their password and lands in the dashboard.

type inviteView struct {
	Agent model.Agent
	// Workspace names the workspace they join.
	Workspace string
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	a, err := s.svc.Invitee(r.Context(), r.PathValue("token"))
	if err != nil {
		s.inviteRefused(w, r, err)
		return
	}
	s.renderInvite(w, r, http.StatusOK, a, "")
}

func (s *Server) renderInvite(w http.ResponseWriter, r *http.Request, status int, a model.Agent, errMsg string) {
	v := &inviteView{Agent: a}
	if ws, err := s.svc.Workspace(r.Context(), a.WorkspaceID); err == nil {
		v.Workspace = ws.Name
	}
	s.render(w, status, "invite", &page{Title: "Join " + v.Workspace, Error: errMsg, Invite: v})
}

func (s *Server) inviteRefused(w http.ResponseWriter, r *http.Request, err error) {
	a := answerOf(err)
	if a.Internal {
		s.failPage(w, r, nil, err)
		return
	}
	s.renderPlain(w, a.Status, "Invitation not valid",
		"This invitation link cannot be used: it was used already, it has expired (links are valid 7 days), or it was copied incompletely.",
		"Ask an admin of your team for a new invitation. If you already set your password, log in instead.",
		"/dashboard/login", "Go to the login page")
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	if !sameOrigin(r) {
		s.renderError(w, r, nil, http.StatusForbidden, "This form was sent from another site and was refused.")
		return
	}
	if !parseForm(w, r) {
		return
	}
	tok := r.PathValue("token")
	a, err := s.svc.Invitee(r.Context(), tok)
	if err != nil {
		s.inviteRefused(w, r, err)
		return
	}
	password := r.PostFormValue("password")
	if password != r.PostFormValue("confirm_password") {
		s.renderInvite(w, r, http.StatusBadRequest, a, "The two passwords differ.")
		return
	}
	session, a, err := s.svc.AcceptInvite(r.Context(), tok, password)
	if err != nil {
		ans := answerOf(err)
		if ans.Internal || ans.Status == http.StatusNotFound {
			s.inviteRefused(w, r, err)
			return
		}
		s.renderInvite(w, r, ans.Status, a, ans.text())
		return
	}
	s.setSessionCookie(w, session)
	if _, err := s.svc.SetAgentStatus(r.Context(), a, model.StatusOnline); err != nil {
		s.log.Error("set agent online after accepting the invitation", "agent", a.ID, "err", err)
	}
	http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
}
