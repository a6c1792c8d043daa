package web

import (
	"html/template"
	"net/http"

	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
)

// Pages reached from forwarded emails: the link back to the conversation
// and the unsubscribe link (RFC 8058 one-click POST, and a confirmation
// page for people who open it in a browser).

var chatPage = template.Must(template.New("chat").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;color:#222;background:#f6f7f9}main{max-width:36rem}</style>
</head><body><main>
<h1>{{.Title}}</h1>
<p>{{.Lead}}</p>
</main>
<script src="{{.PublicURL}}{{.WidgetPath}}" data-site-key="{{.SiteKey}}" data-visitor-token="{{.Token}}" data-locale="{{.Lang}}" data-open async></script>
</body></html>
`))

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{with .Workspace}} · {{.}}{{end}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;color:#222;background:#f6f7f9}main{max-width:36rem;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:1.5rem}
button{font:inherit;background:#2f5fd0;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer}</style>
</head><body><main>
<h1>{{.Heading}}</h1><p>{{.What}} {{.More}}</p>
{{if not .Done}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>
`))

// visitorPrinter is the catalogue of a page a visitor opens: their
// language when known, else the browser's, else the workspace's default.
func visitorPrinter(r *http.Request, visitorLang, workspaceDefault string) i18n.Printer {
	return i18n.For(i18n.Resolve(visitorLang, r.Header.Get("Accept-Language"), workspaceDefault))
}

func (s *Server) invalidChatLink(w http.ResponseWriter, r *http.Request) {
	s.renderPlainIn(w, http.StatusNotFound, visitorPrinter(r, "", ""), "chat.invalid.title", "chat.invalid.what", "chat.invalid.todo")
}

func (s *Server) invalidUnsubscribeLink(w http.ResponseWriter, r *http.Request) {
	s.renderPlainIn(w, http.StatusNotFound, visitorPrinter(r, "", ""), "unsub.invalid.title", "unsub.invalid.what", "unsub.invalid.todo")
}

// unsubscribeView fills the unsubscribe page: the question, or the
// confirmation once done.
func unsubscribeView(p i18n.Printer, email string, ws model.Workspace, done bool) map[string]any {
	v := map[string]any{"Lang": p.Lang(), "Title": p.T("unsub.title"), "Workspace": ws.Name, "Done": done, "Button": p.T("unsub.button")}
	switch {
	case done:
		v["Heading"], v["What"], v["More"] = p.T("unsub.done.title"), p.T("unsub.done.what", email, ws.Name), p.T("unsub.done.again")
	case email != "":
		v["Heading"], v["What"], v["More"] = p.T("unsub.ask.title"), p.T("unsub.ask.what.to", ws.Name, email), p.T("unsub.ask.chat")
	default:
		v["Heading"], v["What"], v["More"] = p.T("unsub.ask.title"), p.T("unsub.ask.what", ws.Name), p.T("unsub.ask.chat")
	}
	return v
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
		s.invalidChatLink(w, r)
		return
	}
	ws, err := s.svc.Workspace(r.Context(), v.WorkspaceID)
	if err != nil {
		s.invalidChatLink(w, r)
		return
	}
	p := visitorPrinter(r, v.Language, ws.Settings.DefaultLocale)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = chatPage.Execute(w, map[string]string{"PublicURL": s.opts.PublicURL, "SiteKey": ws.SiteKey, "Token": tok, "WidgetPath": widgetURL(),
		"Lang": p.Lang(), "Title": p.T("chat.title", ws.Name), "Lead": p.T("chat.lead")})
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
		s.invalidUnsubscribeLink(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = unsubscribePage.Execute(w, unsubscribeView(visitorPrinter(r, "", ws.Settings.DefaultLocale), email, ws, false))
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
		s.invalidUnsubscribeLink(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = unsubscribePage.Execute(w, unsubscribeView(visitorPrinter(r, "", ws.Settings.DefaultLocale), email, ws, true))
}
