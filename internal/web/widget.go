package web

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/parleychat/parley/internal/chat"
	"github.com/parleychat/parley/internal/model"
	"github.com/parleychat/parley/web/widget"
)

// The widget runs on other sites: its HTTP API answers any origin. It uses
// no cookies; the visitor token in the body or query is the credential.
func allowAnyOrigin(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	h.Set("Access-Control-Max-Age", "86400")
}

func (s *Server) widgetPreflight(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) widgetSession(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	var in struct {
		SiteKey      string         `json:"site_key"`
		VisitorToken string         `json:"visitor_token"`
		Identity     *chat.Identity `json:"identity"`
		// The visitor's context (see chat.SessionContext).
		PageURL   string `json:"page_url"`
		PageTitle string `json:"page_title"`
		Referrer  string `json:"referrer"`
		Locale    string `json:"locale"`
		TimeZone  string `json:"time_zone"`
		// ContinueLink is the token of a link from a forwarded email
		// (/chat/TOKEN): the session is that of the link's visitor.
		ContinueLink string `json:"continue_link"`
	}
	if !decode(w, r, &in) {
		return
	}
	lang := chat.SessionLanguage{Locale: in.Locale, AcceptLanguage: r.Header.Get("Accept-Language")}
	sc := chat.SessionContext{PageURL: in.PageURL, PageTitle: in.PageTitle, Referrer: in.Referrer, Locale: in.Locale,
		TimeZone: in.TimeZone, UserAgent: r.UserAgent()}
	var (
		sess chat.Session
		err  error
	)
	if in.ContinueLink != "" {
		sess, err = s.svc.ContinueSession(r.Context(), in.SiteKey, in.ContinueLink, s.clientAddr(r), lang, sc)
	} else {
		sess, err = s.svc.Session(r.Context(), in.SiteKey, in.VisitorToken, s.clientAddr(r), in.Identity, lang, sc)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sess)
}

// widgetLook answers a site's look (colour, side, words) for a first-time
// visitor's launcher, without creating a visitor; shared caches may keep
// it a few minutes.
func (s *Server) widgetLook(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	q := r.URL.Query()
	look, err := s.svc.WidgetLook(r.Context(), q.Get("site_key"), chat.SessionLanguage{Locale: q.Get("locale"), AcceptLanguage: r.Header.Get("Accept-Language")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Vary", "Accept-Language")
	writeJSON(w, http.StatusOK, look)
}

// widgetRotateToken resets the visitor's links at the widget's request: the
// token sent stops working, as do the links of emails sent so far, and the
// answer carries the new token.
func (s *Server) widgetRotateToken(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	var in struct {
		VisitorToken string `json:"visitor_token"`
	}
	if !decode(w, r, &in) {
		return
	}
	tok, err := s.svc.RotateVisitorToken(r.Context(), in.VisitorToken)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"visitor_token": tok})
}

func (s *Server) widgetMessages(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	v, err := s.svc.VisitorByToken(r.Context(), r.URL.Query().Get("visitor_token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ms, seen, err := s.svc.VisitorMessages(r.Context(), v)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	answer := map[string]any{"messages": ms}
	if seen != "" {
		answer["seen_id"] = seen
	}
	writeJSON(w, http.StatusOK, answer)
}

func (s *Server) widgetPost(w http.ResponseWriter, r *http.Request) {
	allowAnyOrigin(w)
	var in struct {
		VisitorToken  string   `json:"visitor_token"`
		Body          string   `json:"body"`
		ClientID      string   `json:"client_id"`
		AttachmentIDs []string `json:"attachment_ids"`
	}
	if !decode(w, r, &in) {
		return
	}
	v, err := s.svc.VisitorByToken(r.Context(), in.VisitorToken)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.svc.VisitorSendFiles(r.Context(), v.ID, in.Body, in.ClientID, model.MsgChannelWidget, s.clientAddr(r), in.AttachmentIDs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// widgetAsset is widget.js, minified and compressed once, on first use or
// as serve starts.
var widgetAsset = newAsset("widget.js", "text/javascript; charset=utf-8", widget.JS)

// widgetURL is the versioned path of widget.js, for the pages Parley
// renders itself; embedding sites keep /widget.js.
func widgetURL() string { return "/widget/widget." + widgetAsset.version() + ".js" }

// widgetJS serves /widget.js, the URL in every embedding site's snippet:
// the whole widget in one response (no loader, no redirect), cached
// briefly and revalidated by its ETag.
func (s *Server) widgetJS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	widgetAsset.serve(w, r, cacheSnippet)
}

// widgetVersioned serves /widget/widget.HASH.js, cached for a year. A
// page that still names an older version gets the current file, uncached.
func (s *Server) widgetVersioned(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	rest, prefixed := strings.CutPrefix(r.PathValue("file"), "widget.")
	hash, suffixed := strings.CutSuffix(rest, ".js")
	if !prefixed || !suffixed || hash == "" || strings.Contains(hash, ".") {
		http.NotFound(w, r)
		return
	}
	cache := "no-cache"
	if hash == widgetAsset.version() {
		cache = cacheImmutable
	}
	widgetAsset.serve(w, r, cache)
}

var demoTemplate = template.Must(template.New("demo").Parse(widget.DemoHTML))

// widgetPageHeaders sets the policy of a page Parley serves around its own
// widget (/demo, /chat/{link}), which runs the widget on Parley's origin:
// the widget's script, its API calls and WebSocket, and its pictures
// (agents' avatars, files sent in the chat) all come from publicURL, the
// address the page loads it from; scripts are also the inline ones whose
// hashes are given. Styles may be inline: each page carries its own
// <style>, and the widget adds a <style> element in browsers without
// constructed style sheets. Nothing frames these pages (the dashboard's
// widget preview is drawn, not framed).
func widgetPageHeaders(w http.ResponseWriter, publicURL string, scriptHashes ...string) {
	origin, ws := "'self'", ""
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		origin = u.Scheme + "://" + u.Host
		ws = " ws" + strings.TrimPrefix(origin, "http")
	}
	script := origin
	for _, h := range scriptHashes {
		script += " " + h
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src "+script+"; connect-src "+origin+ws+"; img-src "+origin+
		"; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
}

// scriptHash is the Content-Security-Policy source that allows the inline
// script js.
func scriptHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

func (s *Server) demo(w http.ResponseWriter, r *http.Request) {
	ws, err := s.svc.Workspaces(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(ws) == 0 {
		http.Error(w, "no workspace yet: run parley migrate", http.StatusServiceUnavailable)
		return
	}
	key := ws[0].SiteKey
	if k := r.URL.Query().Get("site_key"); k != "" {
		key = k
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	widgetPageHeaders(w, s.opts.PublicURL)
	if err := demoTemplate.Execute(w, map[string]string{"PublicURL": s.opts.PublicURL, "SiteKey": key}); err != nil {
		s.log.Error("render demo", "err", err)
	}
}
