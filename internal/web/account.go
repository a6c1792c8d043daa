package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// The agent's own account: their name and password (PUT /api/v1/me/password
// and Settings → Your account).

func (s *Server) putPassword(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	if !decode(w, r, &in) {
		return
	}
	tok, _ := r.Context().Value(agentKey{}).(string)
	if err := s.svc.ChangePassword(r.Context(), a, tok, in.Current, in.New); err != nil {
		s.failConfirm(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accountView is the data of Settings → Your account.
type accountView struct {
	Name   string
	Notice string
	Avatar *avatarView
	Tokens *tokensView // apitokens.go
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *session, status int, errMsg string, v *accountView) {
	p := &page{Title: "Your account", Nav: "settings", Error: errMsg}
	s.fillChrome(r.Context(), r, p, sess)
	if v.Name == "" {
		v.Name = sess.agent.Name
	}
	switch r.URL.Query().Get("done") {
	case "name":
		v.Notice = "Name saved."
	case "password":
		v.Notice = "Password changed. Your other sessions have ended; your API tokens still work."
	case "avatar":
		v.Notice = "Picture saved."
	case "avatar-removed":
		v.Notice = "Picture removed."
	case "token-revoked":
		v.Notice = "API token revoked: it no longer works."
	}
	if v.Tokens == nil {
		v.Tokens = &tokensView{}
	}
	if err := s.fillTokens(r, sess, p, v.Tokens); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	v.Avatar = newAvatarView(sess.agent.Name, s.svc.WithAvatar(sess.agent).AvatarURL)
	p.Account = v
	s.render(w, status, "account", p)
}

func (s *Server) dashAccount(w http.ResponseWriter, r *http.Request, sess *session) {
	s.accountPage(w, r, sess, http.StatusOK, "", &accountView{})
}

func (s *Server) dashSaveName(w http.ResponseWriter, r *http.Request, sess *session) {
	name := r.PostFormValue("name")
	if _, err := s.svc.UpdateAgent(r.Context(), sess.agent, sess.agent.ID, chat.AgentPatch{Name: &name}); err != nil {
		s.accountFailed(w, r, sess, err, &accountView{Name: name})
		return
	}
	http.Redirect(w, r, "/dashboard/settings/account?done=name", http.StatusSeeOther)
}

func (s *Server) dashChangePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	next := r.PostFormValue("new_password")
	if next != r.PostFormValue("confirm_password") {
		s.accountPage(w, r, sess, http.StatusBadRequest, "The two new passwords differ.", &accountView{})
		return
	}
	if err := s.svc.ChangePassword(r.Context(), sess.agent, sess.token, r.PostFormValue("current_password"), next); err != nil {
		s.accountFailed(w, r, sess, err, &accountView{})
		return
	}
	http.Redirect(w, r, "/dashboard/settings/account?done=password", http.StatusSeeOther)
}

func (s *Server) accountFailed(w http.ResponseWriter, r *http.Request, sess *session, err error, v *accountView) {
	a := confirmAnswer(err)
	if a.Internal {
		s.failPage(w, r, sess, err)
		return
	}
	s.accountPage(w, r, sess, a.Status, a.text(), v)
}
