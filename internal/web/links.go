package web

import (
	"html/template"
	"net/http"
)

// Pages reached from forwarded emails: the link back to the conversation
// and the unsubscribe link (RFC 8058 one-click POST, and a confirmation
// page for people who open it in a browser).

var chatPage = template.Must(template.New("chat").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your conversation with {{.Workspace}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;color:#222;background:#f6f7f9}main{max-width:36rem}</style>
</head><body><main>
<h1>Your conversation with {{.Workspace}}</h1>
<p>Carry on below: the chat window holds the whole conversation.</p>
</main>
<script src="{{.PublicURL}}{{.WidgetPath}}" data-site-key="{{.SiteKey}}" data-visitor-token="{{.Token}}" data-open async></script>
</body></html>
`))

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Unsubscribe{{with .Workspace}} · {{.}}{{end}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;color:#222;background:#f6f7f9}main{max-width:36rem;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:1.5rem}
button{font:inherit;background:#2f5fd0;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer}</style>
</head><body><main>
{{if .Done}}<h1>Unsubscribed</h1><p>{{.Email}} will get no more emails about conversations with {{.Workspace}}.
To get them again, tick the box in the chat's contact form.</p>
{{else}}<h1>Stop these emails?</h1>
<p>You will no longer get replies from {{.Workspace}} by email{{with .Email}} at {{.}}{{end}}. You can still chat on the website.</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>{{end}}
</main></body></html>
`))

func (s *Server) invalidChatLink(w http.ResponseWriter) {
	s.renderPlain(w, http.StatusNotFound, "This chat link does not work",
		"The link to your conversation is not valid: it may have been copied incompletely, or the conversation was deleted.",
		"Open the website you chatted on and start the chat again from its chat button; an agent will see your earlier messages if you give the same email address.",
		"", "")
}

func (s *Server) invalidUnsubscribeLink(w http.ResponseWriter) {
	s.renderPlain(w, http.StatusNotFound, "This unsubscribe link does not work",
		"The link is not valid: it may have been copied incompletely from the email. Nothing was changed.",
		"Open the email again and use its unsubscribe link as a whole, or answer the email asking to get no more.",
		"", "")
}

func (s *Server) chatLink(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	v, err := s.svc.VisitorByToken(r.Context(), tok)
	if err != nil {
		if answerOf(err).Internal {
			s.log.Error("chat link", "err", err)
			s.serverErrorPage(w, r)
			return
		}
		s.invalidChatLink(w)
		return
	}
	ws, err := s.svc.Workspace(r.Context(), v.WorkspaceID)
	if err != nil {
		s.invalidChatLink(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = chatPage.Execute(w, map[string]string{"PublicURL": s.opts.PublicURL, "SiteKey": ws.SiteKey, "Token": tok, "Workspace": ws.Name, "WidgetPath": widgetURL()})
}

func (s *Server) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	// Showing the page changes nothing (link scanners fetch URLs in mail),
	// but an invalid link is refused here already.
	email, ws, err := s.svc.UnsubscribeTarget(r.Context(), r.PathValue("token"))
	if err != nil {
		if answerOf(err).Internal {
			s.log.Error("unsubscribe link", "err", err)
			s.serverErrorPage(w, r)
			return
		}
		s.invalidUnsubscribeLink(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = unsubscribePage.Execute(w, map[string]any{"Done": false, "Email": email, "Workspace": ws.Name})
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	email, ws, err := s.svc.Unsubscribe(r.Context(), r.PathValue("token"))
	if err != nil {
		if answerOf(err).Internal {
			s.log.Error("unsubscribe", "err", err)
			s.serverErrorPage(w, r)
			return
		}
		s.invalidUnsubscribeLink(w)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribePage.Execute(w, map[string]any{"Done": true, "Email": email, "Workspace": ws.Name})
}
