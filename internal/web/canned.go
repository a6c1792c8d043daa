package web

import (
	"net/http"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Canned replies: /api/v1/canned, and Settings → Canned replies, where
// agents add them and change their own (admins anyone's).

func (s *Server) listCanned(w http.ResponseWriter, r *http.Request, a model.Agent) {
	cs, err := s.svc.CannedReplies(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"canned": cs})
}

func (s *Server) createCanned(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Shortcut string `json:"shortcut"`
		Body     string `json:"body"`
	}
	if !decode(w, r, &in) {
		return
	}
	c, err := s.svc.CreateCanned(r.Context(), a, in.Shortcut, in.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) patchCanned(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var p chat.CannedPatch
	if !decode(w, r, &p) {
		return
	}
	c, err := s.svc.UpdateCanned(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteCanned(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.DeleteCanned(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// cannedPage is the data of templates/canned.html.
type cannedPage struct {
	*page
	Replies []cannedItem
	// Shortcut and Body refill the add form after a refusal.
	Shortcut, Body string
	EditID         string // the reply whose form was refused
	Saved          bool
	Deleted        bool // a reply was deleted: said so, not "Saved."
}

type cannedItem struct {
	model.CannedReply
	Editable bool
}

func (s *Server) dashCanned(w http.ResponseWriter, r *http.Request, sess *session) {
	s.cannedPage(w, r, sess, http.StatusOK, func(p *cannedPage) {
		p.Saved, p.Deleted = r.URL.Query().Get("saved") == "1", r.URL.Query().Get("deleted") == "1"
	})
}

func (s *Server) cannedPage(w http.ResponseWriter, r *http.Request, sess *session, status int, edit func(*cannedPage)) {
	p := &cannedPage{page: &page{Title: "Canned replies", Nav: "settings"}}
	s.fillChrome(r.Context(), r, p.page, sess)
	cs, err := s.svc.CannedReplies(r.Context(), sess.agent)
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	for _, c := range cs {
		p.Replies = append(p.Replies, cannedItem{CannedReply: c, Editable: chat.MayEditCanned(sess.agent, c)})
	}
	if edit != nil {
		edit(p)
	}
	s.render(w, status, "canned", p)
}

// formBody is a textarea's text with the browser's CRLF line breaks as LF.
func formBody(r *http.Request) string {
	return strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
}

func (s *Server) dashCreateCanned(w http.ResponseWriter, r *http.Request, sess *session) {
	shortcut, body := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("shortcut")), "/"), formBody(r)
	if _, err := s.svc.CreateCanned(r.Context(), sess.agent, shortcut, body); err != nil {
		s.refuseOnCanned(w, r, sess, err, func(p *cannedPage) { p.Shortcut, p.Body = shortcut, body })
		return
	}
	http.Redirect(w, r, "/dashboard/settings/canned?saved=1", http.StatusSeeOther)
}

func (s *Server) dashUpdateCanned(w http.ResponseWriter, r *http.Request, sess *session) {
	shortcut, body := strings.TrimPrefix(strings.TrimSpace(r.PostFormValue("shortcut")), "/"), formBody(r)
	id := r.PathValue("id")
	if _, err := s.svc.UpdateCanned(r.Context(), sess.agent, id, chat.CannedPatch{Shortcut: &shortcut, Body: &body}); err != nil {
		s.refuseOnCanned(w, r, sess, err, func(p *cannedPage) {
			p.EditID = id
			for i := range p.Replies {
				if p.Replies[i].ID == id {
					p.Replies[i].Shortcut, p.Replies[i].Body = shortcut, body
				}
			}
		})
		return
	}
	http.Redirect(w, r, "/dashboard/settings/canned?saved=1", http.StatusSeeOther)
}

func (s *Server) dashDeleteCanned(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.DeleteCanned(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.refuseOnCanned(w, r, sess, err, nil)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/canned?deleted=1", http.StatusSeeOther)
}

// refuseOnCanned shows the page again with a refused form's error.
func (s *Server) refuseOnCanned(w http.ResponseWriter, r *http.Request, sess *session, err error, edit func(*cannedPage)) {
	a := answerOf(err)
	if a.Internal {
		s.failPage(w, r, sess, err)
		return
	}
	s.cannedPage(w, r, sess, a.Status, func(p *cannedPage) {
		p.Error = a.text()
		if edit != nil {
			edit(p)
		}
	})
}
