package web

import (
	"net/http"
	"strings"
)

// Pages a person may land on by accident: a missing page and a failure.
// Like every page reached from outside the dashboard, they say what
// happened and what to do, never bare text.

func (s *Server) notFoundPage(w http.ResponseWriter, r *http.Request) {
	s.renderPlain(w, http.StatusNotFound, "Page not found",
		"There is nothing at this address. The link may be mistyped or out of date.",
		"Check the address, or start again from the dashboard.",
		"/dashboard", "Go to the dashboard")
}

// dashNotFound is notFoundPage for an agent on the dashboard: the page
// keeps the dashboard's top bar.
func (s *Server) dashNotFound(w http.ResponseWriter, r *http.Request, sess *session) {
	s.renderError(w, r, sess, http.StatusNotFound, "There is nothing at this address. The link may be mistyped or out of date.")
}

// serverErrorPage answers a failure on a page (JSON under /api/).
func (s *Server) serverErrorPage(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusInternalServerError, codeInternal, "internal error")
		return
	}
	s.renderPlain(w, http.StatusInternalServerError, "Something went wrong",
		"The server could not handle this request. Nothing you did caused it, and it has been logged.",
		"Try again in a moment; if it keeps happening, tell the person who runs this Parley server.",
		"", "")
}
