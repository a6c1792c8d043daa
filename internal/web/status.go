package web

import (
	"net/http"
	"net/url"
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

// localPath keeps a redirect target on the dashboard (no open redirect).
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(u.Path, "/dashboard") || strings.Contains(next, "\\") || strings.HasPrefix(next, "//") {
		return "/dashboard"
	}
	return u.RequestURI()
}
