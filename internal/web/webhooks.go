package web

import (
	"net/http"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/internal/realtime"
)

// Webhooks: the API (spec v1.1: Integrations) and Settings → Integrations.

// webhookInput is the body of POST /api/v1/webhooks.
type webhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, a model.Agent) {
	hs, err := s.svc.Webhooks(r.Context(), a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": hs})
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, a model.Agent) {
	var in webhookInput
	if !decode(w, r, &in) {
		return
	}
	h, secret, err := s.svc.CreateWebhook(r.Context(), a, in.URL, in.Events)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": h, "secret": secret})
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.DeleteWebhook(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request, a model.Agent) {
	if err := s.svc.EnableWebhook(r.Context(), a, r.PathValue("id")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) webhookDeliveries(w http.ResponseWriter, r *http.Request, a model.Agent) {
	ds, err := s.svc.WebhookAttempts(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
}

// integrationsPage is the data of templates/integrations.html.
type integrationsPage struct {
	*page
	Webhooks []chat.Webhook
	Events   []realtime.EventType
	// Log is the delivery log of the webhook named by ?log=.
	LogOf string
	Log   []chat.WebhookAttempt
	// Created holds the secret of the webhook just created (shown once).
	Created *createdWebhook
	// Input refills the form after a refusal.
	InputURL    string
	InputEvents map[string]bool
}

type createdWebhook struct {
	ID, URL, Secret string
}

// Disabled counts the disabled webhooks (the notice at the top).
func (p *integrationsPage) Disabled() int {
	n := 0
	for _, h := range p.Webhooks {
		if h.DisabledAt != nil {
			n++
		}
	}
	return n
}

func (s *Server) integrationsPage(w http.ResponseWriter, r *http.Request, sess *session, status int, edit func(*integrationsPage)) {
	p := &integrationsPage{page: &page{Title: "Integrations", Nav: "settings"}, Events: realtime.WebhookEvents, InputEvents: map[string]bool{}}
	s.fillChrome(r.Context(), r, p.page, sess)
	if !sess.agent.IsAdmin() {
		// Webhooks hold signing secrets and URLs: admins only (the
		// settings navigation says so).
		s.render(w, status, "integrations", p)
		return
	}
	hs, err := s.svc.Webhooks(r.Context(), sess.agent)
	if err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	p.Webhooks = hs
	if id := r.URL.Query().Get("log"); id != "" {
		log, err := s.svc.WebhookAttempts(r.Context(), sess.agent, id)
		if err != nil {
			s.failPage(w, r, sess, err)
			return
		}
		p.LogOf, p.Log = id, log
	}
	if edit != nil {
		edit(p)
	}
	s.render(w, status, "integrations", p)
}

func (s *Server) dashIntegrations(w http.ResponseWriter, r *http.Request, sess *session) {
	s.integrationsPage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) dashCreateWebhook(w http.ResponseWriter, r *http.Request, sess *session) {
	url := r.PostFormValue("url")
	events := r.PostForm["events"]
	h, secret, err := s.svc.CreateWebhook(r.Context(), sess.agent, url, events)
	if err != nil {
		a := answerOf(err)
		if a.Internal {
			s.failPage(w, r, sess, err)
			return
		}
		s.integrationsPage(w, r, sess, a.Status, func(p *integrationsPage) {
			p.Error = a.text()
			p.InputURL = strings.TrimSpace(url)
			for _, e := range events {
				p.InputEvents[e] = true
			}
		})
		return
	}
	// The secret is shown on this answer only (no redirect that would
	// carry it in a URL).
	s.integrationsPage(w, r, sess, http.StatusCreated, func(p *integrationsPage) {
		p.Created = &createdWebhook{ID: h.ID, URL: h.URL, Secret: secret}
	})
}

func (s *Server) dashDeleteWebhook(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.DeleteWebhook(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/integrations", http.StatusSeeOther)
}

func (s *Server) dashEnableWebhook(w http.ResponseWriter, r *http.Request, sess *session) {
	if err := s.svc.EnableWebhook(r.Context(), sess.agent, r.PathValue("id")); err != nil {
		s.failPage(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/dashboard/settings/integrations", http.StatusSeeOther)
}
