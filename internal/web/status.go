package web

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// The agent's status switch in the header of every dashboard page.

func (s *Server) dashStatus(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.SetAgentStatus(r.Context(), sess.agent, r.PostFormValue("status")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// dashAwayPartial is the banner saying that visitors wait while the agent
// is away from them (nothing while they are online or nobody waits), for
// dashboard.js to show it as conversations change.
func (s *Server) dashAwayPartial(w http.ResponseWriter, r *http.Request, sess *session) {
	p := &page{}
	s.fillChrome(r.Context(), r, p, sess)
	s.render(w, http.StatusOK, "away-banner", p)
}

// localPath keeps a redirect target on the dashboard (no open redirect):
// next when it is a path, clean, of the dashboard's pages (not a URL, not
// "/dashboardx", not "/dashboard/../api"), else the dashboard.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/dashboard"
	}
	if clean := path.Clean(u.Path); clean != u.Path || (clean != "/dashboard" && !strings.HasPrefix(clean, "/dashboard/")) {
		return "/dashboard"
	}
	return u.RequestURI()
}
