package web

import (
	"net/http"

	"github.com/parleychat/parley/internal/model"
)

// askEmail is POST /api/v1/conversations/{id}/ask-email: a reply asking the
// visitor for their email, with an email field under it in the widget. The
// body is optional: {"locale":"fr"} picks the language of the request.
func (s *Server) askEmail(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Locale string `json:"locale"`
	}
	if r.ContentLength != 0 && !decode(w, r, &in) {
		return
	}
	m, err := s.svc.AskEmail(r.Context(), a, r.PathValue("id"), in.Locale)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// dashAskEmail is the conversation view's "Ask for email" button.
func (s *Server) dashAskEmail(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	if _, err := s.svc.AskEmail(r.Context(), sess.agent, id, r.PostFormValue("locale")); err != nil {
		s.refuseOnConversation(w, r, sess, id, err, func(v *convView) {
			v.VisitorError = answerOf(err).text()
		})
		return
	}
	http.Redirect(w, r, conversationHref(id, listOf(r)), http.StatusSeeOther)
}

// askEmailLanguages are the languages the dashboard offers for the request,
// each named in itself.
func askEmailLanguages() []option {
	return []option{{Value: "en", Label: "English"}, {Value: "fr", Label: "Français"}, {Value: "de", Label: "Deutsch"},
		{Value: "es", Label: "Español"}, {Value: "it", Label: "Italiano"}, {Value: "pt", Label: "Português"}, {Value: "nl", Label: "Nederlands"}}
}
