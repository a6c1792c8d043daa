package web

import (
	"bytes"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

// Agents' pictures: PUT and DELETE /api/v1/agents/{id}/avatar (the agent
// themselves, or an admin), the button of Settings → Your account, and the
// public GET /api/widget/v1/avatars/{id} that widget and dashboard show.

// putAvatar is PUT /api/v1/agents/{id}/avatar: a multipart/form-data body
// with one part named file → 200 Agent.
func (s *Server) putAvatar(w http.ResponseWriter, r *http.Request, a model.Agent) {
	f, release, ok := s.readUpload(w, r, chat.MaxAvatarBytes, s.agentUploads, senderKey("agent:"+a.ID))
	if !ok {
		return
	}
	defer release()
	agent, err := s.svc.SetAvatar(r.Context(), a, r.PathValue("id"), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, agent)
}

// deleteAvatar is DELETE /api/v1/agents/{id}/avatar → 204.
func (s *Server) deleteAvatar(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if _, err := s.svc.RemoveAvatar(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// avatar is GET /api/widget/v1/avatars/{id}: a picture, for anyone. Its id
// changes with every upload, so it is cached for good; it is served as the
// type sniffed when it was stored, and never as anything a browser would
// run.
func (s *Server) avatar(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	av, err := s.svc.Avatar(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", av.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", av.CreatedAt, bytes.NewReader(av.Data))
}

// dashRemoveAvatar is Settings → Your account → Remove picture.
func (s *Server) dashRemoveAvatar(w http.ResponseWriter, r *http.Request, sess *session) {
	if _, err := s.svc.RemoveAvatar(r.Context(), sess.agent, sess.agent.ID); err != nil {
		s.accountFailed(w, r, sess, err, &accountView{})
		return
	}
	http.Redirect(w, r, "/dashboard/settings/account?done=avatar-removed", http.StatusSeeOther)
}

// avatarView is an agent's picture in a dashboard page, or their initials
// when they have none.
type avatarView struct {
	URL, Initials string
}

func newAvatarView(name string, url *string) *avatarView {
	v := &avatarView{Initials: initials(name)}
	if url != nil {
		v.URL = *url
	}
	return v
}

// initials are the first letters of the first and last words of a name
// ("Ada Lovelace" → "AL"), as the widget shows them: a word's first letter
// or digit ("(Ben) O'Brien" → "BO"), words without any left out.
func initials(name string) string {
	var firsts []string
	for _, w := range strings.Fields(name) {
		if i := strings.IndexFunc(w, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(w[i:])
			firsts = append(firsts, strings.ToUpper(string(r)))
		}
	}
	switch len(firsts) {
	case 0:
		return ""
	case 1:
		return firsts[0]
	}
	return firsts[0] + firsts[len(firsts)-1]
}
