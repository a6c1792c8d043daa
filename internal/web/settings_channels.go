package web

import (
	"net/http"
	"strings"

	"github.com/parleychat/parley/internal/channels/meta"
)

// Settings → Channels: connecting a Facebook Page (Messenger, and the
// Instagram account linked to it) to the workspace.

// channelsPage is the data of templates/channels.html: the dashboard's page
// (header, CSRF) and the connection.
type channelsPage struct {
	*page
	Enabled    bool
	Account    meta.Account
	WebhookURL string
	// Input refills the form's non-secret fields after a refusal.
	Input  meta.ConnectInput
	Saved  bool
	Notice string
}

func (s *Server) channelsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, edit func(*channelsPage)) {
	p := &channelsPage{page: &page{Title: "Channels", Nav: "settings"}, WebhookURL: s.opts.PublicURL + meta.WebhookPath}
	s.fillChrome(r.Context(), r, p.page, sess)
	if m, ok := s.metaChannel(); ok {
		p.Enabled = true
		acct, err := m.Account(r.Context(), sess.agent.WorkspaceID)
		if err != nil {
			s.failPage(w, r, sess, err)
			return
		}
		p.Account = acct
		p.Input = meta.ConnectInput{PageID: acct.PageID, InstagramID: acct.InstagramID}
	}
	if edit != nil {
		edit(p)
	}
	s.render(w, status, "channels", p)
}

func (s *Server) dashChannels(w http.ResponseWriter, r *http.Request, sess *session) {
	s.channelsPage(w, r, sess, http.StatusOK, func(p *channelsPage) {
		p.Saved = r.URL.Query().Get("saved") == "1"
	})
}

func (s *Server) dashConnectChannel(w http.ResponseWriter, r *http.Request, sess *session) {
	m, ok := s.metaChannel()
	if !ok {
		s.renderError(w, r, sess, http.StatusNotFound, "Messenger and Instagram are not enabled on this server.")
		return
	}
	in := meta.ConnectInput{
		PageID:      r.PostFormValue("page_id"),
		PageToken:   r.PostFormValue("page_token"),
		AppSecret:   r.PostFormValue("app_secret"),
		VerifyToken: r.PostFormValue("verify_token"),
		InstagramID: r.PostFormValue("instagram_id"),
	}
	acct, err := m.Connect(r.Context(), sess.agent.WorkspaceID, in)
	if err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		s.channelsPage(w, r, sess, a.Status, func(p *channelsPage) {
			p.Error = a.text()
			// Secrets are never sent back, not even the ones just typed.
			p.Input = meta.ConnectInput{PageID: strings.TrimSpace(in.PageID), InstagramID: strings.TrimSpace(in.InstagramID)}
		})
		return
	}
	if acct.Warning != "" {
		s.channelsPage(w, r, sess, http.StatusOK, func(p *channelsPage) { p.Notice = acct.Warning })
		return
	}
	http.Redirect(w, r, "/dashboard/settings/channels?saved=1", http.StatusSeeOther)
}

func (s *Server) dashDisconnectChannel(w http.ResponseWriter, r *http.Request, sess *session) {
	m, ok := s.metaChannel()
	if !ok {
		s.renderError(w, r, sess, http.StatusNotFound, "Messenger and Instagram are not enabled on this server.")
		return
	}
	if err := m.Disconnect(r.Context(), sess.agent.WorkspaceID); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/channels", http.StatusSeeOther)
}
