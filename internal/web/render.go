package web

import (
	"bytes"
	"embed"
	"github.com/parleychat/parley/internal/i18n"
	"html/template"
	"net/http"
	"strings"
)

// The dashboard is server-rendered: html/template pages that work without
// JavaScript, plus static/dashboard.js for the live parts (a WebSocket that
// refetches the list and conversation partials when events arrive).

//go:embed templates/*.html
var templateFS embed.FS

// dashboardCSP forbids inline scripts and styles: every script and style
// comes from /dashboard/static.
const dashboardCSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

// dashTemplates are parsed once, at start-up.
var dashTemplates = template.Must(template.New("dashboard").
	Funcs(template.FuncMap{"static": staticURL, "assignForm": assignForm, "assigneeID": assigneeID, "askEmailLanguages": askEmailLanguages}).
	ParseFS(templateFS, "templates/*.html"))

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", dashboardCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// render executes a template into a buffer first, so that a failing
// template never leaves half a page behind.
func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := dashTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render dashboard template", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string) {
	p := &page{Title: sentence(strings.ToLower(http.StatusText(status))), Error: msg}
	if sess != nil {
		s.fillChrome(r.Context(), r, p, sess)
	}
	s.render(w, status, "error", p)
}

// noticeView is a page a person may land on without being logged in (an
// invalid link, a missing page, a failure): what happened and what to do.
type noticeView struct {
	Heading, What, Todo string
	Href, LinkText      string
}

// renderPlain renders a styled stand-alone page that says what happened
// and what to do.
func (s *Server) renderPlain(w http.ResponseWriter, status int, heading, what, todo, href, linkText string) {
	pageHeaders(w)
	s.render(w, status, "notice", &page{Title: heading, Notice: &noticeView{Heading: heading, What: what, Todo: todo, Href: href, LinkText: linkText}})
}

// renderPlainIn is renderPlain for a visitor's page in a language of the
// message catalogue: heading, what and todo are catalogue keys.
func (s *Server) renderPlainIn(w http.ResponseWriter, status int, p i18n.Printer, heading, what, todo string) {
	pageHeaders(w)
	h := p.T(heading)
	s.render(w, status, "notice", &page{Lang: p.Lang(), Title: h, Notice: &noticeView{Heading: h, What: p.T(what), Todo: p.T(todo)}})
}
