package web

import (
	"html/template"
	"net/http"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/i18n"
	"github.com/parleychat/parley/internal/model"
)

// Pages reached from forwarded emails: the link back to the conversation
// and the unsubscribe link (RFC 8058 one-click POST, and a confirmation
// page for people who open it in a browser).

// linkPageStyle is the look of every page a link in an email opens.
const linkPageStyle = `<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:2rem;color:#222;background:#f6f7f9}main{max-width:36rem;margin:0 auto;background:#fff;border:1px solid #e3e6ea;border-radius:8px;padding:1.5rem}
button{font:inherit;background:#2f5fd0;color:#fff;border:0;border-radius:6px;padding:.5rem 1rem;cursor:pointer}</style>`

// chatStartScript opens the widget from the expired page's button; the
// page's policy allows it by its hash (chatStartHash), not inline scripts
// at large.
const chatStartScript = `document.querySelector('[data-parley-start]').addEventListener('click', () => window.Parley && window.Parley.open());`

var chatStartHash = scriptHash(chatStartScript)

// chatPage opens the widget on a conversation. With Continue, the widget
// exchanges the signed link for the visitor's credential (a POST of the
// session API), so the credential is never in a URL, an email or this page.
// With Expired, it says so and offers a new chat (the widget of this
// browser, whose own visitor it resumes if it has one).
var chatPage = template.Must(template.New("chat").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}}</title>
` + linkPageStyle + `
</head><body><main>
<h1>{{.Title}}</h1>
{{if .Expired}}<p>{{.What}}</p>
<p>{{.Todo}}</p>
<p><button type="button" data-parley-start>{{.Start}}</button></p>
<script>` + chatStartScript + `</script>
{{else}}<p>{{.Lead}}</p>{{end}}
</main>
<script src="{{.PublicURL}}{{.WidgetPath}}" data-site-key="{{.SiteKey}}" data-locale="{{.Lang}}"{{with .Continue}} data-continue="{{.}}" data-open{{end}} async></script>
</body></html>
`))

// linkPageCSP is the policy of the pages above that ask before they act
// (unsubscribe, undo an address change, confirm an opt-in): their inline
// style, their form to their own address, in no one's frame.
const linkPageCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// linkPageHeaders are the headers of those pages: a click on their button
// acts, so no other site may frame them to steer it.
func linkPageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", linkPageCSP)
	h.Set("X-Frame-Options", "DENY")
}

var unsubscribePage = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{with .Workspace}} · {{.}}{{end}}</title>
` + linkPageStyle + `
</head><body><main>
<h1>{{.Heading}}</h1><p>{{.What}} {{.More}}</p>
{{if not .Done}}<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.Button}}</button></form>{{end}}
</main></body></html>
`))

// addressPage is the page of a link emailed to an address (undo a change,
// confirm an opt-in): the question and its button, or what was done.
var addressPage = template.Must(template.New("address").Parse(`<!doctype html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} · {{.Workspace}}</title>
` + linkPageStyle + `
</head><body><main>
<h1>{{.Heading}}</h1><p>{{.What}}</p>
{{if not .Done}}<form method="post"><button type="submit" data-testid="{{.TestID}}">{{.Button}}</button></form>{{end}}
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

// chatLink opens a link back to a conversation. A continue link (signed,
// 30 days) opens the page that exchanges it; a link of emails sent by
// earlier versions (the visitor token itself) is redirected to a new
// continue link while it would still be within its 30 days, so that the
// credential leaves the address bar at once.
func (s *Server) chatLink(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	c, err := s.svc.OpenContinueLink(r.Context(), tok)
	if chat.ErrorCode(err) == chat.CodeInvalidToken && c.Workspace.ID == "" {
		link, ws, lerr := s.svc.LegacyChatLink(r.Context(), tok)
		if lerr == nil {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			http.Redirect(w, r, "/chat/"+link, http.StatusSeeOther)
			return
		}
		if chat.ErrorCode(lerr) != chat.CodeInvalidToken {
			c.Workspace, err = ws, lerr
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case err == nil:
	case chat.ErrorCode(err) == chat.CodeLinkExpired && c.Workspace.ID != "":
		p := visitorPrinter(r, c.Visitor.Language, c.Workspace.Settings.DefaultLocale)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		widgetPageHeaders(w, s.opts.PublicURL, chatStartHash)
		w.WriteHeader(http.StatusGone)
		_ = chatPage.Execute(w, map[string]any{"Expired": true, "PublicURL": s.opts.PublicURL, "SiteKey": c.Workspace.SiteKey,
			"WidgetPath": widgetURL(), "Lang": p.Lang(), "Title": p.T("chat.expired.title"),
			"What": p.T("chat.expired.what", c.Workspace.Name), "Todo": p.T("chat.expired.todo", c.Workspace.Name), "Start": p.T("chat.expired.start")})
		return
	case answerOf(err).Internal:
		s.log.Error("chat link", "err", err)
		s.serverErrorPage(w, r)
		return
	default:
		s.invalidChatLink(w, r)
		return
	}
	p := visitorPrinter(r, c.Visitor.Language, c.Workspace.Settings.DefaultLocale)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	widgetPageHeaders(w, s.opts.PublicURL)
	_ = chatPage.Execute(w, map[string]any{"PublicURL": s.opts.PublicURL, "SiteKey": c.Workspace.SiteKey, "Continue": tok, "WidgetPath": widgetURL(),
		"Lang": p.Lang(), "Title": p.T("chat.title", c.Workspace.Name), "Lead": p.T("chat.lead")})
}

func (s *Server) unsubscribeForm(w http.ResponseWriter, r *http.Request) {
	// Showing the page changes nothing (link scanners fetch URLs in mail),
	// but an invalid link is refused here already.
	l, err := s.svc.UnsubscribeTarget(r.Context(), r.PathValue("token"))
	if err != nil {
		if answerOf(err).Internal {
			s.log.Error("unsubscribe link", "err", err)
			s.serverErrorPage(w, r)
			return
		}
		s.invalidUnsubscribeLink(w, r)
		return
	}
	linkPageHeaders(w)
	_ = unsubscribePage.Execute(w, unsubscribeView(visitorPrinter(r, l.Language, l.Workspace.Settings.DefaultLocale), l.Address, l.Workspace, false))
}

func (s *Server) unsubscribe(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	l, err := s.svc.Unsubscribe(r.Context(), r.PathValue("token"))
	if err != nil {
		if answerOf(err).Internal {
			s.log.Error("unsubscribe", "err", err)
			s.serverErrorPage(w, r)
			return
		}
		s.invalidUnsubscribeLink(w, r)
		return
	}
	linkPageHeaders(w)
	_ = unsubscribePage.Execute(w, unsubscribeView(visitorPrinter(r, l.Language, l.Workspace.Settings.DefaultLocale), l.Address, l.Workspace, true))
}

// optInForm shows what an opt-in confirmation link would do; showing it
// changes nothing (link scanners fetch URLs in mail).
func (s *Server) optInForm(w http.ResponseWriter, r *http.Request) {
	l, err := s.svc.OpenOptIn(r.Context(), r.PathValue("token"))
	s.optInAnswer(w, r, l, err, false)
}

func (s *Server) optIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	l, err := s.svc.ConfirmOptIn(r.Context(), r.PathValue("token"))
	s.optInAnswer(w, r, l, err, true)
}

func (s *Server) optInAnswer(w http.ResponseWriter, r *http.Request, l chat.OptInLink, err error, done bool) {
	p := visitorPrinter(r, l.Language, l.Workspace.Settings.DefaultLocale)
	if s.addressLinkFailed(w, r, p, err, "confirm an opt-in", "optin.expired.what", "optin.expired.todo") {
		return
	}
	renderAddressPage(w, p, "optin", "confirm-opt-in", l.Workspace.Name, l.Address, done)
}

// renderAddressPage writes the page of a link emailed to an address, with
// the catalogue's words under key ("optin", "undo"): KEY.title and
// KEY.button, then KEY.ask.* before the button is pressed and KEY.done.*
// after, each naming the workspace and the address.
func renderAddressPage(w http.ResponseWriter, p i18n.Printer, key, testID, workspace, address string, done bool) {
	state := ".ask"
	if done {
		state = ".done"
	}
	_ = addressPage.Execute(w, map[string]any{"Lang": p.Lang(), "Title": p.T(key + ".title"), "Workspace": workspace,
		"Done": done, "Button": p.T(key + ".button"), "TestID": testID,
		"Heading": p.T(key + state + ".title"), "What": p.T(key+state+".what", workspace, address)})
}

// addressLinkFailed answers the page of a link emailed to an address
// (undo a change, confirm an opt-in) that did not work, in p's language,
// and reports whether it did; otherwise it sets the headers of the page to
// come. expired and expiredTodo are the catalogue's words for a link whose
// time is over.
func (s *Server) addressLinkFailed(w http.ResponseWriter, r *http.Request, p i18n.Printer, err error, what, expired, expiredTodo string) bool {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case err == nil:
		linkPageHeaders(w)
		return false
	case chat.ErrorCode(err) == chat.CodeLinkExpired:
		s.renderPlainIn(w, http.StatusGone, p, "chat.expired.title", expired, expiredTodo)
	case chat.ErrorCode(err) == chat.CodeForbidden:
		s.renderPlainIn(w, http.StatusForbidden, p, "undo.forbidden.title", "undo.forbidden.what", "undo.forbidden.todo")
	case answerOf(err).Internal:
		s.log.Error(what, "err", err)
		s.serverErrorPage(w, r)
	default:
		s.renderPlainIn(w, http.StatusNotFound, p, "link.invalid.title", "link.invalid.what", "link.invalid.todo")
	}
	return true
}

// undoEmailForm shows what the undo link of an address change would do;
// showing it changes nothing (link scanners fetch URLs in mail).
func (s *Server) undoEmailForm(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.OpenEmailUndo(r.Context(), r.PathValue("token"))
	s.undoEmailAnswer(w, r, u, err, false)
}

func (s *Server) undoEmail(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	u, err := s.svc.UndoEmailChange(r.Context(), r.PathValue("token"))
	s.undoEmailAnswer(w, r, u, err, true)
}

func (s *Server) undoEmailAnswer(w http.ResponseWriter, r *http.Request, u chat.EmailUndo, err error, done bool) {
	p := visitorPrinter(r, u.Visitor.Language, u.Workspace.Settings.DefaultLocale)
	if s.addressLinkFailed(w, r, p, err, "undo address change", "undo.expired.what", "undo.expired.todo") {
		return
	}
	renderAddressPage(w, p, "undo", "undo-email-change", u.Workspace.Name, u.Former, done)
}
