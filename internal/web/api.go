package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
)

type agentKey struct{}

// agent authenticates an API call by bearer token, or by the dashboard's
// session cookie (then with the CSRF header on anything but GET).
func (s *Server) agent(h func(http.ResponseWriter, *http.Request, model.Agent)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if tok == "" {
			if c, err := r.Cookie(sessionCookie); err == nil {
				tok = c.Value
				if r.Method != http.MethodGet && !s.validCSRF(tok, r.Header.Get("X-CSRF-Token")) {
					writeError(w, http.StatusForbidden, "csrf_failed", "missing or wrong X-CSRF-Token header")
					return
				}
			}
		}
		if tok == "" {
			writeError(w, http.StatusUnauthorized, chat.CodeInvalidToken, "missing Authorization: Bearer token")
			return
		}
		a, err := s.svc.AgentByToken(r.Context(), tok)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), agentKey{}, tok)), a)
	}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !decode(w, r, &in) {
		return
	}
	res, err := s.svc.Login(r.Context(), s.loginAttempt(r, in.Email, in.Password))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setDeviceCookie(w, res.Device)
	a := res.Agent
	writeJSON(w, http.StatusOK, map[string]any{
		"token":      res.Token,
		"expires_at": res.ExpiresAt.UTC(),
		"agent":      map[string]string{"id": a.ID, "name": a.Name, "email": a.Email},
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, a model.Agent) {
	tok, _ := r.Context().Value(agentKey{}).(string)
	if err := s.svc.Logout(r.Context(), a, tok); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// meView is GET /api/v1/me: the Agent plus its workspace.
type meView struct {
	model.Agent
	WorkspaceID string `json:"workspace_id"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, a model.Agent) {
	writeJSON(w, http.StatusOK, meView{s.svc.WithAvatar(a), a.WorkspaceID})
}

func (s *Server) putStatus(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Status string `json:"status"`
	}
	if !decode(w, r, &in) {
		return
	}
	a, err := s.svc.SetAgentStatus(r.Context(), a, in.Status)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, meView{s.svc.WithAvatar(a), a.WorkspaceID})
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, a model.Agent) {
	q := r.URL.Query()
	list, err := s.svc.ListConversations(r.Context(), a, chat.ListQuery{Status: q.Get("status"),
		Assignee: q.Get("assignee"), Tag: q.Get("tag"), Mentioned: q.Get("mentioned"), Limit: q.Get("limit"), Cursor: q.Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, a model.Agent) {
	c, err := s.svc.Conversation(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, a model.Agent) {
	qs := r.URL.Query()
	if qs.Has("limit") || qs.Has("before") || qs.Has("after") || qs.Has("around") {
		s.pageMessages(w, r, a)
		return
	}
	// Without paging parameters: the whole history, as before paging.
	ms, err := s.svc.Messages(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": ms})
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in struct {
		Body          string   `json:"body"`
		Kind          string   `json:"kind"`
		AttachmentIDs []string `json:"attachment_ids"`
	}
	if !decode(w, r, &in) {
		return
	}
	m, err := s.svc.PostMessageFiles(r.Context(), a, r.PathValue("id"), in.Body, in.Kind, in.AttachmentIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) closeConversation(w http.ResponseWriter, r *http.Request, a model.Agent) {
	s.setConversationStatus(w, r, a, "closed")
}

func (s *Server) reopenConversation(w http.ResponseWriter, r *http.Request, a model.Agent) {
	s.setConversationStatus(w, r, a, "open")
}

func (s *Server) setConversationStatus(w http.ResponseWriter, r *http.Request, a model.Agent, status string) {
	c, err := s.svc.SetConversationStatus(r.Context(), a, r.PathValue("id"), status)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) readConversation(w http.ResponseWriter, r *http.Request, a model.Agent) {
	c, err := s.svc.MarkSeenByAgent(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) getVisitor(w http.ResponseWriter, r *http.Request, a model.Agent) {
	v, err := s.svc.Visitor(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) patchVisitor(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var p chat.VisitorPatch
	if !decode(w, r, &p) {
		return
	}
	v, err := s.svc.UpdateVisitor(r.Context(), a, r.PathValue("id"), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// resetVisitorLinks ends the visitor's token and the links of emails sent so
// far (204).
func (s *Server) resetVisitorLinks(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if _, err := s.svc.ResetVisitorLinksBy(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, a model.Agent) {
	st, err := s.svc.Settings(r.Context(), a.WorkspaceID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var p chat.SettingsPatch
	if !decode(w, r, &p) {
		return
	}
	st, err := s.svc.UpdateSettingsAs(r.Context(), a, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// pageMessages answers a page of a conversation's messages: the newest
// limit, or those before, after or around a message id.
func (s *Server) pageMessages(w http.ResponseWriter, r *http.Request, a model.Agent) {
	qs := r.URL.Query()
	q := chat.MessageQuery{Before: qs.Get("before"), After: qs.Get("after"), Around: qs.Get("around")}
	for name, v := range map[string]string{"before": q.Before, "after": q.After, "around": q.Around} {
		if qs.Has(name) && v == "" {
			writeError(w, http.StatusBadRequest, chat.CodeBadRequest, name+" is the id of a message")
			return
		}
	}
	if raw := qs.Get("limit"); raw != "" || qs.Has("limit") {
		n, err := strconv.Atoi(raw)
		switch {
		case errors.Is(err, strconv.ErrRange) && raw != "" && raw[0] != '-':
			n = chat.MaxMessagePage
		case err != nil || n < 1:
			writeError(w, http.StatusBadRequest, chat.CodeBadRequest, "limit is a whole number of at least 1")
			return
		}
		q.Limit = n
	}
	page, err := s.svc.MessagePage(r.Context(), a, r.PathValue("id"), q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": page.Messages, "older": page.Older, "newer": page.Newer})
}
